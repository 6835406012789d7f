//! An automerge document of named string fields, the plumbing shared by
//! [`ChatMeta`] and [`Profile`].
//!
//! Each field is a plain string under the document root, so concurrent
//! edits of one field resolve to one whole value (automerge picks the same
//! winner in every region) rather than interleaving characters, which is
//! what people expect of a title or a display name.
//!
//! Regions exchange documents whole ([`TextFieldsDoc::to_bytes`],
//! [`TextFieldsDoc::merge`]) or incrementally: a region sends its
//! [`TextFieldsDoc::heads`], the peer answers with
//! [`TextFieldsDoc::changes_since`] those heads, and the region applies them
//! with [`TextFieldsDoc::apply_changes`].
//!
//! Every writer must edit under its own actor id ([`TextFieldsDoc::with_actor`]
//! with the region's name, or `region/node` when several nodes share a
//! region): two writers sharing an actor id would fork that actor's history
//! and the documents could no longer be merged.

use std::marker::PhantomData;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ROOT, ReadDoc};

use super::CrdtError;
#[cfg(doc)]
use super::{ChatMeta, Profile};

/// An automerge document of string fields; `K` names which kind of document
/// it is, so a profile can never be merged into a chat's metadata.
#[derive(Debug, Clone)]
pub struct TextFieldsDoc<K> {
    doc: AutoCommit,
    kind: PhantomData<fn() -> K>,
}

impl<K> Default for TextFieldsDoc<K> {
    fn default() -> Self {
        Self::wrap(AutoCommit::new())
    }
}

impl<K> TextFieldsDoc<K> {
    /// An empty document with a random actor id; call
    /// [`with_actor`](Self::with_actor) before editing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads a document saved with [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    ///
    /// [`CrdtError::Decode`] if the bytes are not an automerge document.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CrdtError> {
        AutoCommit::load(bytes)
            .map(Self::wrap)
            .map_err(CrdtError::Decode)
    }

    /// Makes later edits come from `writer` (the region's name).
    pub fn with_actor(mut self, writer: &str) -> Self {
        self.doc.set_actor(ActorId::from(writer.as_bytes()));
        self
    }

    /// The whole document in automerge's compact saved form.
    pub fn to_bytes(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Takes in every change `other` has that this document lacks.
    ///
    /// # Errors
    ///
    /// [`CrdtError::Merge`] if the histories conflict, which happens only
    /// when two writers shared an actor id.
    pub fn merge(&mut self, other: &mut Self) -> Result<(), CrdtError> {
        self.doc
            .merge(&mut other.doc)
            .map(drop)
            .map_err(CrdtError::Merge)
    }

    /// The hashes of the latest changes: what a peer needs to know to send
    /// only what this document lacks.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The changes this document has beyond `heads`, encoded for
    /// [`apply_changes`](Self::apply_changes). Heads this document does not
    /// know are ignored; empty if the peer lacks nothing.
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Applies changes from a peer's [`changes_since`](Self::changes_since).
    /// Changes whose dependencies have not arrived yet wait inside the
    /// document until they do.
    ///
    /// # Errors
    ///
    /// [`CrdtError::Apply`] if the bytes are not automerge changes.
    pub fn apply_changes(&mut self, bytes: &[u8]) -> Result<(), CrdtError> {
        self.doc
            .load_incremental(bytes)
            .map(drop)
            .map_err(CrdtError::Apply)
    }

    /// The current value of `field`; empty if unset or not a string.
    pub(super) fn field(&self, field: &'static str) -> String {
        self.field_if_set(field).unwrap_or_default()
    }

    /// The current value of `field`, `None` if no writer ever set it.
    pub(super) fn field_if_set(&self, field: &'static str) -> Option<String> {
        match self.doc.get(ROOT, field) {
            Ok(Some((value, _))) => Some(value.into_string().unwrap_or_default()),
            _ => None,
        }
    }

    /// Sets `field`, recording no change if it already holds `value`.
    pub(super) fn set_field(&mut self, field: &'static str, value: &str) {
        if self.field_if_set(field).as_deref() == Some(value) {
            return;
        }
        self.doc
            .put(ROOT, field, value)
            .expect("putting a string under a fixed key of the root map cannot fail");
    }

    fn wrap(doc: AutoCommit) -> Self {
        Self {
            doc,
            kind: PhantomData,
        }
    }
}

#[cfg(test)]
mod tests;
