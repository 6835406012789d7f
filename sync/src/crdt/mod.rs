//! Replicated data that converges in every region whatever order updates
//! arrive in.
//!
//! Small state-based CRDTs cover the hot, tiny values where a whole document
//! would be waste: [`MaxRegister`] and [`Marks`] for delivered/read positions,
//! [`Lww`] and [`LwwMap`] for presence and small settings. Richer metadata
//! that people edit (a group chat's title, description and avatar; a user's
//! profile) lives in automerge documents, [`ChatMeta`] and [`Profile`], which
//! regions exchange whole or as incremental changes.
//!
//! Every state-based type here has `merge(&mut self, other: &Self)` that is
//! commutative, associative and idempotent; the property tests next to each
//! type check those laws.
//!
//! - [`max_register`]: a `u64` that only grows.
//! - [`marks`]: delivered and read positions, read never ahead of delivered.
//! - [`lww`]: a last-writer-wins register ordered by (HLC, writer).
//! - [`lww_map`]: a map of last-writer-wins registers with tombstones.
//! - [`text_fields`]: an automerge document of named string fields.
//! - [`chat_meta`]: a group chat's title, description and avatar.
//! - [`profile`]: a user's display name, avatar and status text.

pub mod chat_meta;
pub mod lww;
pub mod lww_map;
pub mod marks;
pub mod max_register;
pub mod profile;
pub mod text_fields;

pub use automerge::ChangeHash;
pub use chat_meta::{ChatMeta, ChatMetaFields};
pub use lww::Lww;
pub use lww_map::LwwMap;
pub use marks::Marks;
pub use max_register::MaxRegister;
pub use profile::{Profile, ProfileFields};
pub use text_fields::TextFieldsDoc;

/// What can go wrong with a replicated document.
#[derive(Debug, thiserror::Error)]
pub enum CrdtError {
    /// Saved document bytes could not be decoded.
    #[error("decode document")]
    Decode(#[source] automerge::AutomergeError),
    /// Incremental changes from a peer could not be applied.
    #[error("apply changes")]
    Apply(#[source] automerge::AutomergeError),
    /// Two documents could not be merged (for example, one actor's history
    /// forked because two writers shared an actor id).
    #[error("merge documents")]
    Merge(#[source] automerge::AutomergeError),
}
