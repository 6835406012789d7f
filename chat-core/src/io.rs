//! What a [`ChatCore`](crate::ChatCore) is fed and what it returns.
//!
//! The shell commits every [`Output::Write`] of one batch of inputs in one
//! store transaction; every other output takes effect only after that
//! commit. If the commit fails, the shell answers the batch's replies with
//! the failure and rebuilds the core from the store.

use protocol::Hlc;
use protocol::chats::{Chat, Message, Role, SendStatus};
use protocol::frames::ServerFrame;
use protocol::peer::{ForwardSend, LogEntry};
use protocol::records::{ChatRecord, ChatState, Marks, MemberRecord};

use crate::ChatError;
use crate::members::Recipients;

/// The shell's handle on a waiting caller; the core hands it back in
/// [`Output::Reply`].
pub type Token = u64;

/// A committed (or accepted) send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Its position (0 while only accepted).
    pub seq: u64,
    /// Its clock.
    pub hlc: Hlc,
    /// Sequenced by the home, or only accepted here.
    pub status: SendStatus,
}

/// A text message to sequence (at the home) or forward (elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    /// Who waits for the answer.
    pub token: Token,
    /// The sender.
    pub author: String,
    /// The sender's idempotency key.
    pub client_msg_id: String,
    /// The text.
    pub text: String,
    /// Forwarded by another region, which took it while the sender was a
    /// member there (and may have answered `accepted`: a promise).
    pub forwarded: bool,
    /// What the store's dedup table holds for `(author, client_msg_id)`:
    /// the shell looks it up before handing the send in.
    pub stored: Option<(u64, Hlc)>,
    /// In a direct chat, whether the other user has blocked the author, as
    /// this region's replica of the account logs says: the shell looks it
    /// up before handing the send in, in every region, so the home refuses
    /// a forwarded send too.
    pub blocked: bool,
}

/// A change to a group's membership or existence, decided at its home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add these users (the shell has checked they exist).
    AddMembers(Vec<String>),
    /// Remove this user (the actor themself: leave).
    Remove(String),
    /// Give this member a role (the owner only); `Owner` hands the group
    /// over and makes the old owner an admin.
    SetRole(String, Role),
    /// Delete the group.
    Delete,
}

/// Title and description from the chat's merged metadata document, and who
/// edited it last.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetaFields {
    /// The title, if an edit ever set it.
    pub title: Option<String>,
    /// The description, if an edit ever set it.
    pub description: Option<String>,
    /// The last editor.
    pub editor: String,
}

impl MetaFields {
    /// `record` with these fields over it.
    pub fn overlay(&self, record: &mut ChatRecord) {
        if let Some(title) = &self.title {
            record.title.clone_from(title);
        }
        if let Some(description) = &self.description {
            record.description.clone_from(description);
        }
    }
}

/// What a chat core is fed.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A text message.
    Send(Send),
    /// Create this group, homed here (the chat must not exist yet).
    CreateGroup {
        /// Who waits.
        token: Token,
        /// The owner.
        owner: String,
        /// Every member, owner first, without repeats (the shell has
        /// checked they exist).
        members: Vec<String>,
        /// Its title.
        title: String,
        /// Its description.
        description: String,
    },
    /// Create the direct chat of two users, homed here.
    CreateDirect {
        /// Who waits.
        token: Token,
        /// The pair.
        users: [String; 2],
        /// Milliseconds since the Unix epoch.
        created_at: u64,
    },
    /// Keep a replica of a chat its home answered with (a direct chat
    /// opened from another region), unless the chat is already here.
    Adopt {
        /// Who waits.
        token: Token,
        /// The chat as its home holds it.
        state: ChatState,
    },
    /// A membership change or the group's deletion, by `actor`.
    Change {
        /// Who waits.
        token: Token,
        /// Who asks.
        actor: String,
        /// What.
        change: Change,
    },
    /// A member's devices report delivered/read marks.
    Marks {
        /// Who waits (answered once written).
        token: Token,
        /// Whose.
        user: String,
        /// Delivered up to.
        delivered: u64,
        /// Read up to.
        read: u64,
    },
    /// Another region's view of a member's marks (max-registers).
    RemoteMarks {
        /// Whose.
        user: String,
        /// Delivered up to.
        delivered: u64,
        /// Read up to.
        read: u64,
    },
    /// Typing started or stopped.
    Typing {
        /// Who waits to hear the chat exists, if anyone.
        token: Option<Token>,
        /// Who.
        user: String,
        /// Started or stopped.
        active: bool,
        /// Reported by another region (not passed on again).
        remote: bool,
    },
    /// The chat's metadata document changed (edited here or merged).
    Meta {
        /// Who waits for the chat afterwards, if anyone.
        token: Option<Token>,
        /// Its values.
        fields: MetaFields,
    },
    /// A contiguous run of the home's entries, to apply at this replica.
    Replicated {
        /// Who waits (answered with the last `seq` applied).
        token: Token,
        /// The entries, in `seq` order.
        entries: Vec<LogEntry>,
    },
    /// Ask for the chat as clients see it.
    View {
        /// Who waits.
        token: Token,
    },
    /// The time given by `poll_timeout` has come.
    Tick,
}

