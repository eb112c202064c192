//! Inputs and outputs: `-` for stdin/stdout, fixed-size buffers, and outputs that appear only
//! on success (written to a temporary file beside the target, renamed into place at the end).
//!
//! The output rule, the same in every command: a regular file (or the file a symbolic link
//! names) is replaced only with `--force`, atomically, by rename; a device, FIFO, socket or
//! `/dev/stdout` is written through, never replaced; two outputs, or an output and an input,
//! may not be one file ([`check_distinct`]); ciphertext is not written to a terminal unless
//! forced ([`refuse_terminal`]).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tempfile::NamedTempFile;

use crate::error::{CliError, CliResult};
use crate::interrupt::{self, ProtectGuard};

/// The streaming buffer: every byte passes through one buffer of this size, so memory stays
/// constant whatever the object size.
pub const BUF_LEN: usize = 256 * 1024;

/// The alignment of [`IoBuf`]: a page, which is also a multiple of every cache line.
const IO_ALIGN: usize = 4096;

/// The one streaming buffer, page-aligned: the kernel copies into and out of an aligned buffer
/// several times faster than into one 16 bytes past a page boundary, which is where a plain
/// `Vec` of this size lands with glibc (measured on the CI machine kind: `read()` into a
/// 16-byte-misaligned buffer costs about 4x the system time of a 64-byte-aligned one). Safe
/// code: the buffer is a larger `Vec` used from its first aligned byte.
pub struct IoBuf {
    storage: Vec<u8>,
    start: usize,
}

impl IoBuf {
    /// A zeroed buffer of [`BUF_LEN`] bytes starting on a page boundary.
    pub fn new() -> Self {
        let storage = vec![0u8; BUF_LEN + IO_ALIGN];
        // `align_offset` may give up (usize::MAX) on exotic targets; then the buffer is merely
        // unaligned, never wrong.
        let start = storage.as_ptr().align_offset(IO_ALIGN).min(IO_ALIGN);
        Self { storage, start }
    }

    /// The buffer.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + BUF_LEN]
    }
}

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
    /// Like any new file: 0666 less the umask. A replaced file keeps its mode.
    Normal,
    /// Owner only: a new file is 0600 (private keys, decrypted plaintext). A replaced file keeps
    /// its owner bits and loses any group or other access.
    Private,
}

/// An output, by what its path names.
///
/// * `-`, or a path that leads to this process's standard output (`/dev/stdout`,
///   `/dev/fd/1`): standard output.
/// * A device, FIFO or socket, a link to one, or another open descriptor (`/dev/stderr`,
///   `/dev/fd/N`): opened for writing and written as it is — no temporary file, nothing
///   renamed, nothing truncated, no `--force` needed.
/// * A regular file, new or existing, or a link to one: a temporary `.cse-partial-*` file
///   (mode 0600) beside the file the path finally names, renamed over it by
///   [`commit`](Self::commit); a link stays a link. An existing file is replaced only when
///   forced. A dangling link is refused. The temporary file is removed if the process fails,
///   and if a signal ends it ([`interrupt`]).
#[derive(Debug)]
pub enum Output {
    /// Standard output.
    Stdout(io::Stdout),
    /// A device, FIFO or socket, written directly.
    Through {
        /// The open target.
        file: File,
        /// `--flag path`, for messages.
        shown: String,
    },
    /// A temporary file to rename over a regular file.
    File(Box<Staged>),
}

/// A temporary file and the regular file it becomes.
#[derive(Debug)]
pub struct Staged {
    /// The temporary file, in the target's directory so the rename is atomic.
    temp: NamedTempFile,
    /// Removes the temporary file if a signal ends the process; `None` once released at commit.
    /// After `temp`, so it is dropped after the file is deleted.
    guard: Option<ProtectGuard>,
    /// The file the path finally names (after its links): what the rename replaces.
    target: PathBuf,
    /// `--flag path`, for messages.
    shown: String,
    /// The mode of a new file.
    mode: Mode,
    /// Whether an existing file may be replaced.
    force: bool,
}

/// What an output path names.
enum Target {
    /// This process's standard output.
    Stdout,
    /// Not a regular file: written through.
    Special,
    /// A regular file, existing or not, at this final path.
    Regular { target: PathBuf, exists: bool },
}

