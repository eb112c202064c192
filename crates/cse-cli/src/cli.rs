//! The command line: subcommands, arguments, help texts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cse_oss::DEFAULT_REGION;

/// The exit status table, appended to every help text.
macro_rules! exit_codes {
    () => {
        "\n\nExit status:
  0    success
  1    the operation failed: wrong key, unsatisfiable range, truncated or
       extended ciphertext, length mismatch, no envelope under --strict
  2    usage error, or a malformed input file (JSON, PEM, envelope headers,
       range syntax); an existing output without --force, two names for one
       file, ciphertext to a terminal
  130  interrupted by SIGINT (143: SIGTERM, 129: SIGHUP); partial files are
       removed
  141  standard output was closed by its reader (cse ... | head); no message"
    };
}

/// The exit status table of the commands that talk to OSS.
macro_rules! oss_exit_codes {
    () => {
        "\n\nExit status:
  0    success
  1    the operation failed: OSS refused the request (its error code is
       printed: NoSuchKey, SignatureDoesNotMatch, ...) or could not be
       reached, wrong key, unsatisfiable range, truncated or extended object
  2    usage error, malformed input (PEM, range syntax, envelope headers), no
       credentials in the environment, or an existing output without --force
  130  interrupted by SIGINT (143: SIGTERM, 129: SIGHUP); partial files are
       removed
  141  standard output was closed by its reader (cse ... | head); no message"
    };
}

/// The output rule, appended to the help of every command that writes files.
macro_rules! output_rule {
    () => {
        "\n\nOutputs: each file appears only when the command succeeds; until then it
is a .cse-partial-* file (mode 0600) beside it, renamed into place at the
end. An existing file is replaced only with --force, and keeps its mode
(less any group or other access for private keys and decrypted plaintext);
a new file gets 0666 less the umask, or 0600 for private keys and decrypted
plaintext. A symbolic link is followed: the file it names is replaced and
the link stays a link; a dangling link is refused. Devices, FIFOs and
/dev/stdout are written to directly, need no --force and are never replaced.
Two outputs, or an output and an input, may not be the same file (under any
name). On SIGINT, SIGTERM or SIGHUP the partial files are removed."
    };
}

/// How the OSS commands find their credentials, appended to their help texts.
macro_rules! oss_credentials {
    () => {
        "\n\nCredentials come from the environment: OSS_ACCESS_KEY_ID and
OSS_ACCESS_KEY_SECRET, plus OSS_SESSION_TOKEN for STS temporary credentials.
Requests are signed with V4 for --region. An IP endpoint is addressed
path-style (http://127.0.0.1:9000/BUCKET/KEY), a host name virtual-hosted
(https://BUCKET.oss-cn-hangzhou.aliyuncs.com/KEY)."
    };
}

/// Alibaba Cloud OSS client-side encryption, byte-compatible with the official SDKs.
///
/// Objects are encrypted with a fresh AES-256 key and counter block in CTR mode; the key and
/// counter block are wrapped with an RSA master key and stored as metadata headers. META.json
/// files hold those headers as a flat JSON object (header name -> string), as OSS returns them
/// on HEAD. The format is unauthenticated: ciphertext modifications are not detected.
#[derive(Debug, Parser)]
#[command(
    name = "cse",
    version,
    after_help = concat!("\
Outputs are never replaced unless --force is given; a device, FIFO or
/dev/stdout is written to directly; ciphertext is not written to a terminal.
`cse <command> --help` has the details.", exit_codes!()),
    propagate_version = true
)]
pub struct Cli {
    /// No progress bar (one is shown on a terminal for long transfers); errors still print.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an RSA master key pair (PKCS#8 private PEM, SPKI public PEM).
    Keygen(KeygenArgs),
    /// Encrypt a file into a ciphertext and its metadata (META.json).
    Encrypt(EncryptArgs),
    /// Decrypt a ciphertext with its metadata, whole or a byte range.
    Decrypt(DecryptArgs),
    /// Show what an object's metadata says, without printing any secret.
    Inspect(InspectArgs),
    /// Re-wrap an object's content key under a new master key (key rotation).
    Rewrap(RewrapArgs),
    /// Run the main job end to end with a throwaway key, and explain each step.
    Demo(DemoArgs),
    /// Measure seal/open throughput and envelope-open rates on this machine.
    Speed(SpeedArgs),
    /// Encrypt a file here and upload it to OSS (PutObject, or a parallel multipart upload).
    Put(PutArgs),
    /// Download an object from OSS and decrypt it here, whole or a byte range.
    Get(GetArgs),
    /// Show an OSS object's plaintext length and what its envelope says.
    Head(HeadArgs),
}

/// RSA modulus sizes offered by `keygen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bits {
    /// RSA-2048.
    #[value(name = "2048")]
    B2048,
    /// RSA-3072.
    #[value(name = "3072")]
    B3072,
    /// RSA-4096.
    #[value(name = "4096")]
    B4096,
}

