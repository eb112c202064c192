//! The in-memory OSS-API test server as a program, for tests written in other languages.
//!
//! ```text
//! oss-test-server --listen 127.0.0.1:PORT --access-key-id AK --access-key-secret SK
//! ```
//!
//! Prints `listening on http://ADDR` once bound (PORT may be 0 for a free port), then serves
//! until interrupted. Loopback only.

use std::net::SocketAddr;
use std::process::ExitCode;

use cse_oss::test_server::{TestServer, TestServerConfig};

const USAGE: &str =
    "usage: oss-test-server --listen 127.0.0.1:PORT --access-key-id AK --access-key-secret SK";

fn parse() -> Result<(SocketAddr, String, String), String> {
    let (mut listen, mut ak, mut sk) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--listen" => &mut listen,
            "--access-key-id" => &mut ak,
            "--access-key-secret" => &mut sk,
            "-h" | "--help" => return Err(USAGE.to_owned()),
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
    Ok((
        addr,
        ak.ok_or_else(|| format!("--access-key-id is required\n{USAGE}"))?,
        sk.ok_or_else(|| format!("--access-key-secret is required\n{USAGE}"))?,
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (addr, ak, sk) = match parse() {
        Ok(v) => v,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let server = match TestServer::start(addr, TestServerConfig::new(ak, sk)).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("oss-test-server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", server.endpoint());
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
