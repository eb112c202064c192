//! `cse-oss-test-server`: an in-memory OSS-API server for tests: real HTTP on loopback, real
//! signatures, the client-side-encryption checks OSS applies, and injectable faults. Not
//! published; `cse-oss` and `cse-cli` run their end-to-end tests against it, and the
//! `oss-test-server` binary serves it to tests written in other languages.
//!
//! It serves the object operations client-side encryption needs: PutObject, GetObject (with
//! `Range` and `x-oss-range-behavior: standard`), HeadObject, GetObjectMeta, DeleteObject,
//! InitiateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload and
//! ListParts (with the `ClientEncryption*` fields). Buckets are created on first use and
//! addressed path-style (`/bucket/key`) or virtual-hosted (`bucket.localhost`, or
//! `bucket.<domain>` for a configured domain).
//!
//! ```no_run
//! use cse_oss_test_server::{TestServer, TestServerConfig};
//! # async fn example() -> std::io::Result<()> {
//! let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0)); // port 0: a free one
//! let server = TestServer::start(loopback, TestServerConfig::new("AK", "SK")).await?;
//! println!("OSS at {}", server.endpoint()); // http://127.0.0.1:PORT, path-style
//! server.faults().fail_next(1); // the next request gets 500 InternalError
//! # Ok(()) }
//! ```
//!
//! Every request must carry a valid V4 (`OSS4-HMAC-SHA256`) or V1 (`OSS ak:signature`)
//! Authorization header for the configured key pair; a bad one is refused with OSS's error XML
//! (`SignatureDoesNotMatch`, `InvalidAccessKeyId`, `AccessDenied`). As OSS does, the server also
//! refuses a request whose time (`x-oss-date` for V4, `Date` for V1) is more than 15 minutes
//! from its clock (`RequestTimeTooSkewed`; [`TestServerConfig::clock_ahead`] and
//! [`TestServerConfig::clock_behind`] simulate a skewed client), and a V4 credential scope for
//! another region than its own ([`TestServerConfig::region`], `cn-hangzhou` by default), another
//! product than `oss` or another terminator than `aliyun_v4_request` (`InvalidArgument`). All of
//! this is decided from the request head: a refused request's body is never read. The
//! signatures are computed by [`sign`].
//!
//! Requests that carry `x-oss-meta-client-side-encryption-*` headers get the server-side checks
//! the OSS error-code documentation lists (EC `0005-00000401` to `0005-00000420`): the envelope
//! headers must be complete, multipart sizes must be integers that fit 10 000 parts, UploadPart
//! must repeat the Initiate sizes, and at Complete every part but the last must be exactly
//! part-size bytes and the parts must add up to data-size. These follow the documentation, not
//! observed OSS behaviour; the EC numbers for individual checks are this server's reading of it.
//! Every multipart upload, encrypted or not, also keeps OSS's minimum part size: at Complete,
//! each part but the last must be at least [`MIN_PART_SIZE`] (100 KiB), else `EntityTooSmall`.
//!
//! Bodies stream, as they do with OSS: a GetObject answer leaves as frames of at most 256 KiB,
//! each a slice of the stored bytes (no copy), and a request body is taken frame by frame as it
//! arrives, its MD5 (Content-MD5, ETag) and CRC-64 (`x-oss-hash-crc64ecma`) computed on the way;
//! an object keeps the CRC-64 computed when it was written.
//!
//! Loopback only: bind it to 127.0.0.1.

pub mod sign;
mod time;
mod xml;

use std::collections::{BTreeMap, HashMap};
use std::future::Future as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use md5::{Digest as _, Md5};
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sign::RequestParts;

const META_PREFIX: &str = "x-oss-meta-";
const CSE_PREFIX: &str = "x-oss-meta-client-side-encryption-";
const MAX_PARTS: u64 = 10_000;

/// The smallest part OSS accepts in a multipart upload, except for the last: 100 KiB (102 400
/// bytes, a multiple of the 16-byte AES block). CompleteMultipartUpload refuses an upload with a
/// smaller part anywhere but last with `400 EntityTooSmall`; an upload of a single part may be
/// of any size.
pub const MIN_PART_SIZE: u64 = 100 * 1024;

/// How far a request's time (`x-oss-date` for V4, `Date` for V1) may be from the server's clock,
/// either way, before OSS refuses it with `RequestTimeTooSkewed`.
pub const MAX_REQUEST_SKEW: Duration = Duration::from_secs(15 * 60);

/// The region a server is in when none is configured: `cn-hangzhou`, the same as the client's
/// default (`cse_oss::DEFAULT_REGION`; a cse-oss test checks that the two agree).
pub const DEFAULT_REGION: &str = "cn-hangzhou";

/// How the test server authenticates and addresses requests.
#[derive(Clone)]
pub struct TestServerConfig {
    /// The AccessKeyId requests must be signed with.
    pub access_key_id: String,
    /// The AccessKeySecret requests must be signed with.
    pub access_key_secret: String,
    /// Domains under which `bucket.<domain>` is virtual-hosted addressing. `localhost` by default.
    pub virtual_host_domains: Vec<String>,
    /// The region the server is in: a V4 credential scope must name it. [`DEFAULT_REGION`] by
    /// default.
    pub region: String,
    /// Seconds the server's clock is ahead of this machine's (negative: behind), against which
    /// request times are checked. 0 by default.
    pub clock_offset_secs: i64,
    /// Whether ETags are the MD5 of the stored bytes, as OSS makes them (the default). Off
    /// ([`TestServerConfig::without_md5_etags`]), an ETag is derived from the CRC-64 instead:
    /// MD5 runs at a few hundred MB/s on a small machine, which would make the server, not the
    /// client, what a throughput measurement measures.
    pub md5_etags: bool,
    /// Whether request bodies are received, measured and digested (length, MD5, CRC-64), but
    /// not kept ([`TestServerConfig::discarding_bodies`]). Off by default.
    pub discard_bodies: bool,
}

impl std::fmt::Debug for TestServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServerConfig")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<secret>")
            .field("virtual_host_domains", &self.virtual_host_domains)
            .field("region", &self.region)
            .field("clock_offset_secs", &self.clock_offset_secs)
            .field("md5_etags", &self.md5_etags)
            .field("discard_bodies", &self.discard_bodies)
            .finish()
    }
}

impl TestServerConfig {
    /// A configuration for this key pair, with `localhost` as the virtual-host domain, region
    /// [`DEFAULT_REGION`] and the machine's clock.
    #[must_use]
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            virtual_host_domains: vec!["localhost".to_owned()],
            region: DEFAULT_REGION.to_owned(),
            clock_offset_secs: 0,
            md5_etags: true,
            discard_bodies: false,
        }
    }

    /// ETags from the CRC-64 instead of the MD5 (see [`TestServerConfig::md5_etags`]): for
    /// benchmarks, never for tests of ETag values.
    #[must_use]
    pub const fn without_md5_etags(mut self) -> Self {
        self.md5_etags = false;
        self
    }

    /// Receives every object body (PutObject, UploadPart) in full, with its length and digests
    /// (so sizes, part checks, ETags and `x-oss-hash-crc64ecma` are all as usual), but keeps no
    /// bytes: GetObject is refused with `NotImplemented`, and HEAD still answers. For upload
    /// benchmarks: keeping gigabytes in memory costs the server the kernel's page clearing and
    /// memory reclaim, which a loopback measurement of the client would otherwise measure.
    #[must_use]
    pub const fn discarding_bodies(mut self) -> Self {
        self.discard_bodies = true;
        self
    }

    /// Puts the server in `region` (for example `cn-beijing`): V4 requests must be signed for it.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Runs the server's clock `by` ahead of this machine's, so a request signed now looks `by`
    /// old: with more than [`MAX_REQUEST_SKEW`] it is refused, as from a client whose clock is
    /// slow. Replaces any earlier offset; whole seconds count.
    #[must_use]
    pub fn clock_ahead(mut self, by: Duration) -> Self {
        self.clock_offset_secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// Runs the server's clock `by` behind this machine's, so a request signed now looks `by` in
    /// the future, as from a client whose clock is fast. Replaces any earlier offset.
    #[must_use]
    pub fn clock_behind(mut self, by: Duration) -> Self {
        self.clock_offset_secs = i64::try_from(by.as_secs()).map_or(i64::MIN, |s| -s);
        self
    }

    /// The time on the server's clock: this machine's, moved by [`Self::clock_offset_secs`].
    #[must_use]
    pub fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        let by = Duration::from_secs(self.clock_offset_secs.unsigned_abs());
        let moved = if self.clock_offset_secs >= 0 {
            now.checked_add(by)
        } else {
            now.checked_sub(by)
        };
        moved.unwrap_or(now)
    }
}

/// An object as the server stores it.
#[derive(Clone, Debug)]
pub struct StoredObject {
    /// The stored bytes (the ciphertext, for an encrypted object).
    pub data: Bytes,
    /// The user metadata, names in lower case, as OSS returns it.
    pub meta: Vec<(String, String)>,
    /// `Normal` or `Multipart`.
    pub object_type: &'static str,
    /// The ETag without quotes.
    pub etag: String,
    content_type: String,
    last_modified: SystemTime,
    /// The CRC-64 of `data`, computed once when it was stored (a HEAD of a large object must
    /// not recompute it).
    crc64: u64,
}