impl Bits {
    /// The modulus size in bits.
    pub const fn get(self) -> usize {
        match self {
            Self::B2048 => 2048,
            Self::B3072 => 3072,
            Self::B4096 => 4096,
        }
    }
}

/// `cse keygen`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse keygen --private-out master-private.pem --public-out master-public.pem
  cse keygen --private-out master-private.pem --public-out master-public.pem \\
      --bits 4096
  cse keygen --signing --private-out writer.pem --public-out writer.pub

With --signing, the pair is an Ed25519 writer key for authenticated objects
(PKCS#8 and SPKI PEM): cse encrypt --authenticate --sign-key writer.pem signs
the side-car, and cse decrypt --trust writer.pub refuses anything else.

The private key file is created with mode 0600. Existing files are not
replaced unless --force is given. Keep the private key: without it the
objects cannot be decrypted. Both files are written, or neither (a file
replaced under --force is not restored if the second write fails).", output_rule!(), exit_codes!()))]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(long, value_name = "PRIV.pem")]
    pub private_out: PathBuf,
    /// Where to write the public key (SPKI PEM).
    #[arg(long, value_name = "PUB.pem")]
    pub public_out: PathBuf,
    /// The RSA modulus size.
    #[arg(long, value_enum, default_value = "2048")]
    pub bits: Bits,
    /// Make an Ed25519 writer (signing) key instead of an RSA master key.
    #[arg(long, conflicts_with = "bits")]
    pub signing: bool,
    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
}

/// `cse encrypt`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse encrypt --public-key master-public.pem \\
      --in photo.jpg --out photo.jpg.enc --meta-out photo.meta.json
  cse encrypt --public-key master-public.pem --part-size 8388608 \\
      --in big.iso --out big.iso.enc --meta-out big.meta.json \\
      --matdesc '{\"key\":\"2024\"}'
  tar c docs | cse encrypt --public-key master-public.pem \\
      --in - --out docs.tar.enc --meta-out docs.meta.json
  cse encrypt --public-key master-public.pem --authenticate \\
      --auth-out photo.tags --sign-key writer.pem \\
      --in photo.jpg --out photo.jpg.enc --meta-out photo.meta.json

Upload the ciphertext as the object body and every META.json entry as a
request header (PutObject). With --part-size, META.json adds part-size and
data-size, the headers of InitiateMultipartUpload and every UploadPart; part
K is the K-th run of N ciphertext bytes. Nothing is written at --out or
--meta-out unless encryption succeeds, and then both are. Ciphertext is not
written to a terminal (--out - on a terminal) unless --force is given.

