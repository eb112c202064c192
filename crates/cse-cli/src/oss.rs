//! What `put`, `get` and `head` share: the OSS client from the command line and the environment,
//! a tokio runtime that lives only as long as the command, and `cse_oss` errors as exit codes.
//!
//! The other commands stay synchronous; only these three start a runtime.

use cse_core::DEFAULT_PREFIX;
use cse_oss::{Credentials, Error, OssClient};
use tokio::runtime::{Builder, Runtime};

use crate::cli::OssArgs;
use crate::error::{CliError, CliResult};
use crate::meta_file::Headers;

/// The environment variables the credentials come from, for messages.
const CREDENTIAL_VARIABLES: &str = "set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET in the \
                                    environment (and OSS_SESSION_TOKEN for STS temporary \
                                    credentials)";

/// The object as `oss://bucket/key`, for messages.
pub fn object_url(args: &OssArgs) -> String {
    format!("oss://{}/{}", args.bucket, args.object)
}

/// The user metadata (`x-oss-meta-*`) of an OSS answer's headers, as META.json holds it: what
/// [`classify`](crate::object::classify) and the inspect report read. Names come lower case
/// from the HTTP layer; a value that is not UTF-8 is kept lossily (envelope values are base64 or
/// JSON text, so only foreign metadata can be affected).
pub fn user_metadata<'h, N, V>(headers: impl IntoIterator<Item = (&'h N, &'h V)>) -> Headers
where
    N: AsRef<str> + 'h + ?Sized,
    V: AsRef<[u8]> + 'h + ?Sized,
{
    headers
        .into_iter()
        .filter(|(name, _)| name.as_ref().starts_with(DEFAULT_PREFIX))
        .map(|(name, value)| {
            (
                name.as_ref().to_owned(),
                String::from_utf8_lossy(value.as_ref()).into_owned(),
            )
        })
        .collect()
}

/// The credentials from the environment.
///
/// # Errors
/// Exit 2, naming the variables, when `OSS_ACCESS_KEY_ID` or `OSS_ACCESS_KEY_SECRET` is unset or
/// empty.
pub fn credentials() -> CliResult<Credentials> {
    Credentials::from_env()
        .map_err(|_| CliError::usage(format!("no OSS credentials: {CREDENTIAL_VARIABLES}")))
}

/// The plain OSS client for `--endpoint` and `--region`, with the environment's credentials.
///
/// # Errors
/// Exit 2 for an empty `--bucket` or `--object`, missing credentials or an unusable
/// `--endpoint` or `--region`; exit 1 when the HTTP client cannot be built.
pub fn client(args: &OssArgs) -> CliResult<OssClient> {
    // An empty key would address the bucket itself, which these commands never mean to.
    for (flag, value) in [("--bucket", &args.bucket), ("--object", &args.object)] {
        if value.is_empty() {
            return Err(CliError::usage(format!(
                "{flag} must not be empty; give the bucket name and the object key, like \
                 --bucket my-bucket --object photos/photo.jpg"
            )));
        }
    }
    // Refused before credentials are read or any request is built: the bucket becomes part of
    // the host name, and the key part of the path.
    cse_oss::check_bucket(&args.bucket).map_err(|e| CliError::usage(format!("--bucket: {e}")))?;
    cse_oss::check_key(&args.object).map_err(|e| CliError::usage(format!("--object: {e}")))?;
    let credentials = credentials()?;
    OssClient::builder(&args.endpoint)
        .region(&args.region)
        .credentials(credentials)
        .build()
        .map_err(|e| match e {
            // The builder names its argument after the flag: endpoint, region.
            Error::InvalidArgument { name, problem } => {
                CliError::usage(format!("--{name} {problem}"))
            }
            other => error(&format!("--endpoint {}", args.endpoint), other),
        })
}

