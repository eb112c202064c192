//! `cse encrypt`: plaintext in, ciphertext and META.json out.

use cse_core::auth::{AuthKeys, AuthParams, Binding, ChunkSealer, SidecarSigner, SidecarWriter};
use cse_core::{DEFAULT_PREFIX, Envelope, Error, MultipartContext, SealedEnvelope};

use crate::cli::EncryptArgs;
use crate::error::{CliError, CliResult, Context as _};
use crate::files::{
    BUF_LEN, Input, IoBuf, Mode, Output, check_distinct, is_stdio, progress, refuse_terminal,
};
use crate::meta_file;
use crate::object::{load_key, parse_matdesc, rng};

/// Runs `cse encrypt`.
///
/// # Errors
/// Exit 2 for bad arguments, key or matdesc, one file given twice, or an existing output or a
/// terminal at `--out` without `--force`; exit 1 when reading or writing fails or the input
/// changes length while it is read.
pub fn run(args: &EncryptArgs) -> CliResult<()> {
    if is_stdio(&args.meta_out) {
        return Err(CliError::usage(
            "--meta-out must be a file; the metadata cannot share standard output",
        ));
    }
    let mut outputs = vec![
        (args.output.as_path(), "--out"),
        (args.meta_out.as_path(), "--meta-out"),
    ];
    if let Some(path) = &args.auth_out {
        if is_stdio(path) {
            return Err(CliError::usage(
                "--auth-out must be a file; the side-car cannot share standard output",
            ));
        }
        outputs.push((path, "--auth-out"));
    }
    let mut inputs = vec![
        (args.public_key.as_path(), "--public-key"),
        (args.input.as_path(), "--in"),
    ];
    if let Some(path) = &args.sign_key {
        inputs.push((path, "--sign-key"));
    }
    check_distinct(&outputs, &inputs)?;
    let mut master = load_key(&args.public_key, "--public-key")?;
    if let Some(text) = &args.matdesc {
        master = master.with_matdesc(&parse_matdesc(text)?);
    }
    let mut input = Input::open(&args.input, "--in")?;
    let len = match (input.len(), args.size) {
        (Some(file_len), Some(size)) if file_len != size => {
            return Err(CliError::usage(format!(
                "--size {size} differs from the {file_len} bytes of --in {}; drop --size",
                input.describe()
            )));
        }
        (Some(file_len), _) => Some(file_len),
        (None, size) => size,
    };
    let mut output = Output::create(&args.output, "--out", Mode::Normal, args.force)?;
    refuse_terminal(
        &format!("--out {}", args.output.display()),
        output.is_terminal(),
        args.force,
    )?;
    let meta_output = Output::create(&args.meta_out, "--meta-out", Mode::Normal, args.force)?;
    let chunk_size = args
        .authenticate
        .then(|| crate::auth::chunk_size(args.auth_chunk_size))
        .transpose()?;
    let writer = args
        .sign_key
        .as_deref()
        .map(|path| crate::auth::load_writer_key(path, "--sign-key"))
        .transpose()?;
    let auth_output = args
        .auth_out
        .as_deref()
        .map(|path| Output::create(path, "--auth-out", Mode::Normal, args.force))
        .transpose()?;

    let sealed = SealedEnvelope::seal(&master, &mut rng()).ctx("--public-key")?;
    // The MAC keys come from the fresh material, before a multipart context takes it.
    let keys = chunk_size.map(|_| AuthKeys::derive(sealed.material()));
    let what = format!("--in {}", input.describe());
    let plan = match args.part_size {
        None => Plan::Single(Box::new(match len {
            Some(len) => sealed.with_unencrypted_content_length(len),
            None => sealed,
        })),
        Some(part_size) => {
            let Some(len) = len else {
                return Err(CliError::usage(
                    "--part-size needs the plaintext length up front (the data-size header): \
                     give --in a file, or pass --size N with standard input",
                ));
            };
            if let Some(chunk_size) = chunk_size {
                crate::auth::check_parts(part_size, chunk_size)?;
            }
            Plan::Parts(Box::new(
                MultipartContext::new(sealed, part_size, len)
                    .ctx(format!("--part-size {part_size} for {len} bytes"))?,
            ))
        }
    };
    let envelope = plan.envelope().clone();
    // A whole file, authenticated: chunks sealed and tagged on all cores.
    if let (Plan::Single(sealed), Some(chunk_size), Some(len)) = (&plan, chunk_size, len) {
        let mut outputs = vec![output];
        let (headers, sidecar) = seal_chunks(
            sealed,
            chunk_size,
            len,
            writer.as_ref(),
            &mut input,
            &mut outputs[0],
            &what,
        )?;
        let mut all = envelope.to_headers(DEFAULT_PREFIX).ctx("--meta-out")?;
        all.extend(headers);
        if let Some(mut auth_output) = auth_output {
            auth_output.write_all(&sidecar)?;
            outputs.push(auth_output);
        }
        return write_meta(meta_output, &all, outputs);
    }
    let mut tagging = match (&keys, chunk_size) {
        (Some(keys), Some(chunk_size)) => Some(
            SidecarWriter::new(keys, &envelope, chunk_size, Binding::None)
                .map_err(|e| CliError::usage(format!("--auth-chunk-size: {e}")))?,
        ),
        _ => None,
    };
    let mut passed = |ciphertext: &[u8]| {
        if let Some(tagging) = &mut tagging {
            tagging.update(ciphertext);
        }
    };
    match &plan {
        Plan::Single(sealed) => {
            seal_single(sealed, &mut input, len, &mut output, &what, &mut passed)?
        }
        Plan::Parts(upload) => seal_parts(upload, &mut input, &mut output, &what, &mut passed)?,
    }
    let mut headers = envelope.to_headers(DEFAULT_PREFIX).ctx("--meta-out")?;
    let mut outputs = vec![output];
    if let (Some(tagging), Some(mut auth_output)) = (tagging, auth_output) {
        headers.extend(crate::auth::headers(tagging.params())?);
        let sidecar = tagging
            .finish(None, writer.as_ref().map(|w| w as &dyn SidecarSigner))
            .map_err(crate::auth::failed)?;
        auth_output.write_all(&sidecar)?;
        outputs.push(auth_output);
    }
    write_meta(meta_output, &headers, outputs)
}

