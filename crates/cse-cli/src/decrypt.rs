//! `cse decrypt`: ciphertext and META.json in, plaintext (whole or a range) out.

use std::ops::Range;

use cse_core::auth::{
    AuthError, AuthParams, ChunkCipher, ChunkPlan, Policy, SIDECAR_HEADER_LEN, SidecarHeader,
};
use cse_core::{BodyPlan, ByteRange, Error, Opener, plan_range};

use crate::auth::SidecarFile;

use crate::cli::DecryptArgs;
use crate::error::{CliError, CliResult, Context as _};
use crate::files::{BUF_LEN, Input, IoBuf, Mode, Output, check_distinct, progress};
use crate::meta_file;
use crate::object::{Sealed, classify, load_private_key, open_material};
use crate::stdout::stderr_line;

/// Runs `cse decrypt`.
///
/// # Errors
/// Exit 2 for malformed arguments, metadata or key, an existing `--out` without `--force`, or
/// `--out` naming an input; exit 1 when the key does not open the object, the range is not
/// satisfiable, or the ciphertext length does not match the metadata.
pub fn run(args: &DecryptArgs) -> CliResult<()> {
    let range = args
        .range
        .as_deref()
        .map(|text| ByteRange::parse(text).ctx(format!("--range {text}")))
        .transpose()?;
    let mut inputs = vec![
        (args.private_key.as_path(), "--private-key"),
        (args.meta.as_path(), "--meta"),
        (args.input.as_path(), "--in"),
    ];
    if let Some(path) = &args.auth {
        inputs.push((path, "--auth"));
    }
    inputs.extend(args.trust.iter().map(|p| (p.as_path(), "--trust")));
    check_distinct(&[(&args.output, "--out")], &inputs)?;
    let origin = format!("--meta {}", args.meta.display());
    let headers = meta_file::read(&args.meta, "--meta")?;
    let sealed = classify(&headers, &origin)?;
    let mut input = Input::open(&args.input, "--in")?;
    if range.is_some() && input.len().is_none() {
        return Err(CliError::usage(format!(
            "--range reads only the bytes it needs, so --in must be a regular file, not {}",
            input.describe()
        )));
    }
    let auth_params = crate::auth::params(&headers, &origin)?;
    check_policy(args, &sealed, auth_params.is_some(), &origin)?;
    let material = match &sealed {
        Sealed::None if args.strict => {
            return Err(CliError::core(&origin, Error::NotEncrypted));
        }
        Sealed::None => {
            stderr_line(format_args!(
                "warning: {origin} has no client-side-encryption envelope; copying --in to --out \
                 unchanged, as the SDKs do (pass --strict to refuse)"
            ));
            None
        }
        _ => {
            let key = load_private_key(&args.private_key, "--private-key")?;
            let name = format!("--private-key {}", args.private_key.display());
            Some(open_material(&sealed, key, &name)?)
        }
    };
    // The plaintext is the secret: a new file is owner-only.
    let mut output = Output::create(&args.output, "--out", Mode::Private, args.force)?;
    let what = format!("--in {}", input.describe());

    if let (Some(params), Some(path), Sealed::Current(envelope), Some(material)) =
        (&auth_params, &args.auth, &sealed, &material)
    {
        let trusted = crate::auth::load_trusted(&args.trust, "--trust")?;
        let object = Authenticated {
            envelope,
            params,
            material,
            trusted: &trusted,
        };
        object.open(path, range, &mut input, &mut output, &what)?;
        return output.commit();
    }

    match (range, material) {
        (None, None) => {
            let len = input.len();
            pump(&mut input, None, len, &mut output, |buf| Ok(0..buf.len()))?;
        }
        (None, Some(material)) => {
            let mut opener = match &sealed {
                Sealed::Current(envelope) => envelope.whole_opener(&material),
                _ => Opener::new(&material),
            };
            let len = input.len();
            pump(&mut input, None, len, &mut output, |buf| {
                opener.update_in_place(buf).ctx(&what)
            })?;
            opener.finish().ctx(&what)?;
        }
        (Some(range), None) => {
            // Stored in the clear: the engine's window says which stored bytes to keep.
            let body = stored_body(range, &input)?;
            input.seek_to(body.body_start())?;
            let limit = Some(body.body_len());
            let mut window = body.passthrough();
            pump(&mut input, limit, limit, &mut output, |buf| {
                window.update(buf.len()).ctx(&what)
            })?;
            window.finish().ctx(&what)?;
        }
        (Some(range), Some(material)) => {
            if let Sealed::Current(envelope) = &sealed {
                envelope
                    .check_stored_len(input.len().unwrap_or_default())
                    .ctx(&what)?;
            }
            let body = stored_body(range, &input)?;
            input.seek_to(body.body_start())?;
            let limit = Some(body.body_len());
            let mut opener = body.opener(&material);
            pump(&mut input, limit, limit, &mut output, |buf| {
                opener.update_in_place(buf).ctx(&what)
            })?;
            opener.finish().ctx(&what)?;
        }
    }
    output.commit()
}

