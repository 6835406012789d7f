//! The history as Elle's list-append workload, in EDN, so the same run can
//! also be checked by Jepsen's Elle (`elle.list-append`).
//!
//! Each chat is a list key; each message is an element appended once. A
//! `send` is a transaction `[[:append K V]]`; a read from the start (and
//! every `final_read`) is `[[:r K [V ...]]]` in seq order. Elle needs whole
//! lists, so a read that started after a seq > 0 (a suffix) keeps its
//! invoke but completes as `:info` with an unknown value; system messages
//! and pending ones (seq 0) are left out of reads, since no client
//! transaction appended them. Final reads become transactions of their own
//! processes (one integer per region, above every client's), because Elle
//! analyses only integer processes. Resolves, pushes, marks, metadata and
//! membership operations have no list-append meaning and are left out;
//! nemesis events keep their place as `:info` events of `:nemesis`.
//! Indices are renumbered densely; a comment at the top maps keys and
//! values back to chats and messages.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use crate::history::{F, Fault, Msg, Op, OpType, Process, ReadInvoke, ReadOk};

/// Writes `ops` as Elle list-append EDN, one map per line.
pub fn write(ops: &[Op], mut out: impl Write) -> std::io::Result<()> {
    let plan = Plan::new(ops);
    plan.write_mapping(&mut out)?;
    let mut open: HashSet<(u64, F)> = HashSet::new();
    let mut index = 0u64;
    for op in ops {
        let Some(event) = plan.event(op, &mut open) else {
            continue;
        };
        writeln!(
            out,
            "{{:index {index}, :type {}, :process {}, :f {}, :value {}, :time {}}}",
            event.kind, event.process, event.f, event.value, op.time
        )?;
        index += 1;
        if let Some(ok) = event.then {
            writeln!(
                out,
                "{{:index {index}, :type :ok, :process {}, :f :txn, :value {ok}, :time {}}}",
                event.process, op.time
            )?;
            index += 1;
        }
    }
    out.flush()
}

/// One EDN event, its fields already rendered. `then` is the `:ok` that
/// follows a synthesized invoke (final reads are recorded as completions
/// only).
struct Event {
    kind: &'static str,
    process: String,
    f: String,
    value: String,
    then: Option<String>,
}

/// The numbering of keys, values and final-read processes.
struct Plan {
    keys: BTreeMap<String, u64>,
    values: HashMap<(String, String, String), u64>,
    value_order: Vec<(String, String, String)>,
    final_process: BTreeMap<String, u64>,
}

impl Plan {
    fn new(ops: &[Op]) -> Self {
        let mut plan = Plan {
            keys: BTreeMap::new(),
            values: HashMap::new(),
            value_order: Vec::new(),
            final_process: BTreeMap::new(),
        };
        let mut max_client = 0;
        for op in ops {
            if let Process::Client(p) = op.process {
                max_client = max_client.max(p);
            }
            match op.f {
                F::Send if op.kind == OpType::Invoke => {
                    if let Ok(send) = op.value_as::<crate::history::SendInvoke>() {
                        let user = op.user.clone().unwrap_or_default();
                        plan.value_of(&send.chat, &user, &send.client_msg_id);
                    }
                }
                F::Read | F::FinalRead if op.kind == OpType::Ok => {
                    if let Ok(read) = op.value_as::<ReadOk>() {
                        for msg in exported(&read.messages) {
                            plan.value_of(&read.chat, &msg.sender, &msg.client_msg_id);
                        }
                    }
                }
                _ => {}
            }
            if op.f == F::FinalRead && op.kind == OpType::Ok {
                let region = op.region.clone().unwrap_or_default();
                let next = plan.final_process.len() as u64;
                plan.final_process.entry(region).or_insert(next);
            }
        }
        for p in plan.final_process.values_mut() {
            *p += max_client + 1;
        }
        plan
    }

    fn key_of(&mut self, chat: &str) -> u64 {
        let next = self.keys.len() as u64 + 1;
        *self.keys.entry(chat.to_owned()).or_insert(next)
    }

    fn value_of(&mut self, chat: &str, sender: &str, id: &str) -> u64 {
        self.key_of(chat);
        let key = (chat.to_owned(), sender.to_owned(), id.to_owned());
        if let Some(v) = self.values.get(&key) {
            return *v;
        }
        let v = self.value_order.len() as u64 + 1;
        self.values.insert(key.clone(), v);
        self.value_order.push(key);
        v
    }

    fn key(&self, chat: &str) -> u64 {
        self.keys.get(chat).copied().unwrap_or(0)
    }