With --authenticate (docs/authenticated-objects.md), META.json gains
x-oss-meta-cse-auth-* entries (a key commitment and the chunk size) and
--auth-out gets the side-car: a 208-byte header and a 16-byte tag per chunk.
The ciphertext and the other entries are unchanged, so every official SDK
still reads the object; only readers that check the side-car detect changes.", output_rule!(), exit_codes!()))]
pub struct EncryptArgs {
    /// The master public key: PKCS#1 or SPKI PEM (a private key PEM works too).
    #[arg(long, value_name = "PUB.pem")]
    pub public_key: PathBuf,
    /// The plaintext; `-` reads standard input.
    #[arg(long = "in", value_name = "PLAIN")]
    pub input: PathBuf,
    /// Where to write the ciphertext; `-` writes standard output.
    #[arg(long = "out", value_name = "CIPHER")]
    pub output: PathBuf,
    /// Where to write the metadata headers (JSON object, header name -> value).
    #[arg(long, value_name = "META.json")]
    pub meta_out: PathBuf,
    /// The material description naming the master key: a JSON object of strings.
    #[arg(long, value_name = "JSON")]
    pub matdesc: Option<String>,
    /// Encrypt for a multipart upload with parts of N bytes (a positive multiple of 16): a
    /// number of bytes, or with a suffix KiB, MiB or GiB (8MiB).
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub part_size: Option<u64>,
    /// The plaintext length in bytes, when --in is `-`: declared in the metadata and checked;
    /// required with --part-size and standard input.
    #[arg(long, value_name = "N")]
    pub size: Option<u64>,
    /// Authenticate the object (key commitment and chunk tags, docs/authenticated-objects.md):
    /// the metadata gains cse-auth-* entries and the tags go to --auth-out.
    #[arg(long, requires = "auth_out")]
    pub authenticate: bool,
    /// Where to write the side-car (the chunk tags) of an authenticated object.
    #[arg(long, value_name = "TAGS", requires = "authenticate")]
    pub auth_out: Option<PathBuf>,
    /// The authenticated chunk size: a power of two from 64KiB to 64MiB (default 1MiB). With
    /// --part-size, the part size must be a multiple of it.
    #[arg(long, value_name = "N", value_parser = parse_size, requires = "authenticate")]
    pub auth_chunk_size: Option<u64>,
    /// Sign the side-car with this writer key (made by cse keygen --signing), so that readers
    /// who --trust its public key can tell this object from one forged with the public master
    /// key.
    #[arg(long, value_name = "W.pem", requires = "authenticate")]
    pub sign_key: Option<PathBuf>,
    /// Replace existing --out and --meta-out files, and write the ciphertext even to a terminal.
    #[arg(long)]
    pub force: bool,
}

/// `cse decrypt`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse decrypt --private-key master-private.pem --meta photo.meta.json \\
      --in photo.jpg.enc --out photo.jpg
  cse decrypt --private-key master-private.pem --meta photo.meta.json \\
      --in photo.jpg.enc --out head.bin --range bytes=0-1023
  cse decrypt --private-key master-private.pem --meta photo.meta.json \\
      --in photo.jpg.enc --out - --range bytes=-100 | xxd
  cse decrypt --private-key master-private.pem --meta photo.meta.json \\
      --in photo.jpg.enc --out photo.jpg --auth photo.tags --trust writer.pub

Ranges follow RFC 9110: bytes=A-B (inclusive, clamped to the end), bytes=A-
(to the end), bytes=-N (the last N bytes; all of a shorter object). Only the
ciphertext bytes the range needs are read. A range that selects nothing
(starting at or past the end, or bytes=-0) fails with exit status 1.
Objects in the 2018 oss2 format (x-oss-meta-oss-crypto-* headers, wrap-alg
rsa) are read too. Without --strict, an object whose metadata has no
envelope is copied unchanged, as the SDKs do, with a warning. Nothing is
written at --out unless decryption succeeds (standard output excepted).

