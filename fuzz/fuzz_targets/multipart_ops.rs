//! Arbitrary operations on a multipart upload: part sealers opened, fed, finished and dropped in
//! any interleaving; retries that reseal a part from the same or a changed plaintext against the
//! digest recorded for it; and resumes, which replace the context with a new one over the same
//! material (a restarted process unwrapping the same envelope) and mark as sealed every part the
//! checkpoint knows (every part handed out before, as cse-oss records a part before it leaves).
//! Every ciphertext byte is checked against the reference keystream at the offset the format
//! assigns it, and every keystream offset is recorded with the plaintext byte it encrypted: no
//! offset may ever encrypt two different plaintext bytes, across retries and resumes.
#![no_main]

use std::collections::{BTreeSet, HashMap};

use arbitrary::Arbitrary;
use cse_core::{
    Envelope, Error, MAX_PARTS, MultipartContext, PartDigest, PartSealer, StreamError, WRAP_ALG_RSA,
};
use cse_fuzz::{sealed, material, reference_keystream};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Sizes {
    /// Part size `16 * (1 + blocks % 8)`, data size `1 + data % 2048`: uploads that finish.
    Small { blocks: u8, data: u16 },
    /// Anything, to exercise the size checks.
    Raw { part_size: u64, data_size: u64 },
}

#[derive(Arbitrary, Debug)]
enum Op {
    Open(u16),
    Update {
        sealer: u8,
        len: u16,
        seed: u8,
        in_place: bool,
        short_output: bool,
    },
    Finish(u8),
    Drop(u8),
    /// Seal part `part` again from its recorded plaintext, or from a changed one.
    Reseal {
        part: u16,
        change: Option<u16>,
        short: bool,
    },
    /// A restarted process: a new context over the same material, with every part handed out so
    /// far marked as sealed.
    Resume,
    /// Mark one part as sealed directly.
    Mark(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 32],
    counter: [u8; 16],
    sizes: Sizes,
    ops: Vec<Op>,
}

struct Open {
    sealer: PartSealer,
    part: u32,
    len: u64,
    done: u64,
    plain: Vec<u8>,
    cipher: Vec<u8>,
}

/// What a checkpoint records of a part sealed whole: its plaintext (the source the test can
/// read again) and its ciphertext, whose digest is what the record holds.
struct Recorded {
    plain: Vec<u8>,
    cipher: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let (part_size, data_size) = match input.sizes {
        Sizes::Small { blocks, data } => {
            (16 * (1 + u64::from(blocks % 8)), 1 + u64::from(data % 2048))
        }
        Sizes::Raw {
            part_size,
            data_size,
        } => (part_size, data_size),
    };
    let envelope = Envelope::from_wrapped(WRAP_ALG_RSA, "", b"k", b"s").expect("valid envelope");
    let created = MultipartContext::new(sealed(material(input.key, input.counter), &envelope.clone()),
        part_size,
        data_size,
    );
    let mut ctx = match created {
        Ok(ctx) => ctx,
        Err(e) => {
            let expected = if part_size == 0 || part_size % 16 != 0 {
                Error::InvalidPartSize
            } else {
                Error::InvalidDataSize
            };
            assert_eq!(e, expected);
            if e == Error::InvalidDataSize {
                assert!(data_size == 0 || data_size.div_ceil(part_size) > u64::from(MAX_PARTS));
            }
            return;
        }
    };
    let parts = data_size.div_ceil(part_size);
    assert!((1..=u64::from(MAX_PARTS)).contains(&parts));
    assert_eq!(u64::from(ctx.part_count()), parts);
    let sizes = ctx.envelope().multipart().expect("a multipart envelope");
    assert_eq!(
        (sizes.part_size, sizes.data_size),
        (part_size, Some(data_size))
    );

    let part_len = |part: u32| (data_size - u64::from(part - 1) * part_size).min(part_size);
    let mut handed_out = BTreeSet::new();
    let mut open: Vec<Open> = Vec::new();
    // Keystream offset -> the plaintext byte it encrypted.
    let mut used: HashMap<u64, u8> = HashMap::new();
    let mut recorded: HashMap<u32, Recorded> = HashMap::new();
    let record_use = |used: &mut HashMap<u64, u8>, offset: u64, plain: &[u8], cipher: &[u8]| {
        let ks = reference_keystream(&input.key, &input.counter, offset, plain.len());
        for (j, ((&c, &p), &k)) in cipher.iter().zip(plain).zip(&ks).enumerate() {
            assert_eq!(
                c ^ p,
                k,
                "byte at {} used the wrong keystream",
                offset + j as u64
            );
            let at = offset + j as u64;
            let previous = *used.entry(at).or_insert(p);
            assert_eq!(
                previous, p,
                "keystream offset {at} encrypted two different bytes"
            );
        }
    };

