//! The in-memory OSS-API test server as a program, for tests written in other languages.
//!
//! ```text
//! oss-test-server --listen 127.0.0.1:PORT --access-key-id AK --access-key-secret SK \
//!     [--region REGION] [--no-md5] [--discard-bodies]
//! ```
//!
//! Prints `listening on http://ADDR` once bound (PORT may be 0 for a free port), then serves
//! until interrupted. Loopback only. V4 requests must be signed for REGION (default
//! `cn-hangzhou`, the SDKs' usual default) and within 15 minutes of the machine's clock.

use std::net::SocketAddr;
use std::process::ExitCode;

use cse_oss_test_server::{TestServer, TestServerConfig};

const USAGE: &str = "usage: oss-test-server --listen 127.0.0.1:PORT --access-key-id AK --access-key-secret SK [--region REGION] [--no-md5] [--discard-bodies]

  --listen 127.0.0.1:PORT   loopback address to bind (PORT 0: a free port, printed once bound)
  --access-key-id AK        the AccessKeyId requests must be signed with
  --access-key-secret SK    the AccessKeySecret requests must be signed with
  --region REGION           the region V4 signatures must be scoped to (default cn-hangzhou)
  --no-md5                  ETags from the CRC-64, not the MD5, for benchmarks (MD5 would
                            make the server the slowest part of a loopback measurement)
  --discard-bodies          receive, measure and digest request bodies but keep no bytes:
                            HEAD answers, GetObject is refused; for upload benchmarks";

fn parse() -> Result<(SocketAddr, TestServerConfig), String> {
    let (mut listen, mut ak, mut sk, mut region) = (None, None, None, None);
    let (mut md5, mut discard) = (true, false);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--no-md5" => {
                md5 = false;
                continue;
            }
            "--discard-bodies" => {
                discard = true;
                continue;
            }
            "--listen" => &mut listen,
            "--access-key-id" => &mut ak,
            "--access-key-secret" => &mut sk,
            "--region" => &mut region,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        };
        *slot = Some(
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?,
        );
    }
    let listen = listen.ok_or_else(|| format!("--listen is required\n{USAGE}"))?;
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| format!("--listen {listen:?} is not IP:PORT\n{USAGE}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "--listen {addr}: the test server only binds loopback addresses (127.0.0.1)"
        ));
    }
    let mut config = TestServerConfig::new(
        ak.ok_or_else(|| format!("--access-key-id is required\n{USAGE}"))?,
        sk.ok_or_else(|| format!("--access-key-secret is required\n{USAGE}"))?,
    );
    if let Some(region) = region {
        if region.is_empty() || region.starts_with("oss-") {
            return Err(format!(
                "--region {region:?}: give a region id such as cn-hangzhou (not the oss- endpoint name)"
            ));
        }
        config = config.region(region);
    }
    if !md5 {
        config = config.without_md5_etags();
    }
    if discard {
        config = config.discarding_bodies();
    }
    Ok((addr, config))
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        use std::io::Write as _;
        // A closed pipe (`--help | head -1`) is not an error worth a panic.
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (addr, config) = match parse() {
        Ok(v) => v,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let region = config.region.clone();
    let server = match TestServer::start(addr, config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("oss-test-server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        use std::io::Write as _;
        let mut out = std::io::stdout();
        if writeln!(out, "listening on {}", server.endpoint())
            .and_then(|()| out.flush())
            .is_err()
        {
            // Whoever started the server stopped reading: nobody can learn the address.
            eprintln!("oss-test-server: cannot print the address: standard output is closed");
            return ExitCode::FAILURE;
        }
    }
    eprintln!("oss-test-server: region {region}");
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
