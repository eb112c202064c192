//! The side-car of an authenticated object and the `cse-auth-*` headers:
//! - any bytes either decode to a side-car header that encodes back to exactly its 192 bytes,
//!   or are refused with a typed error; the tag list of a decoded header is read without a
//!   panic, and the whole check (`check_sidecar`) of any bytes returns, never panics;
//! - any header lines (`name:value`) decode to parameters that encode and decode back to
//!   themselves, or to a typed error.
#![no_main]

use cse_core::auth::{
    AuthKeys, AuthParams, Binding, Commitment, EnvelopeDigest, SIDECAR_HEADER_LEN, SidecarHeader,
};
use cse_core::{ContentKey, ContentMaterial, CounterBlock, DEFAULT_PREFIX, decode_auth_params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = SidecarHeader::decode(data) {
        assert_eq!(&header.encode()[..], &data[..SIDECAR_HEADER_LEN]);
        match header.tags(data) {
            Ok(tags) => assert_eq!(tags.len() as u64, header.chunks()),
            Err(_) => assert_ne!(data.len() as u64, header.sidecar_len()),
        }
    }
    let keys = AuthKeys::derive(&ContentMaterial::new(
        ContentKey::from_bytes([1; 32]),
        CounterBlock::from_bytes([2; 16]),
    ));
    for binding in [Binding::None, Binding::BucketKey] {
        let params = AuthParams {
            chunk_size: 1 << 16,
            commitment: Commitment([3; 32]),
            binding,
        };
        let len = data.len() as u64;
        let name: Option<(&[u8], &[u8])> = Some((b"b", b"k"));
        let _ = keys.check_sidecar(&EnvelopeDigest([4; 32]), &params, len, name, data);
    }

    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let refs = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    if let Ok(Some(params)) = decode_auth_params(refs, DEFAULT_PREFIX) {
        let mut again = Vec::new();
        params
            .encode_headers(DEFAULT_PREFIX, |n, v| {
                again.push((n.to_owned(), v.to_owned()))
            })
            .unwrap();
        let refs = again.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        assert_eq!(decode_auth_params(refs, DEFAULT_PREFIX), Ok(Some(params)));
    }
});
