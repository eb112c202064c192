//! What each export does, in safe code over the handle table. Every function returns the
//! failure as a [`Failure`], which the export turns into `0` / `-1` and the error message.

use std::sync::Arc;

use cse_core::rand_core::CryptoRng;
use cse_core::{
    ByteRange, ContentMaterial, DEFAULT_PREFIX, DecodeOptions, Error, MasterCipher,
    RANGE_BEHAVIOR_HEADER, RangeResponse, RsaMasterCipher, decode_envelope, plan_range,
};

use crate::host;
use crate::table::{Item, State};

/// Why a call failed: the message `cse_error_text` returns. It is an engine error's text or
/// names an argument; it never holds key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self(e.to_string())
    }
}

pub(crate) type Result<T> = core::result::Result<T, Failure>;

fn bad(what: &str) -> Failure {
    Failure(what.to_owned())
}

/// The largest length a JavaScript number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0; // 2^53

/// A length argument: a whole number in 0..=2^53, or `None` for -1.
pub(crate) fn length(value: f64, name: &str) -> Result<Option<u64>> {
    if value == -1.0 {
        return Ok(None);
    }
    if !(0.0..=MAX_SAFE).contains(&value) || value.fract() != 0.0 {
        return Err(Failure(format!(
            "{name}: {value} is not a length (a whole number from 0 to 2^53, or -1 for none)"
        )));
    }
    // In range and whole: exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(Some(value as u64))
}

/// A length result as a JavaScript number (exact up to 2^53; larger lengths do not exist in
/// OSS, whose objects stop at 48.8 TiB).
#[allow(clippy::cast_precision_loss)]
pub(crate) const fn number(value: u64) -> f64 {
    value as f64
}

fn buffer<'a>(state: &'a State, handle: u32, name: &str) -> Result<&'a [u8]> {
    match state.table.get(handle) {
        Some(Item::Buffer(b)) => Ok(b),
        Some(other) => Err(Failure(format!(
            "{name}: handle {handle} is {}, not a buffer",
            other.kind()
        ))),
        None => Err(Failure(format!("{name}: {handle} is not a live handle"))),
    }
}

fn text<'a>(state: &'a State, handle: u32, name: &str) -> Result<&'a str> {
    core::str::from_utf8(buffer(state, handle, name)?)
        .map_err(|_| Failure(format!("{name}: the buffer is not UTF-8 text")))
}

macro_rules! item {
    ($state:expr, $handle:expr, $variant:ident, $name:expr, $what:expr) => {
        match $state.table.get($handle) {
            Some(Item::$variant(x)) => Ok(x),
            Some(other) => Err(Failure(format!(
                "{}: handle {} is {}, not {}",
                $name,
                $handle,
                other.kind(),
                $what
            ))),
            None => Err(Failure(format!(
                "{}: {} is not a live handle",
                $name, $handle
            ))),
        }
    };
}

fn insert(state: &mut State, item: Item) -> Result<u32> {
    state
        .table
        .insert(item)
        .ok_or_else(|| bad("the instance has used all its handles"))
}

pub(crate) fn buffer_new(state: &mut State, len: u32) -> Result<u32> {
    let len = usize::try_from(len).map_err(|_| bad("len: too large"))?;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(len)
        .map_err(|_| Failure(format!("len: cannot allocate {len} bytes")))?;
    bytes.resize(len, 0);
    insert(state, Item::Buffer(bytes))
}

pub(crate) fn buffer_ptr(state: &mut State, handle: u32) -> Result<*mut u8> {
    match state.table.get_mut(handle) {
        Some(Item::Buffer(b)) => Ok(b.as_mut_ptr()),
        _ => Err(Failure(format!("buffer: {handle} is not a live buffer"))),
    }
}

pub(crate) fn buffer_len(state: &State, handle: u32) -> Result<u32> {
    u32::try_from(buffer(state, handle, "buffer")?.len()).map_err(|_| bad("buffer: too long"))
}

