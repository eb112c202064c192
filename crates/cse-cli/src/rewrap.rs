//! `cse rewrap`: the same object's envelope under a new master key (key rotation).

use cse_core::auth::{AuthKeys, AuthParams, Binding, SIDECAR_HEADER_LEN, SidecarHeader};
use cse_core::legacy::is_any_envelope_header;
use cse_core::{ContentMaterial, DEFAULT_PREFIX, Envelope, Error};

use crate::auth::SidecarFile;

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
    if let Some(path) = &args.auth {
        inputs.push((path, "--auth"));
    }
    let mut outputs = vec![(args.meta_out.as_path(), "--meta-out")];
    if let Some(path) = &args.auth_out {
        outputs.push((path, "--auth-out"));
    }
    check_distinct(&outputs, &inputs)?;
    let origin = format!("--meta {}", args.meta.display());
    let headers = meta_file::read(&args.meta, "--meta")?;
    let sealed = classify(&headers, &origin)?;
    if matches!(sealed, Sealed::None) {
        return Err(CliError::core(&origin, Error::NotEncrypted));
    }
    let auth_params = crate::auth::params(&headers, &origin)?;
    match (&auth_params, &args.auth) {
        (Some(_), None) => {
            return Err(CliError::usage(format!(
                "{origin} is an authenticated object (cse-auth-version): its side-car covers \
                 the wrapped key, so give --auth TAGS and --auth-out NEW.tags to rewrap it too"
            )));
        }
        (None, Some(_)) => {
            return Err(CliError::usage(format!(
                "--auth was given, but {origin} has no cse-auth-* entries: there is no side-car \
                 to rewrap"
            )));
        }
        _ => {}
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
    let sidecar_output = match (&auth_params, &args.auth, &args.auth_out, &sealed) {
        (Some(params), Some(tags), Some(out), Sealed::Current(old)) => {
            let bytes = rewrap_sidecar(params, &material, old, &envelope, tags)?;
            let mut sidecar = Output::create(out, "--auth-out", Mode::Normal, args.force)?;
            sidecar.write_all(&bytes)?;
            Some(sidecar)
        }
        _ => None,
    };
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
    let mut outputs = vec![output];
    outputs.extend(sidecar_output);
    Output::commit_all(outputs)
}

/// Checks the side-car at `tags` against the old envelope, whole, and returns it with the new
/// envelope's wrapping tag: the only field a rewrap changes (the envelope digest leaves the
/// wrapping fields out, so the chunk tags, the final tag and a signature all still hold).
fn rewrap_sidecar(
    params: &AuthParams,
    material: &ContentMaterial,
    old: &Envelope,
    new: &Envelope,
    tags: &std::path::Path,
) -> CliResult<Vec<u8>> {
    if params.binding != Binding::None {
        return Err(CliError::usage(
            "the object is bound to its bucket and name; rewrap it where that name is known",
        ));
    }
    let keys = AuthKeys::derive(material);
    keys.check_commitment(&params.commitment)
        .map_err(crate::auth::failed)?;
    let digest = keys.envelope_digest(old, params);
    if keys.envelope_digest(new, params) != digest {
        return Err(CliError::failed(
            "the new envelope changes what the chunk tags cover; nothing was written",
        ));
    }
    let mut file = SidecarFile::open(tags)?;
    let len = SidecarHeader::decode(file.header())
        .map_err(crate::auth::failed)?
        .len;
    let header = keys
        .check_sidecar_header(
            &digest,
            &crate::auth::expected(old, params, len, &[]),
            file.header(),
        )
        .map_err(crate::auth::failed)?;
    let mut bytes = file.whole(&header)?;
    keys.check_tags(
        &digest,
        &header,
        header.tags(&bytes).map_err(crate::auth::failed)?,
    )
    .map_err(crate::auth::failed)?;
    let rewrapped = SidecarHeader {
        wrapping_tag: keys.wrapping_tag(&digest, new),
        ..header
    };
    bytes[..SIDECAR_HEADER_LEN].copy_from_slice(&rewrapped.encode());
    Ok(bytes)
}

/// Envelope headers of either format: replaced, never copied (the engine knows both names).
fn is_old_envelope_header(name: &str) -> bool {
    is_any_envelope_header(name.as_bytes(), DEFAULT_PREFIX)
}