/// A store write of the current batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// The message at its `seq`.
    Message(Message),
    /// The `reorder` sabotage: store this message one place early, and the
    /// stored message before it in its place.
    MessageSwappedWithPrevious(Message),
    /// The chat's last `seq`.
    LastSeq(u64),
    /// `(sender, client_msg_id)` was sequenced at `seq`.
    Dedup {
        /// The sender.
        sender: String,
        /// The key.
        client_msg_id: String,
        /// Where.
        seq: u64,
    },
    /// The chat's record; also indexes it under its home region.
    Record(ChatRecord),
    /// A member's record; also lists the chat among the user's chats.
    Member(MemberRecord),
    /// How many current members the chat has.
    MembersCount(u64),
    /// A member's marks.
    Marks {
        /// Whose.
        user: String,
        /// The marks.
        marks: Marks,
    },
    /// The pair's direct chat is this one; the transaction fails with a
    /// conflict if the pair already has one (two regions or requests racing).
    ClaimDirect {
        /// The pair.
        users: [String; 2],
    },
    /// The pair's direct chat is this one (a replica learning it).
    Direct {
        /// The pair.
        users: [String; 2],
    },
}

/// What a reply carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A send's outcome.
    Sent(Appended),
    /// The chat afterwards.
    Chat(Box<Chat>),
    /// Replicated entries applied through this `seq`.
    Applied(u64),
    /// Done (marks written).
    Done,
}

/// State other regions merge, to broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gossip {
    /// A member's marks after a merge that changed them.
    Marks {
        /// Whose.
        user: String,
        /// The marks.
        marks: Marks,
    },
    /// Typing started or stopped here.
    Typing {
        /// Who.
        user: String,
        /// Started or stopped.
        active: bool,
    },
}

/// What a chat core asks its shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Add this write to the batch's transaction.
    Write(Write),
    /// Answer a caller.
    Reply {
        /// Who.
        token: Token,
        /// What.
        reply: Result<Reply, ChatError>,
    },
    /// Show a frame to these users' connected devices; `seq` is set for a
    /// `message` frame, whose order the sessions keep.
    Deliver {
        /// The frame.
        frame: ServerFrame,
        /// The entry's `seq`, for `message` frames.
        seq: Option<u64>,
        /// Who (decided by [`Members::recipients_at`](crate::Members::recipients_at)).
        recipients: Recipients,
    },
    /// A committed entry of this chat, homed here, for the shippers.
    Ship(LogEntry),
    /// Forward a send to the chat's home; once it cannot be reached, hold
    /// it durably, answer `accepted`, and show it as pending to
    /// `pending_to`.
    Forward {
        /// Who waits.
        token: Token,
        /// The home region.
        home: String,
        /// The send.
        item: ForwardSend,
        /// Who sees it pending.
        pending_to: Recipients,
    },
    /// Tell the other regions.
    Gossip(Gossip),
}