/// Refuses what the authentication policy refuses, before any key is used: an announced
/// side-car not given, a side-car given for an object that announces none, and, with
/// `--require-auth`, any object that is not authenticated.
fn check_policy(
    args: &DecryptArgs,
    sealed: &Sealed,
    announced: bool,
    origin: &str,
) -> CliResult<()> {
    let current = matches!(sealed, Sealed::Current(_));
    match (announced, &args.auth) {
        (true, _) if !current => Err(CliError::failed(format!(
            "authentication failed: {origin} has cse-auth-* entries but no current-format \
             envelope to authenticate"
        ))),
        (true, None) => Err(CliError::failed(format!(
            "authentication failed: side-car missing: {origin} announces an authenticated \
             object (cse-auth-version); pass its side-car with --auth TAGS"
        ))),
        (false, Some(path)) => Err(CliError::failed(format!(
            "authentication failed: --auth {} was given, but {origin} has no cse-auth-* \
             entries: the object was not authenticated, or its authentication metadata was \
             removed",
            path.display()
        ))),
        (false, None) => {
            let policy = if args.require_auth {
                Policy::Require
            } else {
                Policy::Allow
            };
            policy.verifies(false).map(|_| ()).map_err(|_| {
                CliError::failed(format!(
                    "authentication failed: --require-auth, and {origin} has no cse-auth-* \
                     entries: the object is not authenticated"
                ))
            })
        }
        _ => Ok(()),
    }
}

/// An authenticated object being read: every chunk is checked before its plaintext leaves.
struct Authenticated<'a> {
    envelope: &'a cse_core::Envelope,
    params: &'a AuthParams,
    material: &'a cse_core::ContentMaterial,
    trusted: &'a [[u8; 32]],
}

