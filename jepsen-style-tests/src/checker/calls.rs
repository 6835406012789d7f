//! Client operations as the checks see them: each `invoke` paired with its
//! completion, its value read into the typed shape of its operation.
//!
//! Pairing is per (process, operation) rather than per process, because a
//! device's WebSocket may push messages (`recv`) while one of its requests
//! is outstanding. An invoke that never completes counts as `info`: the run
//! ended before it did, so it may or may not have happened. Anything that
//! cannot be paired or parsed becomes a `malformed` anomaly instead of
//! stopping the check.

use std::collections::HashMap;

use serde::Deserialize;

use super::outcome::{Anomaly, Class, Findings};
use crate::history::{
    ChatRef, F, MarksSeen, Membership, Meta, MetaSet, Op, OpType, Process, ReadInvoke, ReadOk,
    Recv, Resolve, SendOk,
};

/// The chat and idempotency key of a `send` or `resolve` invoke.
#[derive(Debug, Clone, Deserialize)]
struct KeyRef {
    chat: String,
    client_msg_id: String,
}

/// What one client operation asked and, when `ok`, answered.
#[derive(Debug, Clone)]
pub enum Body {
    /// `send`.
    Send {
        /// Idempotency key.
        client_msg_id: String,
        /// The answer, when ok.
        ok: Option<SendOk>,
    },
    /// `resolve`.
    Resolve {
        /// Idempotency key.
        client_msg_id: String,
        /// The answer, when ok.
        ok: Option<Resolve>,
    },
    /// `read`.
    Read {
        /// The answer, when ok.
        ok: Option<ReadOk>,
    },
    /// `recv`.
    Recv {
        /// The pushed message, when ok.
        ok: Option<Recv>,
    },
    /// `marks`.
    Marks {
        /// The observation, when ok.
        ok: Option<MarksSeen>,
    },
    /// `set_meta`.
    SetMeta {
        /// What was asked.
        set: MetaSet,
    },
    /// `get_meta`.
    GetMeta {
        /// The answer, when ok.
        ok: Option<Meta>,
    },
    /// `mark_read`, `add_member`, `remove_member`: recorded, not checked
    /// by value.
    Other,
}

/// One client operation from invoke to completion.
#[derive(Debug, Clone)]
pub struct Call {
    /// The client process.
    pub process: u64,
    /// How it ended (`info` when it never completed).
    pub outcome: OpType,
    /// Position of the invoke in the history slice.
    pub invoke: usize,
    /// Position of the completion, if any.
    pub complete: Option<usize>,
    /// The chat it concerns.
    pub chat: String,
    /// The region the process talks to.
    pub region: Option<String>,
    /// The process's device.
    pub device: Option<String>,
    /// The device's user.
    pub user: Option<String>,
    /// Its typed value.
    pub body: Body,
}

impl Call {
    /// Whether it completed `ok`.
    pub fn is_ok(&self) -> bool {
        self.outcome == OpType::Ok
    }

    /// The highest seq an ok read or push showed the device. A read from
    /// `after` shows that the device already knew `after`, even when it
    /// answered nothing.
    pub fn seen_tip(&self) -> Option<u64> {
        match &self.body {
            Body::Read { ok: Some(read), .. } => {
                let top = read.messages.iter().map(|m| m.seq).max().unwrap_or(0);
                Some(top.max(read.after))
            }
            Body::Recv { ok: Some(recv) } if recv.message.seq > 0 => Some(recv.message.seq),
            _ => None,
        }
    }

    /// The highest seq an ok read or push actually showed, `None` when it
    /// showed none. Unlike [`Call::seen_tip`], a read's `after` does not
    /// count: a device may know a seq from its own `sent` answer before its
    /// region's replica holds it.
    pub fn shown_tip(&self) -> Option<u64> {
        match &self.body {
            Body::Read { ok: Some(read), .. } => read.messages.iter().map(|m| m.seq).max(),
            _ => self.seen_tip(),
        }
    }
}