#[derive(Clone, Debug)]
struct StoredPart {
    data: Bytes,
    /// The MD5 of `data` (the ETag is its hex), kept for the multipart ETag at Complete.
    md5: [u8; 16],
    etag: String,
    last_modified: SystemTime,
    crc64: u64,
}

#[derive(Debug)]
struct Upload {
    bucket: String,
    key: String,
    meta: Vec<(String, String)>,
    content_type: String,
    parts: BTreeMap<u32, StoredPart>,
}

/// One request the server answered, for tests to inspect.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    /// The method.
    pub method: String,
    /// The bucket.
    pub bucket: String,
    /// The decoded key (empty for none).
    pub key: String,
    /// The decoded query pairs.
    pub query: Vec<(String, String)>,
    /// The request headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The status answered.
    pub status: u16,
}

impl LoggedRequest {
    /// The value of request header `name` (lower case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the query has `name`.
    #[must_use]
    pub fn has_query(&self, name: &str) -> bool {
        self.query.iter().any(|(n, _)| n == name)
    }
}

/// Faults to inject into the next requests, for failure tests.
#[derive(Debug, Default)]
pub struct Faults {
    fail_next: AtomicU32,
    cut_next_get: Mutex<Option<usize>>,
    shift_next_content_range: AtomicU64,
    refuse_next_put: AtomicBool,
    strip_envelope_next_get: AtomicBool,
    lose_next_reply: AtomicBool,
    list_parts_page: AtomicU32,
    delay_ms: AtomicU64,
    corrupt_next_get: AtomicBool,
}

impl Faults {
    /// Flips one bit of the next GetObject body in transit, leaving its headers (and the
    /// stored object's CRC-64) as they are.
    pub fn corrupt_next_get(&self) {
        self.corrupt_next_get.store(true, Ordering::SeqCst);
    }

    /// Holds every request for `delay` before handling it (0 to stop), so that a test can catch
    /// a client mid-operation (a signal during a multipart upload).
    pub fn delay_requests(&self, delay: Duration) {
        self.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// Answers the next GetObject without its `client-side-encryption-*` metadata, as a proxy that
    /// strips user metadata would.
    pub fn strip_envelope_next_get(&self) {
        self.strip_envelope_next_get.store(true, Ordering::SeqCst);
    }

    /// Carries out the next request, then closes the connection without answering: the client
    /// cannot tell whether it took effect (a lost InitiateMultipartUpload reply).
    pub fn lose_next_reply(&self) {
        self.lose_next_reply.store(true, Ordering::SeqCst);
    }

    /// Pages ListParts `n` parts at a time when the request sets no `max-parts` (OSS's default
    /// page is 1000), so that a client must follow `NextPartNumberMarker`. 0 restores 1000.
    pub fn page_list_parts(&self, n: u32) {
        self.list_parts_page.store(n, Ordering::SeqCst);
    }

    /// Answers the next `n` requests with `500 InternalError`, before doing anything.
    pub fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Cuts the body of the next GetObject after `bytes` bytes by closing the connection (the
    /// headers still declare the full length).
    pub fn cut_next_get_after(&self, bytes: usize) {
        *lock(&self.cut_next_get) = Some(bytes);
    }

    /// Makes the next ranged 206 answer claim a Content-Range `blocks * 16` bytes later than the
    /// bytes it sends.
    pub fn shift_next_content_range(&self, blocks: u64) {
        self.shift_next_content_range
            .store(blocks, Ordering::SeqCst);
    }

    /// Refuses the next UploadPart or PutObject with `400 InvalidArgument` (not retryable) after
    /// reading its body; every later one succeeds.
    pub fn refuse_next_put(&self) {
        self.refuse_next_put.store(true, Ordering::SeqCst);
    }
}

struct State {
    config: TestServerConfig,
    objects: Mutex<HashMap<(String, String), StoredObject>>,
    uploads: Mutex<HashMap<String, Upload>>,
    log: Mutex<Vec<LoggedRequest>>,
    faults: Faults,
    counter: AtomicU64,
}

/// The CRC-64/XZ of `data`, as OSS reports it in `x-oss-hash-crc64ecma`.
fn crc64(data: &[u8]) -> u64 {
    let mut digest = crc64fast::Digest::new();
    digest.write(data);
    digest.sum64()
}

/// CRC-64/XZ's polynomial, bit-reflected.
const CRC64_POLY: u64 = 0xC96C_5795_D787_0F42;

/// The CRC-64 of `a` followed by `b`, from the CRC-64 of each and the length of `b`: `a`'s CRC
/// advanced over `len_b` zero bytes (by squaring the one-zero-bit operator, a GF(2) matrix),
/// then XORed with `b`'s. The all-ones init and xor-out cancel out as they do for CRC-32.
fn crc64_combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    /// `matrix` times `vector` over GF(2): the XOR of the columns whose bit is set.
    fn times(matrix: &[u64; 64], mut vector: u64) -> u64 {
        let mut sum = 0;
        let mut column = 0;
        while vector != 0 {
            if vector & 1 != 0 {
                sum ^= matrix[column];
            }
            vector >>= 1;
            column += 1;
        }
        sum
    }
    fn square(matrix: &[u64; 64]) -> [u64; 64] {
        let mut out = [0u64; 64];
        for (o, column) in out.iter_mut().zip(matrix) {
            *o = times(matrix, *column);
        }
        out
    }
    // The operator for one zero bit: shift right, folding the polynomial in for the low bit.
    let mut op = [0u64; 64];
    op[0] = CRC64_POLY;
    for (n, column) in op.iter_mut().enumerate().skip(1) {
        *column = 1 << (n - 1);
    }
    // Three squarings: one zero bit, two, four, eight (one zero byte).
    for _ in 0..3 {
        op = square(&op);
    }
    let (mut crc, mut len) = (crc_a, len_b);
    while len != 0 {
        if len & 1 != 0 {
            crc = times(&op, crc);
        }
        len >>= 1;
        if len != 0 {
            op = square(&op);
        }
    }
    crc ^ crc_b
}

/// `len` zero bytes that take no memory: slices of one anonymous mapping that is never written,
/// whose pages are all the kernel's one zero page. What a discarded body is stored as. (One
/// mapping for every body: a mapping each would run into the kernel's limit on mappings, about
/// 65 000, after as many objects.)
/// `None` when no mapping can be had (the caller answers 500).
fn zeros(len: usize) -> Option<Bytes> {
    static ZEROS: std::sync::OnceLock<Option<Bytes>> = std::sync::OnceLock::new();
    if len == 0 {
        return Some(Bytes::new());
    }
    let shared = ZEROS.get_or_init(|| {
        memmap2::MmapMut::map_anon(MAX_RESERVE)
            .ok()
            .map(Bytes::from_owner)
    });
    match shared {
        Some(z) if len <= z.len() => Some(z.slice(..len)),
        // Past 5 GiB (no OSS body is), or where the mapping was refused: a mapping of its own.
        _ => memmap2::MmapMut::map_anon(len).ok().map(Bytes::from_owner),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock is a server bug; keep serving with the data as it is.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running test server. Dropping it stops accepting connections.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Binds `listen` (use `127.0.0.1:0` for a free port) and starts serving on the current
    /// tokio runtime.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(listen: SocketAddr, config: TestServerConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            config,
            objects: Mutex::new(HashMap::new()),
            uploads: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            faults: Faults::default(),
            counter: AtomicU64::new(1),
        });
        let (stop, mut stopped) = watch::channel(false);
        let serving = Arc::clone(&state);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let state = Arc::clone(&serving);
                        connections.spawn(async move {
                            let service = service_fn(move |req| {
                                let state = Arc::clone(&state);
                                async move {
                                    let delay = state.faults.delay_ms.load(Ordering::SeqCst);
                                    if delay > 0 {
                                        tokio::time::sleep(Duration::from_millis(delay))
                                            .await;
                                    }
                                    let reply = handle(&state, req).await;
                                    // An error from the service makes hyper close the
                                    // connection without sending the reply.
                                    if state.faults.lose_next_reply.swap(false, Ordering::SeqCst) {
                                        return Err(std::io::Error::other(
                                            "fault injected: reply lost",
                                        ));
                                    }
                                    Ok(reply)
                                }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
                while connections.try_join_next().is_some() {}
            }
            connections.abort_all();
        });
        Ok(Self {
            addr,
            state,
            stop,
            task: Some(task),
        })
    }

    /// The bound address.
    #[must_use]
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the endpoint to give a client (path-style, since it is an IP).
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The faults to inject.
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// The stored object, if any.
    #[must_use]
    pub fn object(&self, bucket: &str, key: &str) -> Option<StoredObject> {
        lock(&self.state.objects)
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
    }

    /// Stores an object directly, as if uploaded; `meta` names are full header names.
    pub fn put_raw(&self, bucket: &str, key: &str, data: Bytes, meta: &[(&str, &str)]) {
        let etag = hex::encode_upper(Md5::digest(&data));
        let crc = crc64(&data);
        let object = new_object(
            data,
            etag,
            crc,
            meta.iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            "application/octet-stream".to_owned(),
        );
        lock(&self.state.objects).insert((bucket.to_owned(), key.to_owned()), object);
    }

