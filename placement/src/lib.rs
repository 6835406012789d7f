//! chatmesh placement: where users and chats live.