impl Output {
    /// Prepares the output for the argument `flag` (`-` for stdout). An existing regular file
    /// is refused unless `force`; the check is repeated atomically at commit.
    ///
    /// # Errors
    /// Exit 2 when the target is a directory, a dangling link or an existing file (without
    /// `force`), or cannot be opened, or no file can be created beside it.
    pub fn create(path: &Path, flag: &str, mode: Mode, force: bool) -> CliResult<Self> {
        if is_stdio(path) {
            return Ok(Self::Stdout(io::stdout()));
        }
        let shown = format!("{flag} {}", path.display());
        let (target, exists) = match resolve(path, &shown)? {
            Target::Stdout => return Ok(Self::Stdout(io::stdout())),
            Target::Special => {
                // No truncation (a device has nothing to truncate; a FIFO blocks here until a
                // reader opens it) and no creation: it exists.
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| CliError::input(&shown, &e))?;
                // What was opened is what is written: if the path was swapped for a regular
                // file (or a link to one) since it was looked at, writing through would
                // overwrite that file in place, without --force and without a rename.
                let opened = file.metadata().map_err(|e| CliError::input(&shown, &e))?;
                if opened.is_file() {
                    return Err(CliError::usage(format!(
                        "{shown}: opens a regular file, although it looked like a device or a \
                         pipe (a descriptor such as /dev/stderr redirected to a file, or a path \
                         swapped while it was opened); give the file's own path, or - for \
                         standard output"
                    )));
                }
                return Ok(Self::Through { file, shown });
            }
            Target::Regular { target, exists } => (target, exists),
        };
        if exists && !force {
            return Err(already_exists(&shown));
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (temp, guard) = interrupt::create_protected(&shown, || {
            let temp = temp_builder().tempfile_in(&dir)?;
            let path = temp.path().to_path_buf();
            Ok((temp, path))
        })
        .map_err(|e| {
            CliError::input(
                format!("{shown}: cannot create a file in {}", dir.display()),
                &e,
            )
        })?;
        Ok(Self::File(Box::new(Staged {
            temp,
            guard: Some(guard),
            target,
            shown,
            mode,
            force,
        })))
    }

    /// Writes all of `bytes`.
    ///
    /// # Errors
    /// Exit 141 quietly when standard output (or a pipe written through) was closed by its
    /// reader; exit 1 on any other write error.
    pub fn write_all(&mut self, bytes: &[u8]) -> CliResult<()> {
        match self {
            Self::Stdout(out) => out.write_all(bytes).map_err(|e| CliError::stdout(&e)),
            Self::Through { file, shown } => file
                .write_all(bytes)
                .map_err(|e| CliError::write(&shown, &e)),
            Self::File(staged) => staged
                .temp
                .write_all(bytes)
                .map_err(|e| CliError::io(format!("writing {}", staged.shown), &e)),
        }
    }

    /// The temporary file being written, to read back before committing.
    pub fn temp_path(&self) -> Option<&Path> {
        match self {
            Self::Stdout(_) | Self::Through { .. } => None,
            Self::File(staged) => Some(staged.temp.path()),
        }
    }

