//! Inputs and outputs: `-` for stdin/stdout, fixed-size buffers, and outputs that appear only
//! on success (written to a temporary file beside the target, renamed into place at the end).

use std::fs::File;
use std::io::{self, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tempfile::NamedTempFile;

use crate::error::{CliError, CliResult};

/// The streaming buffer: every byte passes through one buffer of this size, so memory stays
/// constant whatever the object size.
pub const BUF_LEN: usize = 256 * 1024;

/// Files at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_LEN: u64 = 16 * 1024 * 1024;

/// Whether a path argument means standard input or output.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// An input stream: standard input, or a file whose length is known when it is a regular file.
#[derive(Debug)]
pub enum Input {
    /// Standard input (`-`).
    Stdin(io::Stdin),
    /// A file.
    File {
        /// The open file.
        file: File,
        /// Its length, when it is a regular file (pipes and devices have none).
        len: Option<u64>,
        /// The path, for messages.
        path: PathBuf,
    },
}

impl Input {
    /// Opens `path` (`-` for stdin) for the argument named `flag`.
    ///
    /// # Errors
    /// Exit 2 when the file cannot be opened or is a directory.
    pub fn open(path: &Path, flag: &str) -> CliResult<Self> {
        if is_stdio(path) {
            return Ok(Self::Stdin(io::stdin()));
        }
        let context = || format!("{flag} {}", path.display());
        let file = File::open(path).map_err(|e| CliError::input(context(), &e))?;
        let meta = file
            .metadata()
            .map_err(|e| CliError::input(context(), &e))?;
        if meta.is_dir() {
            return Err(CliError::usage(format!(
                "{}: is a directory; give a file",
                context()
            )));
        }
        Ok(Self::File {
            file,
            len: meta.file_type().is_file().then_some(meta.len()),
            path: path.to_path_buf(),
        })
    }

    /// The input length, when it is known before reading.
    pub const fn len(&self) -> Option<u64> {
        match self {
            Self::Stdin(_) => None,
            Self::File { len, .. } => *len,
        }
    }

    /// A name for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Stdin(_) => "standard input".to_owned(),
            Self::File { path, .. } => path.display().to_string(),
        }
    }

    /// Moves to byte `pos` of a regular file.
    ///
    /// # Errors
    /// Exit 2 when the input is not a regular file; exit 1 when seeking fails.
    pub fn seek_to(&mut self, pos: u64) -> CliResult<()> {
        match self {
            Self::File {
                file,
                len: Some(_),
                path,
            } => file
                .seek(SeekFrom::Start(pos))
                .map(|_| ())
                .map_err(|e| CliError::io(format!("seeking in {}", path.display()), &e)),
            _ => Err(CliError::usage(format!(
                "{} cannot be seeked; give a regular file",
                self.describe()
            ))),
        }
    }

    /// Fills as much of `buf` as the input has, and returns how much; 0 at the end.
    ///
    /// # Errors
    /// Exit 1 on a read error.
    pub fn read_full(&mut self, buf: &mut [u8]) -> CliResult<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(CliError::io(format!("reading {}", self.describe()), &e));
                }
            }
        }
        Ok(filled)
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Stdin(stdin) => stdin.read(buf),
            Self::File { file, .. } => file.read(buf),
        }
    }
}

/// Who may read a file this tool creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Like any new file: 0666 less the umask.
    Normal,
    /// Owner only (0600): private keys.
    Private,
}

/// An output that appears at its path only when [`commit`](Self::commit) is called: until then
/// it is a temporary file beside the target, deleted if the process fails. Standard output (`-`)
/// is written directly.
#[derive(Debug)]
pub enum Output {
    /// Standard output.
    Stdout(io::Stdout),
    /// A temporary file to rename to `path`.
    File {
        /// The temporary file, in the target's directory so the rename is atomic.
        temp: NamedTempFile,
        /// The final path.
        path: PathBuf,
        /// The argument name, for messages.
        flag: String,
    },
}

