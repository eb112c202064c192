//! Inputs found by the fuzz targets in `fuzz/` that once failed, kept as plain tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cse_core::{
    ByteRange, ContentKey, ContentMaterial, ContentRange, CounterBlock, MultipartContext,
    RangeResponse, SealedEnvelope, StreamError, WRAP_ALG_RSA, plan_range,
};

fn material() -> ContentMaterial {
    ContentMaterial::new(
        ContentKey::from_bytes([0x41; 32]),
        CounterBlock::from_bytes([0x41; 16]),
    )
}

/// `multipart_ops`: a part that ends near 2^64 was refused with `StreamTooLong` (the offset sum
/// overflowed) instead of the documented `PartLength`.
#[test]
fn too_long_part_near_2_pow_64_is_part_length() {
    let sealed = SealedEnvelope::from_wrapped(material(), WRAP_ALG_RSA, "", b"k", b"s").unwrap();
    let part_size = u64::MAX - 255; // 2^64 - 256, a multiple of 16
    let data_size = u64::MAX - 204;
    let upload = MultipartContext::new(sealed, part_size, data_size).unwrap();
    assert_eq!(upload.part_len(2), Ok(51));
    let want = StreamError::PartLength {
        part: 2,
        expected: 51,
        actual: 505,
    };

    let mut sealer = upload.part_sealer(2).unwrap();
    let mut buf = [0u8; 505];
    assert_eq!(sealer.update_in_place(&mut buf), Err(want));
    let mut out = [0u8; 505];
    assert_eq!(sealer.update(&buf, &mut out), Err(want));
    // The refused calls changed nothing: the part still takes exactly its 51 bytes.
    assert_eq!(sealer.remaining(), 51);
    sealer.update_in_place(&mut buf[..51]).unwrap();
    sealer.finish().unwrap();
}

/// The same overflow on the read side: a body whose Content-Range ends near 2^64, given more
/// bytes than it declared, is `Extended`, not `StreamTooLong`.
#[test]
fn too_long_body_near_2_pow_64_is_extended() {
    let total = u64::MAX;
    let plan = plan_range(ByteRange::From { first: total - 20 }, None).unwrap();
    let response = RangeResponse::Partial(ContentRange {
        first: total - 32,
        last: total - 2,
        total: total - 1,
    });
    // The response's object is one byte shorter than `total`: `From` resolves against it.
    let body = plan.on_response(response).unwrap();
    assert_eq!(body.body_len(), 31);
    let mut opener = body.opener(&material());
    let mut out = [0u8; 64];
    assert_eq!(
        opener.update(&[0u8; 64], &mut out),
        Err(StreamError::Extended { expected: 31 })
    );
    let mut buf = [0u8; 64];
    assert_eq!(
        opener.update_in_place(&mut buf),
        Err(StreamError::Extended { expected: 31 })
    );
    // Nothing was consumed by the refused calls.
    assert_eq!(
        opener.finish(),
        Err(StreamError::Truncated {
            expected: 31,
            actual: 0
        })
    );
}