    /// Removes an object, as a DeleteObject of someone else would; whether it was there.
    pub fn remove_object(&self, bucket: &str, key: &str) -> bool {
        lock(&self.state.objects)
            .remove(&(bucket.to_owned(), key.to_owned()))
            .is_some()
    }

    /// Replaces (or with `None` removes) the metadata header `name` of the upload `upload_id`,
    /// as a hostile server would change what ListParts reports.
    pub fn set_upload_meta(&self, upload_id: &str, name: &str, value: Option<&str>) {
        if let Some(up) = lock(&self.state.uploads).get_mut(upload_id) {
            let name = name.to_ascii_lowercase();
            up.meta.retain(|(n, _)| *n != name);
            if let Some(v) = value {
                up.meta.push((name, v.to_owned()));
            }
        }
    }

    /// Stores part `part` of upload `upload_id` directly, as if someone else had uploaded it.
    pub fn inject_part(&self, upload_id: &str, part: u32, data: Bytes) {
        if let Some(up) = lock(&self.state.uploads).get_mut(upload_id) {
            let md5: [u8; 16] = Md5::digest(&data).into();
            up.parts.insert(
                part,
                StoredPart {
                    crc64: crc64(&data),
                    data,
                    md5,
                    etag: hex::encode_upper(md5),
                    last_modified: SystemTime::now(),
                },
            );
        }
    }

    /// Removes part `part` of upload `upload_id`, as a server that lost it would.
    pub fn remove_part(&self, upload_id: &str, part: u32) {
        if let Some(up) = lock(&self.state.uploads).get_mut(upload_id) {
            up.parts.remove(&part);
        }
    }

    /// The ids of the multipart uploads in progress.
    #[must_use]
    pub fn upload_ids(&self) -> Vec<String> {
        lock(&self.state.uploads).keys().cloned().collect()
    }

    /// Every request answered so far.
    #[must_use]
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.state.log).clone()
    }

    /// Stops accepting connections and ends the open ones.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// An object of `data`, whose ETag and CRC-64 the caller computed as the bytes arrived.
fn new_object(
    data: Bytes,
    etag: String,
    crc64: u64,
    meta: Vec<(String, String)>,
    content_type: String,
) -> StoredObject {
    StoredObject {
        crc64,
        data,
        meta,
        object_type: "Normal",
        etag,
        content_type,
        last_modified: SystemTime::now(),
    }
}

/// The largest frame a response body is sent in: a large object leaves as a stream of slices
/// of the stored bytes, not as one frame the size of the object.
const MAX_FRAME: usize = 256 * 1024;

/// The most a request body's declared length reserves up front: OSS's largest PutObject
/// (5 GiB). Reserving only maps memory, which pages in as the body arrives; a smaller cap made
/// a large body grow by doubling, copying it again each time (most of the server's time on a
/// multi-GiB upload).
const MAX_RESERVE: usize = 5 << 30;

/// A response body: `rest` leaves in frames of at most [`MAX_FRAME`] bytes, each a slice of it
/// (no copy), except that the one frame holding a byte chosen to be damaged is a copy.
struct ServerBody {
    rest: Bytes,
    /// Offset into `rest`, as it was at the start, of the byte whose bit 4 is flipped on the way.
    flip: Option<usize>,
    /// Bytes sent so far.
    sent: usize,
    end: BodyEnd,
}

/// What happens after the last byte.
enum BodyEnd {
    Clean,
    /// The bytes sent, a pause so that they reach the client with the head, then an error,
    /// which makes hyper close the connection mid-body.
    Cut(Pin<Box<tokio::time::Sleep>>),
}

impl ServerBody {
    /// A body of `data`, sent whole and undamaged.
    fn new(data: Bytes) -> Self {
        Self {
            rest: data,
            flip: None,
            sent: 0,
            end: BodyEnd::Clean,
        }
    }

    fn empty() -> Self {
        Self::new(Bytes::new())
    }
}

impl Body for ServerBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if !this.rest.is_empty() {
            let frame = this.rest.split_to(this.rest.len().min(MAX_FRAME));
            let start = this.sent;
            this.sent += frame.len();
            let frame = match this.flip {
                Some(at) if (start..this.sent).contains(&at) => {
                    let mut damaged = frame.to_vec();
                    damaged[at - start] ^= 0x10;
                    Bytes::from(damaged)
                }
                _ => frame,
            };
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        match &mut this.end {
            BodyEnd::Clean => Poll::Ready(None),
            BodyEnd::Cut(pause) => match pause.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::other(
                    "fault injected: body cut short",
                )))),
            },
        }
    }
}

/// A request body as it arrived, with the digests OSS computes over it, taken frame by frame.
struct Received {
    data: Bytes,
    md5: [u8; 16],
    crc64: u64,
}

/// Reads `body` frame by frame, hashing (MD5, CRC-64) each frame as it arrives. A body of one
/// frame is kept as that frame; a longer one is gathered into one [`Gather`] buffer (reserved
/// from the declared length, up to [`MAX_RESERVE`]), so that GetObject can slice it later.
///
/// The error is the body's, or `None` when a discarded body's length cannot be mapped.
async fn receive<B>(
    mut body: B,
    with_md5: bool,
    discard: bool,
) -> Result<Received, Option<B::Error>>
where
    B: Body<Data = Bytes> + Unpin,
{
    let declared = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    let mut md5 = Md5::new();
    let mut crc = crc64fast::Digest::new();
    let mut first: Option<Bytes> = None;
    let mut joined: Option<Gather> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(Some)?.into_data() else {
            continue; // trailers: OSS takes none
        };
        if data.is_empty() {
            continue;
        }
        if with_md5 {
            md5.update(&data);
        }
        crc.write(&data);
        len = len.saturating_add(data.len());
        if discard {
            continue;
        }
        if let Some(buf) = joined.as_mut() {
            buf.extend(&data);
        } else if let Some(one) = first.take() {
            let want = declared.max(one.len() + data.len()).min(MAX_RESERVE);
            let mut buf = Gather::with_capacity(want);
            buf.extend(&one);
            buf.extend(&data);
            joined = Some(buf);
        } else {
            first = Some(data);
        }
    }
    let data = match (joined, first) {
        _ if discard => zeros(len).ok_or(None)?,
        (Some(buf), _) => buf.freeze(),
        (None, Some(one)) => one,
        (None, None) => Bytes::new(),
    };
    let crc64 = crc.sum64();
    let md5 = if with_md5 {
        md5.finalize().into()
    } else {
        // Not an MD5: the CRC-64 twice, so that ETags still tell contents apart.
        let mut fake = [0u8; 16];
        fake[..8].copy_from_slice(&crc64.to_be_bytes());
        fake[8..].copy_from_slice(&crc64.to_le_bytes());
        fake
    };
    Ok(Received { data, md5, crc64 })
}

/// The most a body gathered on the heap reserves before its bytes arrive.
const HEAP_RESERVE: usize = 64 << 20;

/// The size from which a body is gathered into its own memory mapping rather than the heap.
const MAP_FROM: usize = 4 << 20;

/// Bytes gathered into one buffer: on the heap, or, from [`MAP_FROM`] bytes, in an anonymous
/// memory mapping that asks for transparent huge pages. Paging a large body in 4 KiB at a time
/// was most of the server's time on a multi-GiB upload (one fault, one page clear and one
/// memory-cgroup charge per page); huge pages take a 512th of the faults.
enum Gather {
    Heap(bytes::BytesMut),
    Mapped { map: memmap2::MmapMut, len: usize },
}

impl Gather {
    fn with_capacity(capacity: usize) -> Self {
        if capacity >= MAP_FROM
            && let Some(map) = huge_map(capacity)
        {
            return Self::Mapped { map, len: 0 };
        }
        // Small bodies, or no mapping to be had: the heap, reserving at most 64 MiB up front
        // (the capacity comes from the client's Content-Length) and growing past it.
        Self::Heap(bytes::BytesMut::with_capacity(capacity.min(HEAP_RESERVE)))
    }

    fn extend(&mut self, data: &[u8]) {
        match self {
            Self::Heap(buf) => buf.extend_from_slice(data),
            Self::Mapped { map, len } => {
                let end = *len + data.len();
                if end > map.len() {
                    // More than was declared: grow by doubling, as a Vec would.
                    let Some(mut bigger) = huge_map(end.max(map.len().saturating_mul(2))) else {
                        let mut heap = bytes::BytesMut::with_capacity(end);
                        heap.extend_from_slice(&map[..*len]);
                        heap.extend_from_slice(data);
                        *self = Self::Heap(heap);
                        return;
                    };
                    bigger[..*len].copy_from_slice(&map[..*len]);
                    *map = bigger;
                }
                map[*len..end].copy_from_slice(data);
                *len = end;
            }
        }
    }

    fn freeze(self) -> Bytes {
        match self {
            Self::Heap(buf) => buf.freeze(),
            // The mapping owns the bytes; nothing writes to it once it is shared.
            Self::Mapped { map, len } => Bytes::from_owner(map).slice(..len),
        }
    }
}