    /// Whether the output is a terminal.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Stdout(out) => out.is_terminal(),
            Self::Through { file, .. } => file.is_terminal(),
            Self::File(_) => false,
        }
    }

    /// Flushes the data to disk, gives the file its final mode and moves it into place: over
    /// the file it replaces when forced, else only if nothing appeared at the path meanwhile.
    /// A signal arriving meanwhile waits until the file is in place.
    ///
    /// # Errors
    /// Exit 2 when, unforced, a file appeared at the target meanwhile; exit 1 when flushing or
    /// renaming fails or the target stopped being a regular file; exit 141 quietly when
    /// standard output was closed.
    pub fn commit(self) -> CliResult<()> {
        Self::commit_all(vec![self])
    }

    /// Commits `outputs` in order as one step, all or none: a signal waits until every one is
    /// in place, and if one fails, those already renamed into place are removed again (a file
    /// that one of them replaced under `--force` is not restored). Outputs written through
    /// (stdout, devices) are only flushed.
    ///
    /// # Errors
    /// As [`commit`](Self::commit), for the first output that fails.
    pub fn commit_all(mut outputs: Vec<Self>) -> CliResult<()> {
        for output in &mut outputs {
            output.flush()?;
        }
        let mut held = interrupt::hold();
        // A signal recorded while a long operation could still stop cleanly (a CancelGuard
        // was alive) but after its last look: nothing is committed, and the temporary files go
        // with `outputs`.
        if let Some(signal) = held.pending() {
            // Signals first, then the outputs (whose guards take the same lock).
            drop(held);
            drop(outputs);
            return Err(CliError::interrupted(signal));
        }
        // Released before anything can fail: an output dropped below is dropped while signals
        // are held off, and deletes its temporary file itself.
        for output in &mut outputs {
            if let Self::File(staged) = output
                && let Some(guard) = staged.guard.take()
            {
                held.release(guard);
            }
        }
        let mut committed = Vec::new();
        let mut result = Ok(());
        for output in outputs {
            if let Self::File(staged) = output {
                match staged.rename() {
                    Ok(path) => committed.push(path),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        if result.is_err() {
            for path in committed {
                let _ = fs::remove_file(path);
            }
        }
        drop(held);
        result
    }

    /// Everything written so far, out of this process: flushed, and on disk for a file.
    fn flush(&mut self) -> CliResult<()> {
        match self {
            Self::Stdout(out) => out.flush().map_err(|e| CliError::stdout(&e)),
            Self::Through { file, shown } => file.flush().map_err(|e| CliError::write(&shown, &e)),
            Self::File(staged) => staged
                .temp
                .as_file()
                .sync_all()
                .map_err(|e| CliError::io(&staged.shown, &e)),
        }
    }
}

impl Staged {
    /// Gives the file its final mode and renames it into place; returns where it now is.
    fn rename(self) -> CliResult<PathBuf> {
        let Self {
            temp,
            target,
            shown,
            mode,
            force,
            ..
        } = self;
        let replaced = match fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_file() => Some(meta),
            Ok(_) => {
                // A link, device or directory appeared where a regular file was: rename
                // replaces only regular files.
                return Err(CliError::failed(format!(
                    "{shown}: {} is no longer a regular file; nothing was written",
                    target.display()
                )));
            }
            Err(_) => None,
        };
        set_final_mode(temp.as_file(), mode, replaced.as_ref())
            .map_err(|e| CliError::io(format!("{shown}: setting the file mode"), &e))?;
        let persisted = if force {
            temp.persist(&target)
        } else {
            temp.persist_noclobber(&target)
        };
        match persisted {
            Ok(_) => Ok(target),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Err(already_exists(&shown)),
            Err(e) => Err(CliError::io(shown, &e.error)),
        }
    }
}

fn already_exists(shown: &str) -> CliError {
    CliError::usage(format!(
        "{shown}: already exists; pass --force to replace it"
    ))
}

/// What `path` names, following its links; `shown` (`--flag path`) for messages.
fn resolve(path: &Path, shown: &str) -> CliResult<Target> {
    let link = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Target::Regular {
                target: path.to_path_buf(),
                exists: false,
            });
        }
        Err(e) => return Err(CliError::input(shown, &e)),
    };
    let is_link = link.file_type().is_symlink();
    let meta = if is_link {
        if let Some(fd) = descriptor(path) {
            return Ok(if fd == Some(1) {
                Target::Stdout
            } else {
                Target::Special
            });
        }
        match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let to = fs::read_link(path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                return Err(CliError::usage(format!(
                    "{shown}: a dangling symbolic link (to {to}, which does not exist); create \
                     its target or give another path"
                )));
            }
            Err(e) => return Err(CliError::input(shown, &e)),
        }
    } else {
        link
    };
    if meta.is_dir() {
        return Err(CliError::usage(format!(
            "{shown}: is a directory; give a file name"
        )));
    }
    if !meta.is_file() {
        return Ok(Target::Special);
    }
    let target = if is_link {
        fs::canonicalize(path).map_err(|e| CliError::input(shown, &e))?
    } else {
        path.to_path_buf()
    };
    Ok(Target::Regular {
        target,
        exists: true,
    })
}

/// Whether following `path`'s links passes through `/proc/PID/fd/N`, as `/dev/stdout`,
/// `/dev/stderr` and `/dev/fd/N` do: such a path names an open file descriptor, whatever it
/// is open on, never a file to replace. `Some(Some(n))` when PID is this process.
fn descriptor(path: &Path) -> Option<Option<u32>> {
    let mut at = path.to_path_buf();
    // The kernel's own limit on links followed in one lookup.
    for _ in 0..40 {
        if !fs::symlink_metadata(&at).ok()?.file_type().is_symlink() {
            return None;
        }
        let parent = match at.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let dir = fs::canonicalize(parent).ok()?;
        let parts: Vec<&OsStr> = dir.iter().collect();
        let pid = match parts.as_slice() {
            [root, proc, pid, fd] | [root, proc, pid, _, _, fd]
                if *root == "/" && *proc == "proc" && *fd == "fd" =>
            {
                pid.to_str().and_then(|p| p.parse::<u32>().ok())
            }
            _ => None,
        };
        if let Some(pid) = pid {
            let own = pid == std::process::id();
            let fd = at.file_name()?.to_str()?.parse::<u32>().ok()?;
            return Some(own.then_some(fd));
        }
        let next = fs::read_link(&at).ok()?;
        at = dir.join(next);
    }
    None
}