pub(crate) fn free(state: &mut State, handle: u32) -> Result<()> {
    state
        .table
        .remove(handle)
        .map(drop)
        .ok_or_else(|| Failure(format!("handle: {handle} is not a live handle")))
}

pub(crate) fn key_rsa_pem(state: &mut State, pem: u32) -> Result<u32> {
    let key = RsaMasterCipher::from_pem(text(state, pem, "pem")?)?;
    insert(state, Item::Key(Arc::new(key)))
}

pub(crate) fn key_rsa_der(state: &mut State, der: u32) -> Result<u32> {
    let key = RsaMasterCipher::from_der(buffer(state, der, "der")?)?;
    insert(state, Item::Key(Arc::new(key)))
}

/// A master key whose unwrap is the host's `unwrap` import, called with `ctx`.
struct CallbackKey {
    ctx: u32,
    wrap_alg: String,
    matdesc: String,
}

impl MasterCipher for CallbackKey {
    fn wrap_alg(&self) -> &str {
        &self.wrap_alg
    }

    fn matdesc(&self) -> &str {
        &self.matdesc
    }

    fn wrap(
        &self,
        _plaintext: &[u8],
        _out: &mut [u8],
        _rng: &mut dyn CryptoRng,
    ) -> cse_core::Result<usize> {
        // This module only opens objects.
        Err(Error::Wrap)
    }

    fn unwrap(
        &self,
        wrapped: &[u8],
        out: &mut [u8],
        _rng: &mut dyn CryptoRng,
    ) -> cse_core::Result<()> {
        if host::unwrap(self.ctx, wrapped, out) {
            Ok(())
        } else {
            out.fill(0);
            Err(Error::Unwrap)
        }
    }
}

pub(crate) fn key_callback(
    state: &mut State,
    ctx: u32,
    wrap_alg: u32,
    matdesc: u32,
) -> Result<u32> {
    let wrap_alg = text(state, wrap_alg, "wrap_alg")?.to_owned();
    if wrap_alg.is_empty() {
        return Err(bad(
            "wrap_alg: empty; give the wrap-alg value the key's objects carry",
        ));
    }
    let matdesc = if matdesc == 0 {
        String::new()
    } else {
        text(state, matdesc, "matdesc")?.to_owned()
    };
    let key = CallbackKey {
        ctx,
        wrap_alg,
        matdesc,
    };
    insert(state, Item::Key(Arc::new(key)))
}

/// Splits `name: value` lines (CRLF or LF; blank lines skipped), as `Headers` prints them.
fn header_lines(text: &str) -> Result<Vec<(&str, &str)>> {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| {
            Failure(format!(
                "headers: line {} has no ':' between name and value",
                n + 1
            ))
        })?;
        pairs.push((name.trim(), value.trim()));
    }
    Ok(pairs)
}

pub(crate) fn envelope_decode(state: &mut State, headers: u32) -> Result<u32> {
    let text = text(state, headers, "headers")?;
    let pairs = header_lines(text)?;
    let envelope = decode_envelope(pairs.iter().copied(), &DecodeOptions::strict())?
        .ok_or(Error::NotEncrypted)?;
    insert(state, Item::Envelope(Box::new(envelope)))
}

pub(crate) fn envelope_open(state: &mut State, envelope: u32, key: u32) -> Result<u32> {
    let env = item!(state, envelope, Envelope, "envelope", "an envelope")?;
    let key = Arc::clone(item!(state, key, Key, "key", "a key")?);
    let material = host::with_random(|rng| env.open(&*key, rng))?;
    insert(state, Item::Material(material))
}

pub(crate) fn envelope_wrap_alg(state: &State, envelope: u32) -> Result<String> {
    let env = item!(state, envelope, Envelope, "envelope", "an envelope")?;
    Ok(env.wrap_alg().to_owned())
}

pub(crate) fn envelope_declared_len(state: &State, envelope: u32) -> Result<f64> {
    let env = item!(state, envelope, Envelope, "envelope", "an envelope")?;
    Ok(env.declared_len().map_or(-1.0, number))
}

