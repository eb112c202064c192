//! The side-car of an authenticated object: any bytes either decode to a header that encodes
//! back to exactly its 192 bytes, or are refused with a typed error; the tag list of a decoded
//! header is read without a panic, and a tag checked against a digest of its own bytes
//! verifies only when equal.
#![no_main]

use cse_core::auth::{SIDECAR_HEADER_LEN, SidecarHeader, Tag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = SidecarHeader::decode(data) else {
        return;
    };
    assert_eq!(&header.encode()[..], &data[..SIDECAR_HEADER_LEN]);
    if let Ok(tags) = header.tags(data) {
        assert_eq!(tags.len() as u64, header.chunks());
        for tag in tags {
            assert!(tag.verify(&tag));
            let mut other = tag;
            other.0[0] ^= 1;
            assert!(!Tag(other.0).verify(&tag));
        }
    } else {
        assert_ne!(data.len() as u64, header.sidecar_len());
    }
});
