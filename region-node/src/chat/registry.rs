//! Finds the task of a chat, starting it on first use. At most one task
//! runs per chat on this node, ever: a task that stops (idle, or a chat
//! that does not exist here) first refuses new commands, finishes those it
//! holds, and only then lets the registry start the next one, so two tasks
//! never write one chat's keys at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, mpsc};
use tokio_util::sync::CancellationToken;

use super::command::Command;
use super::shell::ChatTask;
use super::{Ctx, Error};

/// A running task: its queue, and a token cancelled once it has stopped.
struct Handle {
    tx: mpsc::Sender<Command>,
    stopped: CancellationToken,
}

type Slot = Arc<OnceCell<Handle>>;
type Slots = Arc<Mutex<HashMap<String, Slot>>>;

/// Chat id → its task.
#[derive(Clone)]
pub(crate) struct Registry {
    slots: Slots,
    ctx: Ctx,
}

/// Commands a chat task may have queued.
const QUEUE: usize = 4096;

fn forget(slots: &Slots, chat_id: &str, slot: &Slot) {
    let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
    if slots.get(chat_id).is_some_and(|s| Arc::ptr_eq(s, slot)) {
        slots.remove(chat_id);
    }
}

impl Registry {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Self {
            slots: Arc::default(),
            ctx,
        }
    }

    /// Hands `command` to the chat's task, starting one if none runs.
    pub(crate) async fn send(&self, chat_id: &str, mut command: Command) -> Result<(), Error> {
        chat_core::rules::validate_id("chat_id", chat_id)?;
        for _ in 0..8 {
            let slot = {
                let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
                match slots.get(chat_id) {
                    Some(slot) => slot.clone(),
                    None => slots.entry(chat_id.to_owned()).or_default().clone(),
                }
            };
            let handle = slot
                .get_or_init(|| async {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    let stopped = CancellationToken::new();
                    // Once every write of the task is done: leave the
                    // registry, then say so.
                    let (slots, chat, own, done) = (
                        self.slots.clone(),
                        chat_id.to_owned(),
                        slot.clone(),
                        stopped.clone(),
                    );
                    let exit = move || {
                        forget(&slots, &chat, &own);
                        done.cancel();
                    };
                    self.ctx.tracker.spawn(ChatTask::run(
                        self.ctx.clone(),
                        chat_id.to_owned(),
                        rx,
                        exit,
                    ));
                    Handle { tx, stopped }
                })
                .await;
            match handle.tx.send(command).await {
                Ok(()) => return Ok(()),
                // The task is stopping: wait until its writes are done,
                // then start a new one.
                Err(mpsc::error::SendError(back)) => {
                    command = back;
                    handle.stopped.cancelled().await;
                    forget(&self.slots, chat_id, &slot);
                }
            }
        }
        Err(Error::TaskGone(chat_id.to_owned()))
    }
}