pub(crate) fn envelope_check_stored_len(state: &State, envelope: u32, len: f64) -> Result<()> {
    let env = item!(state, envelope, Envelope, "envelope", "an envelope")?;
    let len = length(len, "len")?.ok_or_else(|| bad("len: give the stored length"))?;
    env.check_stored_len(len)?;
    Ok(())
}

fn material(state: &State, handle: u32) -> Result<&ContentMaterial> {
    item!(state, handle, Material, "material", "content material")
}

pub(crate) fn opener_whole(state: &mut State, envelope: u32, mat: u32) -> Result<u32> {
    let env = item!(state, envelope, Envelope, "envelope", "an envelope")?;
    let opener = env.whole_opener(material(state, mat)?);
    insert(state, Item::Opener(Box::new(opener)))
}

pub(crate) fn range_plan(state: &mut State, range: u32, object_len: f64) -> Result<u32> {
    let requested = ByteRange::parse(text(state, range, "range")?)?;
    let plan = plan_range(requested, length(object_len, "object_len")?)?;
    insert(state, Item::Plan(plan))
}

pub(crate) fn range_plan_wire_range(state: &mut State, plan: u32) -> Result<String> {
    let plan = item!(state, plan, Plan, "plan", "a range plan")?;
    Ok(plan.wire_range().to_string())
}

pub(crate) fn range_plan_range_behavior(state: &mut State, plan: u32) -> Result<String> {
    let plan = item!(state, plan, Plan, "plan", "a range plan")?;
    Ok(plan.range_behavior().to_owned())
}

pub(crate) fn range_behavior_header() -> String {
    RANGE_BEHAVIOR_HEADER.to_owned()
}

pub(crate) fn range_plan_on_response(
    state: &mut State,
    plan: u32,
    status: u32,
    content_range: u32,
    content_length: f64,
) -> Result<u32> {
    let content_range = if content_range == 0 {
        None
    } else {
        Some(text(state, content_range, "content_range")?)
    };
    let status = u16::try_from(status).map_err(|_| bad("status: not an HTTP status"))?;
    let response = RangeResponse::from_parts(
        status,
        content_range,
        length(content_length, "content_length")?,
    )?;
    let plan = item!(state, plan, Plan, "plan", "a range plan")?;
    let body = plan.on_response(response)?;
    insert(state, Item::Body(body))
}

pub(crate) fn range_plan_on_stored(state: &mut State, plan: u32, stored_len: f64) -> Result<u32> {
    let stored = length(stored_len, "stored_len")?.ok_or_else(|| bad("stored_len: give it"))?;
    let plan = item!(state, plan, Plan, "plan", "a range plan")?;
    let body = plan.on_stored(stored)?;
    insert(state, Item::Body(body))
}

pub(crate) fn body_content_range(state: &mut State, body: u32) -> Result<String> {
    let body = item!(state, body, Body, "body", "a body plan")?;
    Ok(body.content_range().to_string())
}

pub(crate) fn body_content_length(state: &State, body: u32) -> Result<f64> {
    let body = item!(state, body, Body, "body", "a body plan")?;
    Ok(number(body.keep_len()))
}

pub(crate) fn body_object_len(state: &State, body: u32) -> Result<f64> {
    let body = item!(state, body, Body, "body", "a body plan")?;
    Ok(number(body.content_range().total))
}

pub(crate) fn opener_ranged(state: &mut State, body: u32, mat: u32) -> Result<u32> {
    let plan = item!(state, body, Body, "body", "a body plan")?;
    let opener = plan.opener(material(state, mat)?);
    insert(state, Item::Opener(Box::new(opener)))
}

