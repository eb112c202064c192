//! `cse inspect`: what an object's envelope says. Never prints key or counter bytes.

use std::fmt::Write as _;
use std::path::Path;

use cse_core::legacy::LegacyWrap;
use cse_core::{ContentMaterial, DEFAULT_PREFIX, Envelope, Field, is_envelope_header};

use crate::cli::InspectArgs;
use crate::error::CliResult;
use crate::object::{Sealed, classify, load_private_key, open_material};
use crate::{meta_file, stdout};

/// Runs `cse inspect`, printing the report on stdout.
///
/// # Errors
/// Exit 2 for a malformed META.json or key file; exit 1 when the given key does not open the
/// envelope or, for an authenticated object, what it opens does not match the commitment (the
/// report is printed first).
pub fn run(args: &InspectArgs) -> CliResult<()> {
    let origin = format!("--meta {}", args.meta.display());
    let headers = meta_file::read(&args.meta, "--meta")?;
    let sealed = classify(&headers, &origin)?;
    let (report, result) = report(&sealed, &headers, args.private_key.as_deref())?;
    stdout::write(&report)?;
    result
}

/// The report text, and the outcome of opening the envelope with `private_key` (the
/// `--private-key` argument) when one was given. `cse head` prints it for an object's HEAD
/// metadata.
///
/// # Errors
/// Exit 2 when the key file is unusable.
pub fn report(
    sealed: &Sealed,
    headers: &[(String, String)],
    private_key: Option<&Path>,
) -> CliResult<(String, CliResult<()>)> {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose below.
    let mut line = |name: &str, value: &str| {
        let _ = writeln!(out, "{name}: {value}");
    };
    match sealed {
        Sealed::Current(envelope) => describe_current(envelope, &mut line),
        Sealed::Legacy(legacy) => {
            line("format", "2018 oss2 client-side encryption (read-only)");
            line(&header_name(Field::LegacyCekAlg), "AES-256-CTR data");
            line(
                &header_name(Field::LegacyWrapAlg),
                match legacy.wrap() {
                    LegacyWrap::RsaOaepSha1 => "rsa (RSA-OAEP with SHA-1)",
                    LegacyWrap::Kms => "kms (Alibaba Cloud KMS; this tool cannot unwrap it)",
                },
            );
            line(
                &header_name(Field::LegacyKey),
                &format!("{} bytes of base64 (wrapped)", legacy.key_header().len()),
            );
            line(
                &header_name(Field::LegacyStart),
                &format!("{} bytes of base64 (wrapped)", legacy.start_header().len()),
            );
            line(
                "declared plaintext length",
                "none (the 2018 format has none)",
            );
        }
        Sealed::None => {
            line(
                "format",
                "no client-side-encryption envelope: stored in the clear, or its metadata was stripped",
            );
        }
    }
    let other = headers
        .iter()
        .filter(|(name, _)| !is_envelope_header(name.as_bytes(), DEFAULT_PREFIX))
        .count();
    line("other metadata entries", &other.to_string());
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let auth = cse_core::decode_auth_params(pairs, DEFAULT_PREFIX);
    match &auth {
        Ok(None) => line(
            "authentication",
            "none (no cse-auth-* metadata): nothing detects a changed ciphertext",
        ),
        Ok(Some(params)) => line(
            "authentication",
            &format!(
                "version {}, chunks of {} bytes, binding {}, key commitment present; the \
                 side-car must be given to cse decrypt --auth (cse get fetches it)",
                cse_core::auth::AUTH_VERSION,
                params.chunk_size,
                match params.binding {
                    cse_core::auth::Binding::None => "none",
                    cse_core::auth::Binding::BucketKey => "bucket-key",
                }
            ),
        ),
        Err(e) => line("authentication", &format!("malformed: {e}")),
    }

    let result = match (private_key, sealed) {
        (None, Sealed::None) => Ok(()),
        (None, _) => {
            line(
                "private key",
                "not given (pass --private-key to check it opens the envelope)",
            );
            line("counter block", "unknown without the private key");
            Ok(())
        }
        (Some(_), Sealed::None) => {
            line("private key", "nothing to open");
            Ok(())
        }
        (Some(path), _) => {
            let key = load_private_key(path, "--private-key")?;
            let bits = key.bits();
            let name = format!("--private-key {}", path.display());
            match open_material(sealed, key, &name) {
                Ok(material) => {
                    line("private key", &format!("RSA-{bits}, opens the envelope"));
                    line("counter block", counter_note(&material));
                    // An unwrap that "succeeds" with the wrong key (implicit rejection) is
                    // caught here on an authenticated object.
                    match &auth {
                        Ok(Some(params)) => {
                            let keys = cse_core::auth::AuthKeys::derive(&material);
                            match keys.check_commitment(&params.commitment) {
                                Ok(()) => {
                                    line("key commitment", "matches what the key opens");
                                    Ok(())
                                }
                                Err(e) => {
                                    line("key commitment", &format!("does NOT match: {e}"));
                                    Err(crate::auth::failed(e))
                                }
                            }
                        }
                        _ => Ok(()),
                    }
                }
                Err(e) => {
                    line(
                        "private key",
                        &format!("RSA-{bits}, does NOT open the envelope"),
                    );
                    line("counter block", "unknown (the envelope did not open)");
                    Err(e)
                }
            }
        }
    };
    Ok((out, result))
}

fn describe_current(envelope: &Envelope, line: &mut impl FnMut(&str, &str)) {
    line("format", "OSS client-side encryption");
    line(&header_name(Field::CekAlg), envelope.cek_alg());
    line(&header_name(Field::WrapAlg), envelope.wrap_alg());
    let matdesc = envelope.matdesc_text();
    line(
        &header_name(Field::MatDesc),
        if matdesc.is_empty() { "none" } else { matdesc },
    );
    line(
        &header_name(Field::Key),
        &format!("{} bytes wrapped", envelope.wrapped_key().as_bytes().len()),
    );
    line(
        &header_name(Field::Start),
        &format!(
            "{} bytes wrapped",
            envelope.wrapped_counter().as_bytes().len()
        ),
    );
    let number = |n: Option<u64>| n.map_or_else(|| "not declared".to_owned(), |n| n.to_string());
    line(
        &header_name(Field::UnencryptedContentLength),
        &number(envelope.unencrypted_content_length()),
    );
    line(
        &header_name(Field::UnencryptedContentMd5),
        &envelope
            .unencrypted_content_md5()
            .map_or_else(|| "not declared".to_owned(), |md5| hex(md5)),
    );
    match envelope.multipart() {
        Some(sizes) => {
            line(&header_name(Field::PartSize), &sizes.part_size.to_string());
            line(&header_name(Field::DataSize), &number(sizes.data_size));
        }
        None => line("multipart", "no (no part-size header)"),
    }
    line(
        "declared plaintext length",
        &envelope.declared_len().map_or_else(
            || "none (a whole-object read cannot detect truncation)".to_owned(),
            |n| format!("{n} bytes (whole-object reads check it)"),
        ),
    );
}

fn counter_note(material: &ContentMaterial) -> &'static str {
    if material.counter().is_canonical() {
        "canonical (bytes 8..11 zero, as every SDK writes it)"
    } else {
        "NOT canonical (bytes 8..11 not zero): read correctly here, but the Java SDK seeks it \
         wrongly for ranges and multipart"
    }
}

/// The MD5 of the plaintext is public metadata (a header anyone with read access sees).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The full header name, as META.json and OSS's HEAD answer spell it.
fn header_name(field: Field) -> String {
    format!("{DEFAULT_PREFIX}{}", field.suffix())
}