/// An anonymous mapping of `len` bytes that asks for transparent huge pages where the kernel
/// has them (Linux's `madvise` mode; elsewhere the advice is not given).
fn huge_map(len: usize) -> Option<memmap2::MmapMut> {
    let map = memmap2::MmapMut::map_anon(len).ok()?;
    #[cfg(target_os = "linux")]
    {
        // Advice only: without huge pages the mapping still works, 4 KiB at a time.
        let _ = map.advise(memmap2::Advice::HugePage);
    }
    Some(map)
}

/// Reads `body` to its end, keeping nothing.
async fn drain<B: Body + Unpin>(mut body: B) {
    while let Some(Ok(_)) = body.frame().await {}
}

type Reply = Response<ServerBody>;

/// What one request looks like after addressing is resolved.
struct Incoming2 {
    method: Method,
    bucket: String,
    key: String,
    raw_query: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    /// The body, read only once the request head passed addressing and authentication.
    body: Bytes,
    /// The MD5 of `body`, computed as it arrived.
    body_md5: [u8; 16],
    /// The CRC-64 of `body`, computed as it arrived.
    body_crc64: u64,
    request_id: String,
}

impl Incoming2 {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn user_meta(&self) -> Vec<(String, String)> {
        let mut meta: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| n.as_str().starts_with(META_PREFIX))
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        meta.sort();
        meta
    }

    fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }
}

/// An OSS error answer.
struct OssError {
    status: StatusCode,
    code: &'static str,
    message: String,
    ec: &'static str,
    extra: Vec<(&'static str, String)>,
}

fn err(status: u16, code: &'static str, ec: &'static str, message: impl Into<String>) -> OssError {
    OssError {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code,
        message: message.into(),
        ec,
        extra: Vec::new(),
    }
}

fn error_reply(e: &OssError, request_id: &str, host: &str, head: bool, now: SystemTime) -> Reply {
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  <RequestId>{}</RequestId>\n  <HostId>{}</HostId>\n",
        e.code,
        xml::escape(&e.message),
        request_id,
        xml::escape(host),
    );
    for (name, value) in &e.extra {
        body.push_str(&format!("  <{name}>{}</{name}>\n", xml::escape(value)));
    }
    if !e.ec.is_empty() {
        body.push_str(&format!("  <EC>{}</EC>\n", e.ec));
    }
    body.push_str("</Error>\n");
    let mut builder = Response::builder()
        .status(e.status)
        .header("content-type", "application/xml")
        .header("x-oss-request-id", request_id)
        .header("server", "AliyunOSS")
        .header("date", httpdate::fmt_http_date(now));
    if !e.ec.is_empty() {
        builder = builder.header("x-oss-ec", e.ec);
    }
    let reply = if head {
        // HEAD answers carry no body; OSS puts the error document in `x-oss-err`, base64.
        builder
            .header(
                "x-oss-err",
                base64::engine::general_purpose::STANDARD.encode(body.as_bytes()),
            )
            .header("content-length", "0")
            .body(ServerBody::empty())
    } else {
        builder
            .header("content-length", body.len())
            .body(ServerBody::new(Bytes::from(body)))
    };
    reply.unwrap_or_else(|_| Response::new(ServerBody::empty()))
}

async fn handle(state: &State, req: Request<Incoming>) -> Reply {
    let n = state.counter.fetch_add(1, Ordering::Relaxed);
    let request_id = format!(
        "{:016X}{:08X}",
        0x5E57_0000_0000_0000_u64 | n,
        std::process::id()
    );
    let (parts, body) = req.into_parts();
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let head = parts.method == Method::HEAD;
    let now = state.config.now();
    // Addressing and authentication need only the request head: the body is read after both
    // succeed, so a refused request is answered at once, whatever it declares it will send.
    // (V4 signs `x-oss-content-sha256: UNSIGNED-PAYLOAD`, V1 signs Content-MD5 as a header, so
    // neither signature covers the body itself.)
    let (bucket, key) = match address(&state.config, &host, parts.uri.path()) {
        Ok(v) => v,
        Err(e) => return refused_before_body(&e, &request_id, &host, head, now),
    };
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let query = decode_query(&raw_query);
    let mut incoming = Incoming2 {
        method: parts.method,
        bucket,
        key,
        raw_query,
        query,
        headers: parts.headers,
        body: Bytes::new(),
        body_md5: Md5::digest(b"").into(),
        body_crc64: 0,
        request_id,
    };
    let failing = state
        .faults
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let reply = if failing {
        // As before authentication existed ahead of the body: the whole request is read, then
        // refused, so the client sees a clean 500 to retry.
        drain(body).await;
        Err(err(
            500,
            "InternalError",
            "",
            "fault injected: we encountered an internal error, please try again",
        ))
    } else if let Err(e) = authenticate(state, &incoming, now) {
        // `body` is dropped unread: hyper takes what already arrived with the head and closes
        // the connection after this answer.
        let reply = refused_before_body(&e, &incoming.request_id, &host, incoming.is_head(), now);
        log(state, &incoming, &reply);
        return reply;
    } else {
        // Only object bytes are discarded (PutObject, UploadPart): a POST's XML is read.
        let discard = state.config.discard_bodies && incoming.method == Method::PUT;
        match receive(body, state.config.md5_etags, discard).await {
            Ok(received) => {
                incoming.body = received.data;
                incoming.body_md5 = received.md5;
                incoming.body_crc64 = received.crc64;
                dispatch(state, &incoming)
            }
            Err(Some(_)) => Err(err(
                400,
                "IncompleteBody",
                "",
                "the request body ended early",
            )),
            Err(None) => Err(err(
                500,
                "InternalError",
                "",
                "the server cannot map the discarded body's length",
            )),
        }
    };
    let reply = match reply {
        Ok(mut r) => {
            let h = r.headers_mut();
            h.insert(
                "x-oss-request-id",
                HeaderValue::from_str(&incoming.request_id)
                    .unwrap_or(HeaderValue::from_static("0")),
            );
            h.insert("server", HeaderValue::from_static("AliyunOSS"));
            if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(now)) {
                h.insert("date", v);
            }
            r
        }
        Err(e) => error_reply(&e, &incoming.request_id, &host, incoming.is_head(), now),
    };
    log(state, &incoming, &reply);
    reply
}

/// The answer to a request refused from its head alone, its body unread: the connection is not
/// reused, since the unread body would follow on it.
fn refused_before_body(
    e: &OssError,
    request_id: &str,
    host: &str,
    head: bool,
    now: SystemTime,
) -> Reply {
    let mut reply = error_reply(e, request_id, host, head, now);
    reply
        .headers_mut()
        .insert("connection", HeaderValue::from_static("close"));
    reply
}

fn log(state: &State, incoming: &Incoming2, reply: &Reply) {
    lock(&state.log).push(LoggedRequest {
        method: incoming.method.to_string(),
        bucket: incoming.bucket.clone(),
        key: incoming.key.clone(),
        query: incoming.query.clone(),
        headers: incoming
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        status: reply.status().as_u16(),
    });
}

fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let d = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (d(k), d(v))
        })
        .collect()
}

/// Bucket and key from the Host header and the path.
fn address(
    config: &TestServerConfig,
    host: &str,
    path: &str,
) -> Result<(String, String), OssError> {
    let hostname = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
        .to_ascii_lowercase();
    let virtual_bucket = config.virtual_host_domains.iter().find_map(|d| {
        hostname
            .strip_suffix(d.as_str())
            .and_then(|b| b.strip_suffix('.'))
            .filter(|b| !b.is_empty())
    });
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| err(400, "InvalidObjectName", "", "the path is not UTF-8"))?;
    let rest = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (bucket, key) = match virtual_bucket {
        Some(bucket) => (bucket.to_owned(), rest.to_owned()),
        None => {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            (bucket.to_owned(), key.to_owned())
        }
    };
    if bucket.is_empty() {
        return Err(err(
            400,
            "InvalidBucketName",
            "",
            "the request names no bucket (path-style /bucket/key or bucket.localhost)",
        ));
    }
    Ok((bucket, key))
}