/// Opens `len` bytes of buffer `buf` from `offset` in place; returns where the plaintext to
/// deliver starts within them, and leaves its length in `state.delivered`.
pub(crate) fn opener_update(
    state: &mut State,
    opener: u32,
    buf: u32,
    offset: u32,
    len: u32,
) -> Result<u32> {
    if opener == buf {
        return Err(bad("opener and buf are the same handle"));
    }
    // Take the buffer out for the call, so the opener and it are borrowed apart.
    let mut bytes = match state.table.remove(buf) {
        Some(Item::Buffer(b)) => b,
        Some(other) => {
            let kind = other.kind();
            // Put it back where it was: a failed call changes nothing.
            state.table.put_back(buf, other);
            return Err(Failure(format!(
                "buf: handle {buf} is {kind}, not a buffer"
            )));
        }
        None => return Err(Failure(format!("buf: {buf} is not a live handle"))),
    };
    let result = (|| {
        let start = usize::try_from(offset).map_err(|_| bad("offset: too large"))?;
        let len = usize::try_from(len).map_err(|_| bad("len: too large"))?;
        let region = start
            .checked_add(len)
            .and_then(|end| bytes.get_mut(start..end))
            .ok_or_else(|| bad("offset, len: outside the buffer"))?;
        let opener = match state.table.get_mut(opener) {
            Some(Item::Opener(o)) => o,
            Some(other) => {
                return Err(Failure(format!(
                    "opener: handle {opener} is {}, not an opener",
                    other.kind()
                )));
            }
            None => return Err(Failure(format!("opener: {opener} is not a live handle"))),
        };
        let range = opener.update_in_place(region).map_err(Error::from)?;
        let at = u32::try_from(range.start).map_err(|_| bad("len: too large"))?;
        let delivered = u32::try_from(range.len()).map_err(|_| bad("len: too large"))?;
        Ok((at, delivered))
    })();
    state.table.put_back(buf, Item::Buffer(bytes));
    let (at, delivered) = result?;
    state.delivered = delivered;
    Ok(at)
}

/// Finishes the opener (and frees its handle): the check that the whole body, or the whole
/// range, arrived.
pub(crate) fn opener_finish(state: &mut State, opener: u32) -> Result<f64> {
    match state.table.remove(opener) {
        Some(Item::Opener(o)) => Ok(number((*o).finish().map_err(Error::from)?)),
        Some(other) => {
            let kind = other.kind();
            state.table.put_back(opener, other);
            Err(Failure(format!(
                "opener: handle {opener} is {kind}, not an opener"
            )))
        }
        None => Err(Failure(format!("opener: {opener} is not a live handle"))),
    }
}

/// The prefix every envelope header name starts with, for callers that filter headers.
pub(crate) fn envelope_header_prefix() -> String {
    DEFAULT_PREFIX.to_owned()
}

fn auth_failure(e: cse_core::auth::AuthError) -> Failure {
    Failure(format!("authentication failed: {e}"))
}

/// Whether the object whose response headers are `headers` (name: value lines) announces
/// authentication (`cse-auth-*`): then it must be read with [`auth_plan`], since the plain
/// openers do not verify it.
pub(crate) fn auth_announced(state: &State, headers: u32) -> Result<bool> {
    let pairs = header_lines(text(state, headers, "headers")?)?;
    Ok(cse_core::decode_auth_params(pairs.iter().copied(), DEFAULT_PREFIX)?.is_some())
}

