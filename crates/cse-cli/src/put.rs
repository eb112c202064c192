//! `cse put`: encrypt a file here and upload it, with one PutObject or a parallel multipart
//! upload (`cse_oss::EncryptionClient::upload_file`), resumable with `--checkpoint`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::available_parallelism;

use cse_core::MultipartContext;
use cse_oss::{
    CancelToken, EncryptionClient, ProgressHook, PutObjectOutput, UploadCheckpoint, UploadOptions,
};

use crate::cli::PutArgs;
use crate::error::{CliError, CliResult, Context as _};
use crate::files::{Input, is_stdio, progress};
use crate::interrupt;
use crate::object::{load_key, parse_matdesc};
use crate::{oss, stdout};

/// A reader that counts what it gives out: what `cse put` reports for standard input.
struct Counting<R>(R, Arc<AtomicU64>);

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counting<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.0).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.1.fetch_add(n as u64, Ordering::Relaxed);
        polled
    }
}

/// Files larger than this go up as a multipart upload when no --part-size is given.
pub const AUTO_MULTIPART_ABOVE: u64 = 64 << 20;

/// The part size chosen for such a file: 8 MiB, or the smallest multiple of 16 that keeps the
/// upload within 10 000 parts.
#[must_use]
pub fn auto_part_size(len: u64) -> u64 {
    let fit = len
        .div_ceil(u64::from(cse_core::MAX_PARTS))
        .next_multiple_of(16);
    fit.max(8 << 20)
}

