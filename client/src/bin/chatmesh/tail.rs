//! `tail CHAT`: prints a chat's recent history, then follows it live over
//! a resuming WebSocket session, one message per line: `seq hlc sender: text`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use client::session::Session as Saved;
use client::ws::{Event, Session, SessionError, SessionOptions};
use protocol::chats::{Message, MessageKind};
use protocol::frames::ServerFrame;

use crate::chats::one_line;
use crate::names::Names;
use crate::saved::with_session;

/// Where the printout starts.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// After this `seq`.
    AfterSeq(u64),
    /// With the last this many messages.
    Last(u64),
}

/// Follows `chat_id` until interrupted.
pub async fn run(dir: &Path, chat_id: &str, start: Start) -> anyhow::Result<()> {
    let cursors = starting_cursors(dir, chat_id, start).await?;
    // Reloaded: the HTTP calls above may have refreshed the tokens.
    let saved = Saved::load(dir)?;
    let mut options = SessionOptions::new(&saved.server, saved.ws_credentials(dir))
        .cursors(cursors)
        .only_chats([chat_id.to_owned()]);
    options.connect.tls = saved.tls()?;
    let (_session, mut stream) = Session::start(options)
        .await
        .context("connect to the WebSocket")?;
    let mut names = Names::new(dir.to_owned());
    let mut live = false;
    loop {
        let event = tokio::select! {
            event = stream.next() => event,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        match event {
            Ok(Event::Frame(ServerFrame::Message(message))) => {
                println!("{}", line(&message, &mut names).await);
            }
            Ok(Event::Frame(ServerFrame::Synced { .. })) if !live => {
                live = true;
                eprintln!("-- live --");
            }
            Ok(Event::Frame(ServerFrame::Error { code, message, .. })) => {
                eprintln!("server error {code}: {message}");
            }
            Ok(Event::Disconnected { reason }) => {
                eprintln!("-- disconnected ({reason}); reconnecting --")
            }
            Ok(Event::Connected(_)) if live => eprintln!("-- reconnected; resuming --"),
            Ok(_) => {}
            Err(SessionError::Closed) => return Ok(()),
            Err(error) => return Err(error).context("follow the chat"),
        }
    }
}

/// Every chat the user has at its newest `seq` (so `sync` replays nothing of
/// them), and the followed chat at its starting point.
async fn starting_cursors(
    dir: &Path,
    chat_id: &str,
    start: Start,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let chats = with_session(dir, |client| async move { client.chats().await })
        .await
        .context("list chats")?;
    let mut cursors: BTreeMap<String, u64> = chats
        .iter()
        .map(|c| (c.chat_id.clone(), c.last_seq))
        .collect();
    let last_seq = match cursors.get(chat_id) {
        Some(&seq) => seq,
        None => {
            // Not among the caller's chats: let the server say why.
            let chat = with_session(dir, |client| async move { client.chat(chat_id).await })
                .await
                .context("open chat")?;
            chat.last_seq
        }
    };
    let from = match start {
        Start::AfterSeq(seq) => seq,
        Start::Last(count) => last_seq.saturating_sub(count),
    };
    cursors.insert(chat_id.to_owned(), from);
    Ok(cursors)
}

async fn line(message: &Message, names: &mut Names) -> String {
    let text = one_line(&message.text);
    match message.kind {
        MessageKind::System => format!("{} {} * {text}", message.seq, message.hlc),
        MessageKind::Text => {
            let sender = names.name(&message.sender_id).await;
            format!("{} {} {sender}: {text}", message.seq, message.hlc)
        }
    }
}
