//! Finds the task of a chat, starting it on first use. Exactly one task
//! runs per chat on this node: concurrent first uses share one start-up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, mpsc};

use super::Ctx;
use super::sequencer::{ChatTask, Command};
use crate::error::ApiError;

type Slot = Arc<OnceCell<mpsc::Sender<Command>>>;

/// Chat id → the channel of its task.
#[derive(Clone)]
pub struct Registry {
    slots: Arc<Mutex<HashMap<String, Slot>>>,
    ctx: Ctx,
}

/// Commands a chat task may have queued.
const QUEUE: usize = 4096;

impl Registry {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Self {
            slots: Arc::default(),
            ctx,
        }
    }

    /// Hands `command` to the chat's task; `not_found` if the chat does not exist.
    pub async fn send(&self, chat_id: &str, mut command: Command) -> Result<(), ApiError> {
        for _ in 0..3 {
            let slot = {
                let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
                slots.entry(chat_id.to_owned()).or_default().clone()
            };
            let started = slot
                .get_or_try_init(|| async {
                    let task = ChatTask::load(self.ctx.clone(), chat_id).await?;
                    let (tx, rx) = mpsc::channel(QUEUE);
                    self.ctx.tracker.spawn(task.run(rx));
                    Ok::<_, ApiError>(tx)
                })
                .await;
            let sender = match started {
                Ok(sender) => sender.clone(),
                Err(error) => {
                    self.forget(chat_id, &slot);
                    return Err(error);
                }
            };
            match sender.send(command).await {
                Ok(()) => return Ok(()),
                // The task stopped after idling; start a new one.
                Err(mpsc::error::SendError(back)) => {
                    command = back;
                    self.forget(chat_id, &slot);
                }
            }
        }
        Err(ApiError::internal(&format!(
            "chat task of {chat_id} keeps stopping"
        )))
    }

    /// Drops the chat's task handle, so the next command starts a task that
    /// loads the chat afresh (after replicated entries changed it); the old
    /// task finishes what it has queued and stops.
    pub fn evict(&self, chat_id: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.remove(chat_id);
    }

    fn forget(&self, chat_id: &str, slot: &Slot) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.get(chat_id).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            slots.remove(chat_id);
        }
    }
}
