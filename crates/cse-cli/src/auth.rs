//! Authenticated objects in the CLI (`docs/authenticated-objects.md`): writer key files, the
//! side-car a writer produces as the ciphertext passes, and the checks a reader makes before
//! it releases plaintext. Every rule (derivation, digests, tags, layout) is the engine's
//! `cse_core::auth`; this module only moves bytes between files and those calls.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use cse_core::auth::{
    AuthError, AuthParams, DEFAULT_CHUNK_SIZE, Expected, SIDECAR_HEADER_LEN, SidecarHeader,
    WriterKey, check_chunk_size, check_part_size,
};
use cse_core::{DEFAULT_PREFIX, Envelope, decode_auth_params};
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult, Context as _};
use crate::files::read_small;

/// The largest writer key file accepted (an Ed25519 PEM is about 120 bytes).
const MAX_WRITER_KEY_LEN: u64 = 4096;

/// A failed check: exit 1, one line naming it.
pub fn failed(error: AuthError) -> CliError {
    CliError::failed(format!("authentication failed: {error}"))
}

/// Loads a writer's signing key (PKCS#8 PEM, as `cse keygen --signing` writes it).
///
/// # Errors
/// Exit 2 when the file cannot be read or is not an Ed25519 private key.
pub fn load_writer_key(path: &Path, flag: &str) -> CliResult<WriterKey> {
    let bytes = Zeroizing::new(read_small(path, flag, MAX_WRITER_KEY_LEN)?);
    let bad = || {
        CliError::usage(format!(
            "{flag} {}: not an Ed25519 private key in PKCS#8 PEM (make one with cse keygen \
             --signing)",
            path.display()
        ))
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(text).map_err(|_| bad())?;
    Ok(WriterKey::from_seed(&Zeroizing::new(key.to_bytes())))
}

/// Loads the trusted writers' public keys (SPKI PEM), each given as `flag`.
///
/// # Errors
/// Exit 2 when a file cannot be read or is not an Ed25519 public key.
pub fn load_trusted(paths: &[PathBuf], flag: &str) -> CliResult<Vec<[u8; 32]>> {
    paths
        .iter()
        .map(|path| {
            let bytes = read_small(path, flag, MAX_WRITER_KEY_LEN)?;
            let bad = || {
                CliError::usage(format!(
                    "{flag} {}: not an Ed25519 public key in SPKI PEM (cse keygen --signing \
                     writes one with --public-out)",
                    path.display()
                ))
            };
            let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
            ed25519_dalek::VerifyingKey::from_public_key_pem(text)
                .map(|key| key.to_bytes())
                .map_err(|_| bad())
        })
        .collect()
}

/// The chunk size given with `--auth-chunk-size`, or the default.
///
/// # Errors
/// Exit 2 for a size that is not a power of two from 64 KiB to 64 MiB.
pub fn chunk_size(given: Option<u64>) -> CliResult<u32> {
    let size = given.unwrap_or(u64::from(DEFAULT_CHUNK_SIZE));
    check_chunk_size(size).map_err(|e| CliError::usage(format!("--auth-chunk-size {size}: {e}")))
}

/// Checks that a multipart part size holds whole chunks.
///
/// # Errors
/// Exit 2 otherwise.
pub fn check_parts(part_size: u64, chunk_size: u32) -> CliResult<()> {
    check_part_size(part_size, chunk_size).map_err(|e| CliError::usage(format!("--part-size: {e}")))
}

/// The metadata entries announcing authentication, to add to the envelope's.
///
/// # Errors
/// Exit 2 (never for the default prefix).
pub fn headers(params: &AuthParams) -> CliResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    params
        .encode_headers(DEFAULT_PREFIX, |n, v| {
            out.push((n.to_owned(), v.to_owned()))
        })
        .ctx("the authentication headers")?;
    Ok(out)
}

/// The object's authentication parameters from its metadata, if it announces any.
///
/// # Errors
/// Exit 2 for malformed `cse-auth-*` headers (an unknown version among them).
pub fn params(headers: &[(String, String)], origin: &str) -> CliResult<Option<AuthParams>> {
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    decode_auth_params(pairs, DEFAULT_PREFIX).ctx(origin)
}

/// A side-car file given with `--auth`, read only as far as a check needs.
pub struct SidecarFile {
    file: File,
    shown: String,
    header: [u8; SIDECAR_HEADER_LEN],
}

impl SidecarFile {
    /// Opens the side-car and reads its header's bytes.
    ///
    /// # Errors
    /// Exit 1 when it cannot be read or is shorter than a header (a missing side-car is a
    /// failed check).
    pub fn open(path: &Path) -> CliResult<Self> {
        let shown = format!("--auth {}", path.display());
        let mut file = File::open(path).map_err(|e| {
            CliError::failed(format!(
                "authentication failed: side-car missing: {shown}: {e}; the object's metadata \
                 announces a side-car, and without it nothing can be verified"
            ))
        })?;
        let mut header = [0u8; SIDECAR_HEADER_LEN];
        read_exact(&mut file, &mut header, &shown)?;
        Ok(Self {
            file,
            shown,
            header,
        })
    }

