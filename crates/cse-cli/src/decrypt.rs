//! `cse decrypt`: ciphertext and META.json in, plaintext (whole or a range) out.

use std::ops::Range;

use cse_core::{BodyPlan, ByteRange, Error, Opener, plan_range};

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
    check_distinct(
        &[(&args.output, "--out")],
        &[
            (&args.private_key, "--private-key"),
            (&args.meta, "--meta"),
            (&args.input, "--in"),
        ],
    )?;
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
