//! Where chats live in the store.
//!
//! | key (tuple)                                      | value |
//! |--------------------------------------------------|-------|
//! | `("chat", chat_id, "meta")`                      | [`ChatRecord`](protocol::records::ChatRecord) JSON |
//! | `("chat", chat_id, "last_seq")`                  | 8-byte little-endian `seq` |
//! | `("chat", chat_id, "members_count")`             | 8-byte little-endian count of current members |
//! | `("chat", chat_id, "member", user_id)`           | [`MemberRecord`](protocol::records::MemberRecord) JSON (also former members) |
//! | `("chat", chat_id, "msg", seq)`                  | [`protocol::chats::Message`] JSON |
//! | `("chat", chat_id, "dedup", sender, client_msg_id)` | 8-byte little-endian `seq` |
//! | `("chat", chat_id, "receipt", user_id)`          | [`Marks`](protocol::records::Marks) JSON |
//! | `("user_chats", user_id, chat_id)`               | empty: the chats a user is or was in |
//! | `("direct", lower_user_id, higher_user_id)`      | chat id of their direct chat |

use store::tuple::pack;

pub(crate) fn meta(chat: &str) -> Vec<u8> {
    pack(&("chat", chat, "meta"))
}

pub(crate) fn last_seq(chat: &str) -> Vec<u8> {
    pack(&("chat", chat, "last_seq"))
}

pub(crate) fn member(chat: &str, user: &str) -> Vec<u8> {
    pack(&("chat", chat, "member", user))
}

pub(crate) fn members(chat: &str) -> Vec<u8> {
    pack(&("chat", chat, "member"))
}

pub(crate) fn message(chat: &str, seq: u64) -> Vec<u8> {
    pack(&("chat", chat, "msg", seq))
}

pub(crate) fn messages(chat: &str) -> Vec<u8> {
    pack(&("chat", chat, "msg"))
}

pub(crate) fn dedup(chat: &str, sender: &str, client_msg_id: &str) -> Vec<u8> {
    pack(&("chat", chat, "dedup", sender, client_msg_id))
}

pub(crate) fn receipt(chat: &str, user: &str) -> Vec<u8> {
    pack(&("chat", chat, "receipt", user))
}

pub(crate) fn user_chat(user: &str, chat: &str) -> Vec<u8> {
    pack(&("user_chats", user, chat))
}

pub(crate) fn user_chats(user: &str) -> Vec<u8> {
    pack(&("user_chats", user))
}

pub(crate) fn direct(a: &str, b: &str) -> Vec<u8> {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    pack(&("direct", low, high))
}

pub(crate) fn members_count(chat: &str) -> Vec<u8> {
    pack(&("chat", chat, "members_count"))
}

/// Marks `chat` as homed in `region`: the index of the logs a region ships
/// (its own chats) and replicates (its peers').
pub(crate) fn homed(region: &str, chat: &str) -> Vec<u8> {
    pack(&("homed", region, chat))
}

/// The chats homed in `region`.
pub(crate) fn homed_in(region: &str) -> Vec<u8> {
    pack(&("homed", region))
}

/// The chat id of a [`homed`] key.
pub(crate) fn homed_chat(key: &[u8]) -> Result<String, super::Error> {
    let (_, _, chat): (String, String, String) = store::tuple::unpack(key)
        .map_err(|e| chat_core::ChatError::Storage(format!("bad homed key: {e}")))?;
    Ok(chat)
}

/// Every [`homed`] key, of all regions.
pub(crate) fn homed_all() -> Vec<u8> {
    pack(&("homed",))
}

/// Every member's marks in `chat`.
pub(crate) fn receipts(chat: &str) -> Vec<u8> {
    pack(&("chat", chat, "receipt"))
}

/// The user of a [`receipt`] key.
pub(crate) fn receipt_user(key: &[u8]) -> Result<String, super::Error> {
    let (_, _, _, user): (String, String, String, String) = store::tuple::unpack(key)
        .map_err(|e| chat_core::ChatError::Storage(format!("bad receipt key: {e}")))?;
    Ok(user)
}