    /// Checks that a side-car that is a regular file holds exactly `header`'s tags (a pipe is
    /// checked as it is read, by [`whole`](Self::whole)).
    ///
    /// # Errors
    /// Exit 1 for a side-car too short for its tags or with bytes after them.
    pub fn check_len(&self, header: &SidecarHeader) -> CliResult<()> {
        let meta = self
            .file
            .metadata()
            .map_err(|e| CliError::input(&self.shown, &e))?;
        if !meta.is_file() {
            return Ok(());
        }
        match meta.len().cmp(&header.sidecar_len()) {
            std::cmp::Ordering::Less => Err(failed(AuthError::Sidecar(
                cse_core::auth::SidecarProblem::TooShort,
            ))),
            std::cmp::Ordering::Greater => Err(failed(AuthError::Sidecar(
                cse_core::auth::SidecarProblem::TrailingBytes,
            ))),
            std::cmp::Ordering::Equal => Ok(()),
        }
    }

    /// The header bytes, for `check_sidecar_header`.
    pub const fn header(&self) -> &[u8; SIDECAR_HEADER_LEN] {
        &self.header
    }

    /// Every byte of the side-car, for a whole check: at most what `header` declares, plus one
    /// byte to see that nothing follows.
    ///
    /// # Errors
    /// Exit 1 when it cannot be read.
    pub fn whole(&mut self, header: &SidecarHeader) -> CliResult<Vec<u8>> {
        let mut out = self.header.to_vec();
        let rest = header.sidecar_len() - SIDECAR_HEADER_LEN as u64;
        (&mut self.file)
            .take(rest + 1)
            .read_to_end(&mut out)
            .map_err(|e| CliError::input(&self.shown, &e))?;
        Ok(out)
    }

    /// The side-car bytes `range` (tags), read with one seek.
    ///
    /// # Errors
    /// Exit 1 when they cannot be read, or the file ends first.
    pub fn range(&mut self, range: Range<u64>) -> CliResult<Vec<u8>> {
        self.file
            .seek(SeekFrom::Start(range.start))
            .map_err(|e| CliError::input(&self.shown, &e))?;
        let len = usize::try_from(range.end - range.start)
            .map_err(|_| CliError::failed(format!("{}: the tag range is too long", self.shown)))?;
        let mut out = vec![0; len];
        read_exact(&mut self.file, &mut out, &self.shown)?;
        Ok(out)
    }
}

fn read_exact(file: &mut File, buf: &mut [u8], shown: &str) -> CliResult<()> {
    file.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            failed(AuthError::Sidecar(cse_core::auth::SidecarProblem::TooShort))
                .with_note(format!("{shown} ends early"))
        } else {
            CliError::input(shown, &e)
        }
    })
}

/// What a reader checks a side-car against.
pub fn expected<'a>(
    envelope: &'a Envelope,
    params: &'a AuthParams,
    len: u64,
    trusted: &'a [[u8; 32]],
) -> Expected<'a> {
    Expected {
        envelope,
        params,
        len,
        name: None,
        trusted,
    }
}

/// Where [`each_chunk`] hands each chunk, in order, with what its work returned.
pub type ChunkSink<'a, T> = &'a mut dyn FnMut(u64, &[u8], T) -> CliResult<()>;

/// The most chunk bytes held at once by [`each_chunk`]: it bounds the threads for large chunks
/// (a forged side-car may declare 64 MiB ones).
const MAX_IN_FLIGHT: usize = 64 << 20;

/// Reads the chunks `chunks` in order with `read`, runs `work` on them on all cores (each
/// chunk whole, on one thread: sealing then tagging, or checking then decrypting, while the
/// chunk is in cache), and hands them to `write` in order. `len(index)` is chunk `index`'s
/// length, at most `chunk_size`. A failure of `work` on a chunk stops before that chunk is
/// written: earlier chunks of the batch, which succeeded, are written first.
///
/// # Errors
/// The first error of `read`, `work` or `write`, in chunk order.
pub fn each_chunk<T: Send>(
    chunks: Range<u64>,
    chunk_size: usize,
    len: &dyn Fn(u64) -> CliResult<usize>,
    read: &mut dyn FnMut(u64, &mut [u8]) -> CliResult<()>,
    work: &(dyn Fn(u64, &mut [u8]) -> CliResult<T> + Sync),
    write: ChunkSink<'_, T>,
) -> CliResult<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.min(MAX_IN_FLIGHT / chunk_size.max(1)).max(1);
    let mut buffers: Vec<Zeroizing<Vec<u8>>> = (0..threads)
        .map(|_| Zeroizing::new(vec![0; chunk_size]))
        .collect();
    let mut next = chunks.start;
    while next < chunks.end {
        // Read a batch; a read error ends it, after the chunks read before it are done.
        let mut batch = Vec::with_capacity(threads);
        let mut read_error = None;
        for buffer in &mut buffers {
            if next == chunks.end {
                break;
            }
            let read_one = len(next).and_then(|n| {
                let buf = &mut buffer[..n];
                read(next, buf).map(|()| buf)
            });
            match read_one {
                Ok(buf) => batch.push((next, buf)),
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
            next += 1;
        }
        // Every item on a scoped thread of its own, so a panic anywhere is an error.
        let results: Vec<CliResult<T>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .iter_mut()
                .map(|(index, buf)| s.spawn(|| work(*index, buf)))
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle.join().unwrap_or_else(|_| {
                        Err(CliError::failed(
                            "a chunk worker thread panicked; this is a bug",
                        ))
                    })
                })
                .collect()
        });
        for ((index, buf), result) in batch.iter().zip(results) {
            write(*index, buf, result?)?;
        }
        if let Some(e) = read_error {
            return Err(e);
        }
    }
    Ok(())
}
