//! The local checkpoint of a multipart upload: what a resumed upload trusts, instead of what the
//! server lists.
//!
//! A resumed upload seals its remaining parts with the content key of an envelope. If that
//! envelope came from the server (ListParts), a hostile endpoint, a man in the middle on http, or
//! anyone holding the public master key could hand over another object's envelope (the resumed
//! parts then reuse that object's keystream) or one it wrapped itself (it then reads every
//! resumed part). So the client writes the envelope down when it initiates the upload, and on
//! resume only *compares* the listing against it.
//!
//! The file is an append-only journal of JSON lines, fsynced after each line, so a crash at any
//! point leaves a readable record (a torn last line is ignored):
//!
//! ```text
//! {"checkpoint":"cse-upload/3","bucket":"b","key":"k","source":"...","envelope":{...headers...}}
//! {"upload_id":"..."}                                  after InitiateMultipartUpload answered
//! {"sealed":3,"size":8388608,"digest":"..."}           before part 3's ciphertext leaves
//! {"uploaded":3,"etag":"\"...\""}                      after UploadPart 3 answered
//! ```
//!
//! It holds no unwrapped secret: the envelope is the wrapped key and counter block (public
//! metadata), and a part's digest is a hash (BLAKE3) of its ciphertext, which the server holds
//! anyway. A part recorded as sealed may be sealed again only from the same plaintext
//! ([`cse_core::MultipartContext::reseal_part`] checks the digest), so a source that changed
//! while the upload was interrupted is refused rather than uploaded under the same keystream.
//!
//! While a checkpoint is open its file is locked (an exclusive advisory lock), so two processes,
//! or two resumes in one process, cannot drive the same upload at once.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cse_core::{DEFAULT_PREFIX, DecodeOptions, Envelope, PART_DIGEST_LEN, PartDigest};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, io_error};

/// 3: part digests are the chunked BLAKE3 of [`PartDigest`], under the key `digest` (2 was a
/// chunked SHA-256 under `sha256`, 1 hashed the part whole).
const FORMAT: &str = "cse-upload/3";

/// For a checkpoint of an earlier format, what to tell the user: which format, and the upload
/// it holds (its id and object), since it cannot be resumed and should be aborted rather than
/// left on the server unseen. `None` for anything else.
fn older_format(first: &[u8], text: &[u8]) -> Option<String> {
    let header: serde_json::Value = serde_json::from_slice(first).ok()?;
    let format = header.get("checkpoint")?.as_str()?;
    if !format.starts_with("cse-upload/") || format == FORMAT {
        return None;
    }
    let field = |name: &str| header.get(name).and_then(|v| v.as_str()).unwrap_or("?");
    let upload_id = text
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
        .find_map(|v| v.get("upload_id")?.as_str().map(str::to_owned));
    let upload = match upload_id {
        Some(id) => format!(
            "it holds upload {id} of oss://{}/{}: abort that upload (AbortMultipartUpload, with \
             any OSS tool, or the version of cse that wrote the file), then remove the file and \
             upload again",
            field("bucket"),
            field("key")
        ),
        None => {
            "it was written before any upload was initiated: remove it and upload again".to_owned()
        }
    };
    Some(format!(
        "is a {format} checkpoint, an older format than this version's {FORMAT} (its part \
         digests are computed differently), so it cannot be resumed; {upload}"
    ))
}

/// What the checkpoint knows of one part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartRecord {
    /// The part's length in bytes.
    pub size: u64,
    /// The [`PartDigest`] (a chunked BLAKE3) of the ciphertext that was (about to be) sent.
    pub digest: PartDigest,
    /// The ETag OSS answered, once the upload of the part succeeded.
    pub etag: Option<String>,
}

/// What a checkpoint holds.
#[derive(Clone, Debug)]
pub struct CheckpointState {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The caller's description of the source (the file's size, modification time and inode
    /// for [`upload_file`](crate::EncryptionClient::upload_file)), compared on resume.
    pub source: String,
    /// The upload id, once InitiateMultipartUpload answered.
    pub upload_id: Option<String>,
    /// The envelope the client sealed the upload with, multipart sizes included.
    pub envelope: Envelope,
    /// The parts sealed so far, by number.
    pub parts: BTreeMap<u32, PartRecord>,
    /// A check value of the content material ([`key_check`]), so that a resume under a master
    /// key that "unwraps" the envelope to other material (implicit rejection lets about one
    /// wrong key in 62,500 do that for both values) is refused instead of sealing garbage.
    pub key_check: String,
}