/// Runs `cse put`, printing the object, its length and its ETag on stdout.
///
/// # Errors
/// Exit 2 for bad arguments, key, matdesc, input file, part size or missing credentials; exit 1
/// when OSS refuses the upload or cannot be reached, or the input cannot be read.
pub fn run(args: &PutArgs) -> CliResult<()> {
    if args.abort {
        return abort(args);
    }
    let (path, flag) = match (&args.public_key, &args.private_key) {
        (_, Some(path)) => (path, "--private-key"),
        (Some(path), None) => (path, "--public-key"),
        (None, None) => {
            return Err(CliError::usage(
                "give the master key: --public-key PUB.pem, or --private-key PRIV.pem",
            ));
        }
    };
    let mut master = load_key(path, flag)?;
    // Checked before anything is sent: a checkpointed upload that could not be resumed would be
    // worse than none.
    if args.checkpoint.is_some() && !master.has_private_key() {
        return Err(CliError::usage(format!(
            "--checkpoint needs the private master key, to unwrap the upload's content key when \
             it resumes (the checkpoint records only the wrapped key): pass --private-key \
             PRIV.pem instead of {flag} {}",
            path.display()
        )));
    }
    if let Some(text) = &args.matdesc {
        master = master.with_matdesc(&parse_matdesc(text)?);
    }
    let input = Input::open(&args.input, "--in")?;
    if args.size.is_some() && !is_stdio(&args.input) {
        return Err(CliError::usage(
            "--size is for standard input (--in -); a file's size is read from the file",
        ));
    }
    let file_len = input.len().filter(|_| !is_stdio(&args.input));
    let auth = authentication(args, file_len)?;
    let multipart = match args.part_size {
        // An authenticated upload is one PutObject (checked above).
        _ if auth.is_some() => None,
        // A large file goes up in parts without being asked: one PutObject of gigabytes is
        // one request to lose and redo whole.
        None => match file_len {
            Some(len) if len > AUTO_MULTIPART_ABOVE => {
                let part_size = auto_part_size(len);
                Some((part_size, len, part_count(part_size, len)?))
            }
            _ => None,
        },
        Some(part_size) => {
            let len = match input.len() {
                Some(len) if !is_stdio(&args.input) => len,
                _ => {
                    return Err(CliError::usage(format!(
                        "--part-size reads the parts from a file at their offsets, so --in must \
                         be a regular file, not {}; drop --part-size to upload it with one \
                         PutObject",
                        input.describe()
                    )));
                }
            };
            Some((part_size, len, part_count(part_size, len)?))
        }
    };
    let url = oss::object_url(&args.oss);
    let plain = oss::client(&args.oss)?;
    let (bucket, key) = (args.oss.bucket.as_str(), args.oss.object.as_str());

    let Some((part_size, len, parts)) = multipart else {
        let client = EncryptionClient::new(plain, Box::new(master));
        if let (Some(len), Some(auth)) = (file_len, &auth) {
            drop(input);
            let out = oss::runtime(1)?
                .block_on(client.put_object_from_file_authenticated(
                    bucket,
                    key,
                    &args.input,
                    &[],
                    auth,
                ))
                .map_err(|e| oss::error(&url, e))?;
            let how = format!(
                "one PutObject, authenticated (side-car {})",
                cse_oss::sidecar_key(key)
            );
            stdout::write_line(summary(&url, len, &how, &out))?;
            return Ok(());
        }
        if let Some(len) = file_len {
            drop(input);
            // Read, sealed and sent a piece at a time: constant memory at any size.
            let out = oss::runtime(1)?
                .block_on(client.put_object_from_file(bucket, key, &args.input, &[]))
                .map_err(|e| oss::error(&url, e))?;
            stdout::write_line(summary(&url, len, "one PutObject", &out))?;
            return Ok(());
        }
        // Standard input streams as one PutObject, sealed as it is read.
        drop(input);
        let read = Arc::new(AtomicU64::new(0));
        let stdin = Counting(tokio::io::stdin(), Arc::clone(&read));
        let out = oss::runtime(1)?
            .block_on(client.put_object_reader(bucket, key, stdin, args.size, &[]))
            .map_err(|e| oss::error(&url, e))?;
        let len = read.load(Ordering::Relaxed);
        stdout::write_line(summary(&url, len, "one PutObject", &out))?;
        return Ok(());
    };

    drop(input);
    let jobs = usize::from(args.jobs);
    let cores = available_parallelism().map_or(1, usize::from);
    let cancel = CancelToken::new();
    // Bytes, rate and ETA on a terminal; nothing otherwise (files::progress decides).
    let bar = progress(Some(len));
    let ticks = bar.clone();
    let options = UploadOptions {
        part_size,
        concurrency: jobs,
        checkpoint: args.checkpoint.clone(),
        cancel: Some(cancel.clone()),
        on_progress: Some(ProgressHook(Arc::new(move |n| ticks.inc(n)))),
        ..UploadOptions::default()
    };
    let client = EncryptionClient::new(plain, Box::new(master));
    // While the upload runs, Ctrl-C or SIGTERM stops it cleanly: no new part starts, the parts in
    // flight finish, then the upload is aborted, or kept with its checkpoint to resume. A second
    // signal ends the process at once.
    // upload_file sends a file that fits one part with PutObject, as the SDKs' uploaders do. That
    // has nothing to stop cleanly: there a signal ends the process at once, as for any command.
    let one_put = len <= part_size;
    let interrupt = (!one_put).then(interrupt::cancellable);
    let result = oss::runtime(jobs.min(cores))?.block_on(async {
        let upload = client.upload_file(bucket, key, &args.input, &options);
        let Some(interrupt) = &interrupt else {
            return upload.await;
        };
        tokio::pin!(upload);
        tokio::select! {
            result = &mut upload => result,
            _ = interrupt.wait() => {
                cancel.cancel();
                upload.await
            }
        }
    });
    bar.finish_and_clear();
    let out = match result {
        Ok(out) => out,
        Err(cse_oss::Error::Cancelled { upload_id, kept }) => {
            let signal = interrupt
                .as_ref()
                .and_then(interrupt::CancelGuard::signal)
                .unwrap_or(interrupt::Signal::Int);
            let what = match (upload_id, &args.checkpoint) {
                (Some(id), Some(checkpoint)) if kept => format!(
                    "{url}: multipart upload {id} was kept with its checkpoint {}; run the same \
                     command again to resume it",
                    checkpoint.display()
                ),
                (Some(id), _) => format!("{url}: multipart upload {id} was aborted"),
                (None, _) => format!("{url}: nothing was uploaded"),
            };
            return Err(CliError::interrupted(signal).with_note(what));
        }
        Err(cse_oss::Error::UploadKept { upload_id, source }) if args.checkpoint.is_some() => {
            let checkpoint = args
                .checkpoint
                .as_deref()
                .unwrap_or(std::path::Path::new(""));
            // A changed source cannot be resumed; anything else (the network, OSS) can.
            let changed = matches!(
                *source,
                cse_oss::Error::Core(cse_core::Error::PartChanged { .. })
            );
            let next = if changed {
                format!(
                    "the file changed since the upload began, so it cannot be resumed: run the \
                     same command with --abort to abort upload {upload_id} and remove {}, then \
                     start over",
                    checkpoint.display()
                )
            } else {
                format!(
                    "upload {upload_id} was kept with its checkpoint {}: run the same command \
                     again to resume",
                    checkpoint.display()
                )
            };
            return Err(CliError::failed(format!("{url}: {source}; {next}")));
        }
        Err(e) => return Err(oss::error(&url, e)),
    };
    let how = if one_put {
        "one PutObject (the file fits one part)".to_owned()
    } else {
        format!("a multipart upload of {parts} parts")
    };
    stdout::write_line(summary(&url, len, &how, &out))
}

