//! `cse demo`: the main job end to end, with no setup, through the same code as the commands.

use std::fs;
use std::path::Path;

use crate::cli::{DecryptArgs, DemoArgs, EncryptArgs};
use crate::error::{CliError, CliResult};
use crate::object::classify;
use crate::{decrypt, encrypt, inspect, interrupt, keygen, meta_file, stdout};

/// The range the demo decrypts: it starts and ends inside AES blocks, so the block alignment
/// and the trimming both show.
const DEMO_RANGE: &str = "bytes=1000-1099";

/// Runs `cse demo`.
///
/// # Errors
/// Exit 1 when a step fails or a result does not match the sample.
pub fn run(args: &DemoArgs) -> CliResult<()> {
    let dir = tempfile::Builder::new()
        .prefix("cse-demo-")
        .tempdir()
        .map_err(|e| CliError::io("creating a temporary directory", &e))?;
    // Ctrl-C during the demo removes the directory too.
    let guard = interrupt::protect(dir.path());
    let result = steps(dir.path());
    drop(guard);
    if args.keep {
        let path = dir.keep();
        let shown = stdout::write_line(format_args!("\nThe files are kept in {}", path.display()));
        return result.and(shown);
    }
    result
}

fn io_err(what: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::io(what.display(), &e)
}

fn steps(dir: &Path) -> CliResult<()> {
    let private = dir.join("master-private.pem");
    let public = dir.join("master-public.pem");
    let plain = dir.join("sample.txt");
    let cipher = dir.join("sample.txt.enc");
    let meta = dir.join("sample.meta.json");
    let range_out = dir.join("range.txt");
    let whole_out = dir.join("whole.txt");

    stdout::write_line(format_args!(
        "cse demo: OSS client-side encryption, end to end, in {}\n",
        dir.display()
    ))?;

    keygen::generate(&private, &public, 2048, false)?;
    stdout::write_line("1. Made a throwaway RSA-2048 master key pair (cse keygen).")?;

    let sample = sample_text();
    fs::write(&plain, &sample).map_err(io_err(&plain))?;
    encrypt::run(&EncryptArgs {
        public_key: public.clone(),
        input: plain.clone(),
        output: cipher.clone(),
        meta_out: meta.clone(),
        matdesc: Some(r#"{"purpose":"cse demo"}"#.to_owned()),
        part_size: None,
        size: None,
        authenticate: false,
        auth_out: None,
        auth_chunk_size: None,
        sign_key: None,
        force: false,
    })?;
    stdout::write_line(format_args!(
        "2. Encrypted a {}-byte sample with a fresh AES-256 key and counter block (AES-CTR), and \
         wrapped both with the public key (cse encrypt). The ciphertext is the object body; \
         these are the headers the object carries (PutObject request headers, and what HEAD \
         returns):\n",
        sample.len()
    ))?;
    let meta_text = fs::read_to_string(&meta).map_err(io_err(&meta))?;
    stdout::write(&meta_text)?;

    decrypt::run(&DecryptArgs {
        private_key: private.clone(),
        meta: meta.clone(),
        input: cipher.clone(),
        output: range_out.clone(),
        range: Some(DEMO_RANGE.to_owned()),
        strict: true,
        auth: None,
        require_auth: false,
        trust: Vec::new(),
        force: false,
    })?;
    let got = fs::read(&range_out).map_err(io_err(&range_out))?;
    let want = sample.get(1000..1100).unwrap_or_default();
    if got != want {
        return Err(CliError::failed(
            "the decrypted range differs from the sample",
        ));
    }
    stdout::write_line(format_args!(
        "\n3. Decrypted only {DEMO_RANGE} (cse decrypt --range): the ciphertext was read from the \
         start of its 16-byte block, the counter advanced to that block, and the extra bytes \
         dropped. It matches the sample:\n   {:?}",
        String::from_utf8_lossy(&got)
    ))?;

    decrypt::run(&DecryptArgs {
        private_key: private.clone(),
        meta: meta.clone(),
        input: cipher,
        output: whole_out.clone(),
        range: None,
        strict: true,
        auth: None,
        require_auth: false,
        trust: Vec::new(),
        force: false,
    })?;
    let whole = fs::read(&whole_out).map_err(io_err(&whole_out))?;
    if whole != sample {
        return Err(CliError::failed(
            "the decrypted object differs from the sample",
        ));
    }
    stdout::write_line(format_args!(
        "\n4. Decrypted the whole object and checked its length against \
         unencrypted-content-length: all {} bytes match.",
        whole.len()
    ))?;

    let headers = meta_file::read(&meta, "--meta")?;
    let sealed = classify(&headers, "--meta")?;
    let (report, opened) = inspect::report(&sealed, &headers, Some(&private))?;
    opened?;
    stdout::write_line(
        "\n5. What the envelope says (cse inspect; no key bytes are ever printed):\n",
    )?;
    for line in report.lines() {
        stdout::write_line(format_args!("   {line}"))?;
    }
    stdout::write_line(format_args!(
        "\nNext: cse keygen for a real key, cse encrypt / cse decrypt for your files, \
         cse --help for the rest."
    ))?;
    Ok(())
}

/// The built-in sample: a few kilobytes of numbered lines.
fn sample_text() -> Vec<u8> {
    (1..=80)
        .map(|i| {
            format!("line {i:03}: client-side encryption keeps the key with you, not the server.\n")
        })
        .collect::<String>()
        .into_bytes()
}
