//! The JSON bodies of the placement API, shared by the service, embedders
//! and clients.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::directory::Placement;
use crate::route::RouteEntry;
use crate::topology::Location;

/// `GET /v1/placement/route`: every region, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteResponse {
    /// The ranked regions.
    pub regions: Vec<RouteEntry>,
}

/// One region as `GET /v1/placement/regions` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionStatus {
    /// Region name.
    pub name: String,
    /// Where the region is.
    pub location: Location,
    /// HTTP/WebSocket address.
    pub http: SocketAddr,
    /// Inter-region QUIC address.
    pub quic: SocketAddr,
    /// Whether the region is answering heartbeats.
    pub healthy: bool,
    /// Milliseconds since its newest heartbeat; absent if none was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_ms_ago: Option<u64>,
}

/// `GET /v1/placement/regions`: the topology's regions, in topology order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionsResponse {
    /// The regions with their health.
    pub regions: Vec<RegionStatus>,
}

/// A chat's entry in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPlacement {
    /// The chat.
    pub chat_id: String,
    /// Its home region.
    pub home: String,
    /// The epoch of its current placement.
    pub epoch: u64,
}

impl ChatPlacement {
    /// The wire form of `chat_id`'s `placement`.
    pub fn new(chat_id: &str, placement: &Placement) -> Self {
        Self {
            chat_id: chat_id.to_owned(),
            home: placement.home.clone(),
            epoch: placement.epoch,
        }
    }
}

/// `PUT /v1/placement/chats/{chat_id}`: place or move a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The region the chat should live in.
    pub home: String,
}

/// `POST /v1/placement/chats`: place a new chat (a region node calls this
/// when a chat is created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// The new chat.
    pub chat_id: String,
    /// The region the creator is connected to; the home unless `home` is set.
    pub region: String,
    /// A home region the creator asked for explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
}

/// `POST /v1/placement/heartbeat`: a region says it is alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// The region.
    pub region: String,
}

/// `POST /v1/placement/directory`: what merging a [`crate::directory::DirectoryDelta`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeResponse {
    /// Entries that changed this copy.
    pub changed: usize,
    /// This copy's change number after the merge.
    pub version: u64,
}
