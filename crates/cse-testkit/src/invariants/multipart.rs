//! Multipart uploads: parts sealed in any order, and any sequence of operations on part sealers.

use std::collections::{BTreeSet, HashMap};

use cse_core::{
    Envelope, Error, MAX_PARTS, MultipartContext, PartDigest, PartSealer, StreamError,
    WRAP_ALG_KMS, WRAP_ALG_RSA,
};

use crate::keystream::{material, reference_keystream, reference_seal, seal_all, sealed};

/// Multipart parts sealed in any order equal one stream: an upload of `plain` in parts of
/// `part_size` bytes, its parts sealed in `order` (a permutation of `1..=parts`), assembles to
/// the whole plaintext sealed as one stream (the reference keystream), and every part sealer
/// finishes at its part's length.
///
/// # Panics
/// When that does not hold, or `order` is not a permutation of the part numbers.
pub fn parts_in_any_order(
    key: [u8; 32],
    counter: [u8; 16],
    plain: &[u8],
    part_size: u64,
    order: &[u32],
) {
    let len = plain.len();
    let env = Envelope::from_wrapped(WRAP_ALG_KMS, "", b"k", b"s").expect("a valid envelope");
    let upload = MultipartContext::new(sealed(material(key, counter), &env), part_size, len as u64)
        .expect("valid sizes");
    let mut sorted = order.to_vec();
    sorted.sort_unstable();
    assert!(
        sorted.iter().copied().eq(1..=upload.part_count()),
        "{order:?} is not a permutation of the {} parts",
        upload.part_count()
    );
    let mut assembled = vec![0u8; len];
    for &part in order {
        let mut sealer = upload.part_sealer(part).expect("a fresh part");
        let start = index(u64::from(part - 1) * part_size);
        let end = start + index(sealer.len());
        sealer
            .update(&plain[start..end], &mut assembled[start..end])
            .expect("exactly the part");
        assert_eq!(sealer.finish(), Ok((end - start) as u64));
    }
    assert_eq!(
        assembled,
        seal_all(&material(key, counter), plain),
        "the parts assemble to the engine's single stream"
    );
    assert_eq!(
        assembled,
        reference_seal(&key, &counter, plain),
        "the parts assemble to the reference keystream"
    );
}

/// The sizes of an upload.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Sizes {
    /// Part size `16 * (1 + blocks % 8)`, data size `1 + data % 2048`: uploads that finish.
    Small {
        /// The part size in blocks, less one, modulo 8.
        blocks: u8,
        /// The data size less one, modulo 2048.
        data: u16,
    },
    /// Anything, to exercise the size checks.
    Raw {
        /// The part size.
        part_size: u64,
        /// The data size.
        data_size: u64,
    },
}

impl Sizes {
    /// `(part_size, data_size)`.
    #[must_use]
    pub fn get(self) -> (u64, u64) {
        match self {
            Self::Small { blocks, data } => {
                (16 * (1 + u64::from(blocks % 8)), 1 + u64::from(data % 2048))
            }
            Self::Raw {
                part_size,
                data_size,
            } => (part_size, data_size),
        }
    }
}

/// One operation on an upload. Numbers that pick a part or a sealer are taken modulo what exists
/// (part numbers modulo `parts + 2`, so 0 and `parts + 1` occur too).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// Ask for the sealer of a part.
    Open(u16),
    /// Feed one open sealer.
    Update {
        /// Which open sealer.
        sealer: u8,
        /// How many bytes, modulo 600.
        len: u16,
        /// Makes the bytes.
        seed: u8,
        /// Through `update_in_place` rather than `update`.
        in_place: bool,
        /// With `update`: an output buffer one byte short.
        short_output: bool,
    },
    /// Finish one open sealer.
    Finish(u8),
    /// Drop one open sealer unfinished.
    Drop(u8),
    /// Seal part `part` again from its recorded plaintext, or from a changed one.
    Reseal {
        /// The part number.
        part: u16,
        /// Flip a bit of the plaintext at this index (modulo its length).
        change: Option<u16>,
        /// Drop the plaintext's last byte.
        short: bool,
    },
    /// A restarted process: a new context over the same material, with every part handed out so
    /// far marked as sealed.
    Resume,
    /// Mark one part as sealed directly.
    Mark(u16),
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

/// Any sequence of operations on a multipart upload matches a model of it, and no keystream byte
/// ever encrypts two different plaintext bytes. Part sealers are opened, fed, finished and
/// dropped in any interleaving; retries reseal a part from the same or a changed plaintext
/// against the digest recorded for it; resumes replace the context with a new one over the same
/// material (a restarted process unwrapping the same envelope) and mark as sealed every part
/// handed out before (as cse-oss records a part before it leaves).
/// - creating the upload fails exactly as the model says (`InvalidPartSize`,
///   `InvalidDataSize`), and otherwise has the model's part count and multipart envelope;
/// - every result equals the model's (`PartNumberOutOfRange`, `PartAlreadySealed`,
///   `BufferTooSmall`, `PartLength`, `PartChanged`), and a failed call changes no state;
/// - every ciphertext byte equals the plaintext XOR the reference keystream at the offset the
///   format assigns it, and every keystream offset is recorded with its plaintext byte: none
///   may ever encrypt two different bytes, across retries and resumes.
///
/// # Panics
/// When any of that does not hold.
#[allow(clippy::too_many_lines)]
pub fn operations(key: [u8; 32], counter: [u8; 16], sizes: Sizes, ops: &[Op]) {
    let (part_size, data_size) = sizes.get();
    let envelope = Envelope::from_wrapped(WRAP_ALG_RSA, "", b"k", b"s").expect("valid envelope");
    let created = MultipartContext::new(
        sealed(material(key, counter), &envelope),
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
    let envelope_sizes = ctx.envelope().multipart().expect("a multipart envelope");
    assert_eq!(
        (envelope_sizes.part_size, envelope_sizes.data_size),
        (part_size, Some(data_size))
    );

    let part_len = |part: u32| (data_size - u64::from(part - 1) * part_size).min(part_size);
    let mut handed_out = BTreeSet::new();
    let mut open: Vec<Open> = Vec::new();
    // Keystream offset -> the plaintext byte it encrypted.
    let mut used: HashMap<u64, u8> = HashMap::new();
    let mut recorded: HashMap<u32, Recorded> = HashMap::new();
    let record_use = |used: &mut HashMap<u64, u8>, offset: u64, plain: &[u8], cipher: &[u8]| {
        let ks = reference_keystream(&key, &counter, offset, plain.len());
        for (j, ((&c, &p), &k)) in cipher.iter().zip(plain).zip(&ks).enumerate() {
            let at = offset + j as u64;
            assert_eq!(c ^ p, k, "byte at {at} used the wrong keystream");
            let previous = *used.entry(at).or_insert(p);
            assert_eq!(
                previous, p,
                "keystream offset {at} encrypted two different bytes"
            );
        }
    };

    for &op in ops {
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
                    .map(|j| seed.wrapping_mul(31).wrapping_add(j.to_le_bytes()[0]))
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
                        vec![0x5a; index(len)],
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
                ctx = MultipartContext::new(
                    sealed(material(key, counter), &envelope),
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
}

/// A part offset or length of an upload held in memory as an index.
fn index(n: u64) -> usize {
    usize::try_from(n).expect("an upload held in memory")
}