/// Pairs the client events of `ops` into calls, reporting what cannot be
/// paired or parsed. Events of named processes (nemesis, final) are left
/// to the checks that read them.
pub fn pair(ops: &[Op], findings: &mut Findings) -> Vec<Call> {
    let mut open: HashMap<(u64, F), usize> = HashMap::new();
    let mut calls = Vec::new();
    for (pos, op) in ops.iter().enumerate() {
        let Process::Client(process) = op.process else {
            continue;
        };
        if matches!(
            op.f,
            F::FinalRead | F::FinalMeta | F::Converged | F::Nemesis
        ) {
            findings.add(Anomaly::new(
                Class::Malformed,
                vec![op.index],
                format!("{:?} recorded by client process {process}", op.f),
            ));
            continue;
        }
        if op.kind == OpType::Invoke {
            if let Some(earlier) = open.insert((process, op.f), pos) {
                findings.add(Anomaly::new(
                    Class::Malformed,
                    vec![ops[earlier].index, op.index],
                    format!(
                        "process {process} invoked {:?} again before the first completed",
                        op.f
                    ),
                ));
            }
            continue;
        }
        let Some(invoke) = open.remove(&(process, op.f)) else {
            findings.add(Anomaly::new(
                Class::Malformed,
                vec![op.index],
                format!(
                    "{:?} completion without an invoke on process {process}",
                    op.f
                ),
            ));
            continue;
        };
        if let Some(call) = build(ops, invoke, Some(pos), findings) {
            calls.push(call);
        }
    }
    let mut unfinished: Vec<usize> = open.into_values().collect();
    unfinished.sort_unstable();
    for invoke in unfinished {
        if let Some(call) = build(ops, invoke, None, findings) {
            calls.push(call);
        }
    }
    calls.sort_by_key(|c| c.invoke);
    calls
}

/// Reads one call's values; `None` (and a `malformed` anomaly) when they do
/// not have their operation's shape.
fn build(
    ops: &[Op],
    invoke: usize,
    complete: Option<usize>,
    findings: &mut Findings,
) -> Option<Call> {
    let inv = &ops[invoke];
    let done = complete.map(|c| &ops[c]);
    let outcome = done.map_or(OpType::Info, |d| d.kind);
    let ok = done.filter(|d| d.kind == OpType::Ok);
    let indices: Vec<u64> = std::iter::once(inv.index)
        .chain(done.map(|d| d.index))
        .collect();
    let parsed = parse_body(inv, ok);
    let (chat, body) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            findings.add(Anomaly::new(Class::Malformed, indices, error.to_string()));
            return None;
        }
    };
    let Process::Client(process) = inv.process else {
        return None;
    };
    if matches!(inv.f, F::Send | F::Resolve)
        && inv.user.is_none()
        && done.is_none_or(|d| d.user.is_none())
    {
        // Without its sender a message cannot be found in the final log.
        findings.add(Anomaly::new(
            Class::Malformed,
            indices.clone(),
            format!("{:?} without a user", inv.f),
        ));
    }
    let pick = |field: fn(&Op) -> &Option<String>| {
        field(inv)
            .clone()
            .or_else(|| done.and_then(|d| field(d).clone()))
    };
    Some(Call {
        process,
        outcome,
        invoke,
        complete,
        chat,
        region: pick(|o| &o.region),
        device: pick(|o| &o.device),
        user: pick(|o| &o.user),
        body,
    })
}