/// A runtime for one command: a current-thread one for `threads` <= 1 (one request at a time),
/// else one with that many workers, so parallel parts are also sealed in parallel.
///
/// # Errors
/// Exit 1 when the runtime cannot start (no threads or file descriptors left).
pub fn runtime(threads: usize) -> CliResult<Runtime> {
    let mut builder = if threads <= 1 {
        Builder::new_current_thread()
    } else {
        let mut builder = Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| CliError::io("starting the network runtime", &e))
}

/// A `cse_oss` error as the CLI reports it, prefixed with `context` (the object, a flag):
/// exit 1 when OSS refused or could not be reached or the data did not decrypt, exit 2 for a
/// malformed argument or a malformed envelope (as for a META.json).
pub fn error(context: &str, e: Error) -> CliError {
    match e {
        Error::Core(core) => CliError::core(context, core),
        Error::InvalidArgument { .. } => CliError::usage(format!("{context}: {e}")),
        Error::MissingCredentials => {
            CliError::usage(format!("no OSS credentials: {CREDENTIAL_VARIABLES}"))
        }
        Error::Service { ref error, .. } => {
            let hint = hint(&error.code);
            CliError::failed(format!("{context}: {e}{hint}"))
        }
        // Transport, body, unexpected answers, CRC mismatches, local IO during a transfer, kept
        // uploads, header problems in OSS's answer: the operation failed. `Error` is
        // non-exhaustive, so a later variant lands here too.
        other => CliError::failed(format!("{context}: {other}")),
    }
}

/// What to check next for the OSS error codes a command line can cause.
fn hint(code: &str) -> &'static str {
    match code {
        "SignatureDoesNotMatch" | "InvalidAccessKeyId" => {
            "; check OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET, and --region"
        }
        "SecurityTokenExpired" | "InvalidSecurityToken" => {
            "; refresh OSS_SESSION_TOKEN and the key pair issued with it"
        }
        "AccessDenied" => "; check that the credentials may access this bucket and object",
        "NoSuchKey" => "; check --object",
        "NoSuchBucket" => "; check --bucket and --endpoint",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cse_oss::ServiceError;

    #[test]
    fn service_errors_are_failures_that_name_the_code_and_a_next_step() {
        let e = error(
            "oss://b/k",
            Error::Service {
                operation: "GetObject",
                error: ServiceError {
                    status: 403,
                    code: "SignatureDoesNotMatch".to_owned(),
                    message: "bad".to_owned(),
                    request_id: "R1".to_owned(),
                    ec: None,
                },
            },
        );
        assert_eq!(e.code(), 1);
        let text = e.to_string();
        assert!(text.contains("SignatureDoesNotMatch"), "{text}");
        assert!(text.contains("OSS_ACCESS_KEY_SECRET"), "{text}");
        assert!(text.starts_with("oss://b/k: "), "{text}");
    }

    #[test]
    fn engine_errors_keep_their_exit_codes() {
        let e = error("x", Error::Core(cse_core::Error::Unwrap));
        assert_eq!(e.code(), 1);
        let e = error("x", Error::Core(cse_core::Error::InvalidPartSize));
        assert_eq!(e.code(), 2);
        let e = error(
            "x",
            Error::InvalidArgument {
                name: "parts",
                problem: "p".to_owned(),
            },
        );
        assert_eq!(e.code(), 2);
        assert_eq!(error("x", Error::MissingCredentials).code(), 2);
    }

    #[test]
    fn user_metadata_keeps_only_x_oss_meta_headers() {
        let answer = [
            ("content-length", "5"),
            ("x-oss-meta-client-side-encryption-key", "a2V5"),
            ("x-oss-meta-owner", "me"),
            ("x-oss-request-id", "R"),
        ];
        let got = user_metadata(answer.iter().map(|(n, v)| (*n, v.as_bytes())));
        assert_eq!(
            got,
            vec![
                (
                    "x-oss-meta-client-side-encryption-key".to_owned(),
                    "a2V5".to_owned()
                ),
                ("x-oss-meta-owner".to_owned(), "me".to_owned()),
            ]
        );
    }
}