/// Plans an authenticated read of the object whose response headers are `headers` (name: value
/// lines), `object_len` bytes long: whole (`range` 0) or the range text `range`; `trusted` is 0
/// or a buffer of 32-byte Ed25519 public keys of trusted writers.
pub(crate) fn auth_plan(
    state: &mut State,
    headers: u32,
    object_len: f64,
    range: u32,
    trusted: u32,
) -> Result<u32> {
    let pairs = header_lines(text(state, headers, "headers")?)?;
    let params = cse_core::decode_auth_params(pairs.iter().copied(), DEFAULT_PREFIX)?
        .ok_or_else(|| auth_failure(cse_core::auth::AuthError::NotAuthenticated))?;
    let len = length(object_len, "object_len")?.ok_or_else(|| bad("object_len: required"))?;
    let range = if range == 0 {
        None
    } else {
        Some(ByteRange::parse(text(state, range, "range")?)?)
    };
    let trusted = if trusted == 0 {
        Vec::new()
    } else {
        let keys = buffer(state, trusted, "trusted")?;
        if keys.is_empty() || keys.len() % 32 != 0 {
            return Err(bad(
                "trusted: a whole number of 32-byte Ed25519 public keys, at least one",
            ));
        }
        keys.chunks_exact(32)
            .map(|k| {
                let mut key = [0u8; 32];
                key.copy_from_slice(k);
                key
            })
            .collect()
    };
    let plan = match range {
        Some(range) => cse_core::auth::ChunkPlan::new(range, len, params.chunk_size),
        None => cse_core::auth::ChunkPlan::whole(len, params.chunk_size),
    }
    .map_err(auth_failure)?;
    let read = crate::table::AuthRead {
        params,
        len,
        trusted,
        whole: range.is_none(),
        plan,
    };
    insert(state, Item::AuthPlan(Box::new(read)))
}

/// The Range to ask of the side-car for its tags: all of them for a whole read or with
/// trusted writers, else those of the planned chunks. (Its first 208 bytes, the header, come
/// with `bytes=0-207`.)
pub(crate) fn auth_plan_tags_range(state: &State, plan: u32) -> Result<String> {
    let read = item!(state, plan, AuthPlan, "plan", "an authenticated read plan")?;
    let tags = tag_span(read);
    Ok(format!("bytes={}-{}", tags.start, tags.end - 1))
}

fn tag_span(read: &crate::table::AuthRead) -> core::ops::Range<u64> {
    if read.all_tags() {
        let n = cse_core::auth::chunk_count(read.len, read.params.chunk_size);
        cse_core::auth::SidecarHeader::tag_offset(0)..cse_core::auth::SidecarHeader::tag_offset(n)
    } else {
        read.plan.tags.clone()
    }
}

/// The Range to ask of the object: the planned chunks' bytes, or "" when the read needs none
/// (an empty object).
pub(crate) fn auth_plan_body_range(state: &State, plan: u32) -> Result<String> {
    let read = item!(state, plan, AuthPlan, "plan", "an authenticated read plan")?;
    let body = &read.plan.body;
    Ok(if body.is_empty() {
        String::new()
    } else {
        format!("bytes={}-{}", body.start, body.end - 1)
    })
}

/// The opener of a planned authenticated read: checks the key commitment of `material`, the
/// side-car `header` (its first 208 bytes) against `envelope`, and, for a whole read or with
/// trusted writers, the final tag over `tags` (the bytes of the side-car's tags range).
pub(crate) fn auth_opener(
    state: &mut State,
    plan: u32,
    envelope: u32,
    mat: u32,
    header: u32,
    tags: u32,
) -> Result<u32> {
    use cse_core::auth::{ChunkCipher, ChunkOpener, Expected, SIDECAR_HEADER_LEN, TAG_LEN, Tag};
    let read = item!(state, plan, AuthPlan, "plan", "an authenticated read plan")?;
    let env = item!(state, envelope, Envelope, "envelope", "an envelope")?;
    let cipher = ChunkCipher::new(material(state, mat)?, env, &read.params, read.len)
        .map_err(auth_failure)?;
    let header_bytes = buffer(state, header, "header")?;
    if header_bytes.len() != SIDECAR_HEADER_LEN {
        return Err(bad("header: the side-car's first 208 bytes"));
    }
    let expected = Expected {
        envelope: env,
        params: &read.params,
        len: read.len,
        name: None,
        trusted: &read.trusted,
    };
    let (keys, digest) = (cipher.keys(), cipher.digest());
    let sidecar = keys
        .check_sidecar_header(&digest, &expected, header_bytes)
        .map_err(auth_failure)?;
    let span = tag_span(read);
    let tag_bytes = buffer(state, tags, "tags")?;
    if tag_bytes.len() as u64 != span.end - span.start {
        return Err(auth_failure(cse_core::auth::AuthError::Sidecar(
            cse_core::auth::SidecarProblem::TooShort,
        )));
    }
    let first = if read.all_tags() {
        let list = tag_bytes.chunks_exact(TAG_LEN).map(|t| {
            let mut tag = [0u8; TAG_LEN];
            tag.copy_from_slice(t);
            Tag(tag)
        });
        keys.check_tags(&digest, &sidecar, list)
            .map_err(auth_failure)?;
        0
    } else {
        read.plan.chunks.start
    };
    let opener = ChunkOpener::new(
        cipher,
        sidecar,
        tag_bytes.to_vec(),
        first,
        read.plan.clone(),
    )
    .map_err(auth_failure)?;
    insert(state, Item::AuthOpener(Box::new(opener)))
}

