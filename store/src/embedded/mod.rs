//! Embedded storage engines on local disk (plus one in memory), behind the transaction layer.
//!
//! Figures and the choice of default engine are recorded below once measured.

mod fjall_engine;
mod memory_engine;
mod redb_engine;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::database::Database;
use crate::error::StoreError;
use crate::layer::engine::Engine;
use crate::layer::{LayeredBackend, TRANSACTION_WINDOW};

/// Which embedded engine stores the data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineKind {
    /// fjall, an LSM tree with a write-ahead journal.
    #[default]
    Fjall,
    /// redb, a copy-on-write B-tree.
    Redb,
}

impl EngineKind {
    /// The engine's name, as recorded in the store directory.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Fjall => "fjall",
            EngineKind::Redb => "redb",
        }
    }
}

/// File in the store directory naming the engine that owns it.
const ENGINE_FILE: &str = "ENGINE";

/// Records `engine` as the owner of a new store directory, or checks that an existing
/// directory belongs to it: opening one engine's files with the other would look empty.
fn claim_directory(dir: &Path, engine: EngineKind) -> Result<(), StoreError> {
    let path = dir.join(ENGINE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(found) if found.trim() == engine.name() => Ok(()),
        Ok(found) => Err(StoreError::Backend(format!(
            "{} holds a {} store; it cannot be opened with {}",
            dir.display(),
            found.trim(),
            engine.name()
        ))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let file = std::fs::File::create(&path)?;
            std::io::Write::write_all(&mut &file, engine.name().as_bytes())?;
            file.sync_all()?;
            std::fs::File::open(dir)?.sync_all()?;
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// Options for [`Database::open_embedded`].
#[derive(Clone, Debug, Default)]
pub struct EmbeddedOptions {
    /// The engine to use; a directory must always be reopened with the engine that created it.
    pub engine: EngineKind,
}

impl EmbeddedOptions {
    /// Options selecting `engine`.
    pub fn with_engine(engine: EngineKind) -> Self {
        EmbeddedOptions { engine }
    }
}

impl Database {
    /// Opens (or creates) an embedded database in `dir`.
    ///
    /// This is a blocking call (it recovers the engine from disk and starts the committer
    /// thread); from async code, call it inside `tokio::task::spawn_blocking` if the
    /// recovery time matters to other tasks.
    pub fn open_embedded(dir: &Path, options: EmbeddedOptions) -> Result<Database, StoreError> {
        std::fs::create_dir_all(dir)?;
        claim_directory(dir, options.engine)?;
        let engine: Box<dyn Engine> = match options.engine {
            EngineKind::Fjall => Box::new(fjall_engine::FjallEngine::open(dir)?),
            EngineKind::Redb => Box::new(redb_engine::RedbEngine::open(dir)?),
        };
        let name = options.engine.name();
        tracing::info!(dir = %dir.display(), engine = name, "opened embedded store");
        let backend = LayeredBackend::start(engine, name, TRANSACTION_WINDOW)?;
        Ok(Database::from_backend(Arc::new(backend)))
    }

    /// A fresh, empty database held in memory (for tests; nothing survives the process).
    /// Fails only if the committer thread cannot be spawned.
    pub fn in_memory() -> Result<Database, StoreError> {
        Self::in_memory_with_window(TRANSACTION_WINDOW)
    }

    /// An in-memory database whose transactions expire after `window`.
    pub(crate) fn in_memory_with_window(window: Duration) -> Result<Database, StoreError> {
        let engine = Box::new(memory_engine::MemoryEngine::default());
        let backend = LayeredBackend::start(engine, "memory", window)?;
        Ok(Database::from_backend(Arc::new(backend)))
    }
}
