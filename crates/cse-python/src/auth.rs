//! Authenticated objects in the file helpers (`docs/authenticated-objects.md`): the side-car a
//! writer makes as the ciphertext passes, and a reader's checks before plaintext leaves. Every
//! rule is `cse_core::auth`'s; this module reads the side-car file and applies the policy.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use cse_core::auth::{
    AuthError, AuthParams, ChunkCipher, ChunkOpener, ChunkPlan, Expected, Policy,
    SIDECAR_HEADER_LEN, SidecarHeader, SidecarProblem, check_chunk_size,
};
use cse_core::{ByteRange, ContentMaterial, DEFAULT_PREFIX, Envelope};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::{IntoPy as _, auth_to_py};

/// The object's authentication parameters from its metadata, if it announces any.
pub fn params(headers: &[(String, String)]) -> PyResult<Option<AuthParams>> {
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    cse_core::decode_auth_params(pairs, DEFAULT_PREFIX).py_err()
}

/// The chunk size asked for, or the default.
pub fn chunk_size(given: Option<u64>) -> PyResult<u32> {
    check_chunk_size(given.unwrap_or(u64::from(cse_core::auth::DEFAULT_CHUNK_SIZE)))
        .map_err(|e| PyValueError::new_err(format!("auth_chunk_size: {e}")))
}

/// The trusted writers' public keys: 32 raw bytes each.
pub fn trusted(keys: Vec<Vec<u8>>) -> PyResult<Vec<[u8; 32]>> {
    keys.into_iter()
        .map(|k| {
            <[u8; 32]>::try_from(k.as_slice()).map_err(|_| {
                PyValueError::new_err(format!(
                    "trusted: a writer's Ed25519 public key is 32 bytes, not {}",
                    k.len()
                ))
            })
        })
        .collect()
}

/// What the policy decides for a read: `Ok(true)` to verify with the side-car at `sidecar`.
pub fn decide(
    announced: bool,
    current: bool,
    sidecar: Option<&Path>,
    policy: Policy,
    trusted: bool,
) -> PyResult<bool> {
    let refuse = |what: &str| Err(auth_to_py_text(what));
    match (announced, sidecar) {
        (true, _) if !current => refuse(
            "the metadata has cse-auth-* entries but no current-format envelope to authenticate",
        ),
        (true, None) => Err(auth_to_py(AuthError::SidecarMissing)),
        (true, Some(_)) => Ok(true),
        (false, Some(_)) => refuse(
            "a side-car was given, but the metadata has no cse-auth-* entries: the object was \
             not authenticated, or its authentication metadata was removed",
        ),
        (false, None) if trusted => Err(auth_to_py(AuthError::NotAuthenticated)),
        (false, None) => policy.verifies(false).map_err(auth_to_py),
    }
}

fn auth_to_py_text(what: &str) -> PyErr {
    crate::error::AuthenticationError::new_err(format!("authentication failed: {what}"))
}

fn short() -> PyErr {
    auth_to_py(AuthError::Sidecar(SidecarProblem::TooShort))
}

/// Checks the commitment and the side-car of the object at `len` bytes, then returns the
/// opener of the read (`range`, or all of it) and where its body starts and ends in the file.
pub fn opener(
    envelope: &Envelope,
    params: &AuthParams,
    material: &ContentMaterial,
    len: u64,
    sidecar_path: &Path,
    range: Option<ByteRange>,
    trusted: &[[u8; 32]],
) -> PyResult<ChunkOpener> {
    let cipher = ChunkCipher::new(material, envelope, params, len).map_err(auth_to_py)?;
    let mut file = File::open(sidecar_path).map_err(|e| {
        auth_to_py_text(&format!(
            "side-car missing: {}: {e}; the object's metadata announces one",
            sidecar_path.display()
        ))
    })?;
    let mut header_bytes = [0u8; SIDECAR_HEADER_LEN];
    file.read_exact(&mut header_bytes).map_err(|_| short())?;
    let (keys, digest) = (cipher.keys(), cipher.digest());
    let expected = Expected {
        envelope,
        params,
        len,
        name: None,
        trusted,
    };
    let header = keys
        .check_sidecar_header(&digest, &expected, &header_bytes)
        .map_err(auth_to_py)?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or_default();
    match file_len.cmp(&header.sidecar_len()) {
        std::cmp::Ordering::Less => return Err(short()),
        std::cmp::Ordering::Greater => {
            return Err(auth_to_py(AuthError::Sidecar(
                SidecarProblem::TrailingBytes,
            )));
        }
        std::cmp::Ordering::Equal => {}
    }
    let plan = match range {
        Some(range) => ChunkPlan::new(range, len, header.chunk_size),
        None => ChunkPlan::whole(len, header.chunk_size),
    }
    .map_err(auth_to_py)?;
    // A whole read checks the final tag over every tag first, and so does a read with trusted
    // writers (the signature covers the final tag); a ranged one reads only its chunks' tags.
    let all = range.is_none() || !trusted.is_empty();
    let (span, first) = if all {
        (SidecarHeader::tag_offset(0)..header.sidecar_len(), 0)
    } else {
        (plan.tags.clone(), plan.chunks.start)
    };
    file.seek(SeekFrom::Start(span.start))
        .map_err(|_| short())?;
    let mut tags = vec![0u8; usize::try_from(span.end - span.start).map_err(|_| short())?];
    file.read_exact(&mut tags).map_err(|_| short())?;
    if all {
        let list = tags.chunks_exact(cse_core::auth::TAG_LEN).map(|t| {
            let mut tag = [0u8; cse_core::auth::TAG_LEN];
            tag.copy_from_slice(t);
            cse_core::auth::Tag(tag)
        });
        keys.check_tags(&digest, &header, list)
            .map_err(auth_to_py)?;
    }
    ChunkOpener::new(cipher, header, tags, first, plan).map_err(auth_to_py)
}
