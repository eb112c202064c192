//! `cse`: the command-line tool for Alibaba Cloud OSS client-side encryption (CSE).
//!
//! A thin shell around `cse-core`: every format rule (header names, counters, ranges, multipart)
//! comes from the engine; this crate only moves bytes between files and the engine, in a fixed
//! buffer, and writes outputs atomically.
//!
//! ```text
//! cse keygen  --private-out PRIV.pem --public-out PUB.pem [--bits 2048|3072|4096]
//! cse encrypt --public-key PUB.pem --in PLAIN --out CIPHER --meta-out META.json [--matdesc JSON] [--part-size N]
//! cse decrypt --private-key PRIV.pem --meta META.json --in CIPHER --out PLAIN [--range bytes=A-B] [--strict]
//! cse inspect --meta META.json [--private-key PRIV.pem]
//! cse rewrap  --private-key OLD.pem --public-key NEW.pem --meta META.json --meta-out NEW.json
//! cse demo
//! cse speed [--json]
//! cse put  --endpoint URL --bucket B --object KEY --public-key PUB.pem --in FILE [--part-size N --jobs J] [--matdesc JSON]
//! cse get  --endpoint URL --bucket B --object KEY --private-key PRIV.pem --out FILE [--range bytes=A-B]
//! cse head --endpoint URL --bucket B --object KEY [--private-key PRIV.pem]
//! ```
//!
//! `put`, `get` and `head` talk to OSS (credentials from `OSS_ACCESS_KEY_ID` /
//! `OSS_ACCESS_KEY_SECRET` / `OSS_SESSION_TOKEN`) through `cse-oss`, on a tokio runtime of their
//! own; every other command is synchronous and offline.
//!
//! Exit status: 0 success, 1 the operation failed, 2 usage error or malformed input (an existing
//! output without `--force` included), 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (partial
//! files removed, see [`interrupt`]), 141 the reader of standard output went away (no message).
//! Nothing here prints with `println!`, which panics on a closed pipe: reports go through
//! [`stdout`].
//!
//! Outputs follow one rule in every command (see [`files::Output`]): a regular file is replaced
//! only with `--force`, atomically; a symbolic link is followed and stays a link; devices, FIFOs
//! and `/dev/stdout` are written through; two names for one file are refused; ciphertext is not
//! written to a terminal without `--force`.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod auth;
mod cli;
mod decrypt;
mod demo;
mod encrypt;
mod error;
mod files;
mod get;
mod head;
mod inspect;
mod interrupt;
mod keygen;
mod meta_file;
mod object;
mod oss;
mod put;
mod rewrap;
mod speed;
mod stdout;

use std::io::{self, IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    interrupt::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    files::set_quiet(cli.quiet);
    let result = match &cli.command {
        Command::Keygen(args) => keygen::run(args),
        Command::Encrypt(args) => encrypt::run(args),
        Command::Decrypt(args) => decrypt::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Rewrap(args) => rewrap::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Speed(args) => speed::run(args),
        Command::Put(args) => put::run(args),
        Command::Get(args) => get::run(args),
        Command::Head(args) => head::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit(&e),
    }
}

/// The status for a failure, after its message (none for a closed pipe).
fn exit(e: &CliError) -> ExitCode {
    if !e.is_quiet() {
        stdout::stderr_line(format_args!("error: {e}"));
    }
    ExitCode::from(e.code())
}

/// What clap does for `--help`, `--version` and usage errors, except that help written to a pipe
/// whose reader left ends quietly with exit status 141, like every other report.
fn clap_exit(e: &clap::Error) -> ExitCode {
    if e.use_stderr() || io::stdout().is_terminal() {
        // Usage errors go to stderr, and clap ignores write errors there.
        e.exit();
    }
    match e.print().and_then(|()| io::stdout().flush()) {
        Ok(()) => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(error::EXIT_USAGE)),
        Err(io_error) => exit(&CliError::stdout(&io_error)),
    }
}