/// Checks the signature, its scope and its time from the request head (the body is not read
/// yet, and is not needed).
fn authenticate(state: &State, r: &Incoming2, now: SystemTime) -> Result<(), OssError> {
    let config = &state.config;
    let Some(auth) = r.header("authorization") else {
        return Err(err(
            403,
            "AccessDenied",
            "0002-00000001",
            "anonymous access is not allowed: sign the request",
        ));
    };
    let header_strings: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let headers: Vec<(&str, &str)> = header_strings
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let parts = RequestParts {
        method: r.method.as_str(),
        bucket: Some(&r.bucket),
        key: (!r.key.is_empty()).then_some(r.key.as_str()),
        raw_query: &r.raw_query,
        headers: &headers,
    };
    if auth.starts_with(sign::V4_ALGORITHM) {
        if let Some([_, _, _, product, terminator]) = sign::v4_credential_elements(auth)
            && (terminator != sign::V4_REQUEST || product != sign::V4_PRODUCT)
        {
            return Err(err(
                400,
                "InvalidArgument",
                "0002-00000213",
                format!(
                    "Invalid signing credential: the scope must be date/region/{}/{}, got product {product:?} and terminator {terminator:?}.",
                    sign::V4_PRODUCT,
                    sign::V4_REQUEST
                ),
            ));
        }
        let Some(a) = sign::parse_v4_authorization(auth) else {
            return Err(err(
                400,
                "InvalidArgument",
                "0002-00000010",
                "the Authorization header is not a valid OSS4-HMAC-SHA256 credential",
            ));
        };
        if a.access_key_id != config.access_key_id {
            return Err(err(
                403,
                "InvalidAccessKeyId",
                "0002-00000902",
                "the OSS access key id you provided does not exist in our records",
            ));
        }
        if a.region != config.region {
            let mut e = err(
                400,
                "InvalidArgument",
                "0002-00000228",
                format!(
                    "The signing region in credential is invalid: the credential scope names region {:?}, but this bucket is in {:?}.",
                    a.region, config.region
                ),
            );
            e.extra = vec![
                ("ArgumentName", "Credential".to_owned()),
                (
                    "ArgumentValue",
                    format!(
                        "{}/{}",
                        a.access_key_id,
                        sign::v4_scope(&a.date, &a.region, &a.product)
                    ),
                ),
            ];
            return Err(e);
        }
        let timestamp = r.header("x-oss-date").unwrap_or_default();
        if timestamp.len() != 16 || !timestamp.starts_with(&a.date) {
            return Err(err(
                403,
                "AccessDenied",
                "0002-00000012",
                "x-oss-date is missing or does not match the date of the credential scope",
            ));
        }
        let Some(request_time) = time::parse_iso8601_basic(timestamp) else {
            return Err(err(
                403,
                "AccessDenied",
                "0002-00000505",
                format!("x-oss-date {timestamp:?} is not a valid time (YYYYMMDDTHHMMSSZ, UTC)"),
            ));
        };
        check_skew(request_time, timestamp, now)?;
        let scope = sign::v4_scope(&a.date, &a.region, &a.product);
        let canonical = sign::v4_canonical_request(&parts, &a.additional_headers);
        let sts = sign::v4_string_to_sign(timestamp, &scope, &canonical);
        let expected = sign::v4_signature(
            &config.access_key_secret,
            &a.date,
            &a.region,
            &a.product,
            &sts,
        );
        if !sign::signatures_equal(&expected, &a.signature) {
            let mut e = err(
                403,
                "SignatureDoesNotMatch",
                "0002-00000040",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            );
            e.extra = vec![
                ("OSSAccessKeyId", a.access_key_id),
                ("SignatureProvided", a.signature),
                ("StringToSign", sts),
                ("CanonicalRequest", canonical),
            ];
            return Err(e);
        }
        return Ok(());
    }
    if let Some(rest) = auth.strip_prefix("OSS ") {
        let Some((ak, signature)) = rest.rsplit_once(':') else {
            return Err(err(
                400,
                "InvalidArgument",
                "0002-00000010",
                "the Authorization header is not `OSS AccessKeyId:Signature`",
            ));
        };
        if ak != config.access_key_id {
            return Err(err(
                403,
                "InvalidAccessKeyId",
                "0002-00000902",
                "the OSS access key id you provided does not exist in our records",
            ));
        }
        // V1 signs `x-oss-date` when present, else `Date` (both RFC 1123): that time is checked.
        let date = r
            .header("x-oss-date")
            .filter(|d| !d.trim().is_empty())
            .or_else(|| r.header("date"))
            .unwrap_or_default()
            .trim();
        let Ok(request_time) = httpdate::parse_http_date(date) else {
            return Err(err(
                403,
                "AccessDenied",
                "0002-00000505",
                format!("the Date header {date:?} is missing or not an RFC 1123 date"),
            ));
        };
        check_skew(request_time, date, now)?;
        let sts = sign::v1_string_to_sign(&parts);
        let expected = sign::v1_signature(&config.access_key_secret, &sts);
        if !sign::signatures_equal(&expected, signature) {
            let mut e = err(
                403,
                "SignatureDoesNotMatch",
                "0002-00000040",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            );
            e.extra = vec![
                ("OSSAccessKeyId", ak.to_owned()),
                ("SignatureProvided", signature.to_owned()),
                ("StringToSign", sts),
            ];
            return Err(e);
        }
        return Ok(());
    }
    Err(err(
        400,
        "InvalidArgument",
        "0002-00000010",
        "the Authorization header names an unknown signature algorithm",
    ))
}

/// Refuses a request whose time is more than [`MAX_REQUEST_SKEW`] from the server's clock.
fn check_skew(request_time: SystemTime, as_sent: &str, now: SystemTime) -> Result<(), OssError> {
    let skew = now
        .duration_since(request_time)
        .unwrap_or_else(|e| e.duration());
    if skew <= MAX_REQUEST_SKEW {
        return Ok(());
    }
    let mut e = err(
        403,
        "RequestTimeTooSkewed",
        "0002-00000504",
        "The difference between the request time and the current time is too large.",
    );
    e.extra = vec![
        ("RequestTime", as_sent.to_owned()),
        ("ServerTime", time::iso8601_millis(now)),
        (
            "MaxAllowedSkewMilliseconds",
            MAX_REQUEST_SKEW.as_millis().to_string(),
        ),
    ];
    Err(e)
}

fn dispatch(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    if r.key.is_empty() {
        return Err(err(
            501,
            "NotImplemented",
            "",
            "the test server implements object operations only",
        ));
    }
    let has = |name: &str| r.query(name).is_some();
    match r.method.as_str() {
        "PUT" if has("partNumber") && has("uploadId") => upload_part(state, r),
        "PUT" if !has("uploadId") => put_object(state, r),
        "POST" if has("uploads") => initiate(state, r),
        "POST" if has("uploadId") => complete(state, r),
        "DELETE" if has("uploadId") => abort(state, r),
        "DELETE" => {
            lock(&state.objects).remove(&(r.bucket.clone(), r.key.clone()));
            reply(204, Vec::new(), None)
        }
        "GET" if has("uploadId") => list_parts(state, r),
        "GET" | "HEAD" if has("objectMeta") => object_meta(state, r),
        "GET" | "HEAD" => get_object(state, r),
        _ => Err(err(
            501,
            "NotImplemented",
            "",
            format!(
                "the test server does not implement {} with this query",
                r.method
            ),
        )),
    }
}

fn reply(
    status: u16,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
) -> Result<Reply, OssError> {
    let mut builder = Response::builder().status(status);
    let len = body.as_ref().map_or(0, Bytes::len);
    let mut has_len = false;
    for (n, v) in headers {
        has_len |= n.eq_ignore_ascii_case("content-length");
        builder = builder.header(n, v);
    }
    if !has_len {
        builder = builder.header("content-length", len);
    }
    builder
        .body(body.map_or_else(ServerBody::empty, ServerBody::new))
        .map_err(|_| err(500, "InternalError", "", "cannot build the response"))
}

/// Checks the body against its Content-MD5, if any; returns the ETag (the MD5, hex).
fn check_md5(r: &Incoming2) -> Result<String, OssError> {
    let digest = r.body_md5;
    if let Some(given) = r.header("content-md5")
        && given != base64::engine::general_purpose::STANDARD.encode(digest)
    {
        return Err(err(
            400,
            "InvalidDigest",
            "0016-00000401",
            "The Content-MD5 you specified was invalid.",
        ));
    }
    Ok(hex::encode_upper(digest))
}

fn meta_value<'a>(meta: &'a [(String, String)], suffix: &str) -> Option<&'a str> {
    meta.iter()
        .find(|(n, _)| n.strip_prefix(CSE_PREFIX) == Some(suffix))
        .map(|(_, v)| v.as_str())
}

fn integer(value: Option<&str>, name: &str, ec: &'static str) -> Result<Option<u64>, OssError> {
    value
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                err(
                    400,
                    "InvalidArgument",
                    ec,
                    format!("{CSE_PREFIX}{name} must be an integer, got {v:?}"),
                )
            })
        })
        .transpose()
}

/// The CSE checks on PutObject, InitiateMultipartUpload and UploadPart. Returns the
/// (part-size, data-size) of a multipart request.
fn check_cse_headers(
    meta: &[(String, String)],
    multipart: bool,
) -> Result<(Option<u64>, Option<u64>), OssError> {
    if !meta.iter().any(|(n, _)| n.starts_with(CSE_PREFIX)) {
        return Ok((None, None));
    }
    for (suffix, ec) in [
        ("key", "0005-00000401"),
        ("start", "0005-00000402"),
        ("cek-alg", "0005-00000403"),
        ("wrap-alg", "0005-00000404"),
    ] {
        if meta_value(meta, suffix).is_none_or(str::is_empty) {
            return Err(err(
                400,
                "InvalidArgument",
                ec,
                format!(
                    "missing {CSE_PREFIX}{suffix}: client-side encryption requests must carry the whole envelope"
                ),
            ));
        }
    }
    if meta_value(meta, "wrap-alg") == Some("rsa")
        && meta_value(meta, "magic-number-hmac").is_none()
    {
        return Err(err(
            400,
            "InvalidArgument",
            "0005-00000405",
            format!("wrap-alg rsa needs {CSE_PREFIX}magic-number-hmac"),
        ));
    }
    let part_size = integer(meta_value(meta, "part-size"), "part-size", "0005-00000408")?;
    let data_size = integer(meta_value(meta, "data-size"), "data-size", "0005-00000409")?;
    if multipart && part_size.is_none() {
        return Err(err(
            400,
            "InvalidArgument",
            "0005-00000407",
            format!("missing {CSE_PREFIX}part-size on a multipart request"),
        ));
    }
    if let Some(ps) = part_size {
        let too_many = match data_size {
            _ if ps == 0 => true,
            Some(ds) => ds.div_ceil(ps) > MAX_PARTS,
            None => false,
        };
        if too_many {
            return Err(err(
                400,
                "InvalidArgument",
                "0005-00000410",
                format!(
                    "data-size / part-size must fit in {MAX_PARTS} parts (part-size {ps}, data-size {data_size:?})"
                ),
            ));
        }
    }
    Ok((part_size, data_size))
}