An object whose META.json announces authentication (cse-auth-version) needs
its side-car, --auth TAGS: the key commitment is checked first, then the
side-car (and, with --trust, its writer signature), then each chunk before
its plaintext is written. A ranged read checks only the chunks it touches
and reads only their tags (with --trust, all tags: the signature covers the
final tag over them). Chunks are checked and decrypted on all cores. Any
failed check exits 1 and names it: commitment, chunk N, final tag, side-car
missing. --require-auth also refuses objects without it.", output_rule!(), exit_codes!()))]
pub struct DecryptArgs {
    /// The master private key: PKCS#1 or PKCS#8 PEM.
    #[arg(long, value_name = "PRIV.pem")]
    pub private_key: PathBuf,
    /// The object's metadata (JSON object, header name -> value, as returned on HEAD).
    #[arg(long, value_name = "META.json")]
    pub meta: PathBuf,
    /// The ciphertext; `-` reads standard input (not with --range).
    #[arg(long = "in", value_name = "CIPHER")]
    pub input: PathBuf,
    /// Where to write the plaintext; `-` writes standard output.
    #[arg(long = "out", value_name = "PLAIN")]
    pub output: PathBuf,
    /// Decrypt only this byte range: bytes=A-B, bytes=A- or bytes=-N.
    #[arg(long, value_name = "RANGE")]
    pub range: Option<String>,
    /// Refuse an object whose metadata carries no encryption envelope.
    #[arg(long)]
    pub strict: bool,
    /// The object's side-car (cse encrypt --auth-out): check the key commitment, the side-car
    /// and every chunk read before any of its plaintext is released. Needed whenever the
    /// metadata announces authentication (cse-auth-version).
    #[arg(long, value_name = "TAGS")]
    pub auth: Option<PathBuf>,
    /// Refuse an object that is not authenticated: no cse-auth-* metadata, or no --auth.
    #[arg(long)]
    pub require_auth: bool,
    /// Trust this writer's public key (cse keygen --signing; repeatable): refuse an object
    /// whose side-car is not signed by one of them.
    #[arg(long, value_name = "W.pub", requires = "auth")]
    pub trust: Vec<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

/// `cse inspect`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse inspect --meta photo.meta.json
  cse inspect --meta photo.meta.json --private-key master-private.pem

Prints the envelope's algorithms, material description, declared lengths and
multipart sizes, and the authentication parameters (cse-auth-*) if any. With
--private-key it also says whether the key opens the envelope, whether the
counter block is canonical (bytes 8..11 zero, as every SDK writes it) and,
for an authenticated object, whether what it opens matches the key
commitment (a wrong RSA key can \"open\" an envelope to garbage about one time
in 250); exit status 1 if the key does not open it or the commitment does not
match. Key and counter bytes are never printed.", exit_codes!()))]
pub struct InspectArgs {
    /// The object's metadata.
    #[arg(long, value_name = "META.json")]
    pub meta: PathBuf,
    /// Check that this private key opens the envelope.
    #[arg(long, value_name = "PRIV.pem")]
    pub private_key: Option<PathBuf>,
}

/// `cse rewrap`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse rewrap --private-key old-private.pem --public-key new-public.pem \\
      --meta photo.meta.json --meta-out photo.new.meta.json
  cse rewrap --private-key old-private.pem --public-key new-public.pem \\
      --meta photo.meta.json --meta-out photo.new.meta.json \\
      --verify-private-key new-private.pem

The ciphertext is unchanged: only the wrapped key and counter block change.
Lengths, plaintext MD5 and multipart sizes are kept; other metadata entries
are copied. The material description is --matdesc, or none (the old one
named the old key). Apply the new metadata with CopyObject
(x-oss-metadata-directive: REPLACE). A 2018-format (oss2) envelope is
rewritten in the current format. --meta-out must differ from --meta. An
authenticated object needs --auth TAGS --auth-out NEW.tags: its side-car
covers the wrapped key, and is rewritten beside the new metadata.", output_rule!(), exit_codes!()))]
pub struct RewrapArgs {
    /// The current master private key.
    #[arg(long, value_name = "OLD.pem")]
    pub private_key: PathBuf,
    /// The new master public key.
    #[arg(long, value_name = "NEW.pem")]
    pub public_key: PathBuf,
    /// The object's metadata.
    #[arg(long, value_name = "META.json")]
    pub meta: PathBuf,
    /// Where to write the new metadata.
    #[arg(long, value_name = "NEW.json")]
    pub meta_out: PathBuf,
    /// The material description naming the new master key: a JSON object of strings.
    #[arg(long, value_name = "JSON")]
    pub matdesc: Option<String>,
    /// The new private key: unwrap the new envelope and check it holds the same key material.
    #[arg(long, value_name = "NEW_PRIV.pem")]
    pub verify_private_key: Option<PathBuf>,
    /// The side-car of an authenticated object: checked, and rewritten at --auth-out with the
    /// new envelope's wrapping tag (the chunk tags and any signature are kept).
    #[arg(long, value_name = "TAGS", requires = "auth_out")]
    pub auth: Option<PathBuf>,
    /// Where to write the rewrapped side-car.
    #[arg(long, value_name = "NEW.tags", requires = "auth")]
    pub auth_out: Option<PathBuf>,
    /// Replace existing --meta-out and --auth-out files.
    #[arg(long)]
    pub force: bool,
}

/// `cse demo`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse demo
  cse demo --keep

Makes a throwaway RSA key in a temporary directory, encrypts a built-in
sample, prints the metadata an OSS object would carry, decrypts a byte range
and the whole object, and checks both. Touches nothing outside the temporary
directory.", exit_codes!()))]
pub struct DemoArgs {
    /// Keep the temporary directory and print its path.
    #[arg(long)]
    pub keep: bool,
}

/// `cse speed`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse speed
  cse speed --json --seconds 3
  cse speed --buffer-kib 8192

Measures, in memory: the raw AES-256-CTR keystream (the baseline), seal and
open on one thread, multipart sealing and ranged opening on every core, and
envelope opens per second (two RSA-2048 unwraps) for each RSA backend this
build has. Build with `--features awslc` for the aws-lc-rs backend.", exit_codes!()))]
pub struct SpeedArgs {
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// How long to measure each figure, in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
    /// The buffer (and multipart part) size, in KiB.
    #[arg(long, default_value_t = 8192)]
    pub buffer_kib: usize,
}

/// Where an object lives: the arguments `put`, `get` and `head` share.
#[derive(Debug, Args)]
pub struct OssArgs {
    /// The OSS endpoint: https://oss-cn-hangzhou.aliyuncs.com, http://127.0.0.1:9000, or a
    /// bare host (https).
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    /// The region the requests are signed for.
    #[arg(long, value_name = "REGION", default_value = DEFAULT_REGION)]
    pub region: String,
    /// The bucket.
    #[arg(long, value_name = "BUCKET")]
    pub bucket: String,
    /// The object key.
    #[arg(long, value_name = "KEY")]
    pub object: String,
}

/// `cse put`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse put --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object photos/photo.jpg --public-key master-public.pem --in photo.jpg
  cse put --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object backups/big.iso --public-key master-public.pem --in big.iso \\
      --part-size 8MiB --jobs 8 --matdesc '{\"key\":\"2024\"}'

The file is encrypted on this machine with a fresh content key, which the
public key wraps into the envelope headers sent with the object; neither the
plaintext nor the content key leaves the machine. A file is read, sealed and
sent a piece at a time, in a few MiB of memory at any size: up to 64 MiB as
one PutObject, above that as a multipart upload of 8 MiB parts (larger when
10000 parts would not hold the file), J in flight. With --part-size N (a
positive multiple of 16, at least 100 KiB as OSS requires) the parts are N
bytes; a file no larger than N goes as one PutObject. Standard input (--in -)
is streamed as one PutObject: of exactly --size N bytes when given (declared
in the envelope), otherwise chunked, up to the 5 GiB one PutObject carries. A failed or interrupted (Ctrl-C, SIGTERM) multipart
upload is aborted after its parts in flight finish, unless --checkpoint FILE
is given: then the upload is kept and FILE records it (the envelope, which
holds no secret, and each part's ciphertext digest and ETag), and running the
same command again resumes it. Before resuming, FILE is compared with the
file to upload and with what OSS lists for the upload; any difference (an
envelope this client did not write, other part sizes, parts FILE does not
know) fails with exit status 1 and nothing is uploaded. FILE is removed when
the upload completes; to give up on a kept upload instead, run the same
command with --abort. Prints the object, its length and its ETag.

  cse put --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object backups/big.iso --private-key master-private.pem --in big.iso \\
      --part-size 8MiB --checkpoint big.iso.checkpoint

Resuming unwraps the content key from the envelope FILE recorded, so
--checkpoint takes the private key (--private-key) instead of --public-key.

  cse put --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object photos/photo.jpg --public-key master-public.pem --in photo.jpg \\
      --authenticate --sign-key writer.pem

With --authenticate (or --require-auth) the object carries cse-auth-*
metadata and its side-car goes up as OBJECT.cse-auth after it; the object
itself is byte for byte what the SDKs read. In this version an authenticated
upload is one PutObject of a file (up to 5 GiB): --part-size and standard
input are refused with it.", oss_credentials!(), oss_exit_codes!()))]
pub struct PutArgs {
    /// Where to upload.
    #[command(flatten)]
    pub oss: OssArgs,
    /// The master public key: PKCS#1 or SPKI PEM (a private key PEM works too).
    #[arg(
        long,
        value_name = "PUB.pem",
        required_unless_present = "private_key",
        conflicts_with = "private_key"
    )]
    pub public_key: Option<PathBuf>,
    /// The master private key, instead of --public-key: needed with --checkpoint, since
    /// resuming unwraps the upload's content key from the envelope the checkpoint recorded
    /// (the checkpoint holds no unwrapped secret).
    #[arg(long, value_name = "PRIV.pem")]
    pub private_key: Option<PathBuf>,
    /// The plaintext; `-` reads standard input (not with --part-size).
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// With --in -: the exact length of standard input (like 8MiB), declared in the envelope;
    /// more or fewer bytes fail the upload.
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub size: Option<u64>,
    /// Upload in parts of N bytes (a positive multiple of 16), in parallel: a number of bytes,
    /// or with a suffix KiB, MiB or GiB (8MiB).
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub part_size: Option<u64>,
    /// Parts in flight at once, for a multipart upload.
    #[arg(long, value_name = "J", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Record the multipart upload in FILE, and resume it from FILE if it exists: an
    /// interrupted upload (error, Ctrl-C) is kept, and the same command continues it.
    #[arg(long, value_name = "FILE", requires = "part_size")]
    pub checkpoint: Option<PathBuf>,
    /// Instead of uploading: abort the multipart upload recorded in --checkpoint FILE (nothing
    /// of it stays billable) and remove FILE.
    #[arg(long, requires = "checkpoint")]
    pub abort: bool,
    /// The material description naming the master key: a JSON object of strings.
    #[arg(long, value_name = "JSON")]
    pub matdesc: Option<String>,
    /// Authenticate the object (docs/authenticated-objects.md): cse-auth-* metadata with the
    /// envelope, and the side-car uploaded as OBJECT.cse-auth once the object is stored.
    #[arg(long)]
    pub authenticate: bool,
    /// The policy `require`: always authenticate (the same as --authenticate for put).
    #[arg(long)]
    pub require_auth: bool,
    /// The authenticated chunk size: a power of two from 64KiB to 64MiB (default 1MiB).
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub auth_chunk_size: Option<u64>,
    /// Bind the tags to the bucket and object name: a copy to another name then fails
    /// verification until it is rebound.
    #[arg(long)]
    pub bind: bool,
    /// Sign the side-car with this writer key (cse keygen --signing).
    #[arg(long, value_name = "W.pem")]
    pub sign_key: Option<PathBuf>,
}

