//! `cse rewrap`: the same object's envelope under a new master key (key rotation).

use cse_core::legacy::is_any_envelope_header;
use cse_core::{DEFAULT_PREFIX, Envelope, Error};

use crate::cli::RewrapArgs;
use crate::error::{CliError, CliResult, Context as _};
use crate::files::{Mode, Output, check_distinct, is_stdio};
use crate::meta_file::{self, Headers};
use crate::object::{
    Sealed, classify, load_key, load_private_key, open_material, parse_matdesc, rng,
};

/// Runs `cse rewrap`.
///
/// # Errors
/// Exit 2 for malformed arguments, metadata or keys, an existing `--meta-out` without `--force`,
/// or `--meta-out` naming an input; exit 1 when the old key does not open the envelope, or the
/// written envelope does not check out.
pub fn run(args: &RewrapArgs) -> CliResult<()> {
    if is_stdio(&args.meta_out) {
        return Err(CliError::usage(
            "--meta-out must be a file (it is read back and checked before it is kept)",
        ));
    }
    let mut inputs = vec![
        (args.private_key.as_path(), "--private-key"),
        (args.public_key.as_path(), "--public-key"),
        (args.meta.as_path(), "--meta"),
    ];
    if let Some(path) = &args.verify_private_key {
        inputs.push((path, "--verify-private-key"));
    }
    check_distinct(&[(&args.meta_out, "--meta-out")], &inputs)?;
    let origin = format!("--meta {}", args.meta.display());
    let headers = meta_file::read(&args.meta, "--meta")?;
    let sealed = classify(&headers, &origin)?;
    if matches!(sealed, Sealed::None) {
        return Err(CliError::core(&origin, Error::NotEncrypted));
    }
    let old = load_private_key(&args.private_key, "--private-key")?;
    let mut new = load_key(&args.public_key, "--public-key")?;
    if let Some(text) = &args.matdesc {
        new = new.with_matdesc(&parse_matdesc(text)?);
    }
    let verifier = args
        .verify_private_key
        .as_deref()
        .map(|path| load_private_key(path, "--verify-private-key"))
        .transpose()?;
    let old_name = format!("--private-key {}", args.private_key.display());
    let material = open_material(&sealed, old, &old_name)?;

    let mut rng = rng();
    let envelope = match &sealed {
        Sealed::Current(envelope) => envelope.rewrap(&material, &new, &mut rng),
        // The 2018 format declares no lengths: the new envelope carries none either.
        _ => Envelope::seal(&material, &new, &mut rng),
    }
    .ctx("--public-key")?;

    let mut out_headers: Headers = envelope.to_headers(DEFAULT_PREFIX).ctx("--meta-out")?;
    out_headers.extend(
        headers
            .iter()
            .filter(|(name, _)| !is_old_envelope_header(name))
            .cloned(),
    );
    let mut output = Output::create(&args.meta_out, "--meta-out", Mode::Normal, args.force)?;
    let json = meta_file::to_json(&out_headers);

    // Read the written file back as a reader would, before it replaces anything. A device or
    // FIFO written through cannot be read back: its bytes are parsed, and written only once
    // every check passed.
    let staged = output.temp_path().is_some();
    if staged {
        output.write_all(json.as_bytes())?;
    }
    let written = match output.temp_path() {
        Some(path) => meta_file::read(path, "--meta-out")?,
        None => meta_file::parse(json.as_bytes(), "--meta-out")?,
    };
    let reread = match classify(&written, "--meta-out (read back)")? {
        Sealed::Current(e) => e,
        _ => {
            return Err(CliError::failed(
                "--meta-out: the written envelope did not read back",
            ));
        }
    };
    if reread != envelope {
        return Err(CliError::failed(
            "--meta-out: the written envelope reads back differently from the one sealed",
        ));
    }
    if let Sealed::Current(old_envelope) = &sealed {
        let kept = |e: &Envelope| {
            (
                e.unencrypted_content_length(),
                e.unencrypted_content_md5().copied(),
                e.multipart(),
            )
        };
        if kept(old_envelope) != kept(&reread) {
            return Err(CliError::failed(
                "--meta-out: the lengths, MD5 or multipart sizes were not carried over",
            ));
        }
    }
    if let (Some(verifier), Some(path)) = (verifier, &args.verify_private_key) {
        let name = format!("--verify-private-key {}", path.display());
        let reopened = open_material(&Sealed::Current(reread), verifier, &name)?;
        if reopened != material {
            return Err(CliError::failed(format!(
                "{name}: the new envelope opens to different key material; nothing was written"
            )));
        }
    }
    if !staged {
        output.write_all(json.as_bytes())?;
    }
    output.commit()
}

/// Envelope headers of either format: replaced, never copied (the engine knows both names).
fn is_old_envelope_header(name: &str) -> bool {
    is_any_envelope_header(name.as_bytes(), DEFAULT_PREFIX)
}