impl Output {
    /// Prepares the output for the argument `flag` (`-` for stdout).
    ///
    /// # Errors
    /// Exit 2 when no file can be created in the target's directory.
    pub fn create(path: &Path, flag: &str, mode: Mode) -> CliResult<Self> {
        if is_stdio(path) {
            return Ok(Self::Stdout(io::stdout()));
        }
        if path.is_dir() {
            return Err(CliError::usage(format!(
                "{flag} {}: is a directory; give a file name",
                path.display()
            )));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let temp = temp_builder(mode).tempfile_in(dir).map_err(|e| {
            CliError::input(
                format!(
                    "{flag} {}: cannot create a file in {}",
                    path.display(),
                    dir.display()
                ),
                &e,
            )
        })?;
        Ok(Self::File {
            temp,
            path: path.to_path_buf(),
            flag: flag.to_owned(),
        })
    }

    /// Writes all of `bytes`.
    ///
    /// # Errors
    /// Exit 1 on a write error.
    pub fn write_all(&mut self, bytes: &[u8]) -> CliResult<()> {
        match self {
            Self::Stdout(out) => out.write_all(bytes).map_err(|e| CliError::stdout(&e)),
            Self::File { temp, .. } => temp
                .write_all(bytes)
                .map_err(|e| CliError::io(format!("writing {}", self.describe()), &e)),
        }
    }

    /// The temporary file being written, to read back before committing.
    pub fn temp_path(&self) -> Option<&Path> {
        match self {
            Self::Stdout(_) => None,
            Self::File { temp, .. } => Some(temp.path()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Stdout(_) => "standard output".to_owned(),
            Self::File { path, flag, .. } => format!("{flag} {}", path.display()),
        }
    }

    /// Flushes the data to disk and moves the file into place, replacing what was there.
    ///
    /// # Errors
    /// Exit 1 when flushing or renaming fails.
    pub fn commit(self) -> CliResult<()> {
        self.finish(true)
    }

    /// As [`commit`](Self::commit), but fails if the target exists.
    ///
    /// # Errors
    /// Exit 2 when the target exists; exit 1 when flushing or renaming fails.
    pub fn commit_new(self) -> CliResult<()> {
        self.finish(false)
    }

    fn finish(self, replace: bool) -> CliResult<()> {
        let what = self.describe();
        match self {
            Self::Stdout(mut out) => out.flush().map_err(|e| CliError::stdout(&e)),
            Self::File { temp, path, .. } => {
                temp.as_file()
                    .sync_all()
                    .map_err(|e| CliError::io(&what, &e))?;
                let persisted = if replace {
                    temp.persist(&path)
                } else {
                    temp.persist_noclobber(&path)
                };
                match persisted {
                    Ok(_) => Ok(()),
                    Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                        Err(CliError::usage(format!(
                            "{what}: already exists; pass --force to replace it"
                        )))
                    }
                    Err(e) => Err(CliError::io(what, &e.error)),
                }
            }
        }
    }
}

#[cfg(unix)]
fn temp_builder(mode: Mode) -> tempfile::Builder<'static, 'static> {
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".cse-partial-");
    // The mode passed to open(2) is reduced by the umask, as for any new file.
    builder.permissions(Permissions::from_mode(match mode {
        Mode::Normal => 0o666,
        Mode::Private => 0o600,
    }));
    builder
}

#[cfg(not(unix))]
fn temp_builder(_mode: Mode) -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".cse-partial-");
    builder
}

/// A progress bar on stderr for a stream of `len` bytes: hidden unless stderr is a terminal and
/// the stream is large.
pub fn progress(len: Option<u64>) -> ProgressBar {
    match len {
        Some(len) if len >= PROGRESS_MIN_LEN && io::stderr().is_terminal() => {
            let style = ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()).with_style(style)
        }
        _ => ProgressBar::hidden(),
    }
}

/// Reads a small file (a key or a META.json) whole, refusing anything over `max` bytes.
///
/// # Errors
/// Exit 2 when the file cannot be read or is too large.
pub fn read_small(path: &Path, flag: &str, max: u64) -> CliResult<Vec<u8>> {
    let context = || format!("{flag} {}", path.display());
    let file = File::open(path).map_err(|e| CliError::input(context(), &e))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::input(context(), &e))?;
    if bytes.len() as u64 > max {
        return Err(CliError::usage(format!(
            "{}: larger than {max} bytes; this is not a key or metadata file",
            context()
        )));
    }
    Ok(bytes)
}