/// The authentication an upload asked for, checked against what this version can authenticate.
fn authentication(
    args: &PutArgs,
    file_len: Option<u64>,
) -> CliResult<Option<cse_oss::Authenticate>> {
    let policy = if args.require_auth {
        cse_core::auth::Policy::Require
    } else {
        cse_core::auth::Policy::Allow
    };
    if !policy
        .authenticates(args.authenticate)
        .map_err(|e| CliError::usage(e.to_string()))?
    {
        for (given, flag) in [
            (args.auth_chunk_size.is_some(), "--auth-chunk-size"),
            (args.bind, "--bind"),
            (args.sign_key.is_some(), "--sign-key"),
        ] {
            if given {
                return Err(CliError::usage(format!(
                    "{flag} is for authenticated uploads: add --authenticate"
                )));
            }
        }
        return Ok(None);
    }
    if args.part_size.is_some() || args.checkpoint.is_some() {
        return Err(CliError::usage(
            "an authenticated upload is one PutObject in this version: drop --part-size and \
             --checkpoint (files up to 5 GiB)",
        ));
    }
    match file_len {
        None => {
            return Err(CliError::usage(
                "an authenticated upload reads a file in this version: give --in a regular file, \
                 not standard input (or cse encrypt --authenticate, then upload)",
            ));
        }
        Some(len) if len > cse_oss::MAX_PUT_OBJECT_LEN => {
            return Err(CliError::usage(format!(
                "--in is {len} bytes, more than the 5 GiB one PutObject carries; an \
                 authenticated upload is one PutObject in this version"
            )));
        }
        Some(_) => {}
    }
    let writer = args
        .sign_key
        .as_deref()
        .map(|path| crate::auth::load_writer_key(path, "--sign-key"))
        .transpose()?;
    Ok(Some(cse_oss::Authenticate {
        chunk_size: crate::auth::chunk_size(args.auth_chunk_size)?,
        binding: if args.bind {
            cse_core::auth::Binding::BucketKey
        } else {
            cse_core::auth::Binding::None
        },
        writer: writer.map(Arc::new),
    }))
}

/// `cse put ... --checkpoint FILE --abort`: aborts the upload FILE records and removes FILE.
fn abort(args: &PutArgs) -> CliResult<()> {
    let Some(path) = &args.checkpoint else {
        return Err(CliError::usage("--abort needs --checkpoint FILE"));
    };
    let url = oss::object_url(&args.oss);
    let checkpoint =
        UploadCheckpoint::open(path).map_err(|e| CliError::failed(format!("{url}: {e}")))?;
    let state = checkpoint.state();
    if (state.bucket.as_str(), state.key.as_str())
        != (args.oss.bucket.as_str(), args.oss.object.as_str())
    {
        return Err(CliError::usage(format!(
            "--checkpoint {} records an upload of oss://{}/{}, not {url}",
            path.display(),
            state.bucket,
            state.key
        )));
    }
    let plain = oss::client(&args.oss)?;
    let what = match &state.upload_id {
        Some(id) => {
            let aborted = oss::runtime(1)?.block_on(plain.abort_multipart_upload(
                &state.bucket,
                &state.key,
                id,
            ));
            match aborted {
                Ok(()) => format!("aborted multipart upload {id}"),
                // Already gone (completed, aborted, or expired by a lifecycle rule).
                Err(e) if e.service_error().is_some_and(|s| s.code == "NoSuchUpload") => {
                    format!("multipart upload {id} no longer exists")
                }
                Err(e) => return Err(oss::error(&url, e)),
            }
        }
        None => "no upload id was recorded (its Initiate answer never arrived): list the \
                 bucket's unfinished uploads to find it"
            .to_owned(),
    };
    checkpoint
        .remove()
        .map_err(|e| CliError::failed(format!("{url}: {e}")))?;
    stdout::write_line(format!("{url}: {what}; removed {}", path.display()))
}

/// The number of parts, from the engine, which owns the size rules: they are checked before any
/// request, and even when the file fits one part, so a bad --part-size never passes unnoticed.
fn part_count(part_size: u64, len: u64) -> CliResult<u32> {
    // An empty file is one empty PutObject, but the engine sizes multipart uploads of one byte
    // or more: check the part size against a one-byte file.
    MultipartContext::part_count_for(part_size, len.max(1))
        .ctx(format!("--part-size {part_size} for {len} bytes"))
}

fn summary(url: &str, len: u64, how: &str, out: &PutObjectOutput) -> String {
    let etag = out.etag.as_deref().unwrap_or("not returned");
    format!("{url}: {len} bytes encrypted and uploaded with {how}, ETag {etag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_part_size_is_8_mib_until_10000_parts_would_not_hold_the_file() {
        assert_eq!(auto_part_size(AUTO_MULTIPART_ABOVE + 1), 8 << 20);
        assert_eq!(auto_part_size(10_000 * (8 << 20)), 8 << 20);
        let big = 10_000 * (8 << 20) + 1;
        let part = auto_part_size(big);
        assert!(part > 8 << 20 && part.is_multiple_of(16));
        assert!(big.div_ceil(part) <= 10_000);
        assert!(big.div_ceil(part - 16) > 10_000, "the smallest such size");
    }
}
