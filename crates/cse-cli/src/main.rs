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
//! Exit status: 0 success, 1 the operation failed, 2 usage error or malformed input.

mod cli;
mod decrypt;
mod demo;
mod encrypt;
mod error;
mod files;
mod get;
mod head;
mod inspect;
mod keygen;
mod meta_file;
mod object;
mod oss;
mod put;
mod rewrap;
mod speed;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code())
        }
    }
}
