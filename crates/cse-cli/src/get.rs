//! `cse get`: download an object and decrypt it as it streams, whole or a byte range
//! (`cse_oss::EncryptionClient::get_object`, which plans the range with the engine).

use cse_core::{ByteRange, Error};
use cse_oss::EncryptionClient;

use crate::cli::GetArgs;
use crate::error::{CliError, CliResult, Context as _};
use crate::files::{Mode, Output, check_distinct, progress};
use crate::object::{Sealed, classify, load_private_key};
use crate::stdout::stderr_line;
use crate::{interrupt, oss};

/// Runs `cse get`.
///
/// # Errors
/// Exit 2 for bad arguments, key, range syntax, missing credentials, a malformed envelope, or an
/// existing `--out` without `--force`;
/// exit 1 when OSS refuses the read or cannot be reached, the key does not open the envelope,
/// the range is not satisfiable, or the object is shorter or longer than its envelope declares.
/// Nothing is left at `--out` on failure.
pub fn run(args: &GetArgs) -> CliResult<()> {
    // Parsed before anything else, so a malformed range is refused before any request.
    let range = args
        .range
        .as_deref()
        .map(|text| ByteRange::parse(text).ctx(format!("--range {text}")))
        .transpose()?;
    let mut inputs = vec![(args.private_key.as_path(), "--private-key")];
    inputs.extend(args.trust.iter().map(|p| (p.as_path(), "--trust")));
    check_distinct(&[(&args.output, "--out")], &inputs)?;
    let key = load_private_key(&args.private_key, "--private-key")?;
    let verify = cse_oss::Verify {
        policy: if args.require_auth {
            cse_core::auth::Policy::Require
        } else {
            cse_core::auth::Policy::Allow
        },
        trusted: crate::auth::load_trusted(&args.trust, "--trust")?,
    };
    let plain = oss::client(&args.oss)?;
    // The plaintext is the secret: a new file is owner-only.
    let mut output = Output::create(&args.output, "--out", Mode::Private, args.force)?;
    let client = EncryptionClient::new(plain, key.unwrapper());
    // A signal stops the download between two chunks; the partial file goes with `output`.
    let cancel = interrupt::cancellable();
    let staged = output.temp_path().is_some();
    oss::runtime(1)?.block_on(async {
        tokio::select! {
            fetched = fetch(&client, args, range, &verify, &mut output) => fetched,
            signal = cancel.wait() => {
                let stopped = CliError::interrupted(signal);
                Err(if staged {
                    stopped.with_note(format!(
                        "nothing was written at --out {}",
                        args.output.display()
                    ))
                } else {
                    stopped
                })
            }
        }
    })?;
    // A signal that came as the last chunk did still stops the command before anything appears.
    if let Some(signal) = cancel.signal() {
        return Err(CliError::interrupted(signal));
    }
    drop(cancel);
    output.commit()
}

async fn fetch(
    client: &EncryptionClient,
    args: &GetArgs,
    range: Option<ByteRange>,
    verify: &cse_oss::Verify,
    output: &mut Output,
) -> CliResult<()> {
    let url = oss::object_url(&args.oss);
    let key_name = format!("--private-key {}", args.private_key.display());
    let key_error = |e| match e {
        cse_oss::Error::Core(core @ (Error::Unwrap | Error::WrapAlgMismatch)) => {
            CliError::core(format!("{url}: {key_name}"), core)
        }
        other => oss::error(&url, other),
    };
    // An object whose metadata announces authentication is read only through its checks.
    if let Some(mut verified) = client
        .get_object_verified(&args.oss.bucket, &args.oss.object, range, verify)
        .await
        .map_err(key_error)?
    {
        let bar = progress(Some(verified.content_length()));
        while let Some(chunk) = verified.chunk().await.map_err(|e| oss::error(&url, e))? {
            output.write_all(&chunk)?;
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        return Ok(());
    }
    if !verify.trusted.is_empty() {
        return Err(CliError::failed(format!(
            "{url}: authentication failed: --trust was given, and the object is not \
             authenticated (no cse-auth-* metadata)"
        )));
    }
    let got = client
        .get_object_range(&args.oss.bucket, &args.oss.object, range)
        .await
        .map_err(|e| match e {
            cse_oss::Error::Core(core @ (Error::Unwrap | Error::WrapAlgMismatch)) => {
                CliError::core(format!("{url}: {key_name}"), core)
            }
            other => oss::error(&url, other),
        })?;
    // HEAD said unauthenticated; an answer that says otherwise is another object now.
    let meta = oss::user_metadata(&got.headers);
    if crate::auth::params(&meta, &url)?.is_some() {
        return Err(CliError::failed(format!(
            "{url}: the object changed while it was read (it is authenticated now); run the \
             command again"
        )));
    }
    if got.envelope.is_none() {
        // cse-oss reads the current envelope only; the metadata says what else this is.
        match classify(&meta, &url)? {
            Sealed::Legacy(_) => {
                return Err(CliError::failed(format!(
                    "{url} is in the 2018 oss2 format (x-oss-meta-oss-crypto-* metadata), \
                     which cse get does not read; download the object and its metadata and \
                     decrypt them with cse decrypt, which does"
                )));
            }
            Sealed::None if args.strict => return Err(CliError::core(&url, Error::NotEncrypted)),
            Sealed::None => stderr_line(format_args!(
                "warning: {url} has no client-side-encryption envelope; writing it to --out as \
                 stored, as the SDKs do (pass --strict to refuse)"
            )),
            Sealed::Current(_) => {
                return Err(CliError::failed(format!(
                    "{url}: the client returned the object without decrypting it although its \
                     metadata holds an envelope; this is a bug, please report it"
                )));
            }
        }
    }
    let bar = progress(got.content_length);
    let mut body = got.body;
    let mut written = 0u64;
    while let Some(chunk) = body.chunk().await.map_err(|e| oss::error(&url, e))? {
        output.write_all(&chunk)?;
        written += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    // The decrypting body already checks the length the envelope declares; this also covers an
    // object stored in the clear, whose length only Content-Length tells.
    match got.content_length {
        Some(expected) if written < expected => Err(CliError::core(
            &url,
            Error::Truncated {
                expected,
                actual: written,
            },
        )),
        Some(expected) if written > expected => {
            Err(CliError::core(&url, Error::Extended { expected }))
        }
        _ => Ok(()),
    }
}
