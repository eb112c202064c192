//! Shared set-up: a test server on loopback and clients for it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use std::time::Duration;

use cse_core::RsaMasterCipher;
use cse_oss::{Credentials, EncryptionClient, OssClient, RetryPolicy};
use cse_oss_test_server::{TestServer, TestServerConfig};

pub const AK: &str = "test-ak";
pub const SK: &str = "test-sk/secret+=";
pub const BUCKET: &str = "cse-bucket";
pub const PEM: &str = cse_testkit::keys::RSA2048_PEM;

pub async fn server() -> TestServer {
    TestServer::start(
        "127.0.0.1:0".parse().unwrap(),
        TestServerConfig::new(AK, SK),
    )
    .await
    .unwrap()
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

pub fn plain(server: &TestServer) -> OssClient {
    OssClient::builder(server.endpoint())
        .credentials(Credentials::new(AK, SK))
        .retry(fast_retry())
        .build()
        .unwrap()
}

pub fn master() -> Box<RsaMasterCipher> {
    Box::new(RsaMasterCipher::from_pem(PEM).unwrap())
}

pub fn client(server: &TestServer) -> EncryptionClient {
    EncryptionClient::new(plain(server), master())
}

/// The smallest part the test server, like OSS, accepts anywhere but last in a multipart
/// upload: 100 KiB, which is also a multiple of the 16-byte block that encrypted parts need.
pub const PART: usize = cse_oss_test_server::MIN_PART_SIZE as usize;

/// `i % 251`: no period that divides a block or part size.
pub fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A few random bytes from the OS, for shuffling.
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

pub fn shuffle<T>(v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = (random_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}