/// The chat and typed body of a call from its invoke and (ok) completion.
fn parse_body(inv: &Op, ok: Option<&Op>) -> Result<(String, Body), crate::history::HistoryError> {
    fn answer<T: serde::de::DeserializeOwned>(
        ok: Option<&Op>,
    ) -> Result<Option<T>, crate::history::HistoryError> {
        ok.map(|o| o.value_as::<T>()).transpose()
    }
    Ok(match inv.f {
        F::Send => {
            let key: KeyRef = inv.value_as()?;
            let body = Body::Send {
                client_msg_id: key.client_msg_id,
                ok: answer(ok)?,
            };
            (key.chat, body)
        }
        F::Resolve => {
            let key: KeyRef = inv.value_as()?;
            let body = Body::Resolve {
                client_msg_id: key.client_msg_id,
                ok: answer(ok)?,
            };
            (key.chat, body)
        }
        F::Read => {
            let read: ReadInvoke = inv.value_as()?;
            (read.chat, Body::Read { ok: answer(ok)? })
        }
        F::Recv => {
            let chat: ChatRef = inv.value_as()?;
            (chat.chat, Body::Recv { ok: answer(ok)? })
        }
        F::Marks => {
            let chat: ChatRef = inv.value_as()?;
            (chat.chat, Body::Marks { ok: answer(ok)? })
        }
        F::SetMeta => {
            let set: MetaSet = inv.value_as()?;
            // The answer is read only to report a malformed one.
            answer::<Meta>(ok)?;
            (set.chat.clone(), Body::SetMeta { set })
        }
        F::GetMeta => {
            let chat: ChatRef = inv.value_as()?;
            (chat.chat, Body::GetMeta { ok: answer(ok)? })
        }
        F::AddMember | F::RemoveMember => {
            let member: Membership = inv.value_as()?;
            answer::<Membership>(ok)?;
            (member.chat, Body::Other)
        }
        F::MarkRead | F::FinalRead | F::FinalMeta | F::Converged | F::Nemesis => {
            let chat: ChatRef = inv.value_as()?;
            (chat.chat, Body::Other)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(index: u64, process: u64, kind: OpType, f: F, value: serde_json::Value) -> Op {
        Op {
            index,
            time: index * 1_000,
            process: Process::Client(process),
            kind,
            f,
            value,
            region: Some("r1".to_owned()),
            device: Some(format!("d{process}")),
            user: Some(format!("u{process}")),
            error: None,
        }
    }

    #[test]
    fn invokes_pair_with_their_completions_per_process_and_operation() {
        let send = json!({"chat": "c", "client_msg_id": "m1", "text": "hi"});
        let recv = json!({"chat": "c", "message": {"seq": 1, "hlc": "0000000000000001",
            "sender": "u2", "client_msg_id": "x", "kind": "text"}});
        let ops = vec![
            op(0, 1, OpType::Invoke, F::Send, send.clone()),
            op(1, 1, OpType::Invoke, F::Recv, recv.clone()),
            op(2, 1, OpType::Ok, F::Recv, recv),
            op(
                3,
                1,
                OpType::Ok,
                F::Send,
                json!({"chat": "c", "client_msg_id": "m1", "status": "sent", "seq": 2, "hlc": "0000000000000002"}),
            ),
            op(4, 2, OpType::Invoke, F::Send, send),
        ];
        let mut findings = Findings::default();
        let calls = pair(&ops, &mut findings);
        assert!(findings.into_classes().is_empty());
        assert_eq!(calls.len(), 3);
        assert_eq!((calls[0].invoke, calls[0].complete), (0, Some(3)));
        assert!(matches!(&calls[0].body, Body::Send { ok: Some(ok), .. } if ok.seq == Some(2)));
        assert_eq!((calls[1].invoke, calls[1].complete), (1, Some(2)));
        assert_eq!(
            calls[2].outcome,
            OpType::Info,
            "an unfinished invoke is info"
        );
        assert_eq!(calls[2].user.as_deref(), Some("u2"));
    }

    #[test]
    fn unpaired_and_unparsable_events_are_malformed() {
        let ops = vec![
            op(0, 1, OpType::Ok, F::Read, json!({})),
            op(1, 2, OpType::Invoke, F::Send, json!({"chat": 5})),
            op(2, 2, OpType::Fail, F::Send, json!({})),
            op(
                3,
                3,
                OpType::Invoke,
                F::Read,
                json!({"chat": "c", "after": 0}),
            ),
            op(
                4,
                3,
                OpType::Invoke,
                F::Read,
                json!({"chat": "c", "after": 0}),
            ),
            op(
                5,
                3,
                OpType::Ok,
                F::Read,
                json!({"chat": "c", "after": 0, "messages": "no"}),
            ),
        ];
        let mut anonymous = op(
            6,
            4,
            OpType::Invoke,
            F::Send,
            json!({"chat": "c", "client_msg_id": "m", "text": ""}),
        );
        anonymous.user = None;
        let mut ops = ops;
        ops.push(anonymous);
        let mut findings = Findings::default();
        let calls = pair(&ops, &mut findings);
        assert_eq!(calls.len(), 1, "the anonymous send is kept");
        let classes = findings.into_classes();
        assert_eq!(classes[&Class::Malformed].count, 5);
    }
}
