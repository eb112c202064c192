//! What an object's metadata holds, master keys from PEM files, and unwrapping.

use std::path::Path;

use cse_core::legacy::{LegacyWrap, classify_envelope};
use cse_core::rand_core::UnwrapErr;
use cse_core::{
    ContentMaterial, DecodeOptions, Error, Keyring, MasterCipher, MatDesc, RsaMasterCipher,
    WRAP_ALG_KMS, WRAP_ALG_RSA,
};

use zeroize::Zeroizing;

use crate::error::{CliError, CliResult, Context as _};
use crate::files::read_small;

/// The largest key file accepted (an RSA-16384 PEM is about 13 KiB).
const MAX_KEY_FILE_LEN: u64 = 64 * 1024;

/// The random source for content material and key wrapping: the operating system's.
pub type Rng = UnwrapErr<getrandom::SysRng>;

/// The operating system's random source. An OS that cannot supply randomness aborts the process
/// rather than encrypt with weak keys.
pub const fn rng() -> Rng {
    UnwrapErr(getrandom::SysRng)
}

/// What an object's metadata says about its encryption: the engine's classification.
pub use cse_core::legacy::Protection as Sealed;

/// Reads the envelope, of either format, from META.json headers; `origin` names the file in
/// messages. Pass-through here: `--strict` is applied by the caller, which words the refusal.
///
/// # Errors
/// Exit 2 for malformed headers, naming the header.
pub fn classify(headers: &[(String, String)], origin: &str) -> CliResult<Sealed> {
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    classify_envelope(pairs, &DecodeOptions::default()).ctx(origin)
}

/// Reads a PEM key file given as the argument `flag`. The file's bytes and the text are
/// zeroized when dropped: a private key PEM is the master secret.
fn read_pem(path: &Path, flag: &str) -> CliResult<Zeroizing<String>> {
    let bytes = Zeroizing::new(read_small(path, flag, MAX_KEY_FILE_LEN)?);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(CliError::usage(format!(
            "{flag} {}: not a PEM file (PEM is ASCII text starting with -----BEGIN)",
            path.display()
        ))),
    }
}

/// Loads an RSA key from a PEM file given as the argument `flag`.
///
/// # Errors
/// Exit 2 when the file cannot be read or holds no usable RSA key.
pub fn load_key(path: &Path, flag: &str) -> CliResult<RsaMasterCipher> {
    RsaMasterCipher::from_pem(&read_pem(path, flag)?).ctx(format!("{flag} {}", path.display()))
}

/// A private master key, with the backend that unwraps with it.
///
/// Built with the `awslc` feature, unwrapping uses aws-lc-rs for the keys it accepts (2048 bits
/// and more); otherwise, and for the RSA-1024 keys of the SDK test suites, the pure-Rust `rsa`
/// backend of the engine. The 2018 format's RSA-OAEP unwrap always uses the engine's.
pub struct PrivateMaster {
    rsa: RsaMasterCipher,
    #[cfg(feature = "awslc")]
    awslc: Option<cse_awslc::AwsLcRsaMasterCipher>,
}

impl PrivateMaster {
    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        self.rsa.bits()
    }

    /// The master cipher that unwraps current-format envelopes.
    pub fn unwrapper(self) -> Box<dyn MasterCipher + Send + Sync> {
        #[cfg(feature = "awslc")]
        if let Some(fast) = self.awslc {
            return Box::new(fast);
        }
        Box::new(self.rsa)
    }
}

/// Loads a private key, refusing a public one.
///
/// # Errors
/// As [`load_key`], and exit 2 for a public key.
pub fn load_private_key(path: &Path, flag: &str) -> CliResult<PrivateMaster> {
    let context = || format!("{flag} {}", path.display());
    let pem = read_pem(path, flag)?;
    let rsa = RsaMasterCipher::from_pem(&pem).ctx(context())?;
    if !rsa.has_private_key() {
        return Err(CliError::core(context(), Error::MissingPrivateKey));
    }
    Ok(PrivateMaster {
        #[cfg(feature = "awslc")]
        awslc: cse_awslc::AwsLcRsaMasterCipher::from_pem(&pem).ok(),
        rsa,
    })
}

/// Parses a `--matdesc` argument.
///
/// # Errors
/// Exit 2 when it is not a JSON object of strings.
pub fn parse_matdesc(text: &str) -> CliResult<MatDesc> {
    MatDesc::parse(text.as_bytes()).map_err(|_| {
        CliError::usage(format!(
            "--matdesc {text}: not a JSON object of string values with distinct keys, \
             like '{{\"key-id\":\"2024\"}}'"
        ))
    })
}

/// Unwraps the content material of an encrypted object with `key`.
///
/// # Errors
/// Exit 1 when the key does not open the envelope (or the object needs KMS); exit 2 for a
/// malformed legacy header.
pub fn open_material(
    sealed: &Sealed,
    key: PrivateMaster,
    key_name: &str,
) -> CliResult<ContentMaterial> {
    let mut rng = rng();
    match sealed {
        Sealed::Current(envelope) => {
            let wrap_alg = envelope.wrap_alg();
            let keyring = Keyring::new(key.unwrapper());
            keyring.open(envelope, &mut rng).map_err(|e| match e {
                Error::WrapAlgMismatch if wrap_alg.eq_ignore_ascii_case(WRAP_ALG_KMS) => {
                    CliError::core(
                        format!(
                            "the object's key is wrapped by Alibaba Cloud KMS (wrap-alg \
                             {wrap_alg}), which this tool cannot call; read it with an SDK \
                             configured for KMS"
                        ),
                        e,
                    )
                }
                Error::WrapAlgMismatch => CliError::core(
                    format!(
                        "the object's wrap-alg is {wrap_alg}, but {key_name} is an RSA key \
                         ({WRAP_ALG_RSA})"
                    ),
                    e,
                ),
                _ => CliError::core(key_name, e),
            })
        }
        Sealed::Legacy(legacy) => match legacy.wrap() {
            LegacyWrap::RsaOaepSha1 => legacy.open_rsa(&key.rsa, &mut rng).ctx(key_name),
            LegacyWrap::Kms => Err(CliError::failed(
                "the object is in the 2018 oss2 format with its key wrapped by Alibaba Cloud KMS \
                 (oss-wrap-alg kms); KMS legacy objects need KMS: read it with oss2 configured \
                 with an AliKMSProvider",
            )),
        },
        Sealed::None => Err(CliError::core(key_name, Error::NotEncrypted)),
    }
}

/// The plaintext length the metadata declares, if any.
pub fn declared_len(sealed: &Sealed) -> Option<u64> {
    match sealed {
        Sealed::Current(envelope) => envelope.declared_len(),
        Sealed::Legacy(_) | Sealed::None => None,
    }
}
