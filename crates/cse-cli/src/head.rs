//! `cse head`: one HeadObject, then the plaintext length and what `cse inspect` says of the
//! object's metadata. Never prints key or counter bytes.

use std::fmt::Write as _;

use crate::cli::HeadArgs;
use crate::error::CliResult;
use crate::inspect;
use crate::object::{classify, declared_len, load_private_key};
use crate::{oss, stdout};

/// Runs `cse head`, printing the report on stdout.
///
/// # Errors
/// Exit 2 for bad arguments, key file, missing credentials or a malformed envelope; exit 1 when
/// OSS refuses the request or cannot be reached, or when the given key does not open the
/// envelope (the report is printed first).
pub fn run(args: &HeadArgs) -> CliResult<()> {
    if let Some(path) = &args.private_key {
        // Loaded now to refuse a bad key file before any request; the report loads it again.
        load_private_key(path, "--private-key")?;
    }
    let url = oss::object_url(&args.oss);
    let plain = oss::client(&args.oss)?;
    let answer = oss::runtime(1)?
        .block_on(plain.head_object(&args.oss.bucket, &args.oss.object))
        .map_err(|e| oss::error(&url, e))?;
    let metadata = oss::user_metadata(&answer);
    let sealed = classify(&metadata, &url)?;
    let header = |name: &str| answer.get(name).and_then(|v| v.to_str().ok());
    let stored_len = header("content-length").and_then(|v| v.parse::<u64>().ok());

    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "object: {url}");
    let length = match (stored_len, declared_len(&sealed)) {
        (Some(len), Some(declared)) if len != declared => format!(
            "{len} bytes stored, but the envelope declares {declared}: the object was cut short \
             or extended, and whole reads will fail"
        ),
        (Some(len), _) => format!("{len} bytes"),
        (None, _) => "unknown (OSS sent no Content-Length)".to_owned(),
    };
    let _ = writeln!(out, "plaintext length: {length}");
    let _ = writeln!(out, "etag: {}", header("etag").unwrap_or("none"));
    let _ = writeln!(
        out,
        "object type: {}",
        header("x-oss-object-type").unwrap_or("not given")
    );
    let (report, opened) = inspect::report(&sealed, &metadata, args.private_key.as_deref())?;
    out.push_str(&report);
    stdout::write(&out)?;
    opened
}
