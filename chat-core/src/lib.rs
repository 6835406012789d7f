//! One chat's rules as a state machine without I/O, in the manner of
//! `quinn-proto` and of `sync::replication`: [`ChatCore::handle`] takes the
//! time and an [`Input`] and answers [`Output`]s — store writes for one
//! transaction, deliveries with their recipients, replies, entries to ship,
//! sends to forward, state to gossip — and [`ChatCore::poll_timeout`] says
//! when it next wants a tick. A thin async shell in the region node owns
//! the store and the channels and is the only writer of its chat's keys.
//!
//! The guarantees it keeps, and its tests check against a model:
//! - one gapless order: the home gives `seq` 1, 2, 3, … to what it commits;
//! - exactly once: a send is sequenced once per `(sender, client_msg_id)`;
//! - membership: the entry at `seq` goes to the members at that `seq`
//!   ([`Members::recipients_at`], the one fan-out rule);
//! - receipt marks never go backwards.
//!
//! - [`core`]: the state and the dispatch of inputs.
//! - [`io`]: inputs, outputs, writes and replies.
//! - [`members`]: membership and the fan-out rule.
//! - `send`, `change`, `roles`, `create`, `replica`, `marks`, `typing`,
//!   `meta`: the rules, one idea each.
//! - [`rules`]: limits on what a chat is given.
//! - [`sabotage`]: deliberate defects for the consistency harness.
//! - [`error`]: why a chat refused an input.

mod change;
pub mod core;
mod create;
pub mod error;
pub mod io;
mod marks;
pub mod members;
mod meta;
mod replica;
mod roles;
pub mod rules;
pub mod sabotage;
mod send;
mod typing;

pub use crate::core::{ChatCore, CoreConfig, Loaded, MARKS_DELAY, Stamp, TYPING_TTL};
pub use error::ChatError;
pub use io::{Appended, Change, Gossip, Input, MetaFields, Output, Reply, Send, Token, Write};
pub use members::{Members, Recipients};
pub use sabotage::Sabotage;
