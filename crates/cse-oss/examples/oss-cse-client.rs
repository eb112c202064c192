//! A small command-line front end to [`cse_oss::EncryptionClient`], used by the cross-client
//! interop test (`interop/oss_http_cross.py`).
//!
//! ```text
//! oss-cse-client --endpoint URL [--region REGION] --access-key-id AK --access-key-secret SK \
//!     --key PEM (put BUCKET KEY FILE [--part-size N] | get BUCKET KEY OUT [--range bytes=A-B])
//! ```
//! `--region` is the region to sign for (default `cn-hangzhou`).
//! `put` with `--part-size` makes a parallel multipart upload; `get` writes the plaintext
//! (of the range, when given) to OUT. Errors go to stderr with exit status 1.

use std::process::ExitCode;

use cse_core::RsaMasterCipher;
use cse_oss::{Credentials, EncryptionClient, OssClient, PutObjectRequest, UploadOptions};

async fn run(args: Vec<String>) -> Result<(), String> {
    let mut opts = std::collections::HashMap::new();
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if let Some(name) = a.strip_prefix("--") {
            let value = it.next().ok_or(format!("--{name} needs a value"))?;
            opts.insert(name.to_owned(), value);
        } else {
            rest.push(a);
        }
    }
    let opt = |n: &str| opts.get(n).cloned().ok_or(format!("--{n} is required"));
    let pem = std::fs::read_to_string(opt("key")?).map_err(|e| format!("--key: {e}"))?;
    let master = RsaMasterCipher::from_pem(&pem).map_err(|e| e.to_string())?;
    let mut oss = OssClient::builder(opt("endpoint")?);
    if let Some(region) = opts.get("region") {
        oss = oss.region(region);
    }
    let oss = oss
        .credentials(Credentials::new(
            opt("access-key-id")?,
            opt("access-key-secret")?,
        ))
        .build()
        .map_err(|e| e.to_string())?;
    let client = EncryptionClient::new(oss, Box::new(master));
    match rest.as_slice() {
        [cmd, bucket, key, file] if cmd == "put" => {
            if let Some(part_size) = opts.get("part-size") {
                let options = UploadOptions {
                    part_size: part_size.parse().map_err(|_| "--part-size: not a number")?,
                    concurrency: 4,
                    ..UploadOptions::default()
                };
                client
                    .upload_file(bucket, key, file, &options)
                    .await
                    .map_err(|e| e.to_string())?;
            } else {
                let body = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
                client
                    .put_object(PutObjectRequest::new(bucket.as_str(), key.as_str(), body))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        [cmd, bucket, key, out] if cmd == "get" => {
            let got = client
                .get_object(bucket, key, opts.get("range").map(String::as_str))
                .await
                .map_err(|e| e.to_string())?;
            let bytes = got.body.bytes().await.map_err(|e| e.to_string())?;
            std::fs::write(out, &bytes).map_err(|e| format!("{out}: {e}"))
        }
        _ => Err(
            "usage: oss-cse-client --endpoint URL [--region REGION] --access-key-id AK \
                  --access-key-secret SK --key PEM (put BUCKET KEY FILE [--part-size N] | get BUCKET KEY OUT [--range R])"
                .to_owned(),
        ),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oss-cse-client: {e}");
            ExitCode::FAILURE
        }
    }
}
