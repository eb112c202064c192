//! The in-memory OSS server on its own runtime, and `cse put` / `cse get` against it, for the
//! tests that need a server (`oss.rs`, `put_resume.rs`). Apart from `common` so that the other
//! test binaries do not link the server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use cse_oss_test_server::{TestServer, TestServerConfig};

use crate::common::{Run, cse_command, s, test_keys};

pub const AK: &str = "cli-test-ak";
pub const SK: &str = "cli-test-sk/secret+=";
pub const BUCKET: &str = "cli-bucket";

/// A test server on its own runtime, and a scratch directory.
pub struct Oss {
    // Dropped first: stops the server while its runtime still runs.
    pub server: TestServer,
    _runtime: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
}

impl Oss {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(TestServer::start(
                "127.0.0.1:0".parse().unwrap(),
                TestServerConfig::new(AK, SK),
            ))
            .unwrap();
        Self {
            server,
            _runtime: runtime,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// Runs `cse` with the server's credentials (and no other OSS variable).
    pub fn cse(&self, args: &[&str]) -> Run {
        cse_command()
            .args(args)
            .env_remove("OSS_SESSION_TOKEN")
            .env("OSS_ACCESS_KEY_ID", AK)
            .env("OSS_ACCESS_KEY_SECRET", SK)
            .run()
    }

    /// Starts `cse` with the server's credentials, stdin empty, stdout and stderr piped, for
    /// tests that act on the running process.
    pub fn spawn(&self, args: &[&str]) -> Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_cse"))
            .args(args)
            .env_remove("OSS_SESSION_TOKEN")
            .env("OSS_ACCESS_KEY_ID", AK)
            .env("OSS_ACCESS_KEY_SECRET", SK)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `command`'s arguments that name `key` on this server, then `extra`.
    pub fn object_args(&self, command: &str, key: &str, extra: &[&str]) -> Vec<String> {
        let endpoint = self.endpoint();
        [
            command,
            "--endpoint",
            &endpoint,
            "--bucket",
            BUCKET,
            "--object",
            key,
        ]
        .iter()
        .chain(extra)
        .map(|a| (*a).to_owned())
        .collect()
    }

    /// Runs `cse command` on `key` of this server with `extra` arguments.
    pub fn cse_on(&self, command: &str, key: &str, extra: &[&str]) -> Run {
        let args = self.object_args(command, key, extra);
        self.cse(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The arguments of `cse put` of `input` to `key`: the test public key, or the private key
    /// for a checkpointed upload (it resumes by unwrapping its envelope), then `extra`.
    pub fn put_args(&self, key: &str, input: &Path, extra: &[&str]) -> Vec<String> {
        let (private, public) = test_keys();
        let (flag, master) = if extra.contains(&"--checkpoint") {
            ("--private-key", private)
        } else {
            ("--public-key", public)
        };
        let head = [flag, s(&master), "--in", s(input)];
        self.object_args("put", key, &[&head[..], extra].concat())
    }

    /// `cse put` of the file `input` to `key`.
    pub fn put_file(&self, key: &str, input: &Path, extra: &[&str]) -> Run {
        let args = self.put_args(key, input, extra);
        self.cse(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `cse get` of `key` into `out` with `private_key`.
    pub fn get_with(&self, private_key: &Path, key: &str, out: &Path, extra: &[&str]) -> Run {
        let head = ["--private-key", s(private_key), "--out", s(out)];
        self.cse_on("get", key, &[&head[..], extra].concat())
    }

    /// `cse get` with the test private key.
    pub fn get(&self, key: &str, out: &Path, extra: &[&str]) -> Run {
        self.get_with(&test_keys().0, key, out, extra)
    }
}