fn put_object(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    let etag = check_md5(r)?;
    let meta = r.user_meta();
    check_cse_headers(&meta, false)?;
    if state.faults.refuse_next_put.swap(false, Ordering::SeqCst) {
        return Err(err(
            400,
            "InvalidArgument",
            "",
            "fault injected: put refused",
        ));
    }
    let object = new_object(
        r.body.clone(),
        etag.clone(),
        r.body_crc64,
        meta,
        r.header("content-type")
            .unwrap_or("application/octet-stream")
            .to_owned(),
    );
    let crc = object.crc64;
    lock(&state.objects).insert((r.bucket.clone(), r.key.clone()), object);
    reply(
        200,
        vec![
            ("etag".into(), format!("\"{etag}\"")),
            ("x-oss-hash-crc64ecma".into(), crc.to_string()),
            (
                "content-md5".into(),
                base64::engine::general_purpose::STANDARD.encode(r.body_md5),
            ),
        ],
        None,
    )
}

fn object_headers(o: &StoredObject) -> Vec<(String, String)> {
    let mut h = vec![
        ("content-type".to_owned(), o.content_type.clone()),
        ("etag".to_owned(), format!("\"{}\"", o.etag)),
        (
            "last-modified".to_owned(),
            httpdate::fmt_http_date(o.last_modified),
        ),
        ("accept-ranges".to_owned(), "bytes".to_owned()),
        ("x-oss-object-type".to_owned(), o.object_type.to_owned()),
        ("x-oss-storage-class".to_owned(), "Standard".to_owned()),
        ("x-oss-hash-crc64ecma".to_owned(), o.crc64.to_string()),
    ];
    h.extend(o.meta.iter().cloned());
    h
}

fn find_object(state: &State, r: &Incoming2) -> Result<StoredObject, OssError> {
    lock(&state.objects)
        .get(&(r.bucket.clone(), r.key.clone()))
        .cloned()
        .ok_or_else(|| {
            err(
                404,
                "NoSuchKey",
                "0026-00000001",
                "The specified key does not exist.",
            )
        })
}

fn object_meta(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    let o = find_object(state, r)?;
    let headers = vec![
        ("content-length".to_owned(), o.data.len().to_string()),
        ("etag".to_owned(), format!("\"{}\"", o.etag)),
        (
            "last-modified".to_owned(),
            httpdate::fmt_http_date(o.last_modified),
        ),
        (
            "x-oss-last-access-time".to_owned(),
            httpdate::fmt_http_date(o.last_modified),
        ),
        ("x-oss-hash-crc64ecma".to_owned(), o.crc64.to_string()),
    ];
    reply(200, headers, None)
}

/// The first range of a `bytes=` header as (first, last), either open; `None` when malformed.
fn parse_range(value: &str) -> Option<(Option<u64>, Option<u64>)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let spec = spec.split(',').next()?.trim();
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| -> Option<Option<u64>> {
        if s.is_empty() {
            Some(None)
        } else if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok().map(Some)
        } else {
            None
        }
    };
    let (first, last) = (num(a)?, num(b)?);
    match (first, last) {
        (None, None) => None,
        (Some(f), Some(l)) if l < f => None,
        v => Some(v),
    }
}

/// RFC 9110 §14.1.2 resolution (OSS with `x-oss-range-behavior: standard`); `None` is 416.
fn resolve_standard(first: Option<u64>, last: Option<u64>, size: u64) -> Option<(u64, u64)> {
    match (first, last) {
        (None, Some(n)) if n == 0 || size == 0 => None,
        (None, Some(n)) => Some((size - n.min(size), size - 1)),
        (Some(f), _) if f >= size => None,
        (Some(f), l) => Some((f, l.map_or(size - 1, |l| l.min(size - 1)))),
        (None, None) => None,
    }
}

/// OSS's default: a range wholly inside the object, else `None` (the range is ignored: 200).
fn resolve_legacy(first: Option<u64>, last: Option<u64>, size: u64) -> Option<(u64, u64)> {
    match (first, last) {
        (None, Some(n)) if n == 0 || n > size => None,
        (None, Some(n)) => Some((size - n, size - 1)),
        (Some(f), _) if f >= size => None,
        (Some(f), None) => Some((f, size - 1)),
        (Some(_), Some(l)) if l >= size => None,
        (Some(f), Some(l)) => Some((f, l)),
        (None, None) => None,
    }
}

fn get_object(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    let o = find_object(state, r)?;
    if state.config.discard_bodies && !r.is_head() {
        return Err(err(
            501,
            "NotImplemented",
            "",
            "this server discards request bodies (--discard-bodies): it has no bytes to return; run it without that option to download",
        ));
    }
    let mut headers = object_headers(&o);
    if !r.is_head()
        && state
            .faults
            .strip_envelope_next_get
            .swap(false, Ordering::SeqCst)
    {
        headers
            .retain(|(n, _)| !cse_core::is_envelope_header(n.as_bytes(), cse_core::DEFAULT_PREFIX));
    }
    let size = o.data.len() as u64;
    let range = if r.is_head() {
        None
    } else {
        r.header("range").and_then(parse_range)
    };
    let standard = r
        .header("x-oss-range-behavior")
        .is_some_and(|v| v.eq_ignore_ascii_case("standard"));
    let span = match range {
        None => None,
        Some((first, last)) if standard => match resolve_standard(first, last, size) {
            None => {
                let mut e = err(
                    416,
                    "InvalidRange",
                    "0003-00000203",
                    "The requested range cannot be satisfied",
                );
                e.extra = vec![("ActualObjectSize", size.to_string())];
                return Err(e);
            }
            span => span,
        },
        Some((first, last)) => resolve_legacy(first, last, size),
    };
    let cut = if r.is_head() {
        None
    } else {
        lock(&state.faults.cut_next_get).take()
    };
    let (status, body) = match span {
        None => {
            headers.push(("content-length".to_owned(), size.to_string()));
            (200, o.data.clone())
        }
        Some((first, last)) => {
            let shift = state
                .faults
                .shift_next_content_range
                .swap(0, Ordering::SeqCst)
                * 16;
            let (cf, cl) = if shift > 0 && last + shift < size {
                (first + shift, last + shift)
            } else {
                (first, last)
            };
            headers.push((
                "content-range".to_owned(),
                format!("bytes {cf}-{cl}/{size}"),
            ));
            headers.push(("content-length".to_owned(), (last - first + 1).to_string()));
            let (from, to) = (
                usize::try_from(first).unwrap_or(usize::MAX),
                usize::try_from(last).unwrap_or(usize::MAX),
            );
            (
                206,
                o.data
                    .slice(from.min(o.data.len())..=to.min(o.data.len().saturating_sub(1))),
            )
        }
    };
    if r.is_head() {
        return reply(status, headers, None);
    }
    let mut builder = Response::builder().status(status);
    for (n, v) in headers {
        builder = builder.header(n, v);
    }
    // The damaged byte is in the middle of the whole answer; only its frame is copied.
    let flip = (!body.is_empty() && state.faults.corrupt_next_get.swap(false, Ordering::SeqCst))
        .then(|| body.len() / 2);
    let body = match cut {
        Some(n) if n < body.len() => ServerBody {
            rest: body.slice(..n),
            flip,
            sent: 0,
            end: BodyEnd::Cut(Box::pin(tokio::time::sleep(Duration::from_millis(100)))),
        },
        _ => ServerBody {
            flip,
            ..ServerBody::new(body)
        },
    };
    builder
        .body(body)
        .map_err(|_| err(500, "InternalError", "", "cannot build the response"))
}

fn initiate(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    let meta = r.user_meta();
    check_cse_headers(&meta, true)?;
    let n = state.counter.fetch_add(1, Ordering::Relaxed);
    let upload_id = hex::encode_upper(Md5::digest(format!(
        "{}/{}/{n}/{:?}",
        r.bucket,
        r.key,
        SystemTime::now()
    )));
    lock(&state.uploads).insert(
        upload_id.clone(),
        Upload {
            bucket: r.bucket.clone(),
            key: r.key.clone(),
            meta,
            content_type: r
                .header("content-type")
                .unwrap_or("application/octet-stream")
                .to_owned(),
            parts: BTreeMap::new(),
        },
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>\n  <Bucket>{}</Bucket>\n  <Key>{}</Key>\n  <UploadId>{upload_id}</UploadId>\n</InitiateMultipartUploadResult>\n",
        xml::escape(&r.bucket),
        xml::escape(&r.key)
    );
    reply(
        200,
        vec![("content-type".into(), "application/xml".into())],
        Some(Bytes::from(body)),
    )
}