/// How the plaintext is sealed: one stream, or the parts of a multipart upload.
enum Plan {
    Single(Box<SealedEnvelope>),
    Parts(Box<MultipartContext>),
}

impl Plan {
    const fn envelope(&self) -> &Envelope {
        match self {
            Self::Single(sealed) => sealed.envelope(),
            Self::Parts(upload) => upload.envelope(),
        }
    }
}

/// Commits the ciphertext, the side-car and the metadata beside them, all or none.
fn write_meta(
    mut meta_output: Output,
    headers: &[(String, String)],
    mut outputs: Vec<Output>,
) -> CliResult<()> {
    meta_output.write_all(meta_file::to_json(headers).as_bytes())?;
    outputs.push(meta_output);
    Output::commit_all(outputs)
}

/// An authenticated object of known length, chunk by chunk on all cores: each chunk is sealed
/// and tagged on one thread while it is in cache ([`ChunkSealer`]). Returns the
/// authentication headers and the side-car.
fn seal_chunks(
    sealed: &SealedEnvelope,
    chunk_size: u32,
    len: u64,
    writer: Option<&cse_core::auth::WriterKey>,
    input: &mut Input,
    output: &mut Output,
    what: &str,
) -> CliResult<(meta_file::Headers, Vec<u8>)> {
    let keys = AuthKeys::derive(sealed.material());
    let params = AuthParams {
        chunk_size,
        commitment: keys.commitment(),
        binding: Binding::None,
    };
    let sealer = ChunkSealer::new(sealed, &params, len)
        .map_err(|e| CliError::usage(format!("--in: {e}")))?;
    let bar = progress(Some(len));
    let mut tags = Vec::new();
    let mut read = 0u64;
    crate::auth::each_chunk(
        0..sealer.chunks(),
        chunk_size as usize,
        &|index| {
            let start = index * u64::from(chunk_size);
            // At most the chunk size.
            Ok(usize::try_from((len - start).min(u64::from(chunk_size))).unwrap_or(0))
        },
        &mut |_, buf| {
            let got = input.read_full(buf)?;
            read += got as u64;
            if got == buf.len() {
                Ok(())
            } else {
                Err(grew(
                    what,
                    Error::Truncated {
                        expected: len,
                        actual: read,
                    },
                ))
            }
        },
        &|index, buf| sealer.seal_chunk(index, buf).map_err(crate::auth::failed),
        &mut |_, buf, tag| {
            output.write_all(buf)?;
            tags.push(tag);
            bar.inc(buf.len() as u64);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    if input.read_full(&mut [0u8; 1])? != 0 {
        return Err(grew(what, Error::Extended { expected: len }));
    }
    let sidecar = sealer
        .sidecar(&tags, None, writer.map(|w| w as &dyn SidecarSigner))
        .map_err(crate::auth::failed)?;
    Ok((crate::auth::headers(&params)?, sidecar))
}

/// One PutObject stream: the whole plaintext under one sealer. `passed` sees the ciphertext.
fn seal_single(
    sealed: &SealedEnvelope,
    input: &mut Input,
    len: Option<u64>,
    output: &mut Output,
    what: &str,
    passed: &mut dyn FnMut(&[u8]),
) -> CliResult<()> {
    let mut sealer = sealed.sealer();
    let bar = progress(len);
    let mut io = IoBuf::new();
    let buf = io.as_mut_slice();
    loop {
        let n = input.read_full(buf)?;
        if n == 0 {
            break;
        }
        sealer
            .update_in_place(&mut buf[..n])
            .map_err(|e| grew(what, e))?;
        passed(&buf[..n]);
        output.write_all(&buf[..n])?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    sealer.finish().map_err(|e| grew(what, e))?;
    Ok(())
}

/// A multipart upload's parts, sealed in order with their own sealers: the concatenation is the
/// single-stream ciphertext, which is what proves the part counters right.
fn seal_parts(
    upload: &MultipartContext,
    input: &mut Input,
    output: &mut Output,
    what: &str,
    passed: &mut dyn FnMut(&[u8]),
) -> CliResult<()> {
    let len = upload.data_size();
    let bar = progress(Some(len));
    let mut io = IoBuf::new();
    let buf = io.as_mut_slice();
    for part in 1..=upload.part_count() {
        let mut sealer = upload.part_sealer(part).ctx(what)?;
        while sealer.remaining() > 0 {
            let want = usize::try_from(sealer.remaining()).map_or(BUF_LEN, |r| r.min(BUF_LEN));
            let n = input.read_full(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            sealer
                .update_in_place(&mut buf[..n])
                .map_err(|e| grew(what, e))?;
            passed(&buf[..n]);
            output.write_all(&buf[..n])?;
            bar.inc(n as u64);
        }
        sealer.finish().map_err(|e| grew(what, e))?;
    }
    bar.finish_and_clear();
    if input.read_full(&mut buf[..1])? != 0 {
        return Err(grew(what, Error::Extended { expected: len }));
    }
    Ok(())
}

/// A length error while sealing: the input was longer or shorter than declared.
fn grew(what: &str, error: impl Into<Error>) -> CliError {
    CliError::core(
        format!("{what} changed length while it was read, or differs from --size"),
        error.into(),
    )
}
