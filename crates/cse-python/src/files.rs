//! `encrypt_file` / `decrypt_file`: the `cse encrypt` / `cse decrypt` commands as functions, with
//! the same files. The ciphertext is the object body as stored; the metadata file (META.json) is
//! a flat JSON object of header name to string value, as OSS returns it on HEAD, written as the
//! CLI writes it (pretty JSON, names in lower case, the engine's header order, a final newline)
//! and read as the CLI reads it (entries in file order, duplicates kept for the engine to refuse,
//! non-string values refused on envelope headers and ignored elsewhere). Reading accepts both
//! formats the CLI reads, the current one and oss2's 2018 one.
//!
//! The file work runs with the GIL released. Outputs are written to a temporary file beside the
//! target and renamed into place only when complete; a plaintext file is created owner-only.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use cse_core::legacy::{LegacyWrap, Protection, classify_envelope};
use cse_core::{
    ByteRange, ContentMaterial, DEFAULT_PREFIX, DecodeOptions, Envelope, Error, MAX_META_FILE_LEN,
    MultipartContext, Opener, meta_file_text, parse_meta_file, plan_range,
};
use pyo3::exceptions::{PyFileExistsError, PyIOError, PyRuntimeWarning};
use pyo3::prelude::*;

use crate::envelope::{PyEnvelope, seal};
use crate::error::{IntoPy as _, InvalidHeaderError, InvalidKeyError, to_py};
use crate::master::{Master, Opening};
use crate::rng::with_os_rng;

/// Whether two paths name one file: the same resolved path, or (on Unix, for files that exist)
/// the same device and inode, as a hard link is.
fn same_file(a: &Path, b: &Path) -> bool {
    let resolved = |p: &Path| {
        std::path::absolute(p)
            .ok()
            .map(|abs| std::fs::canonicalize(&abs).unwrap_or(abs))
    };
    if resolved(a).is_some() && resolved(a) == resolved(b) {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    false
}

/// Refuses one file given as two arguments: an output twice, or an output that is an input
/// (which `force` would replace).
fn distinct(outputs: &[(&Path, &str)], inputs: &[(&Path, &str)]) -> PyResult<()> {
    for (i, (a, a_name)) in outputs.iter().enumerate() {
        for (b, b_name) in outputs[i + 1..].iter().chain(inputs) {
            if same_file(a, b) {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "{a_name} and {b_name} name the same file ({}): give each its own path",
                    a.display()
                )));
            }
        }
    }
    Ok(())
}

/// An authenticated object's parameters and side-car bytes.
type Sidecar = (cse_core::auth::AuthParams, Vec<u8>);

/// The chunk the files move in, as the CLI's.
const BUF_LEN: usize = 256 * 1024;

fn io_err(what: &str, path: &Path, e: &io::Error) -> PyErr {
    PyIOError::new_err(format!("{what} {}: {e}", path.display()))
}

/// The metadata file's text for `headers`, byte for byte what `cse encrypt` writes (the
/// engine's codec).
pub fn meta_json(headers: &[(String, String)]) -> String {
    meta_file_text(headers)
}

/// Parses metadata-file text with the engine's codec; `origin` names it in messages.
fn parse_meta(bytes: &[u8], origin: &str) -> PyResult<Vec<(String, String)>> {
    parse_meta_file(bytes).map_err(|e| InvalidHeaderError::new_err(format!("{origin}: {e}")))
}

fn read_meta(path: &Path) -> PyResult<Vec<(String, String)>> {
    let origin = format!("meta {}", path.display());
    let file = File::open(path).map_err(|e| io_err("meta", path, &e))?;
    let mut bytes = Vec::new();
    file.take(MAX_META_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_err("meta", path, &e))?;
    if bytes.len() as u64 > MAX_META_FILE_LEN {
        return Err(InvalidHeaderError::new_err(format!(
            "{origin}: larger than {MAX_META_FILE_LEN} bytes; OSS allows 8 KiB of metadata"
        )));
    }
    parse_meta(&bytes, &origin)
}

