//! A small builder of histories for the checker's unit tests: client
//! process `p` is user `u{p}` on device `d{p}` in region `r1` unless placed
//! elsewhere, and every event is one millisecond after the previous one.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Class, Report, check};
use crate::history::{F, Msg, Op, OpType, Process};

/// A message of `sender` with id `m{seq}`-style key given explicitly.
pub fn msg(seq: u64, hlc: u64, sender: &str, client_msg_id: &str) -> Msg {
    Msg {
        seq,
        hlc: format!("{hlc:016x}"),
        sender: sender.to_owned(),
        client_msg_id: client_msg_id.to_owned(),
        kind: "text".to_owned(),
        event: None,
        user_ids: None,
        ..Msg::default()
    }
}

/// A system message about `users`.
pub fn system(seq: u64, hlc: u64, actor: &str, event: &str, users: &[&str]) -> Msg {
    Msg {
        kind: "system".to_owned(),
        event: Some(event.to_owned()),
        user_ids: Some(users.iter().map(|u| (*u).to_owned()).collect()),
        ..msg(seq, hlc, actor, &format!("sys{seq}"))
    }
}

/// A history under construction.
#[derive(Default)]
pub struct H {
    /// The events so far.
    pub ops: Vec<Op>,
    regions: HashMap<u64, String>,
}

impl H {
    /// Places process `p` in `region`.
    pub fn place(&mut self, p: u64, region: &str) -> &mut Self {
        self.regions.insert(p, region.to_owned());
        self
    }

    fn push(&mut self, process: Process, kind: OpType, f: F, value: Value) -> &mut Self {
        let index = self.ops.len() as u64;
        let (region, device, user) = match process {
            Process::Client(p) => (
                Some(
                    self.regions
                        .get(&p)
                        .cloned()
                        .unwrap_or_else(|| "r1".to_owned()),
                ),
                Some(format!("d{p}")),
                Some(format!("u{p}")),
            ),
            Process::Named(_) => (None, None, None),
        };
        self.ops.push(Op {
            index,
            time: index * 1_000_000,
            process,
            kind,
            f,
            value,
            region,
            device,
            user,
            error: None,
        });
        self
    }

    /// An invoke of client `p`.
    pub fn invoke(&mut self, p: u64, f: F, value: Value) -> &mut Self {
        self.push(Process::Client(p), OpType::Invoke, f, value)
    }

    /// A completion of client `p`.
    pub fn done(&mut self, p: u64, kind: OpType, f: F, value: Value) -> &mut Self {
        self.push(Process::Client(p), kind, f, value)
    }

    /// A send invoke.
    pub fn send(&mut self, p: u64, chat: &str, id: &str) -> &mut Self {
        self.invoke(
            p,
            F::Send,
            json!({"chat": chat, "client_msg_id": id, "text": "t"}),
        )
    }

    /// A send's `sent` answer.
    pub fn sent(&mut self, p: u64, chat: &str, id: &str, seq: u64, hlc: u64) -> &mut Self {
        self.done(
            p,
            OpType::Ok,
            F::Send,
            json!({"chat": chat, "client_msg_id": id, "status": "sent", "seq": seq, "hlc": format!("{hlc:016x}")}),
        )
    }

    /// A send's `accepted` answer.
    pub fn accepted(&mut self, p: u64, chat: &str, id: &str) -> &mut Self {
        self.done(
            p,
            OpType::Ok,
            F::Send,
            json!({"chat": chat, "client_msg_id": id, "status": "accepted"}),
        )
    }

    /// A send that failed or timed out.
    pub fn send_ends(&mut self, p: u64, kind: OpType, chat: &str, id: &str) -> &mut Self {
        self.done(
            p,
            kind,
            F::Send,
            json!({"chat": chat, "client_msg_id": id, "text": "t"}),
        )
    }

    /// A whole read: invoke and ok.
    pub fn read(&mut self, p: u64, chat: &str, after: u64, messages: &[Msg]) -> &mut Self {
        self.invoke(p, F::Read, json!({"chat": chat, "after": after}));
        self.done(
            p,
            OpType::Ok,
            F::Read,
            json!({"chat": chat, "after": after, "messages": messages}),
        )
    }

    /// A pushed message: invoke and ok.
    pub fn recv(&mut self, p: u64, chat: &str, message: &Msg) -> &mut Self {
        let value = json!({"chat": chat, "message": message});
        self.invoke(p, F::Recv, value.clone());
        self.done(p, OpType::Ok, F::Recv, value)
    }

    /// A final read of `chat` in `region`.
    pub fn final_read(&mut self, region: &str, chat: &str, messages: &[Msg]) -> &mut Self {
        self.push(
            Process::final_reader(),
            OpType::Ok,
            F::FinalRead,
            json!({"chat": chat, "after": 0, "messages": messages}),
        );
        if let Some(op) = self.ops.last_mut() {
            op.region = Some(region.to_owned());
        }
        self
    }

    /// A final metadata read of `chat` in `region`.
    pub fn final_meta(&mut self, region: &str, chat: &str, title: &str) -> &mut Self {
        self.push(
            Process::final_reader(),
            OpType::Ok,
            F::FinalMeta,
            json!({"chat": chat, "title": title, "description": ""}),
        );
        if let Some(op) = self.ops.last_mut() {
            op.region = Some(region.to_owned());
        }
        self
    }

    /// A final metadata read of `chat` in `region` naming its home.
    pub fn final_home(&mut self, region: &str, chat: &str, home: &str) -> &mut Self {
        self.push(
            Process::final_reader(),
            OpType::Ok,
            F::FinalMeta,
            json!({"chat": chat, "title": "", "description": "", "home": home}),
        );
        if let Some(op) = self.ops.last_mut() {
            op.region = Some(region.to_owned());
        }
        self
    }

    /// A nemesis event.
    pub fn fault(&mut self, fault: &str, action: &str, regions: &[&str]) -> &mut Self {
        self.push(
            Process::nemesis(),
            OpType::Info,
            F::Nemesis,
            json!({"fault": fault, "action": action, "regions": regions, "detail": ""}),
        )
    }

    /// Checks the history.
    pub fn check(&self) -> Report {
        check(&self.ops)
    }
}

/// The classes a report flags.
pub fn flagged(report: &Report) -> Vec<Class> {
    report.failing_classes()
}