fn no_such_upload() -> OssError {
    err(
        404,
        "NoSuchUpload",
        "0042-00000002",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

fn upload_part(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    let upload_id = r.query("uploadId").unwrap_or_default();
    let number = r
        .query("partNumber")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            err(
                400,
                "InvalidArgument",
                "0042-00000007",
                "Part number must be an integer between 1 and 10000, inclusive.",
            )
        })?;
    let etag = check_md5(r)?;
    let req_meta = r.user_meta();
    let (part_size, data_size) = check_cse_headers(&req_meta, true)?;
    {
        let uploads = lock(&state.uploads);
        let up = uploads
            .get(upload_id)
            .filter(|u| u.bucket == r.bucket && u.key == r.key)
            .ok_or_else(no_such_upload)?;
        if part_size.is_some() {
            let initiated = (
                meta_value(&up.meta, "part-size").and_then(|v| v.parse::<u64>().ok()),
                meta_value(&up.meta, "data-size").and_then(|v| v.parse::<u64>().ok()),
            );
            if (part_size, data_size) != initiated {
                return Err(err(
                    400,
                    "InvalidArgument",
                    "0005-00000418",
                    format!(
                        "part-size/data-size of UploadPart ({part_size:?}/{data_size:?}) differ from InitiateMultipartUpload ({:?}/{:?})",
                        initiated.0, initiated.1
                    ),
                ));
            }
        }
    }
    if state.faults.refuse_next_put.swap(false, Ordering::SeqCst) {
        return Err(err(
            400,
            "InvalidArgument",
            "",
            "fault injected: part refused",
        ));
    }
    let crc = r.body_crc64;
    let mut uploads = lock(&state.uploads);
    let up = uploads.get_mut(upload_id).ok_or_else(no_such_upload)?;
    up.parts.insert(
        number,
        StoredPart {
            data: r.body.clone(),
            md5: r.body_md5,
            etag: etag.clone(),
            last_modified: SystemTime::now(),
            crc64: crc,
        },
    );
    reply(
        200,
        vec![
            ("etag".into(), format!("\"{etag}\"")),
            ("x-oss-hash-crc64ecma".into(), crc.to_string()),
        ],
        None,
    )
}

fn complete(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    let upload_id = r.query("uploadId").unwrap_or_default().to_owned();
    let meta = r.user_meta();
    // Complete carries no envelope, but OSS still checks the sizes when present.
    integer(meta_value(&meta, "part-size"), "part-size", "0005-00000408")?;
    integer(meta_value(&meta, "data-size"), "data-size", "0005-00000409")?;
    let text = String::from_utf8_lossy(&r.body);
    let malformed = || {
        err(
            400,
            "MalformedXML",
            "0042-00000204",
            "The XML you provided was not well-formed or did not validate against our published schema.",
        )
    };
    let mut listed = Vec::new();
    for part in xml::elements(&text, "Part") {
        let number = xml::text(part, "PartNumber")
            .and_then(|n| n.trim().parse::<u32>().ok())
            .ok_or_else(malformed)?;
        let etag = xml::text(part, "ETag").ok_or_else(malformed)?;
        listed.push((number, etag.trim().trim_matches('"').to_ascii_uppercase()));
    }
    let complete_all = r
        .header("x-oss-complete-all")
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let mut uploads = lock(&state.uploads);
    let up = uploads
        .get(&upload_id)
        .filter(|u| u.bucket == r.bucket && u.key == r.key)
        .ok_or_else(no_such_upload)?;
    if complete_all {
        listed = up.parts.iter().map(|(n, p)| (*n, p.etag.clone())).collect();
    }
    if listed.is_empty() {
        return Err(malformed());
    }
    if listed.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(err(
            400,
            "InvalidPartOrder",
            "0042-00000209",
            "The list of parts was not in ascending order. Parts list must be specified in order by part number.",
        ));
    }
    let mut datas = Vec::with_capacity(listed.len());
    for (n, etag) in &listed {
        match up.parts.get(n) {
            Some(p) if p.etag == *etag => datas.push((p.data.clone(), p.md5, p.crc64)),
            _ => {
                return Err(err(
                    400,
                    "InvalidPart",
                    "0042-00000205",
                    format!(
                        "part {n} was not uploaded, or its ETag does not match the one uploaded"
                    ),
                ));
            }
        }
    }
    let sizes: Vec<u64> = datas.iter().map(|(d, _, _)| d.len() as u64).collect();
    // OSS's rule for every multipart upload, encrypted or not: only the last part may be small
    // (so an upload of one part may be of any size).
    if let Some(((n, _), size)) = listed
        .iter()
        .zip(&sizes)
        .take(listed.len().saturating_sub(1))
        .find(|(_, size)| **size < MIN_PART_SIZE)
    {
        return Err(err(
            400,
            "EntityTooSmall",
            "",
            format!(
                "Your proposed upload smaller than the minimum allowed size: part {n} is {size} bytes, but every part except the last must be at least {MIN_PART_SIZE} bytes (100 KiB). Upload the parts again larger, or send an object this small with PutObject."
            ),
        ));
    }
    // The client-side-encryption rules on top: the parts keep the declared part size and add
    // up to the declared data size.
    let part_size = meta_value(&up.meta, "part-size").and_then(|v| v.parse::<u64>().ok());
    let data_size = meta_value(&up.meta, "data-size").and_then(|v| v.parse::<u64>().ok());
    if let Some(ps) = part_size {
        let (last, others) = sizes.split_last().unwrap_or((&0, &[]));
        if others.iter().any(|&s| s != ps) || *last > ps {
            return Err(err(
                400,
                "InvalidArgument",
                "0005-00000419",
                format!(
                    "every part but the last must be exactly part-size {ps} bytes, and the last at most that (got {sizes:?})"
                ),
            ));
        }
    }
    let total: u64 = sizes.iter().sum();
    if let Some(ds) = data_size
        && ds != total
    {
        return Err(err(
            400,
            "InvalidArgument",
            "0005-00000420",
            format!("the parts add up to {total} bytes, but data-size is {ds}"),
        ));
    }
    // One copy into the object's bytes (none when bodies are discarded). The object's CRC-64
    // is combined from the parts', and the multipart ETag is the MD5 of the parts' MD5s: both
    // were taken as the parts arrived.
    let discard = state.config.discard_bodies;
    let mut data = (!discard).then(|| Gather::with_capacity(usize::try_from(total).unwrap_or(0)));
    let mut crc = crc64(&[]);
    let mut md5s = Vec::with_capacity(datas.len() * 16);
    for (d, md5, part_crc) in &datas {
        if let Some(data) = data.as_mut() {
            data.extend(d);
        }
        crc = crc64_combine(crc, *part_crc, d.len() as u64);
        md5s.extend_from_slice(md5);
    }
    let data = match data {
        Some(data) => data.freeze(),
        None => usize::try_from(total).ok().and_then(zeros).ok_or_else(|| {
            err(
                500,
                "InternalError",
                "",
                "the server cannot map the discarded object's length",
            )
        })?,
    };
    let etag = format!("{}-{}", hex::encode_upper(Md5::digest(&md5s)), datas.len());
    let Some(up) = uploads.remove(&upload_id) else {
        return Err(no_such_upload());
    };
    drop(uploads);
    let mut object = new_object(data, etag.clone(), crc, up.meta, up.content_type);
    object.object_type = "Multipart";
    lock(&state.objects).insert((r.bucket.clone(), r.key.clone()), object);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>\n  <Location>/{}/{}</Location>\n  <Bucket>{}</Bucket>\n  <Key>{}</Key>\n  <ETag>\"{etag}\"</ETag>\n</CompleteMultipartUploadResult>\n",
        xml::escape(&r.bucket),
        xml::escape(&r.key),
        xml::escape(&r.bucket),
        xml::escape(&r.key)
    );
    reply(
        200,
        vec![
            ("content-type".into(), "application/xml".into()),
            ("etag".into(), format!("\"{etag}\"")),
            ("x-oss-hash-crc64ecma".into(), crc.to_string()),
        ],
        Some(Bytes::from(body)),
    )
}

fn abort(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    let upload_id = r.query("uploadId").unwrap_or_default();
    let mut uploads = lock(&state.uploads);
    if uploads
        .get(upload_id)
        .is_none_or(|u| u.bucket != r.bucket || u.key != r.key)
    {
        return Err(no_such_upload());
    }
    uploads.remove(upload_id);
    reply(204, Vec::new(), None)
}