/// A file written beside `target` and renamed onto it by [`Staged::commit`].
struct Staged {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Staged {
    fn create(target: &Path, force: bool, private: bool) -> PyResult<Self> {
        if !force && target.exists() {
            return Err(PyFileExistsError::new_err(format!(
                "{} exists; pass force=True to replace it",
                target.display()
            )));
        }
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        let temp = tempfile::Builder::new()
            .prefix(".cse-")
            .tempfile_in(dir)
            .map_err(|e| io_err("cannot create a file in", dir, &e))?;
        if !private {
            set_public(temp.as_file());
        }
        Ok(Self {
            temp,
            target: target.to_owned(),
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> PyResult<()> {
        self.temp
            .write_all(bytes)
            .map_err(|e| io_err("cannot write", &self.target, &e))
    }

    fn commit(self) -> PyResult<()> {
        let target = self.target;
        self.temp
            .persist(&target)
            .map(drop)
            .map_err(|e| io_err("cannot write", &target, &e.error))
    }
}

/// A ciphertext or metadata file is not secret: readable by others as a new file normally is
/// (the umask applies), as the CLI leaves it.
#[cfg(unix)]
fn set_public(file: &File) {
    use std::os::unix::fs::PermissionsExt as _;
    // The umask is not readable without changing it; 0644 is what it gives with the usual 022.
    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
}

#[cfg(not(unix))]
fn set_public(_file: &File) {}

/// Reads into `buf` until it is full or the input ends.
fn read_full(input: &mut File, buf: &mut [u8], path: &Path) -> PyResult<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err("cannot read", path, &e)),
        }
    }
    Ok(n)
}

/// A stream step's result as a Python result.
fn opened<T>(result: Result<T, cse_core::StreamError>) -> PyResult<T> {
    result.map_err(|e| to_py(e.into()))
}

type Step<'a> = dyn FnMut(&mut [u8]) -> PyResult<std::ops::Range<usize>> + 'a;

/// Streams `input` through `step` into `output` in one buffer: up to `limit` bytes, or to the
/// end. `step` transforms a chunk in place and returns the part of it to write.
fn pump(
    input: &mut File,
    src: &Path,
    output: &mut Staged,
    limit: Option<u64>,
    step: &mut Step<'_>,
) -> PyResult<()> {
    let mut buf = vec![0u8; BUF_LEN];
    let mut remaining = limit;
    loop {
        let want = remaining.map_or(BUF_LEN, |r| {
            usize::try_from(r).map_or(BUF_LEN, |r| r.min(BUF_LEN))
        });
        if want == 0 {
            break;
        }
        let n = read_full(input, &mut buf[..want], src)?;
        if n == 0 {
            break;
        }
        let keep = step(&mut buf[..n])?;
        output.write_all(&buf[keep])?;
        remaining = remaining.map(|r| r - n as u64);
    }
    Ok(())
}

