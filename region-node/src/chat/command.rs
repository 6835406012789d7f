//! What a chat's task is asked to do, and where its answers go.

use chat_core::{Input, Reply};
use tokio::sync::oneshot;

use super::Error;

/// Where a command's answer goes: a waiting caller, or a function the
/// chat task calls itself (a session queueing its `sent` frame without a
/// task of its own per send).
pub(crate) enum Answer {
    /// A caller awaits the answer.
    Waiter(oneshot::Sender<Result<Reply, Error>>),
    /// Called with the answer.
    Call(Box<dyn FnOnce(Result<Reply, Error>) + Send>),
}

impl Answer {
    /// Hands the answer over.
    pub(crate) fn send(self, result: Result<Reply, Error>) {
        match self {
            Self::Waiter(waiter) => {
                let _ = waiter.send(result);
            }
            Self::Call(call) => call(result),
        }
    }
}

/// What a chat task is asked to do.
pub(crate) enum Command {
    /// An input for the core, and who waits for its answer.
    Core {
        /// The input (its token is set by the task).
        input: Input,
        /// Who waits.
        answer: Option<Answer>,
    },
    /// Edit the metadata document here, tell the other regions, take the
    /// new values in; answers the chat afterwards.
    EditMeta {
        /// The admin editing.
        actor: String,
        /// New title.
        title: Option<String>,
        /// New description.
        description: Option<String>,
        /// Who waits.
        answer: Answer,
    },
    /// Merge a metadata document another region sent.
    MergeMeta {
        /// The document, base64.
        doc: String,
        /// Its last editor.
        editor: String,
    },
}