fn list_parts(state: &State, r: &Incoming2) -> Result<Reply, OssError> {
    let upload_id = r.query("uploadId").unwrap_or_default();
    let page = match state.faults.list_parts_page.load(Ordering::SeqCst) {
        0 => 1000,
        n => usize::try_from(n).unwrap_or(1000),
    };
    let max_parts = r
        .query("max-parts")
        .map_or(Ok(page), str::parse::<usize>)
        .map_err(|_| err(400, "InvalidArgument", "", "max-parts must be an integer"))?
        .clamp(1, 1000);
    let marker = r
        .query("part-number-marker")
        .map_or(Ok(0), str::parse::<u32>)
        .map_err(|_| {
            err(
                400,
                "InvalidArgument",
                "",
                "part-number-marker must be an integer",
            )
        })?;
    let uploads = lock(&state.uploads);
    let up = uploads
        .get(upload_id)
        .filter(|u| u.bucket == r.bucket && u.key == r.key)
        .ok_or_else(no_such_upload)?;
    let selected: Vec<(&u32, &StoredPart)> = up
        .parts
        .range(marker.saturating_add(1)..)
        .take(max_parts + 1)
        .collect();
    let truncated = selected.len() > max_parts;
    let shown = &selected[..selected.len().min(max_parts)];
    let next = shown.last().map_or(marker, |(n, _)| **n);
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListPartsResult>\n  <Bucket>{}</Bucket>\n  <Key>{}</Key>\n  <UploadId>{}</UploadId>\n  <StorageClass>Standard</StorageClass>\n  <PartNumberMarker>{marker}</PartNumberMarker>\n  <NextPartNumberMarker>{next}</NextPartNumberMarker>\n  <MaxParts>{max_parts}</MaxParts>\n  <IsTruncated>{truncated}</IsTruncated>\n",
        xml::escape(&r.bucket),
        xml::escape(&r.key),
        xml::escape(upload_id),
    );
    for field in cse_core::Field::LIST_PARTS {
        let (Some(tag), Some(suffix)) = (
            field.list_parts_element(),
            field.suffix().strip_prefix(cse_core::ENVELOPE_HEADER_STEM),
        ) else {
            continue;
        };
        if let Some(v) = meta_value(&up.meta, suffix) {
            body.push_str(&format!("  <{tag}>{}</{tag}>\n", xml::escape(v)));
        }
    }
    for (n, p) in shown {
        body.push_str(&format!(
            "  <Part>\n    <PartNumber>{n}</PartNumber>\n    <LastModified>{}</LastModified>\n    <ETag>\"{}\"</ETag>\n    <HashCrc64ecma>{}</HashCrc64ecma>\n    <Size>{}</Size>\n  </Part>\n",
            time::iso8601_millis(p.last_modified),
            p.etag,
            p.crc64,
            p.data.len()
        ));
    }
    body.push_str("</ListPartsResult>\n");
    reply(
        200,
        vec![("content-type".into(), "application/xml".into())],
        Some(Bytes::from(body)),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

    use super::*;

    #[test]
    fn ranges_follow_rfc_9110_in_standard_mode() {
        assert_eq!(parse_range("bytes=0-9"), Some((Some(0), Some(9))));
        assert_eq!(parse_range("bytes=5-"), Some((Some(5), None)));
        assert_eq!(parse_range("bytes=-5"), Some((None, Some(5))));
        assert_eq!(parse_range("bytes=9-5"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(resolve_standard(Some(10), Some(20), 15), Some((10, 14)));
        assert_eq!(resolve_standard(Some(15), None, 15), None);
        assert_eq!(resolve_standard(None, Some(100), 15), Some((0, 14)));
        assert_eq!(resolve_standard(None, Some(0), 15), None);
        assert_eq!(resolve_legacy(Some(10), Some(20), 15), None);
        assert_eq!(resolve_legacy(None, Some(100), 15), None);
        assert_eq!(resolve_legacy(Some(3), Some(4), 15), Some((3, 4)));
    }

    #[test]
    fn crc64_combine_matches_the_crc_of_the_concatenation() {
        let data: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for cut in [0, 1, 7, 8, 9, 255, 256, 1000, 4095, 4999, 5000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                crc64_combine(crc64(a), crc64(b), b.len() as u64),
                crc64(&data),
                "cut at {cut}"
            );
        }
        // Three pieces, folded left, as Complete folds parts.
        let (a, rest) = data.split_at(1234);
        let (b, c) = rest.split_at(2345);
        let ab = crc64_combine(crc64(a), crc64(b), b.len() as u64);
        assert_eq!(crc64_combine(ab, crc64(c), c.len() as u64), crc64(&data));
        // The catalogue check value of CRC-64/XZ, as a sanity check of `crc64` itself.
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
    }

    #[test]
    fn zeros_are_zero_and_as_long_as_asked() {
        let z = zeros(3 << 20).unwrap();
        assert_eq!(z.len(), 3 << 20);
        assert!(z.iter().all(|&b| b == 0));
        assert!(zeros(0).unwrap().is_empty());
        // Every body shares one mapping: slices of the same bytes.
        assert_eq!(zeros(10).unwrap().as_ptr(), zeros(20).unwrap().as_ptr());
    }

    /// A request body arriving in the given frames.
    struct Frames(std::collections::VecDeque<Bytes>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn pattern(len: usize) -> Bytes {
        (0..len)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into()
    }

    /// Every frame of `body`, in order; the error, if it ends with one.
    async fn frames(mut body: ServerBody) -> (Vec<Bytes>, Option<std::io::Error>) {
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => out.push(f.into_data().unwrap()),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn a_large_body_leaves_in_256_kib_slices_of_the_stored_bytes() {
        let stored = pattern(4 * MAX_FRAME + 1);
        let (sent, end) = frames(ServerBody::new(stored.clone())).await;
        assert!(end.is_none());
        let lens: Vec<usize> = sent.iter().map(Bytes::len).collect();
        assert_eq!(lens, [MAX_FRAME, MAX_FRAME, MAX_FRAME, MAX_FRAME, 1]);
        for (i, frame) in sent.iter().enumerate() {
            // A slice of the stored allocation, not a copy of it.
            assert_eq!(
                frame.as_ptr(),
                stored[i * MAX_FRAME..].as_ptr(),
                "frame {i}"
            );
        }
        assert_eq!(sent.concat(), stored);
        let (sent, end) = frames(ServerBody::empty()).await;
        assert!(sent.is_empty() && end.is_none());
    }

    #[tokio::test]
    async fn a_damaged_body_copies_only_the_frame_it_damages() {
        let stored = pattern(3 * MAX_FRAME);
        let at = stored.len() / 2;
        let (sent, _) = frames(ServerBody {
            flip: Some(at),
            ..ServerBody::new(stored.clone())
        })
        .await;
        let got = sent.concat();
        let differ: Vec<usize> = (0..got.len()).filter(|&i| got[i] != stored[i]).collect();
        assert_eq!(differ, [at]);
        assert_eq!(got[at] ^ stored[at], 0x10);
        assert_eq!(sent[0].as_ptr(), stored.as_ptr());
        assert_ne!(sent[1].as_ptr(), stored[MAX_FRAME..].as_ptr());
        assert_eq!(sent[2].as_ptr(), stored[2 * MAX_FRAME..].as_ptr());
    }

    #[tokio::test]
    async fn a_cut_body_sends_its_bytes_in_frames_then_fails() {
        let stored = pattern(MAX_FRAME + 10);
        let (sent, end) = frames(ServerBody {
            rest: stored.clone(),
            flip: None,
            sent: 0,
            end: BodyEnd::Cut(Box::pin(tokio::time::sleep(Duration::from_millis(1)))),
        })
        .await;
        assert_eq!(
            sent.iter().map(Bytes::len).collect::<Vec<_>>(),
            [MAX_FRAME, 10]
        );
        assert!(end.unwrap().to_string().contains("cut short"));
    }

    #[tokio::test]
    async fn a_request_body_is_hashed_frame_by_frame_and_kept_whole() {
        let whole = pattern(3 * MAX_FRAME + 7);
        let split = [0, 1, 1000, MAX_FRAME, 2 * MAX_FRAME + 5, whole.len()];
        let chunks: std::collections::VecDeque<Bytes> = split
            .windows(2)
            .map(|w| whole.slice(w[0]..w[1]))
            .chain([Bytes::new()])
            .collect();
        assert_eq!(chunks.len(), 6);
        let got = receive(Frames(chunks), true, false).await.unwrap();
        assert_eq!(got.data, whole);
        assert_eq!(got.md5, <[u8; 16]>::from(Md5::digest(&whole)));
        assert_eq!(got.crc64, crc64(&whole));
        // One frame is kept as it came, without a copy.
        let got = receive(Frames([whole.clone()].into()), true, false)
            .await
            .unwrap();
        assert_eq!(got.data.as_ptr(), whole.as_ptr());
        assert_eq!(got.crc64, crc64(&whole));
        // No frames: the digests of nothing.
        let got = receive(Frames(Default::default()), true, false)
            .await
            .unwrap();
        assert!(got.data.is_empty());
        assert_eq!(got.md5, <[u8; 16]>::from(Md5::digest(b"")));
        assert_eq!(got.crc64, 0);
    }

    #[test]
    fn addressing_styles() {
        let c = TestServerConfig::new("a", "b");
        assert_eq!(
            address(&c, "127.0.0.1:80", "/b/k/x%20y").ok(),
            Some(("b".into(), "k/x y".into()))
        );
        assert_eq!(
            address(&c, "bkt.localhost:9000", "/dir/k").ok(),
            Some(("bkt".into(), "dir/k".into()))
        );
        assert_eq!(
            address(&c, "localhost:9000", "/bkt/k").ok(),
            Some(("bkt".into(), "k".into()))
        );
        assert!(address(&c, "127.0.0.1", "/").is_err());
    }
}