/// Encrypts the file `src` into `dst` (the object body) and writes its metadata to `meta`, as
/// `cse encrypt --in src --out dst --meta-out meta [--part-size N]` does; returns the envelope.
/// With `part_size`, the ciphertext is that of a multipart upload in parts of that size (the
/// concatenation of its parts), and the metadata carries the part and data sizes.
/// With `auth_out`, the object is authenticated (`cse encrypt --authenticate --auth-out`): the
/// metadata gains the `cse-auth-*` entries and the side-car goes to `auth_out`, chunks of
/// `auth_chunk_size` bytes (default 1 MiB), signed with the Ed25519 writer key whose 32-byte
/// seed is `writer_seed` when given. The ciphertext is unchanged: the SDKs read it as before.
/// Raises `FileExistsError` for an existing output unless `force`, `OSError` for IO,
/// `LengthError` when `src` changes length while it is read.
#[pyfunction]
#[pyo3(signature = (master, src, dst, meta, *, part_size = None, force = false, auth_out = None, auth_chunk_size = None, writer_seed = None))]
#[allow(clippy::too_many_arguments)]
pub fn encrypt_file(
    py: Python<'_>,
    master: &Bound<'_, PyAny>,
    src: PathBuf,
    dst: PathBuf,
    meta: PathBuf,
    part_size: Option<u64>,
    force: bool,
    auth_out: Option<PathBuf>,
    auth_chunk_size: Option<u64>,
    writer_seed: Option<Vec<u8>>,
) -> PyResult<PyEnvelope> {
    let master = Master::from_py(master)?;
    let mut input = File::open(&src).map_err(|e| io_err("cannot open", &src, &e))?;
    let len = input
        .metadata()
        .map_err(|e| io_err("cannot read", &src, &e))?
        .len();
    if let Some(part_size) = part_size {
        MultipartContext::part_count_for(part_size, len).py_err()?;
    }
    let chunk_size = match (&auth_out, auth_chunk_size, &writer_seed) {
        (Some(_), size, _) => Some(crate::auth::chunk_size(size)?),
        (None, None, None) => None,
        (None, _, _) => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "auth_chunk_size and writer_seed are for authenticated objects: give auth_out",
            ));
        }
    };
    if let (Some(part_size), Some(chunk_size)) = (part_size, chunk_size) {
        cse_core::auth::check_part_size(part_size, chunk_size)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("part_size: {e}")))?;
    }
    let mut outputs = vec![(dst.as_path(), "dst"), (meta.as_path(), "meta")];
    if let Some(path) = &auth_out {
        outputs.push((path, "auth_out"));
    }
    distinct(&outputs, &[(src.as_path(), "src")])?;
    let writer = writer_seed
        .map(zeroize::Zeroizing::new)
        .map(|seed| {
            <[u8; 32]>::try_from(seed.as_slice())
                .map(|seed| cse_core::auth::WriterKey::from_seed(&zeroize::Zeroizing::new(seed)))
                .map_err(|_| {
                    pyo3::exceptions::PyValueError::new_err(
                        "writer_seed: an Ed25519 key seed is 32 bytes",
                    )
                })
        })
        .transpose()?;
    let mut output = Staged::create(&dst, force, false)?;
    let mut meta_out = Staged::create(&meta, force, false)?;
    let mut auth_file = auth_out
        .as_deref()
        .map(|path| Staged::create(path, force, false))
        .transpose()?;
    let sealed = seal(py, &master)?;
    let keys = chunk_size.map(|_| cse_core::auth::AuthKeys::derive(sealed.material()));
    let (envelope, sidecar) = py.detach(|| -> PyResult<(Envelope, Option<Sidecar>)> {
        let mut buf = vec![0u8; BUF_LEN];
        let grew = |e: Error| to_py(e);
        let tagger = |envelope: &Envelope| -> PyResult<Option<_>> {
            match (&keys, chunk_size) {
                (Some(keys), Some(chunk_size)) => cse_core::auth::SidecarWriter::new(
                    keys,
                    envelope,
                    chunk_size,
                    cse_core::auth::Binding::None,
                )
                .map(Some)
                .map_err(crate::error::auth_to_py),
                _ => Ok(None),
            }
        };
        let done = |tagger: Option<cse_core::auth::SidecarWriter<_>>| -> PyResult<Option<Sidecar>> {
            tagger
                .map(|t| {
                    let params = *t.params();
                    let signer = writer
                        .as_ref()
                        .map(|w| w as &dyn cse_core::auth::SidecarSigner);
                    t.finish(None, signer)
                        .map(|bytes| (params, bytes))
                        .map_err(crate::error::auth_to_py)
                })
                .transpose()
        };
        match part_size {
            None => {
                let sealed = sealed.with_unencrypted_content_length(len);
                let mut tagger = tagger(sealed.envelope())?;
                let mut sealer = sealed.sealer();
                loop {
                    let n = read_full(&mut input, &mut buf, &src)?;
                    if n == 0 {
                        break;
                    }
                    sealer
                        .update_in_place(&mut buf[..n])
                        .map_err(|e| grew(e.into()))?;
                    if let Some(t) = &mut tagger {
                        t.update(&buf[..n]);
                    }
                    output.write_all(&buf[..n])?;
                }
                sealer.finish().map_err(|e| grew(e.into()))?;
                Ok((sealed.envelope().clone(), done(tagger)?))
            }
            Some(part_size) => {
                let upload = MultipartContext::new(sealed, part_size, len).py_err()?;
                let mut tagger = tagger(upload.envelope())?;
                for part in 1..=upload.part_count() {
                    let mut sealer = upload.part_sealer(part).py_err()?;
                    while sealer.remaining() > 0 {
                        let want =
                            usize::try_from(sealer.remaining()).map_or(BUF_LEN, |r| r.min(BUF_LEN));
                        let n = read_full(&mut input, &mut buf[..want], &src)?;
                        if n == 0 {
                            break;
                        }
                        sealer
                            .update_in_place(&mut buf[..n])
                            .map_err(|e| grew(e.into()))?;
                        if let Some(t) = &mut tagger {
                            t.update(&buf[..n]);
                        }
                        output.write_all(&buf[..n])?;
                    }
                    sealer.finish().map_err(|e| grew(e.into()))?;
                }
                if read_full(&mut input, &mut buf[..1], &src)? != 0 {
                    return Err(grew(Error::Extended { expected: len }));
                }
                Ok((upload.envelope().clone(), done(tagger)?))
            }
        }
    })?;
    let mut headers = envelope.to_headers(DEFAULT_PREFIX).py_err()?;
    if let (Some((params, bytes)), Some(file)) = (&sidecar, &mut auth_file) {
        params
            .encode_headers(DEFAULT_PREFIX, |n, v| {
                headers.push((n.to_owned(), v.to_owned()))
            })
            .py_err()?;
        file.write_all(bytes)?;
    }
    meta_out.write_all(meta_json(&headers).as_bytes())?;
    output.commit()?;
    if let Some(file) = auth_file {
        file.commit()?;
    }
    meta_out.commit()?;
    Ok(PyEnvelope { inner: envelope })
}