/// HMAC-SHA256, keyed by the content key, of a fixed label and the counter block: a value that
/// identifies the material without revealing anything of it.
#[must_use]
pub fn key_check(material: &cse_core::ContentMaterial) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(material.key().as_bytes()) else {
        // HMAC takes keys of any length; this cannot fail.
        return String::new();
    };
    mac.update(b"cse-upload/1 key check\0");
    mac.update(material.counter().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    checkpoint: String,
    bucket: String,
    key: String,
    source: String,
    envelope: BTreeMap<String, String>,
    key_check: String,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Line {
    Initiated {
        upload_id: String,
    },
    Sealed {
        sealed: u32,
        size: u64,
        digest: String,
    },
    Uploaded {
        uploaded: u32,
        etag: String,
    },
}

/// An open checkpoint file of one multipart upload.
///
/// A resumed upload seals its remaining parts with the content key of an envelope; if that
/// envelope came from the server (ListParts), a hostile endpoint, a man in the middle, or anyone
/// holding the public master key could hand over another object's envelope (keystream reuse) or
/// one it wrapped itself (it then reads every resumed part). So the client records the envelope
/// when it initiates the upload, and a resume only compares the listing against it.
///
/// The file is an append-only journal of JSON lines, fsynced after each line: the header
/// (bucket, key, source, envelope, key check) before InitiateMultipartUpload is sent, then
/// `{"upload_id":..}`, and for each part `{"sealed":N,"size":..,"digest":..}` before its
/// ciphertext leaves and `{"uploaded":N,"etag":..}` after OSS accepts it. A torn last line is
/// ignored and cut off on open. It holds no unwrapped secret: the envelope is wrapped, a digest is
/// of ciphertext, and the key check is an HMAC under the content key. While open, the file is
/// locked, so two processes (or two resumes) cannot drive one upload.
pub struct UploadCheckpoint {
    path: PathBuf,
    inner: Mutex<(File, CheckpointState)>,
    /// Set when an append could be neither completed nor rolled back: every later append is
    /// refused, so the half record stays last, where the next open ignores it.
    poisoned: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for UploadCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadCheckpoint")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn bad(path: &Path, problem: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

fn lock(file: &File, path: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(bad(
            path,
            "is in use by another upload (it is locked); wait for it to finish",
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(io_error(path)(e)),
    }
}

impl UploadCheckpoint {
    /// Creates the checkpoint of a new upload, before InitiateMultipartUpload is sent, so that an
    /// upload whose Initiate reply is lost is still on record. Fails if the file exists: resume it
    /// ([`UploadCheckpoint::open`]) or remove it. `key_check` is [`key_check`] of the upload's
    /// material.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] when the file exists or `envelope` has no multipart sizes;
    /// [`Error::Io`].
    pub fn create(
        path: impl AsRef<Path>,
        bucket: &str,
        key: &str,
        source: &str,
        envelope: &Envelope,
        key_check: &str,
    ) -> Result<Self> {
        let path = path.as_ref();
        if envelope.multipart().and_then(|m| m.data_size).is_none() {
            return Err(bad(path, "the envelope has no part size and data size"));
        }
        let mut options = OpenOptions::new();
        options.append(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                bad(
                    path,
                    "already exists: it belongs to an earlier upload; resume that one, or \
                     remove the file to start a new upload",
                )
            } else {
                io_error(path)(e)
            }
        })?;
        lock(&file, path)?;
        let headers = envelope.to_headers(DEFAULT_PREFIX)?;
        let header = Header {
            checkpoint: FORMAT.to_owned(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source: source.to_owned(),
            envelope: headers.into_iter().collect(),
            key_check: key_check.to_owned(),
        };
        let state = CheckpointState {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source: source.to_owned(),
            upload_id: None,
            envelope: envelope.clone(),
            parts: BTreeMap::new(),
            key_check: key_check.to_owned(),
        };
        let checkpoint = Self {
            path: path.to_owned(),
            inner: Mutex::new((file, state)),
            poisoned: std::sync::atomic::AtomicBool::new(false),
        };
        checkpoint
            .append(&serde_json::to_string(&header).map_err(|e| bad(path, e.to_string()))?)?;
        // The new file's directory entry must survive a crash too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(checkpoint)
    }

    /// Opens and reads an existing checkpoint, and locks it.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming the line and the problem for anything that is not a
    /// checkpoint this version wrote; [`Error::Io`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io_error(path))?;
        lock(&file, path)?;
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut BufReader::new(&file), &mut text)
            .map_err(io_error(path))?;
        let state = parse(path, &text)?;
        // A torn last record (a crash mid-append) never became durable and is ignored; cut it
        // off, so the next record starts on a line of its own.
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if whole < text.len() {
            file.set_len(whole as u64).map_err(io_error(path))?;
            file.sync_data().map_err(io_error(path))?;
        }
        Ok(Self {
            path: path.to_owned(),
            inner: Mutex::new((file, state)),
            poisoned: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The checkpoint's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of what the checkpoint holds now.
    #[must_use]
    pub fn state(&self) -> CheckpointState {
        self.guard().1.clone()
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, (File, CheckpointState)> {
        // A panic while holding the lock cannot leave the state half-updated: every update
        // appends first and changes the in-memory state only after the write succeeded.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn append_locked(&self, file: &mut File, line: &str) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(bad(
                &self.path,
                "an earlier record could not be written; nothing more is recorded (abort the \
                 upload, or resume it in a new run)",
            ));
        }
        let result = append_line(file, &self.path, line);
        if matches!(result, Err(Error::Checkpoint { .. })) {
            self.poisoned.store(true, Ordering::SeqCst);
        }
        result
    }

    /// One record for part `part`, if any: what a seal needs, without copying the whole state.
    #[must_use]
    pub fn part(&self, part: u32) -> Option<PartRecord> {
        self.guard().1.parts.get(&part).cloned()
    }

    fn append(&self, line: &str) -> Result<()> {
        let mut guard = self.guard();
        self.append_locked(&mut guard.0, line)
    }

    /// Records the upload id InitiateMultipartUpload answered.
    ///
    /// # Errors
    /// [`Error::Io`] when the record cannot be made durable.
    pub fn record_initiated(&self, upload_id: &str) -> Result<()> {
        let line = serde_json::to_string(&Line::Initiated {
            upload_id: upload_id.to_owned(),
        })
        .map_err(|e| bad(&self.path, e.to_string()))?;
        let mut guard = self.guard();
        self.append_locked(&mut guard.0, &line)?;
        guard.1.upload_id = Some(upload_id.to_owned());
        Ok(())
    }

    /// Records, durably, that part `part` was sealed to a ciphertext of `size` bytes with
    /// `digest`: call it before the ciphertext leaves the machine.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] when a different record of the part exists; [`Error::Io`].
    pub fn record_sealed(&self, part: u32, size: u64, digest: &PartDigest) -> Result<()> {
        let mut guard = self.guard();
        if let Some(known) = guard.1.parts.get(&part) {
            return if known.size == size && known.digest == *digest {
                Ok(())
            } else {
                Err(bad(
                    &self.path,
                    format!("part {part} is already recorded with another ciphertext"),
                ))
            };
        }
        let line = serde_json::to_string(&Line::Sealed {
            sealed: part,
            size,
            digest: hex::encode(digest.as_bytes()),
        })
        .map_err(|e| bad(&self.path, e.to_string()))?;
        self.append_locked(&mut guard.0, &line)?;
        guard.1.parts.insert(
            part,
            PartRecord {
                size,
                digest: *digest,
                etag: None,
            },
        );
        Ok(())
    }

    /// Records that part `part` was uploaded and OSS answered `etag`.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] when the part was never recorded as sealed; [`Error::Io`].
    pub fn record_uploaded(&self, part: u32, etag: &str) -> Result<()> {
        let mut guard = self.guard();
        if !guard.1.parts.contains_key(&part) {
            return Err(bad(
                &self.path,
                format!("part {part} was uploaded without being recorded as sealed first"),
            ));
        }
        let line = serde_json::to_string(&Line::Uploaded {
            uploaded: part,
            etag: etag.to_owned(),
        })
        .map_err(|e| bad(&self.path, e.to_string()))?;
        self.append_locked(&mut guard.0, &line)?;
        if let Some(record) = guard.1.parts.get_mut(&part) {
            record.etag = Some(etag.to_owned());
        }
        Ok(())
    }

    /// Removes the checkpoint file: the upload completed, or was aborted.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be removed.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&self.path)(e)),
            _ => Ok(()),
        }
    }
}

