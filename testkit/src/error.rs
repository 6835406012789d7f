//! What can go wrong while starting or steering a local mesh.

use std::io;

/// Why a mesh tool could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// A file, socket or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: io::Error,
    },
    /// No link from one region to the other.
    #[error("no link from {from} to {to}")]
    UnknownLink {
        /// Sending side.
        from: String,
        /// Receiving side.
        to: String,
    },
}

impl MeshError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