/// Whether `a` and `b` name one file: by identity (device and inode, after links) when both
/// exist; by canonical directory and file name when neither does yet. `-` is the same only as
/// `-`.
pub fn same_file(a: &Path, b: &Path) -> bool {
    if is_stdio(a) || is_stdio(b) {
        return is_stdio(a) && is_stdio(b);
    }
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(ma), Ok(mb)) => file_id(&ma) == file_id(&mb),
        (Err(_), Err(_)) => match (new_file_id(a), new_file_id(b)) {
            (Some(ia), Some(ib)) => ia == ib,
            _ => a == b,
        },
        _ => false,
    }
}

/// Where a file that does not exist yet would be created: its directory, canonical, and name.
fn new_file_id(path: &Path) -> Option<(PathBuf, OsString)> {
    let name = path.file_name()?.to_owned();
    let parent = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some((fs::canonicalize(parent).ok()?, name))
}

#[cfg(unix)]
fn file_id(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_id(meta: &fs::Metadata) -> (u64, u64) {
    // No portable identity: equal lengths and times are the best guess without unsafe code.
    let time = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    (meta.len(), time)
}

/// Refuses two outputs that are one file (the second would overwrite the first), and an output
/// that is one of the inputs (it would be replaced while, or before, it is read). Each entry is
/// a path and its flag. Character devices (`/dev/null`, a terminal) are exempt: nothing is
/// replaced on them.
///
/// # Errors
/// Exit 2, naming both flags.
pub fn check_distinct(outputs: &[(&Path, &str)], inputs: &[(&Path, &str)]) -> CliResult<()> {
    for (i, &(out, out_flag)) in outputs.iter().enumerate() {
        if is_character_device(out) {
            continue;
        }
        for &(input, in_flag) in inputs {
            // `-` is standard input on one side and standard output on the other: compare what
            // the descriptors are open on (`cse encrypt --in f --out - >> f` appends to f).
            let (out_path, in_path) = (
                stdio_path(out, "/dev/stdout"),
                stdio_path(input, "/dev/stdin"),
            );
            let regular = |p: &Path| fs::metadata(p).is_ok_and(|m| m.is_file());
            let stdio = is_stdio(out) || is_stdio(input);
            // A descriptor is compared only when both sides are regular files: a terminal or a
            // pipe on both ends is not one file that writing could destroy.
            if (!stdio || (regular(&out_path) && regular(&in_path)))
                && same_file(&out_path, &in_path)
            {
                return Err(CliError::usage(format!(
                    "{out_flag} {} and {in_flag} {} are the same file: writing {out_flag} would \
                     destroy {in_flag}; give {out_flag} another file",
                    out.display(),
                    input.display()
                )));
            }
        }
        for &(other, other_flag) in &outputs[i + 1..] {
            if same_file(out, other) {
                return Err(CliError::usage(format!(
                    "{out_flag} {} and {other_flag} {} are the same file; give each output its \
                     own file",
                    out.display(),
                    other.display()
                )));
            }
        }
    }
    Ok(())
}

/// `-` as the descriptor it stands for (`/dev/stdout`, `/dev/stdin`, which the identity
/// comparison follows to what it is open on); any other path as it is.
fn stdio_path<'p>(path: &'p Path, descriptor: &'static str) -> std::borrow::Cow<'p, Path> {
    if is_stdio(path) {
        std::borrow::Cow::Owned(PathBuf::from(descriptor))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

fn is_character_device(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        !is_stdio(path) && fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Refuses to write ciphertext to a terminal, where it is only noise (and can leave the terminal
/// in a strange state), unless forced.
///
/// # Errors
/// Exit 2 when `is_terminal` and not `force`.
pub fn refuse_terminal(shown: &str, is_terminal: bool, force: bool) -> CliResult<()> {
    if is_terminal && !force {
        Err(CliError::usage(format!(
            "{shown}: refusing to write ciphertext to a terminal; redirect standard output to a \
             file or a pipe, or pass --force"
        )))
    } else {
        Ok(())
    }
}

/// Temporary files are owner-only while they are written, whatever their final mode.
fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".cse-partial-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    builder
}

/// The mode a committed file gets: the mode of the file it replaces (owner bits only for a
/// private output), else 0600 for a private output and 0666 less the umask for the others.
#[cfg(unix)]
fn final_mode(mode: Mode, replaced: Option<u32>, umask: u32) -> u32 {
    match (mode, replaced) {
        (Mode::Normal, Some(old)) => old & 0o777,
        (Mode::Private, Some(old)) => old & 0o700,
        (Mode::Normal, None) => 0o666 & !umask,
        (Mode::Private, None) => 0o600,
    }
}

#[cfg(unix)]
fn set_final_mode(file: &File, mode: Mode, replaced: Option<&fs::Metadata>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let old = replaced.map(|m| m.permissions().mode());
    let umask = if old.is_none() && mode == Mode::Normal {
        umask()
    } else {
        0
    };
    file.set_permissions(fs::Permissions::from_mode(final_mode(mode, old, umask)))
}

#[cfg(not(unix))]
fn set_final_mode(_file: &File, _mode: Mode, _replaced: Option<&fs::Metadata>) -> io::Result<()> {
    Ok(())
}

/// The process umask, from the `Umask:` line of /proc/self/status (reading it with umask(2)
/// would set it); 022 where that file is not available.
#[cfg(unix)]
fn umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_umask(&status))
        .unwrap_or(0o022)
}

#[cfg(unix)]
fn parse_umask(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
}

/// Set by `-q`: no progress bar anywhere.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns every later progress bar off (`-q`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// A progress bar on stderr for a stream of `len` bytes: hidden unless stderr is a terminal and
/// the stream is large, and always with `-q`.
pub fn progress(len: Option<u64>) -> ProgressBar {
    let quiet = QUIET.load(std::sync::atomic::Ordering::Relaxed);
    match len {
        Some(len) if !quiet && len >= PROGRESS_MIN_LEN && io::stderr().is_terminal() => {
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
    // Sized up front, so reading a key never reallocates and leaves a copy of it behind.
    let mut bytes = Vec::with_capacity(usize::try_from(max.saturating_add(1)).unwrap_or(0));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ciphertext_is_refused_on_a_terminal_unless_forced() {
        let e = refuse_terminal("--out -", true, false).unwrap_err();
        assert_eq!(e.code(), 2);
        let text = e.to_string();
        assert!(
            text.starts_with("--out -: refusing to write ciphertext to a terminal")
                && text.contains("--force"),
            "{text}"
        );
        assert!(refuse_terminal("--out -", true, true).is_ok());
        assert!(refuse_terminal("--out -", false, false).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn final_modes() {
        assert_eq!(final_mode(Mode::Normal, None, 0o022), 0o644);
        assert_eq!(final_mode(Mode::Normal, None, 0o077), 0o600);
        assert_eq!(final_mode(Mode::Private, None, 0o000), 0o600);
        assert_eq!(final_mode(Mode::Normal, Some(0o100_640), 0o077), 0o640);
        assert_eq!(final_mode(Mode::Normal, Some(0o4755), 0o022), 0o755);
        assert_eq!(final_mode(Mode::Private, Some(0o644), 0o022), 0o600);
        assert_eq!(final_mode(Mode::Private, Some(0o400), 0o022), 0o400);
    }

    #[cfg(unix)]
    #[test]
    fn the_umask_line_of_proc_status() {
        assert_eq!(
            parse_umask("Name:\tcse\nUmask:\t0027\nState:\tR\n"),
            Some(0o027)
        );
        assert_eq!(parse_umask("Name:\tcse\n"), None);
    }

    #[test]
    fn same_file_by_identity_and_by_directory() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let dotted = dir.path().join(".").join("a");
        assert!(same_file(&a, &dotted), "not yet existing");
        assert!(!same_file(&a, &dir.path().join("b")));
        fs::write(&a, b"x").unwrap();
        assert!(same_file(&a, &dotted), "existing");
        assert!(!same_file(&a, &dir.path().join("b")), "one exists");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            assert!(same_file(&a, &link), "a link to it");
            let hard = dir.path().join("hard");
            fs::hard_link(&a, &hard).unwrap();
            assert!(same_file(&hard, &a), "a hard link");
        }
        assert!(same_file(Path::new("-"), Path::new("-")));
        assert!(!same_file(Path::new("-"), &a));
    }
}

#[cfg(test)]
mod io_buf_tests {
    use super::{BUF_LEN, IO_ALIGN, IoBuf};

    #[test]
    fn the_streaming_buffer_starts_on_a_page_and_holds_buf_len_bytes() {
        for _ in 0..8 {
            let mut io = IoBuf::new();
            let buf = io.as_mut_slice();
            assert_eq!(buf.len(), BUF_LEN);
            assert_eq!(buf.as_ptr().addr() % IO_ALIGN, 0);
        }
    }
}
