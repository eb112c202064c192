//! `cse keygen`: an RSA master key pair.

use std::path::Path;

use cse_core::{ContentMaterial, Envelope, RsaMasterCipher};
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{PrivateKey, PublicKey};

use crate::cli::KeygenArgs;
use crate::error::{CliError, CliResult, Context as _};
use crate::files::{Mode, Output, check_distinct, is_stdio};
use crate::object::rng;
use crate::stdout::stderr_line;

/// Runs `cse keygen`.
///
/// # Errors
/// Exit 2 for bad paths, one file given twice, or existing files without `--force`; exit 1 when
/// generation fails.
pub fn run(args: &KeygenArgs) -> CliResult<()> {
    if args.signing {
        generate_signing(&args.private_out, &args.public_out, args.force)?;
        stderr_line(format_args!(
            "wrote an Ed25519 writer key to {} (PKCS#8 PEM, mode 0600) and its public key to {} \
             (SPKI PEM): sign with cse encrypt --authenticate --sign-key, check with cse \
             decrypt --trust",
            args.private_out.display(),
            args.public_out.display()
        ));
        return Ok(());
    }
    generate(
        &args.private_out,
        &args.public_out,
        args.bits.get(),
        args.force,
    )?;
    stderr_line(format_args!(
        "wrote an RSA-{} private key to {} (PKCS#8 PEM, mode 0600) and its public key to {} \
         (SPKI PEM)",
        args.bits.get(),
        args.private_out.display(),
        args.public_out.display()
    ));
    Ok(())
}

/// Generates an RSA key pair of `bits` and writes both PEM files, only once both are ready.
///
/// # Errors
/// As [`run`].
pub fn generate(private_out: &Path, public_out: &Path, bits: usize, force: bool) -> CliResult<()> {
    let (mut private_file, mut public_file) = key_outputs(private_out, public_out, force)?;

    let private = PrivateKey::new(&mut getrandom::SysRng, bits)
        .map_err(|e| CliError::failed(format!("generating an RSA-{bits} key failed: {e}")))?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| CliError::failed(format!("encoding the private key failed: {e}")))?;
    let public_pem = PublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| CliError::failed(format!("encoding the public key failed: {e}")))?;
    check_pair(&private_pem, &public_pem)?;

    private_file.write_all(private_pem.as_bytes())?;
    public_file.write_all(public_pem.as_bytes())?;
    // Half a pair is worse than none: both files or neither (a key written through to a device
    // cannot be taken back).
    Output::commit_all(vec![private_file, public_file])
}

/// The two key files, checked (an existing file without --force, one file given twice) before
/// any key is made.
fn key_outputs(private_out: &Path, public_out: &Path, force: bool) -> CliResult<(Output, Output)> {
    for (path, flag) in [(private_out, "--private-out"), (public_out, "--public-out")] {
        if is_stdio(path) {
            return Err(CliError::usage(format!("{flag} must be a file")));
        }
    }
    check_distinct(
        &[(private_out, "--private-out"), (public_out, "--public-out")],
        &[],
    )?;
    Ok((
        Output::create(private_out, "--private-out", Mode::Private, force)?,
        Output::create(public_out, "--public-out", Mode::Normal, force)?,
    ))
}

/// Generates an Ed25519 writer key and writes both PEM files, only once both are ready and
/// the private one loads back as the key that signs for the public one.
///
/// # Errors
/// As [`run`].
pub fn generate_signing(private_out: &Path, public_out: &Path, force: bool) -> CliResult<()> {
    use ed25519_dalek::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
    let (mut private_file, mut public_file) = key_outputs(private_out, public_out, force)?;
    let writer = cse_core::auth::WriterKey::generate(&mut rng());
    let key = ed25519_dalek::SigningKey::from_bytes(&writer.seed());
    let private_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| CliError::failed(format!("encoding the writer key failed: {e}")))?;
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| CliError::failed(format!("encoding the public key failed: {e}")))?;
    if ed25519_dalek::SigningKey::from_pkcs8_pem(&private_pem).map(|k| k.verifying_key())
        != Ok(key.verifying_key())
    {
        return Err(CliError::failed(
            "the generated writer key does not load back; nothing was written",
        ));
    }
    private_file.write_all(private_pem.as_bytes())?;
    public_file.write_all(public_pem.as_bytes())?;
    Output::commit_all(vec![private_file, public_file])
}

/// The written PEMs load through the same path every other command uses, and the public key
/// wraps what the private key unwraps.
fn check_pair(private_pem: &str, public_pem: &str) -> CliResult<()> {
    let private = RsaMasterCipher::from_pem(private_pem).ctx("the generated private key")?;
    let public = RsaMasterCipher::from_pem(public_pem).ctx("the generated public key")?;
    let mut rng = rng();
    let material = ContentMaterial::generate(&mut rng);
    let opened = Envelope::seal(&material, &public, &mut rng)
        .and_then(|envelope| envelope.open(&private, &mut rng))
        .ctx("checking the generated key pair")?;
    if opened == material {
        Ok(())
    } else {
        Err(CliError::failed(
            "the generated key pair does not round-trip; nothing was written",
        ))
    }
}