    fn value(&self, chat: &str, sender: &str, id: &str) -> u64 {
        self.values
            .get(&(chat.to_owned(), sender.to_owned(), id.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    fn write_mapping(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, ";; chatmesh history as an Elle list-append history.")?;
        writeln!(
            out,
            ";; Keys are chats, values are messages (chat, sender, client_msg_id)."
        )?;
        let mut keys: Vec<_> = self.keys.iter().collect();
        keys.sort_by_key(|(_, k)| **k);
        for (chat, k) in keys {
            writeln!(out, ";; key {k} = chat {}", string(chat))?;
        }
        for (region, p) in &self.final_process {
            writeln!(
                out,
                ";; process {p} = final reads in region {}",
                string(region)
            )?;
        }
        for (i, (chat, sender, id)) in self.value_order.iter().enumerate() {
            writeln!(
                out,
                ";; value {} = chat {} sender {} client_msg_id {}",
                i + 1,
                string(chat),
                string(sender),
                string(id)
            )?;
        }
        Ok(())
    }

    /// The EDN form of one event, or `None` when it has none.
    fn event(&self, op: &Op, open: &mut HashSet<(u64, F)>) -> Option<Event> {
        let kind = match op.kind {
            OpType::Invoke => ":invoke",
            OpType::Ok => ":ok",
            OpType::Fail => ":fail",
            OpType::Info => ":info",
        };
        match (&op.process, op.f) {
            (Process::Client(p), F::Send | F::Read) => {
                // A completion without its invoke has no place in Elle's history.
                if op.kind == OpType::Invoke {
                    open.insert((*p, op.f));
                } else if !open.remove(&(*p, op.f)) {
                    return None;
                }
                let (kind, value) = if op.f == F::Send {
                    (kind, self.append(op)?)
                } else {
                    self.read(op, kind)?
                };
                Some(Event {
                    kind,
                    process: p.to_string(),
                    f: ":txn".to_owned(),
                    value,
                    then: None,
                })
            }
            (_, F::FinalRead) if op.kind == OpType::Ok => {
                let read = op.value_as::<ReadOk>().ok()?;
                let region = op.region.clone().unwrap_or_default();
                let process = self.final_process.get(&region)?;
                Some(Event {
                    kind: ":invoke",
                    process: process.to_string(),
                    f: ":txn".to_owned(),
                    value: format!("[[:r {} nil]]", self.key(&read.chat)),
                    then: Some(self.list(&read)),
                })
            }
            (_, F::Nemesis) => {
                let fault = op.value_as::<Fault>().ok()?;
                let regions: Vec<String> = fault.regions.iter().map(|r| string(r)).collect();
                Some(Event {
                    kind: ":info",
                    process: ":nemesis".to_owned(),
                    f: format!(":{}-{}", keyword(&fault.action), keyword(&fault.fault)),
                    value: format!(
                        "{{:regions [{}], :detail {}}}",
                        regions.join(" "),
                        string(&fault.detail)
                    ),
                    then: None,
                })
            }
            _ => None,
        }
    }

    fn append(&self, op: &Op) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Key {
            chat: String,
            client_msg_id: String,
        }
        let key = op.value_as::<Key>().ok()?;
        let user = op.user.clone().unwrap_or_default();
        Some(format!(
            "[[:append {} {}]]",
            self.key(&key.chat),
            self.value(&key.chat, &user, &key.client_msg_id)
        ))
    }

    fn read(&self, op: &Op, kind: &'static str) -> Option<(&'static str, String)> {
        if op.kind == OpType::Ok {
            let read = op.value_as::<ReadOk>().ok()?;
            if read.after == 0 {
                return Some((kind, self.list(&read)));
            }
            let k = self.key(&read.chat);
            return Some((":info", format!("[[:r {k} nil]]")));
        }
        let read = op.value_as::<ReadInvoke>().ok()?;
        Some((kind, format!("[[:r {} nil]]", self.key(&read.chat))))
    }

    fn list(&self, read: &ReadOk) -> String {
        let mut messages: Vec<&Msg> = exported(&read.messages).collect();
        messages.sort_by_key(|m| m.seq);
        let values: Vec<String> = messages
            .iter()
            .map(|m| {
                self.value(&read.chat, &m.sender, &m.client_msg_id)
                    .to_string()
            })
            .collect();
        format!("[[:r {} [{}]]]", self.key(&read.chat), values.join(" "))
    }
}

/// The messages of a read that a client appended and the home sequenced.
fn exported(messages: &[Msg]) -> impl Iterator<Item = &Msg> {
    messages.iter().filter(|m| m.seq > 0 && m.kind != "system")
}

/// An EDN string literal; escaping newlines also keeps it safe inside a
/// `;;` comment line.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A keyword name: anything but letters, digits, `-`, `_` and `.` becomes `-`.
fn keyword(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "unknown".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_keywords_are_escaped() {
        assert_eq!(string("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(keyword("clock skew!"), "clock-skew-");
        assert_eq!(keyword(""), "unknown");
    }
}