/// Feeds `len` bytes of buffer `buf` from `offset` (the planned body, in any pieces): returns
/// how many it used (feed the rest again) and leaves the plaintext of a chunk that verified,
/// if one completed, at `cse_released_ptr` (`cse_released_len` bytes).
pub(crate) fn auth_update(
    state: &mut State,
    opener: u32,
    buf: u32,
    offset: u32,
    len: u32,
) -> Result<u32> {
    // The previous chunk's plaintext is wiped first, so a failed call leaves none behind.
    zeroize::Zeroize::zeroize(&mut *state.released);
    if opener == buf {
        return Err(bad("opener and buf are the same handle"));
    }
    // Take the buffer out for the call, so the opener and it are borrowed apart, and nothing
    // is copied: the opener takes what it needs of the bytes, at most one chunk a call.
    let bytes = match state.table.remove(buf) {
        Some(Item::Buffer(b)) => b,
        Some(other) => {
            let kind = other.kind();
            state.table.put_back(buf, other);
            return Err(Failure(format!(
                "buf: handle {buf} is {kind}, not a buffer"
            )));
        }
        None => return Err(Failure(format!("buf: {buf} is not a live handle"))),
    };
    let State {
        table, released, ..
    } = &mut *state;
    let result = (|| {
        let start = usize::try_from(offset).map_err(|_| bad("offset: too large"))?;
        let len = usize::try_from(len).map_err(|_| bad("len: too large"))?;
        let region = start
            .checked_add(len)
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| bad("offset, len: outside the buffer"))?;
        let opener = match table.get_mut(opener) {
            Some(Item::AuthOpener(o)) => o,
            Some(other) => {
                return Err(Failure(format!(
                    "opener: handle {opener} is {}, not an authenticated opener",
                    other.kind()
                )));
            }
            None => return Err(Failure(format!("opener: {opener} is not a live handle"))),
        };
        let (used, out) = opener.update(region).map_err(auth_failure)?;
        if let Some(out) = out {
            released.extend_from_slice(out);
        }
        u32::try_from(used).map_err(|_| bad("len: too large"))
    })();
    state.table.put_back(buf, Item::Buffer(bytes));
    result
}

/// Ends the read (and frees the opener): every planned chunk arrived and verified; then a
/// range that selects nothing fails as the range error.
pub(crate) fn auth_finish(state: &mut State, opener: u32) -> Result<()> {
    zeroize::Zeroize::zeroize(&mut *state.released);
    match state.table.remove(opener) {
        Some(Item::AuthOpener(o)) => {
            let unsatisfiable = o.plan().release.is_none().then(|| o.plan().unsatisfiable());
            o.finish().map_err(auth_failure)?;
            match unsatisfiable {
                Some(e) => Err(e.into()),
                None => Ok(()),
            }
        }
        Some(other) => {
            let kind = other.kind();
            state.table.put_back(opener, other);
            Err(Failure(format!(
                "opener: handle {opener} is {kind}, not an authenticated opener"
            )))
        }
        None => Err(Failure(format!("opener: {opener} is not a live handle"))),
    }
}