/// `cse get`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse get --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object photos/photo.jpg --private-key master-private.pem --out photo.jpg
  cse get --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object photos/photo.jpg --private-key master-private.pem \\
      --out - --range bytes=-100 | xxd

The object is decrypted as it streams in, and its length is checked against
the length its envelope declares. Ranges follow RFC 9110 as in cse decrypt:
bytes=A-B, bytes=A-, bytes=-N; only the cipher blocks the range needs are
requested, and exactly the requested plaintext is written. A range that
selects nothing fails with exit status 1. Without --strict, an object with no
envelope is copied as stored, with a warning. Objects in the 2018 oss2 format
are refused: decrypt them with cse decrypt. Nothing is written at --out
unless the whole read succeeds (standard output excepted).

An object whose metadata announces authentication (cse-auth-version) is
verified: its key commitment, its side-car OBJECT.cse-auth, and each chunk
before its plaintext is written (only the chunks a range touches). A failed
check exits 1 and names it. --require-auth refuses unauthenticated objects;
--trust W.pub refuses objects not signed by a trusted writer.

  cse get --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object photos/photo.jpg --private-key master-private.pem \\
      --out photo.jpg --require-auth --trust writer.pub", output_rule!(), oss_credentials!(), oss_exit_codes!()))]
pub struct GetArgs {
    /// Where to download from.
    #[command(flatten)]
    pub oss: OssArgs,
    /// The master private key: PKCS#1 or PKCS#8 PEM.
    #[arg(long, value_name = "PRIV.pem")]
    pub private_key: PathBuf,
    /// Where to write the plaintext; `-` writes standard output.
    #[arg(long = "out", value_name = "FILE")]
    pub output: PathBuf,
    /// Read only this byte range: bytes=A-B, bytes=A- or bytes=-N.
    #[arg(long, value_name = "RANGE")]
    pub range: Option<String>,
    /// Refuse an object that carries no encryption envelope.
    #[arg(long)]
    pub strict: bool,
    /// Refuse an object that is not authenticated (no cse-auth-* metadata). An object whose
    /// metadata announces authentication is always verified, with or without this.
    #[arg(long)]
    pub require_auth: bool,
    /// Trust this writer's public key (repeatable): refuse an object whose side-car is not
    /// signed by one of them.
    #[arg(long, value_name = "W.pub")]
    pub trust: Vec<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

/// `cse head`.
#[derive(Debug, Args)]
#[command(after_help = concat!("\
Examples:
  cse head --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object photos/photo.jpg
  cse head --endpoint https://oss-cn-hangzhou.aliyuncs.com --bucket my-bucket \\
      --object photos/photo.jpg --private-key master-private.pem

One HeadObject: prints the plaintext length (AES-CTR ciphertext is exactly as
long), the ETag and object type, then what cse inspect prints for the
object's metadata (the authentication parameters included). With
--private-key it also says whether the key opens the envelope and, for an
authenticated object, whether it matches the key commitment; exit status 1 if
it does not. Key and counter bytes are never printed.", oss_credentials!(), oss_exit_codes!()))]
pub struct HeadArgs {
    /// The object to describe.
    #[command(flatten)]
    pub oss: OssArgs,
    /// Check that this private key opens the envelope.
    #[arg(long, value_name = "PRIV.pem")]
    pub private_key: Option<PathBuf>,
}

/// A size in bytes: decimal digits, optionally followed by `KiB`, `MiB` or `GiB` (powers of
/// 1024; `B` for bytes is accepted too). Decimal units (`MB`) are refused rather than guessed.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => {
            return Err(format!(
                "{text:?} is not a size: give bytes (8388608) or a number with KiB, MiB or GiB \
                 (8MiB)"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("{text:?} is not a size of at most 2^64-1 bytes"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_units_and_refuse_the_rest() {
        assert_eq!(parse_size("16"), Ok(16));
        assert_eq!(parse_size("16B"), Ok(16));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("100KiB"), Ok(100 << 10));
        assert_eq!(parse_size("5GiB"), Ok(5 << 30));
        for bad in [
            "",
            "MiB",
            "8MB",
            "8 MiB",
            "8mib",
            "-1",
            "1.5MiB",
            "99999999999999999999GiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