    for op in input.ops {
        match op {
            Op::Open(n) => {
                // Mostly valid part numbers, sometimes just outside.
                let part = u32::from(n) % (ctx.part_count() + 2);
                let result = ctx.part_sealer(part);
                if part == 0 || part > ctx.part_count() {
                    assert_eq!(
                        result.err(),
                        Some(Error::PartNumberOutOfRange {
                            part,
                            parts: ctx.part_count()
                        })
                    );
                } else if !handed_out.insert(part) {
                    assert_eq!(result.err(), Some(Error::PartAlreadySealed { part }));
                } else {
                    let sealer = result.expect("a fresh part number");
                    let len = part_len(part);
                    assert_eq!(
                        (sealer.part(), sealer.len(), sealer.remaining()),
                        (part, len, len)
                    );
                    open.push(Open {
                        sealer,
                        part,
                        len,
                        done: 0,
                        plain: Vec::new(),
                        cipher: Vec::new(),
                    });
                }
            }
            Op::Update {
                sealer,
                len,
                seed,
                in_place,
                short_output,
            } => {
                if open.is_empty() {
                    continue;
                }
                let i = usize::from(sealer) % open.len();
                let o = &mut open[i];
                let n = usize::from(len % 600);
                let plain: Vec<u8> = (0..n)
                    .map(|j| seed.wrapping_mul(31).wrapping_add(j as u8))
                    .collect();
                let mut buf = plain.clone();
                let too_long = o.done + n as u64 > o.len;
                let result = if in_place {
                    o.sealer.update_in_place(&mut buf).map(|r| r.len())
                } else {
                    let mut out = vec![0u8; if short_output && n > 0 { n - 1 } else { n }];
                    let r = o.sealer.update(&plain, &mut out);
                    buf = out;
                    r
                };
                if !in_place && short_output && n > 0 {
                    assert_eq!(result, Err(StreamError::BufferTooSmall { required: n }));
                } else if too_long {
                    assert_eq!(
                        result,
                        Err(StreamError::PartLength {
                            part: o.part,
                            expected: o.len,
                            actual: o.done + n as u64
                        })
                    );
                } else {
                    assert_eq!(result, Ok(n));
                    let offset = u64::from(o.part - 1) * part_size + o.done;
                    record_use(&mut used, offset, &plain, &buf);
                    o.plain.extend_from_slice(&plain);
                    o.cipher.extend_from_slice(&buf);
                    o.done += n as u64;
                }
                assert_eq!(
                    o.sealer.remaining(),
                    o.len - o.done,
                    "state unchanged on error"
                );
            }
            Op::Finish(i) => {
                if open.is_empty() {
                    continue;
                }
                let o = open.swap_remove(usize::from(i) % open.len());
                let expected = if o.done == o.len {
                    Ok(o.len)
                } else {
                    Err(StreamError::PartLength {
                        part: o.part,
                        expected: o.len,
                        actual: o.done,
                    })
                };
                let ok = expected.is_ok();
                assert_eq!(o.sealer.finish(), expected);
                if ok {
                    recorded.insert(
                        o.part,
                        Recorded {
                            plain: o.plain,
                            cipher: o.cipher,
                        },
                    );
                }
            }
            Op::Reseal {
                part,
                change,
                short,
            } => {
                let part = u32::from(part) % (ctx.part_count() + 2);
                let in_range = (1..=ctx.part_count()).contains(&part);
                let len = if in_range { part_len(part) } else { 1 };
                // A reseal takes the whole part in memory; Raw sizes can name parts of any size.
                if len > 1 << 16 {
                    continue;
                }
                // The recorded source, or (for a part never sealed whole) some other bytes
                // against a digest nobody recorded.
                let (mut plain, digest, cipher) = match recorded.get(&part) {
                    Some(r) => (
                        r.plain.clone(),
                        PartDigest::of(&r.cipher),
                        Some(r.cipher.clone()),
                    ),
                    None => (
                        vec![0x5a; len as usize],
                        PartDigest::from_bytes([0xa5; 32]),
                        None,
                    ),
                };
                if let Some(at) = change
                    && !plain.is_empty()
                {
                    let i = usize::from(at) % plain.len();
                    plain[i] ^= 0x01;
                }
                if short {
                    plain.pop();
                }
                let mut buf = plain.clone();
                let result = ctx.reseal_part(part, &mut buf, &digest);
                if !in_range {
                    assert_eq!(
                        result,
                        Err(Error::PartNumberOutOfRange {
                            part,
                            parts: ctx.part_count()
                        })
                    );
                } else if plain.len() as u64 != len {
                    assert_eq!(
                        result,
                        Err(Error::PartLength {
                            part,
                            expected: len,
                            actual: plain.len() as u64
                        })
                    );
                    assert_eq!(buf, plain, "a refused length changed the buffer");
                } else if cipher.is_some() && change.is_none() {
                    assert_eq!(result, Ok(()));
                    assert_eq!(Some(&buf), cipher.as_ref(), "a reseal produced other bytes");
                    record_use(&mut used, u64::from(part - 1) * part_size, &plain, &buf);
                    handed_out.insert(part);
                    assert!(ctx.is_sealed(part));
                } else {
                    // A changed source (or a digest nobody recorded): nothing is released.
                    assert_eq!(result, Err(Error::PartChanged { part }));
                    assert!(
                        buf.iter().all(|&b| b == 0),
                        "a refused reseal left bytes behind"
                    );
                }
            }
            Op::Resume => {
                ctx = MultipartContext::new(sealed(material(input.key, input.counter), &envelope.clone()),
                    part_size,
                    data_size,
                )
                .expect("the sizes were accepted before");
                for &part in &handed_out {
                    ctx.mark_sealed(part).expect("a fresh context");
                }
            }
            Op::Mark(n) => {
                let part = u32::from(n) % (ctx.part_count() + 2);
                let before = ctx.is_sealed(part);
                assert_eq!(before, handed_out.contains(&part));
                let result = ctx.mark_sealed(part);
                if part == 0 || part > ctx.part_count() {
                    assert!(matches!(result, Err(Error::PartNumberOutOfRange { .. })));
                } else if before {
                    assert_eq!(result, Err(Error::PartAlreadySealed { part }));
                } else {
                    assert_eq!(result, Ok(()));
                    handed_out.insert(part);
                }
            }
            Op::Drop(i) => {
                if !open.is_empty() {
                    open.swap_remove(usize::from(i) % open.len());
                }
            }
        }
    }
});
