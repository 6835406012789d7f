//! After the faults heal: wait until every region holds the same log and
//! the same metadata for every chat, then record the final reads.
//!
//! Each round reads every chat in every region (the whole log, and the
//! title and description). The mesh has converged when, in one round, all
//! regions agree on each chat, and the round equals the one before it (so a
//! replica that is merely catching up at the same pace as another does not
//! count). The final `final_read` / `final_meta` events are that round's
//! reads; if the deadline passes first, they are the last round's, and no
//! `converged` event is recorded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::Client;

use crate::cluster::RegionInfo;
use crate::history::{ChatRef, Converged, F, Meta, Msg, OpType, Process, ReadInvoke, ReadOk};

use super::auth::DeviceAuth;
use super::convert;
use super::outcome::{self, Failure};
use super::process::read_all;
use super::recorder::{Actor, Recorder};

/// A chat to read at the end, and a member who can read all of it.
pub struct FinalChat {
    /// The chat.
    pub chat: String,
    /// Tokens of a device of a member never removed (the owner).
    pub reader: Arc<DeviceAuth>,
    /// The region that issued those tokens (for a refresh).
    pub issuer: Client,
}

/// What one region answered for one chat.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatView {
    /// The whole log, or why it could not be read.
    pub log: Result<Vec<Msg>, Failure>,
    /// The metadata, or why it could not be read.
    pub meta: Result<Meta, Failure>,
}

/// One round: (chat, region) → view.
pub type Round = BTreeMap<(String, String), ChatView>;

/// How the final phase ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convergence {
    /// Time from `healed` until the agreeing round, if it came.
    pub after_heal: Option<Duration>,
    /// Rounds read.
    pub rounds: u32,
}

const ROUND_TIMEOUT: Duration = Duration::from_secs(10);

async fn read_view(http: &Client, chat: &FinalChat) -> ChatView {
    let token = chat.reader.access();
    let client = http.with_token(&token);
    let log = match tokio::time::timeout(ROUND_TIMEOUT, read_all(&client, &chat.chat, 0)).await {
        Err(_) => Err(Failure::timeout()),
        Ok(result) => result.map_err(|e| {
            if outcome::is_unauthorized(&e) {
                // Fire and forget: the next round uses the new token.
                let (reader, issuer, stale) =
                    (chat.reader.clone(), chat.issuer.clone(), token.clone());
                tokio::spawn(async move { reader.refresh(&issuer, &stale).await });
            }
            outcome::classify(&e)
        }),
    };
    let meta = match tokio::time::timeout(ROUND_TIMEOUT, client.chat(&chat.chat)).await {
        Err(_) => Err(Failure::timeout()),
        Ok(result) => result
            .map(|c| convert::meta(&c))
            .map_err(|e| outcome::classify(&e)),
    };
    ChatView { log, meta }
}

async fn read_round(regions: &[(RegionInfo, Client)], chats: &[FinalChat]) -> Round {
    let mut reads = Vec::new();
    for (region, http) in regions {
        for chat in chats {
            let key = (chat.chat.clone(), region.name.clone());
            reads.push(async move { (key, read_view(http, chat).await) });
        }
    }
    futures::future::join_all(reads).await.into_iter().collect()
}

/// Whether every region read every chat and all regions agree on each.
pub fn agrees(round: &Round) -> bool {
    let mut first: BTreeMap<&str, &ChatView> = BTreeMap::new();
    for ((chat, _), view) in round {
        if view.log.is_err() || view.meta.is_err() {
            return false;
        }
        match first.get(chat.as_str()) {
            Some(seen) if *seen != view => return false,
            Some(_) => {}
            None => {
                first.insert(chat, view);
            }
        }
    }
    true
}