/// Decrypts the ciphertext file `src` with its metadata file `meta` into `dst`, whole or the
/// byte range `range` (`bytes=A-B`, `bytes=A-`, `bytes=-N`), as `cse decrypt` does; returns the
/// number of plaintext bytes written. `key` is a `Keyring`, an `RsaMasterCipher` or an SDK-style
/// master cipher (the 2018 oss2 format needs an `RsaMasterCipher`). An object whose metadata
/// carries no envelope is copied unchanged with a `RuntimeWarning`, as the SDKs read it, unless
/// `strict`, which raises `NotEncryptedError`.
///
/// An object whose metadata announces authentication (`cse-auth-version`) needs its side-car,
/// `auth`: the key commitment, the side-car and every chunk are checked before any of its
/// plaintext is written (a ranged read checks only its chunks; with `trusted`, the Ed25519
/// public keys of trusted writers as 32 raw bytes each, all tags and the signature).
/// `require_auth` refuses objects that are not authenticated.
///
/// Raises `UnwrapError` (opaque) when the key does not open the object, `TruncatedError` /
/// `LengthError` when the ciphertext is not the declared length, `IntegrityError` for a failed
/// plaintext MD5, `AuthenticationError` for a failed authentication check (it names the check),
/// `RangeNotSatisfiableError`, `InvalidHeaderError`, `FileExistsError`, `OSError`.
#[pyfunction]
#[pyo3(signature = (key, src, meta, dst, *, range = None, strict = false, force = false, auth = None, require_auth = false, trusted = Vec::new()))]
#[allow(clippy::too_many_arguments)]
pub fn decrypt_file(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    src: PathBuf,
    meta: PathBuf,
    dst: PathBuf,
    range: Option<&str>,
    strict: bool,
    force: bool,
    auth: Option<PathBuf>,
    require_auth: bool,
    trusted: Vec<Vec<u8>>,
) -> PyResult<u64> {
    let range = range.map(ByteRange::parse).transpose().py_err()?;
    let mut inputs = vec![(src.as_path(), "src"), (meta.as_path(), "meta")];
    if let Some(path) = &auth {
        inputs.push((path, "auth"));
    }
    distinct(&[(dst.as_path(), "dst")], &inputs)?;
    let headers = read_meta(&meta)?;
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let protection = classify_envelope(pairs, &DecodeOptions::default()).py_err()?;
    // The policy first, before any key is used.
    let auth_params = crate::auth::params(&headers)?;
    let trusted = crate::auth::trusted(trusted)?;
    let policy = if require_auth {
        cse_core::auth::Policy::Require
    } else {
        cse_core::auth::Policy::Allow
    };
    let verify = crate::auth::decide(
        auth_params.is_some(),
        matches!(protection, Protection::Current(_)),
        auth.as_deref(),
        policy,
        !trusted.is_empty(),
    )?;
    let material: Option<ContentMaterial> = match &protection {
        Protection::None if strict => return Err(to_py(Error::NotEncrypted)),
        Protection::None => {
            PyErr::warn(
                py,
                &py.get_type::<PyRuntimeWarning>(),
                &std::ffi::CString::new(format!(
                    "{} has no client-side-encryption envelope; copying the file unchanged, as \
                     the SDKs do (pass strict=True to refuse)",
                    meta.display()
                ))?,
                1,
            )?;
            None
        }
        Protection::Current(envelope) => Some(Opening::from_py(key)?.open(py, envelope)?),
        Protection::Legacy(legacy) => match (legacy.wrap(), Master::from_py(key)) {
            (LegacyWrap::RsaOaepSha1, Ok(Master::Rsa(rsa))) => {
                Some(py.detach(|| with_os_rng(|rng| legacy.open_rsa(&rsa, rng).map_err(to_py)))?)
            }
            (LegacyWrap::RsaOaepSha1, _) => {
                return Err(InvalidKeyError::new_err(
                    "the object is in the 2018 oss2 format (RSA-OAEP), which only an \
                     RsaMasterCipher opens",
                ));
            }
            (LegacyWrap::Kms, _) => {
                return Err(InvalidKeyError::new_err(
                    "the object is in the 2018 oss2 format with its key wrapped by Alibaba \
                     Cloud KMS, which this package cannot call",
                ));
            }
        },
    };
    let mut input = File::open(&src).map_err(|e| io_err("cannot open", &src, &e))?;
    let file_len = input
        .metadata()
        .map_err(|e| io_err("cannot read", &src, &e))?
        .len();
    let mut output = Staged::create(&dst, force, true)?;
    if let (true, Some(params), Protection::Current(envelope), Some(material), Some(sidecar)) =
        (verify, &auth_params, &protection, &material, &auth)
    {
        envelope.check_stored_len(file_len).py_err()?;
        let mut opener = crate::auth::opener(
            envelope, params, material, file_len, sidecar, range, &trusted,
        )?;
        let written = py.detach(|| -> PyResult<u64> {
            let body = opener.plan().body.clone();
            input
                .seek(SeekFrom::Start(body.start))
                .map_err(|e| io_err("cannot read", &src, &e))?;
            let mut left = body.end - body.start;
            let mut buf = vec![0u8; BUF_LEN];
            let mut written = 0u64;
            while left > 0 {
                let want = usize::try_from(left).map_or(BUF_LEN, |l| l.min(BUF_LEN));
                let n = read_full(&mut input, &mut buf[..want], &src)?;
                if n == 0 {
                    break;
                }
                let mut rest = &buf[..n];
                while !rest.is_empty() {
                    let (used, released) = opener.update(rest).map_err(crate::error::auth_to_py)?;
                    if let Some(plaintext) = released {
                        output.write_all(plaintext)?;
                        written += plaintext.len() as u64;
                    }
                    rest = &rest[used..];
                }
                left -= n as u64;
            }
            let unsatisfiable = opener
                .plan()
                .release
                .is_none()
                .then(|| opener.plan().unsatisfiable());
            opener.finish().map_err(crate::error::auth_to_py)?;
            match unsatisfiable {
                Some(e) => Err(to_py(e)),
                None => Ok(written),
            }
        })?;
        output.commit()?;
        return Ok(written);
    }
    let written = py.detach(|| -> PyResult<u64> {
        let delivered = match (range, &material) {
            (None, None) => {
                let mut total = 0u64;
                pump(&mut input, &src, &mut output, None, &mut |buf| {
                    total += buf.len() as u64;
                    Ok(0..buf.len())
                })?;
                total
            }
            (None, Some(material)) => {
                let mut opener = match &protection {
                    Protection::Current(envelope) => envelope.whole_opener(material),
                    _ => Opener::new(material),
                };
                pump(&mut input, &src, &mut output, None, &mut |buf| {
                    opened(opener.update_in_place(buf))
                })?;
                opened(opener.finish())?
            }
            (Some(range), material) => {
                if let (Protection::Current(envelope), Some(_)) = (&protection, material) {
                    envelope.check_stored_len(file_len).py_err()?;
                }
                let body = plan_range(range, Some(file_len))
                    .and_then(|plan| plan.on_stored(file_len))
                    .py_err()?;
                input
                    .seek(SeekFrom::Start(body.body_start()))
                    .map_err(|e| io_err("cannot read", &src, &e))?;
                let limit = Some(body.body_len());
                match material {
                    Some(material) => {
                        let mut opener = body.opener(material);
                        pump(&mut input, &src, &mut output, limit, &mut |buf| {
                            opened(opener.update_in_place(buf))
                        })?;
                        opened(opener.finish())?
                    }
                    None => {
                        let mut window = body.passthrough();
                        pump(&mut input, &src, &mut output, limit, &mut |buf| {
                            opened(window.update(buf.len()))
                        })?;
                        opened(window.finish())?
                    }
                }
            }
        };
        Ok(delivered)
    })?;
    output.commit()?;
    Ok(written)
}

/// The metadata-file text `encrypt_file` writes for `headers` (a `dict` or pairs), for callers
/// that store an object's metadata beside a ciphertext themselves.
#[pyfunction(name = "meta_json")]
pub fn py_meta_json(headers: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(meta_json(&crate::envelope::header_pairs(headers)?))
}