/// Appends one record durably. A failed append is rolled back to the previous length, so the
/// journal never holds half a record followed by more; if even that fails, the error says the
/// checkpoint must not be trusted, and the caller stops (every caller stops at an error).
fn append_line(file: &mut File, path: &Path, line: &str) -> Result<()> {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let before = file.metadata().map_err(io_error(path))?.len();
    let written = file
        .write_all(&bytes)
        .and_then(|()| file.sync_data())
        .map_err(io_error(path));
    if written.is_err()
        && file
            .set_len(before)
            .and_then(|()| file.sync_data())
            .is_err()
    {
        return Err(bad(
            path,
            "a record could not be written nor rolled back (is the disk full?); this \
             checkpoint may end in half a record: abort the upload and remove the file",
        ));
    }
    written
}

fn parse(path: &Path, text: &[u8]) -> Result<CheckpointState> {
    let mut lines = BufReader::new(text).split(b'\n').enumerate().peekable();
    let complete = text.ends_with(b"\n");
    let Some((_, first)) = lines.next() else {
        return Err(bad(path, "is empty: it is not a cse upload checkpoint"));
    };
    if !text.contains(&b'\n') {
        // The header is written, and made durable, before InitiateMultipartUpload is sent.
        return Err(bad(
            path,
            "is incomplete: the process stopped while creating it, before any upload was \
             initiated; remove it and start again",
        ));
    }
    let first = first.map_err(io_error(path))?;
    if let Some(message) = older_format(&first, text) {
        return Err(bad(path, message));
    }
    let header: Header = serde_json::from_slice(&first)
        .ok()
        .filter(|h: &Header| h.checkpoint == FORMAT)
        .ok_or_else(|| bad(path, format!("line 1 is not a {FORMAT} checkpoint header")))?;
    let envelope = cse_core::decode_envelope(
        header
            .envelope
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        &DecodeOptions::strict(),
    )
    .map_err(|e| bad(path, format!("line 1: the envelope: {e}")))?
    .filter(|e| e.multipart().and_then(|m| m.data_size).is_some())
    .ok_or_else(|| bad(path, "line 1: the envelope has no part size and data size"))?;
    let mut state = CheckpointState {
        bucket: header.bucket,
        key: header.key,
        source: header.source,
        upload_id: None,
        envelope,
        parts: BTreeMap::new(),
        key_check: header.key_check,
    };
    while let Some((index, line)) = lines.next() {
        let line = line.map_err(io_error(path))?;
        let n = index + 1;
        let last = lines.peek().is_none();
        // The one line a crash can leave torn is the last one, without its newline: its fsync
        // never returned, so nothing it guarded happened (no part it records left the machine).
        // It is ignored whether or not it parses, and `open` cuts it off.
        if last && (line.is_empty() || !complete) {
            break;
        }
        let parsed: Option<Line> = serde_json::from_slice(&line).ok();
        let Some(parsed) = parsed else {
            return Err(bad(path, format!("line {n} is not a checkpoint record")));
        };
        let problem = match parsed {
            Line::Initiated { upload_id } if state.upload_id.is_none() && !upload_id.is_empty() => {
                state.upload_id = Some(upload_id);
                None
            }
            Line::Initiated { .. } => Some("records a second or empty upload id".to_owned()),
            Line::Sealed { .. } | Line::Uploaded { .. } if state.upload_id.is_none() => {
                Some("records a part before the upload id".to_owned())
            }
            Line::Sealed {
                sealed,
                size,
                digest,
            } => {
                let digest = hex::decode(&digest)
                    .ok()
                    .and_then(|d| <[u8; PART_DIGEST_LEN]>::try_from(d).ok())
                    .map(PartDigest::from_bytes);
                match digest {
                    None => Some(format!("part {sealed}: digest is not 64 hex digits")),
                    // The same record twice (a retried append) says nothing new.
                    Some(d)
                        if state
                            .parts
                            .get(&sealed)
                            .is_some_and(|r| r.size == size && r.digest == d) =>
                    {
                        None
                    }
                    Some(_) if state.parts.contains_key(&sealed) => Some(format!(
                        "part {sealed} is recorded as sealed twice, with different ciphertexts"
                    )),
                    Some(digest) => {
                        state.parts.insert(
                            sealed,
                            PartRecord {
                                size,
                                digest,
                                etag: None,
                            },
                        );
                        None
                    }
                }
            }
            Line::Uploaded { uploaded, etag } => match state.parts.get_mut(&uploaded) {
                Some(record) if record.etag.is_none() => {
                    record.etag = Some(etag);
                    None
                }
                Some(record) if record.etag.as_deref() == Some(etag.as_str()) => None,
                Some(_) => Some(format!(
                    "part {uploaded} is recorded as uploaded twice, with different ETags"
                )),
                None => Some(format!("part {uploaded} is uploaded before it is sealed")),
            },
        };
        if let Some(problem) = problem {
            return Err(bad(path, format!("line {n} {problem}")));
        }
    }
    Ok(state)
}
