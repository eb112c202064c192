//! The instance's objects, behind `u32` handles, and the registers results are read from.

use std::cell::RefCell;
use std::sync::Arc;

use cse_core::{BodyPlan, ContentMaterial, Envelope, MasterCipher, Opener, RangePlan};

/// One object behind a handle.
pub(crate) enum Item {
    Buffer(Vec<u8>),
    Key(Arc<dyn MasterCipher + Send + Sync>),
    Envelope(Box<Envelope>),
    Material(ContentMaterial),
    Plan(RangePlan),
    Body(BodyPlan),
    Opener(Box<Opener>),
    AuthPlan(Box<AuthRead>),
    AuthOpener(Box<cse_core::auth::ChunkOpener>),
}

/// A planned authenticated read: the object's parameters, its length, the trusted writers'
/// keys and the engine's chunk plan.
pub(crate) struct AuthRead {
    pub(crate) params: cse_core::auth::AuthParams,
    pub(crate) len: u64,
    pub(crate) trusted: Vec<[u8; 32]>,
    pub(crate) plan: cse_core::auth::ChunkPlan,
    pub(crate) whole: bool,
}

impl AuthRead {
    /// Whether the read checks every tag (a whole read, or trusted writers): then the tags to
    /// fetch are all of them.
    pub(crate) fn all_tags(&self) -> bool {
        self.whole || !self.trusted.is_empty()
    }
}

impl Item {
    pub(crate) const fn kind(&self) -> &'static str {
        match self {
            Self::Buffer(_) => "a buffer",
            Self::Key(_) => "a key",
            Self::Envelope(_) => "an envelope",
            Self::Material(_) => "content material",
            Self::Plan(_) => "a range plan",
            Self::Body(_) => "a body plan",
            Self::Opener(_) => "an opener",
            Self::AuthPlan(_) => "an authenticated read plan",
            Self::AuthOpener(_) => "an authenticated opener",
        }
    }
}

/// The objects of the instance. Slot `i` is handle `i + 1`; a freed slot stays empty (a few
/// dozen bytes), so a handle is never reused.
#[derive(Default)]
pub(crate) struct Table {
    items: Vec<Option<Item>>,
}

impl Table {
    /// Stores `item`; `None` when the table is full (four billion handles).
    pub(crate) fn insert(&mut self, item: Item) -> Option<u32> {
        let handle = u32::try_from(self.items.len() + 1).ok()?;
        self.items.push(Some(item));
        Some(handle)
    }

    pub(crate) fn get(&self, handle: u32) -> Option<&Item> {
        let slot = usize::try_from(handle).ok()?.checked_sub(1)?;
        self.items.get(slot)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, handle: u32) -> Option<&mut Item> {
        let slot = usize::try_from(handle).ok()?.checked_sub(1)?;
        self.items.get_mut(slot)?.as_mut()
    }

    /// Puts `item` back into the slot of `handle`, which [`remove`](Self::remove) emptied (a
    /// call that takes an object out for a moment).
    pub(crate) fn put_back(&mut self, handle: u32, item: Item) {
        if let Some(slot) = usize::try_from(handle)
            .ok()
            .and_then(|h| h.checked_sub(1))
            .and_then(|i| self.items.get_mut(i))
        {
            *slot = Some(item);
        }
    }

    /// Takes the object out; its slot stays empty.
    pub(crate) fn remove(&mut self, handle: u32) -> Option<Item> {
        let slot = usize::try_from(handle).ok()?.checked_sub(1)?;
        self.items.get_mut(slot)?.take()
    }
}

/// What one instance keeps between calls.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) table: Table,
    /// The last failure's message.
    pub(crate) error: String,
    /// The last text result, read through `cse_text_ptr` / `cse_text_len`.
    pub(crate) text: String,
    /// How many bytes the last `cse_opener_update` delivered.
    pub(crate) delivered: u32,
    /// The plaintext the last `cse_auth_update` released, read through `cse_released_ptr` /
    /// `cse_released_len`; wiped before it is replaced.
    pub(crate) released: zeroize::Zeroizing<Vec<u8>>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Runs `f` on the instance's state. Calls do not nest (the imports never call back into the
/// module), so the state is never borrowed twice; if it were, the call fails instead of
/// trapping.
pub(crate) fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> Option<T> {
    STATE.with(|s| s.try_borrow_mut().ok().map(|mut s| f(&mut s)))
}