impl Authenticated<'_> {
    /// Checks the commitment and the side-car, then opens the chunks the read needs (all of
    /// them, or those `range` touches) into `output`.
    fn open(
        &self,
        sidecar_path: &std::path::Path,
        range: Option<ByteRange>,
        input: &mut Input,
        output: &mut Output,
        what: &str,
    ) -> CliResult<()> {
        let mut sidecar = SidecarFile::open(sidecar_path)?;
        // A stream's length is the side-car's, checked against the bytes as they come.
        let len = match input.len() {
            Some(len) => len,
            None => {
                SidecarHeader::decode(sidecar.header())
                    .map_err(crate::auth::failed)?
                    .len
            }
        };
        self.envelope.check_stored_len(len).ctx(what)?;
        let cipher = ChunkCipher::new(self.material, self.envelope, self.params, len)
            .map_err(crate::auth::failed)?;
        let (keys, digest) = (cipher.keys(), cipher.digest());
        let expected = crate::auth::expected(self.envelope, self.params, len, self.trusted);
        let header = keys
            .check_sidecar_header(&digest, &expected, sidecar.header())
            .map_err(crate::auth::failed)?;
        sidecar.check_len(&header)?;
        let plan = match range {
            Some(range) => ChunkPlan::new(range, len, header.chunk_size),
            None => ChunkPlan::whole(len, header.chunk_size),
        }
        .map_err(crate::auth::failed)?;
        let whole = range.is_none() || !self.trusted.is_empty();
        // A whole read checks the final tag over every tag first; so does a ranged read with
        // trusted writers, since the signature covers the final tag. Otherwise a ranged read
        // reads only the tags of its chunks.
        let (tags, first) = if whole {
            let bytes = sidecar.whole(&header)?;
            let tags = header.tags(&bytes).map_err(crate::auth::failed)?;
            keys.check_tags(&digest, &header, tags)
                .map_err(crate::auth::failed)?;
            (bytes[SIDECAR_HEADER_LEN..].to_vec(), 0)
        } else {
            (sidecar.range(plan.tags.clone())?, plan.chunks.start)
        };
        if range.is_some() {
            input.seek_to(plan.body.start)?;
        }
        let release = plan.release.clone().unwrap_or(0..0);
        let bar = progress(Some(plan.body.end - plan.body.start));
        let chunk_range = |index| cipher.chunk_range(index).map_err(crate::auth::failed);
        // Each chunk is checked, then decrypted, on one thread; nothing of it is written
        // before its tag held.
        crate::auth::each_chunk(
            plan.chunks.clone(),
            header.chunk_size as usize,
            // At most the chunk size, which is at most 64 MiB.
            &|index| chunk_range(index).map(|r| usize::try_from(r.end - r.start).unwrap_or(0)),
            &mut |index, buf| {
                if input.read_full(buf)? == buf.len() {
                    Ok(())
                } else {
                    Err(crate::auth::failed(AuthError::Chunk { index }))
                }
            },
            &|index, buf| {
                let tag = header
                    .tag_at(&tags, first, index)
                    .map_err(crate::auth::failed)?;
                cipher
                    .open_chunk(index, buf, &tag)
                    .map_err(crate::auth::failed)
            },
            &mut |index, buf, ()| {
                let chunk = chunk_range(index)?;
                let from = release.start.max(chunk.start);
                let to = release.end.min(chunk.end);
                if from < to {
                    // Inside this chunk, so below its length.
                    let at = |x: u64| usize::try_from(x - chunk.start).unwrap_or(buf.len());
                    output.write_all(&buf[at(from)..at(to)])?;
                }
                bar.inc(buf.len() as u64);
                Ok(())
            },
        )?;
        bar.finish_and_clear();
        if range.is_none() && input.read_full(&mut [0u8; 1])? != 0 {
            return Err(CliError::core(what, Error::Extended { expected: len }));
        }
        match plan.release {
            Some(_) => Ok(()),
            None => Err(CliError::core(
                format!(
                    "--range {}",
                    range.map(|r| r.to_string()).unwrap_or_default()
                ),
                plan.unsatisfiable(),
            )),
        }
    }
}

/// The bytes of the local file to read for `range`: what a server honouring the planned
/// request would send, from the engine's plan (the start rounded down to a block).
fn stored_body(range: ByteRange, input: &Input) -> CliResult<BodyPlan> {
    let file_len = input.len().unwrap_or_default();
    plan_range(range, Some(file_len))
        .and_then(|plan| plan.on_stored(file_len))
        .ctx(format!("--range {range}"))
}

/// Streams `input` through `step` into `output` in one fixed buffer: up to `limit` bytes, or to
/// the end. `step` transforms a chunk in place and returns the part of it to write.
fn pump(
    input: &mut Input,
    limit: Option<u64>,
    progress_len: Option<u64>,
    output: &mut Output,
    mut step: impl FnMut(&mut [u8]) -> CliResult<Range<usize>>,
) -> CliResult<()> {
    let bar = progress(progress_len);
    let mut io = IoBuf::new();
    let buf = io.as_mut_slice();
    let mut remaining = limit;
    loop {
        let want = remaining.map_or(BUF_LEN, |r| {
            usize::try_from(r).map_or(BUF_LEN, |r| r.min(BUF_LEN))
        });
        if want == 0 {
            break;
        }
        let n = input.read_full(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        let chunk = &mut buf[..n];
        let keep = step(chunk)?;
        output.write_all(&chunk[keep])?;
        remaining = remaining.map(|r| r - n as u64);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(())
}
