//! Runs a program the way a command-line test does: arguments, environment and standard input in;
//! exit code, stdout and stderr out, under a time limit; then asserts on the result.
//!
//! ```no_run
//! use cse_testkit::cli::Command;
//! // In an integration test of a binary crate: Command::new(env!("CARGO_BIN_EXE_cse")).
//! let run = Command::new("/bin/cat").stdin(b"hello").run().ok();
//! assert_eq!(run.stdout, b"hello");
//! ```

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long [`Command::run`] waits unless told otherwise: long enough for a debug build moving
/// tens of megabytes, short enough that a hung process fails its test instead of the run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// A program to run once, with what it is given.
#[derive(Debug, Clone)]
pub struct Command {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    dir: Option<PathBuf>,
    stdin: Vec<u8>,
    timeout: Duration,
}

impl Command {
    /// The program at `program` (for a binary of the crate under test,
    /// `env!("CARGO_BIN_EXE_<name>")`), with no arguments, the test's environment, an empty
    /// stdin and [`DEFAULT_TIMEOUT`].
    pub fn new(program: impl AsRef<Path>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            dir: None,
            stdin: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Appends `args`.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets the environment variable `name` to `value` for the program.
    #[must_use]
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((name.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes the environment variable `name` from what the program inherits.
    #[must_use]
    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Self {
        self.env.push((name.as_ref().to_owned(), None));
        self
    }

    /// Runs the program in `dir`, so relative paths are relative to it.
    #[must_use]
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// What the program reads on stdin (written from a thread, so a program that writes much
    /// before it reads cannot deadlock the test); the pipe closes after it.
    #[must_use]
    pub fn stdin(mut self, bytes: &[u8]) -> Self {
        bytes.clone_into(&mut self.stdin);
        self
    }

    /// How long the program may run before it is killed and the test fails.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the program to its end and returns what it did.
    ///
    /// # Panics
    /// When it cannot be started, runs past the time limit (it is killed first), panicked (exit
    /// code 101 or `panicked` on stderr) or was killed by a signal: none of these is an answer a
    /// test can assert on.
    #[must_use]
    pub fn run(self) -> Run {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut command = std::process::Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = self.stdin;
        let writer = thread::spawn(move || {
            // A program that exits without reading all of it closes the pipe: not an error here.
            let _ = pipe.write_all(&input);
        });
        let stdout = drain(child.stdout.take().expect("stdout is piped"));
        let stderr = drain(child.stderr.take().expect("stderr is piped"));

        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for the child") {
                break status;
            }
            if started.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                let stderr =
                    String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
                panic!(
                    "{} {args:?} ran past {:?} and was killed: {stderr}",
                    self.program.display(),
                    self.timeout
                );
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        };
        writer.join().expect("the stdin writer does not panic");
        let run = Run {
            program: self.program,
            code: status.code().unwrap_or(-1),
            stdout: stdout.join().expect("the stdout reader does not panic"),
            stderr: String::from_utf8_lossy(
                &stderr.join().expect("the stderr reader does not panic"),
            )
            .into_owned(),
            args,
        };
        assert_ne!(run.code, 101, "{} panicked: {}", run.what(), run.stderr);
        assert_ne!(run.code, -1, "{} was killed: {}", run.what(), run.stderr);
        assert!(
            !run.stderr.contains("panicked"),
            "{} panicked: {}",
            run.what(),
            run.stderr
        );
        run
    }
}

/// Reads `from` to its end on a thread.
fn drain(mut from: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = from.read_to_end(&mut out);
        out
    })
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// The program that ran.
    pub program: PathBuf,
    /// Its exit code.
    pub code: i32,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr, read lossily as UTF-8.
    pub stderr: String,
    /// Its arguments, lossily as UTF-8, for messages.
    pub args: Vec<String>,
}

impl Run {
    /// The program's file name and arguments, for messages.
    fn what(&self) -> String {
        let name = self.program.file_name().map_or_else(
            || self.program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        format!("{name} {:?}", self.args)
    }

    /// Asserts that the program exited with 0.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code,
            0,
            "{} failed with {}: {}",
            self.what(),
            self.code,
            self.stderr
        );
        self
    }

    /// Asserts that the program exited with `code`, that its stderr starts with `error: ` (the
    /// convention of clap and of the workspace's `cse`), and that it names every one of
    /// `needles`.
    #[track_caller]
    pub fn fails(self, code: i32, needles: &[&str]) -> Self {
        assert_eq!(
            self.code,
            code,
            "{}: expected exit {code}, got {}: {}",
            self.what(),
            self.code,
            self.stderr
        );
        assert!(
            self.stderr.starts_with("error: "),
            "{}: stderr does not start with `error: `: {}",
            self.what(),
            self.stderr
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{}: stderr does not mention {needle:?}: {}",
                self.what(),
                self.stderr
            );
        }
        self
    }

    /// Stdout read lossily as UTF-8.
    #[must_use]
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_exit_code_and_stdin_are_carried() {
        let run = Command::new("/bin/sh")
            .args(["-c", "cat; echo \"error: $X\" >&2; exit 3"])
            .env("X", "named")
            .stdin(b"in")
            .run();
        assert_eq!(run.stdout, b"in");
        let run = run.fails(3, &["named"]);
        assert_eq!(run.stderr, "error: named\n");
        assert_eq!(run.stdout_text(), "in");
    }

    #[test]
    fn env_remove_hides_a_variable() {
        let run = Command::new("/bin/sh")
            .args(["-c", "echo \"${HOME:-unset} ${X:-unset} ${Y:-unset}\""])
            .env_remove("HOME")
            .env("X", "set")
            .env_remove("X")
            .env_remove("Y")
            .env("Y", "set")
            .run()
            .ok();
        assert_eq!(run.stdout_text(), "unset unset set\n");
    }

    #[test]
    #[should_panic(expected = "ran past")]
    fn a_hung_program_is_killed_at_the_time_limit() {
        let _ = Command::new("/bin/sleep")
            .args(["30"])
            .timeout(Duration::from_millis(200))
            .run();
    }

    #[test]
    #[should_panic(expected = "expected exit 2, got 0")]
    fn fails_refuses_a_success() {
        let _ = Command::new("/bin/true").run().fails(2, &[]);
    }

    #[test]
    #[should_panic(expected = "does not mention")]
    fn fails_wants_every_needle() {
        let _ = Command::new("/bin/sh")
            .args(["-c", "echo 'error: one' >&2; exit 1"])
            .run()
            .fails(1, &["one", "two"]);
    }

    #[test]
    #[should_panic(expected = "failed with 1")]
    fn ok_refuses_a_failure() {
        let _ = Command::new("/bin/false").run().ok();
    }
}