/// Polls until the regions agree or `deadline` passes, then records the
/// final reads (and `converged` when they agreed). `healed` is when the
/// last fault was undone.
pub async fn final_reads(
    regions: &[RegionInfo],
    chats: &[FinalChat],
    recorder: &Recorder,
    healed: Instant,
    deadline: Duration,
) -> Convergence {
    let clients: Vec<(RegionInfo, Client)> = regions
        .iter()
        .filter_map(|r| Client::new(&r.base).ok().map(|c| (r.clone(), c)))
        .collect();
    let give_up = tokio::time::Instant::now() + deadline;
    let mut previous: Option<Round> = None;
    let mut rounds = 0;
    let (last, after_heal) = loop {
        let round = read_round(&clients, chats).await;
        rounds += 1;
        if agrees(&round) && previous.as_ref() == Some(&round) {
            break (round, Some(healed.elapsed()));
        }
        if tokio::time::Instant::now() >= give_up {
            break (round, None);
        }
        previous = Some(round);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    record(recorder, &last);
    if let Some(elapsed) = after_heal {
        let converged = Converged {
            after_heal_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        let actor = Actor::named(Process::final_reader());
        recorder.record(&actor, OpType::Info, F::Converged, &converged, None);
    }
    Convergence { after_heal, rounds }
}

fn record(recorder: &Recorder, round: &Round) {
    for ((chat, region), view) in round {
        let actor = Actor {
            region: Some(region.clone()),
            ..Actor::named(Process::final_reader())
        };
        let invoke = ReadInvoke {
            chat: chat.clone(),
            after: 0,
        };
        recorder.record(&actor, OpType::Invoke, F::FinalRead, &invoke, None);
        match &view.log {
            Ok(messages) => {
                let ok = ReadOk {
                    chat: chat.clone(),
                    after: 0,
                    messages: messages.clone(),
                };
                recorder.record(&actor, OpType::Ok, F::FinalRead, &ok, None);
            }
            Err(failure) => record_failure(recorder, &actor, F::FinalRead, &invoke, failure),
        }
        let invoke = ChatRef { chat: chat.clone() };
        recorder.record(&actor, OpType::Invoke, F::FinalMeta, &invoke, None);
        match &view.meta {
            Ok(meta) => recorder.record(&actor, OpType::Ok, F::FinalMeta, meta, None),
            Err(failure) => record_failure(recorder, &actor, F::FinalMeta, &invoke, failure),
        }
    }
}

fn record_failure(
    recorder: &Recorder,
    actor: &Actor,
    f: F,
    invoke: &impl serde::Serialize,
    failure: &Failure,
) {
    let kind = match failure {
        Failure::Fail(_) => OpType::Fail,
        Failure::Info(_) => OpType::Info,
    };
    recorder.record(actor, kind, f, invoke, Some(failure.reason().to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u64) -> Msg {
        Msg {
            seq,
            hlc: format!("{seq:016x}"),
            sender: "u_1".into(),
            client_msg_id: format!("m{seq}"),
            kind: "text".into(),
            event: None,
            user_ids: None,
            ..Msg::default()
        }
    }

    fn view(len: u64, title: &str) -> ChatView {
        ChatView {
            log: Ok((1..=len).map(msg).collect()),
            meta: Ok(Meta {
                chat: "c".into(),
                title: title.into(),
                description: String::new(),
                home: None,
            }),
        }
    }

    fn round(views: &[(&str, &str, ChatView)]) -> Round {
        views
            .iter()
            .map(|(c, r, v)| (((*c).to_owned(), (*r).to_owned()), v.clone()))
            .collect()
    }

    #[test]
    fn regions_agree_only_on_equal_logs_and_metadata() {
        let same = round(&[
            ("c", "a", view(3, "t")),
            ("c", "b", view(3, "t")),
            ("d", "a", view(1, "x")),
            ("d", "b", view(1, "x")),
        ]);
        assert!(agrees(&same));
        let behind = round(&[("c", "a", view(3, "t")), ("c", "b", view(2, "t"))]);
        assert!(!agrees(&behind));
        let renamed = round(&[("c", "a", view(3, "t")), ("c", "b", view(3, "u"))]);
        assert!(!agrees(&renamed));
        let mut down = view(3, "t");
        down.log = Err(Failure::timeout());
        assert!(!agrees(&round(&[
            ("c", "a", view(3, "t")),
            ("c", "b", down)
        ])));
    }
}
