//! The checker against histories with known answers: the golden files
//! (one per anomaly class, and clean ones full of faults), random histories
//! of a simulated correct mesh that must pass, and mutations of them that
//! must be caught. The EDN export is checked on the same histories.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jepsen::checker::{Class, check};
use jepsen::history::{self, F, Msg, Op, OpType, Process, ReadOk};
use proptest::prelude::*;
use serde_json::{Value, json};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn goldens() -> Vec<(String, Vec<Op>)> {
    let mut files: Vec<_> = std::fs::read_dir(golden_dir())
        .expect("golden directory")
        .map(|e| e.expect("golden entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("file name")
                .to_owned();
            (name, history::read(&path).expect("golden history parses"))
        })
        .collect()
}

#[test]
fn every_golden_history_gets_exactly_its_verdict() {
    let goldens = goldens();
    let mut classes_covered = Vec::new();
    for (name, ops) in &goldens {
        let report = check(ops);
        if name.starts_with("clean_") {
            assert!(
                report.is_valid(),
                "{name} should pass:\n{}",
                jepsen::report::summary(&report)
            );
        } else {
            let expected = Class::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .unwrap_or_else(|| panic!("{name} names no anomaly class"));
            assert_eq!(
                report.failing_classes(),
                vec![expected],
                "{name}:\n{}",
                jepsen::report::summary(&report)
            );
            classes_covered.push(expected);
        }
    }
    classes_covered.sort();
    assert_eq!(classes_covered, Class::ALL.to_vec(), "a golden per class");
    assert!(
        goldens
            .iter()
            .filter(|(n, _)| n.starts_with("clean_"))
            .count()
            >= 3
    );
}

#[test]
fn the_clean_partition_history_reports_its_numbers() {
    let (_, ops) = goldens()
        .into_iter()
        .find(|(n, _)| n == "clean_partition_accepted_resolved")
        .expect("golden");
    let report = check(&ops);
    assert_eq!(report.stats.accepted_sends, 1);
    assert_eq!(report.stats.resolves, 1);
    assert_eq!(report.stats.converged_after_heal_ms, Some(120));
    assert!(report.stats.by_f[&F::Send].fail >= 1);
    assert!(report.stats.ops_per_s > 0.0);
}

#[test]
fn the_report_directory_is_written_for_a_golden_history() {
    let (_, ops) = goldens()
        .into_iter()
        .find(|(n, _)| n == "lost_write")
        .expect("golden");
    let report = check(&ops);
    let dir = tempfile::tempdir().expect("temp dir");
    jepsen::report::write(dir.path(), &ops, &report).expect("write report");
    let summary = std::fs::read_to_string(dir.path().join("summary.txt")).expect("summary");
    assert!(summary.contains("lost_write: 1"), "{summary}");
    assert!(summary.trim_end().ends_with("INVALID"));
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("results.json")).expect("results"),
    )
    .expect("json");
    assert_eq!(results["valid"], false);
    assert_eq!(results["anomalies"]["lost_write"]["count"], 1);
    assert!(dir.path().join("timeline.png").exists());
}

// ---- a simulated correct mesh ----

/// xorshift64*: a small deterministic generator, so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
const PROCESSES: u64 = 6;

struct Chat {
    name: String,
    home: usize,
    log: Vec<Msg>,
    replica: [usize; 3],
    outbox: Vec<(u64, String)>,
}

/// A correct mesh: homes sequence, replicas lag but only grow, a cut-off
/// region accepts sends into an outbox that is sequenced (and resolved)
/// after the heal, retries are deduplicated, marks only grow, metadata is
/// last-writer-wins.
struct Sim {
    rng: Rng,
    ops: Vec<Op>,
    time: u64,
    clock: u64,
    chats: Vec<Chat>,
    isolated: Option<usize>,
    next_id: u64,
    marks: HashMap<(usize, u64), (u64, u64)>,
    title: HashMap<usize, String>,
}

fn user(p: u64) -> String {
    format!("u{p}")
}

fn region_of(p: u64) -> usize {
    ((p - 1) % 3) as usize
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut sim = Sim {
            rng: Rng::new(seed),
            ops: Vec::new(),
            time: 0,
            clock: 1000,
            chats: Vec::new(),
            isolated: None,
            next_id: 0,
            marks: HashMap::new(),
            title: HashMap::new(),
        };
        for (i, home) in [0usize, 1, 2].into_iter().enumerate() {
            let created = Msg {
                seq: 1,
                hlc: sim.tick(),
                sender: "u1".to_owned(),
                client_msg_id: format!("created-{i}"),
                kind: "system".to_owned(),
                event: Some("chat_created".to_owned()),
                user_ids: Some((2..=PROCESSES).map(user).collect()),
                ..Msg::default()
            };
            sim.chats.push(Chat {
                name: format!("c{i}"),
                home,
                log: vec![created],
                replica: [1; 3],
                outbox: Vec::new(),
            });
            sim.title.insert(i, "initial".to_owned());
        }
        sim
    }

    fn tick(&mut self) -> String {
        self.clock += 1 + self.rng.below(5);
        format!("{:016x}", self.clock << 16)
    }

    fn push(&mut self, process: Process, kind: OpType, f: F, value: Value) {
        self.time += 1_000_000 * (1 + self.rng.below(40));
        let (region, device, user) = match process {
            Process::Client(p) => (
                Some(REGIONS[region_of(p)].to_owned()),
                Some(format!("d{p}")),
                Some(user(p)),
            ),
            Process::Named(_) => (None, None, None),
        };
        self.ops.push(Op {
            index: self.ops.len() as u64,
            time: self.time,
            process,
            kind,
            f,
            value,
            region,
            device,
            user,
            error: (kind == OpType::Fail || kind == OpType::Info).then(|| "timeout".to_owned()),
        });
    }

    fn call(&mut self, p: u64, f: F, invoke: Value, kind: OpType, done: Value) {
        self.push(Process::Client(p), OpType::Invoke, f, invoke);
        self.push(Process::Client(p), kind, f, done);
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        a != b && self.isolated.is_some_and(|x| x == a || x == b)
    }

    fn sequence(&mut self, chat: usize, sender: &str, id: &str, kind: &str) -> (u64, String) {
        if let Some(m) = self.chats[chat]
            .log
            .iter()
            .find(|m| m.sender == sender && m.client_msg_id == id)
        {
            return (m.seq, m.hlc.clone());
        }
        let hlc = self.tick();
        let c = &mut self.chats[chat];
        let seq = c.log.len() as u64 + 1;
        c.log.push(Msg {
            seq,
            hlc: hlc.clone(),
            sender: sender.to_owned(),
            client_msg_id: id.to_owned(),
            kind: kind.to_owned(),
            event: None,
            user_ids: None,
            ..Msg::default()
        });
        let home = c.home;
        c.replica[home] = c.log.len();
        (seq, hlc)
    }

    fn replicate(&mut self, everything: bool) {
        for i in 0..self.chats.len() {
            for r in 0..3 {
                let home = self.chats[i].home;
                if !self.cut(r, home) && (everything || self.rng.chance(50)) {
                    self.chats[i].replica[r] = self.chats[i].log.len();
                }
            }
        }
    }

    fn heal(&mut self) {
        if let Some(x) = self.isolated.take() {
            self.fault("stop", x);
        }
        for chat in 0..self.chats.len() {
            let outbox = std::mem::take(&mut self.chats[chat].outbox);
            for (p, id) in outbox {
                let (seq, hlc) = self.sequence(chat, &user(p), &id, "text");
                let name = self.chats[chat].name.clone();
                let v = json!({"chat": name, "client_msg_id": id, "seq": seq, "hlc": hlc});
                self.call(p, F::Resolve, v.clone(), OpType::Ok, v);
            }
        }
    }

    fn fault(&mut self, action: &str, region: usize) {
        let v = json!({"fault": "partition", "action": action, "regions": [REGIONS[region]], "detail": format!("isolate {}", REGIONS[region])});
        self.push(Process::nemesis(), OpType::Info, F::Nemesis, v);
    }

    fn send(&mut self, p: u64, chat: usize, retry: Option<String>) {
        let id = retry.unwrap_or_else(|| {
            self.next_id += 1;
            format!("m{}", self.next_id)
        });
        let name = self.chats[chat].name.clone();
        let invoke = json!({"chat": name, "client_msg_id": id, "text": "hi"});
        let region = region_of(p);
        let home = self.chats[chat].home;
        let reachable = !self.cut(region, home);
        let roll = self.rng.below(100);
        if roll < 10 || (!reachable && roll < 15) {
            self.call(p, F::Send, invoke.clone(), OpType::Fail, invoke);
        } else if roll < 22 {
            if reachable && self.rng.chance(50) {
                self.sequence(chat, &user(p), &id, "text");
            }
            self.call(p, F::Send, invoke.clone(), OpType::Info, invoke);
            if self.rng.chance(50) {
                self.send(p, chat, Some(id));
            }
        } else if reachable {
            let (seq, hlc) = self.sequence(chat, &user(p), &id, "text");
            // The relayed `sent` follows the message into the sender's region.
            self.chats[chat].replica[region] = self.chats[chat].log.len();
            let ok = json!({"chat": name, "client_msg_id": id, "status": "sent", "seq": seq, "hlc": hlc});
            self.call(p, F::Send, invoke, OpType::Ok, ok);
            if self.rng.chance(50) {
                let to = 1 + 3 * self.rng.below(2) + home as u64;
                let message = self.chats[chat].log[seq as usize - 1].clone();
                let v = json!({"chat": name, "message": message});
                self.call(to, F::Recv, v.clone(), OpType::Ok, v);
            }
        } else {
            let provisional = self.tick();
            self.chats[chat].outbox.push((p, id.clone()));
            let ok = json!({"chat": name, "client_msg_id": id, "status": "accepted", "hlc": provisional});
            self.call(p, F::Send, invoke, OpType::Ok, ok);
        }
    }

    fn read(&mut self, p: u64, chat: usize) {
        let c = &self.chats[chat];
        let have = c.replica[region_of(p)];
        let after = self.rng.below(have as u64 + 1);
        let invoke = json!({"chat": c.name, "after": after});
        if self.rng.chance(5) {
            self.call(p, F::Read, invoke.clone(), OpType::Info, invoke);
            return;
        }
        let messages = &c.log[after as usize..have];
        let ok = json!({"chat": c.name, "after": after, "messages": messages});
        self.call(p, F::Read, invoke, OpType::Ok, ok);
    }

    fn marks(&mut self, p: u64, chat: usize) {
        let whose = 1 + self.rng.below(PROCESSES);
        let len = self.chats[chat].log.len() as u64;
        let grow = self.rng.below(2);
        let entry = self.marks.entry((chat, whose)).or_insert((0, 0));
        entry.0 = (entry.0 + grow).min(len);
        entry.1 = (entry.1 + grow).min(entry.0);
        let (d, r) = *entry;
        let name = self.chats[chat].name.clone();
        let invoke = json!({"chat": name, "user": user(whose), "delivered_seq": 0, "read_seq": 0});
        let ok = json!({"chat": name, "user": user(whose), "delivered_seq": d, "read_seq": r});
        self.call(p, F::Marks, invoke, OpType::Ok, ok);
    }

    fn meta(&mut self, p: u64, chat: usize) {
        let name = self.chats[chat].name.clone();
        if self.rng.chance(40) {
            let title = self.title[&chat].clone();
            let ok = json!({"chat": name, "title": title, "description": ""});
            self.call(p, F::GetMeta, json!({"chat": name}), OpType::Ok, ok);
            return;
        }
        self.next_id += 1;
        let title = format!("t{}", self.next_id);
        let invoke = json!({"chat": name, "title": title});
        let roll = self.rng.below(100);
        let kind = if roll < 70 {
            OpType::Ok
        } else if roll < 85 {
            OpType::Info
        } else {
            OpType::Fail
        };
        if kind == OpType::Ok || (kind == OpType::Info && self.rng.chance(50)) {
            self.title.insert(chat, title.clone());
        }
        let done = if kind == OpType::Ok {
            json!({"chat": name, "title": title, "description": ""})
        } else {
            invoke.clone()
        };
        self.call(p, F::SetMeta, invoke, kind, done);
    }

    fn bystander(&mut self, chat: usize) {
        let removed = self.chats[chat]
            .log
            .iter()
            .rev()
            .find_map(|m| m.event.clone())
            .is_some_and(|e| e == "member_added");
        self.next_id += 1;
        let id = format!("sys{}", self.next_id);
        let (seq, _) = self.sequence(chat, "u1", &id, "system");
        let msg = &mut self.chats[chat].log[seq as usize - 1];
        msg.event = Some(
            if removed {
                "member_removed"
            } else {
                "member_added"
            }
            .to_owned(),
        );
        msg.user_ids = Some(vec!["u99".to_owned()]);
    }

    fn run(seed: u64, steps: usize) -> Vec<Op> {
        let mut sim = Sim::new(seed);
        for chat in 0..sim.chats.len() {
            sim.meta(1, chat);
        }
        for step in 0..steps {
            if step > 10 {
                match sim.isolated {
                    None if sim.rng.chance(4) => {
                        let x = sim.rng.below(3) as usize;
                        sim.isolated = Some(x);
                        sim.fault("start", x);
                    }
                    Some(_) if sim.rng.chance(8) => sim.heal(),
                    _ => {}
                }
            }
            sim.replicate(false);
            let p = 1 + sim.rng.below(PROCESSES);
            let chat = sim.rng.below(sim.chats.len() as u64) as usize;
            match sim.rng.below(100) {
                0..=49 => sim.send(p, chat, None),
                50..=74 => sim.read(p, chat),
                75..=84 => sim.marks(p, chat),
                85..=96 => sim.meta(p, chat),
                _ => {
                    let home = sim.chats[chat].home;
                    if sim.isolated != Some(home) {
                        sim.bystander(chat);
                    }
                }
            }
        }
        sim.heal();
        sim.replicate(true);
        for chat in 0..sim.chats.len() {
            for region in REGIONS {
                let c = &sim.chats[chat];
                let v = json!({"chat": c.name, "after": 0, "messages": c.log});
                sim.push(Process::final_reader(), OpType::Ok, F::FinalRead, v);
                if let Some(op) = sim.ops.last_mut() {
                    op.region = Some(region.to_owned());
                }
            }
            for region in REGIONS {
                let v = json!({"chat": sim.chats[chat].name, "title": sim.title[&chat], "description": ""});
                sim.push(Process::final_reader(), OpType::Ok, F::FinalMeta, v);
                if let Some(op) = sim.ops.last_mut() {
                    op.region = Some(region.to_owned());
                }
            }
        }
        sim.push(
            Process::final_reader(),
            OpType::Info,
            F::Converged,
            json!({"after_heal_ms": 40}),
        );
        sim.ops
    }
}

// ---- mutations of a final state ----

/// Applies `edit` to the final log of `chat` in the regions `regions`.
fn edit_final(ops: &mut [Op], chat: &str, regions: &[&str], edit: impl Fn(&mut Vec<Msg>)) {
    for op in ops.iter_mut().filter(|o| o.f == F::FinalRead) {
        let mut read: ReadOk = op.value_as().expect("final read");
        if read.chat == chat && regions.contains(&op.region.as_deref().unwrap_or("")) {
            edit(&mut read.messages);
            op.value = serde_json::to_value(read).expect("encode");
        }
    }
}

/// A chat whose final log holds at least `n` text messages, and its log.
fn chat_with_texts(ops: &[Op], n: usize) -> Option<(String, Vec<Msg>)> {
    ops.iter()
        .filter(|o| o.f == F::FinalRead)
        .filter_map(|o| o.value_as::<ReadOk>().ok())
        .find(|r| r.messages.iter().filter(|m| m.kind == "text").count() >= n)
        .map(|r| (r.chat, r.messages))
}

fn texts(log: &[Msg]) -> Vec<usize> {
    (0..log.len()).filter(|&i| log[i].kind == "text").collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_correct_mesh_always_passes(seed in any::<u64>()) {
        let ops = Sim::run(seed, 150);
        let report = check(&ops);
        prop_assert!(report.is_valid(), "seed {seed}:\n{}", jepsen::report::summary(&report));
    }

    #[test]
    fn a_message_dropped_from_every_region_is_caught(seed in any::<u64>(), pick in any::<u64>()) {
        let mut ops = Sim::run(seed, 150);
        let (chat, log) = chat_with_texts(&ops, 2).expect("a chat with messages");
        let texts = texts(&log);
        // Not the last message: dropping it leaves a gap.
        let candidates: Vec<usize> = texts.into_iter().filter(|&i| i + 1 < log.len()).collect();
        prop_assume!(!candidates.is_empty());
        let drop = candidates[(pick % candidates.len() as u64) as usize];
        edit_final(&mut ops, &chat, &REGIONS, |log| { log.remove(drop); });
        let report = check(&ops);
        prop_assert!(report.failing_classes().contains(&Class::Gap), "{:?}", report.failing_classes());
    }

    #[test]
    fn a_message_missing_in_one_region_is_caught(seed in any::<u64>(), region in 0usize..3) {
        let mut ops = Sim::run(seed, 150);
        let (chat, _) = chat_with_texts(&ops, 1).expect("a chat with messages");
        edit_final(&mut ops, &chat, &[REGIONS[region]], |log| { log.pop(); });
        let report = check(&ops);
        prop_assert!(report.failing_classes().contains(&Class::FinalDivergence), "{:?}", report.failing_classes());
    }

    #[test]
    fn two_swapped_seqs_are_caught(seed in any::<u64>(), pick in any::<u64>()) {
        let mut ops = Sim::run(seed, 150);
        let (chat, log) = chat_with_texts(&ops, 2).expect("a chat with messages");
        let i = 1 + (pick % (log.len() as u64 - 1)) as usize;
        prop_assume!(i + 1 < log.len());
        edit_final(&mut ops, &chat, &REGIONS, |log| {
            let (a, b) = (log[i].seq, log[i + 1].seq);
            log.swap(i, i + 1);
            log[i].seq = a;
            log[i + 1].seq = b;
        });
        let report = check(&ops);
        prop_assert!(!report.is_valid());
        prop_assert!(report.failing_classes().contains(&Class::HlcOrder), "{:?}", report.failing_classes());
    }

    #[test]
    fn a_duplicated_message_is_caught(seed in any::<u64>(), pick in any::<u64>()) {
        let mut ops = Sim::run(seed, 150);
        let (chat, log) = chat_with_texts(&ops, 1).expect("a chat with messages");
        let texts = texts(&log);
        let copy = log[texts[(pick % texts.len() as u64) as usize]].clone();
        edit_final(&mut ops, &chat, &REGIONS, |log| {
            let mut again = copy.clone();
            again.seq = log.len() as u64 + 1;
            log.push(again);
        });
        let report = check(&ops);
        prop_assert!(report.failing_classes().contains(&Class::Duplicate), "{:?}", report.failing_classes());
    }
}

#[test]
fn simulated_runs_exercise_faults() {
    let mut totals = (0, 0, 0);
    for seed in 0..20 {
        let ops = Sim::run(seed, 150);
        let stats = check(&ops).stats;
        totals.0 += stats.accepted_sends;
        totals.1 += stats.resolves;
        totals.2 += stats.by_f.get(&F::Send).map_or(0, |c| c.fail + c.info);
    }
    let (accepted, resolves, failed) = totals;
    assert!(accepted > 0 && accepted == resolves, "{totals:?}");
    assert!(failed > 0, "{totals:?}");
    if let Ok(dir) = std::env::var("JEPSEN_CHECKER_SAMPLE_DIR") {
        let ops = Sim::run(3, 400);
        jepsen::report::write(Path::new(&dir), &ops, &check(&ops)).expect("write sample");
    }
}

#[test]
fn one_seed_replays_the_same_history() {
    let a = Sim::run(7, 150);
    let b = Sim::run(7, 150);
    assert_eq!(a, b);
    let report = check(&a);
    assert!(report.is_valid(), "{}", jepsen::report::summary(&report));
    assert!(report.stats.accepted_sends + report.stats.by_f[&F::Send].fail > 0);
}

// ---- EDN ----

/// Just enough EDN to check the export's shape.
#[derive(Debug, Clone, PartialEq)]
enum Edn {
    Nil,
    Int(i64),
    Str(String),
    Keyword(String),
    Vector(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

fn parse_edn(text: &str) -> Result<Edn, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let value = parse_value(&chars, &mut pos)?;
    skip_space(&chars, &mut pos);
    if pos != chars.len() {
        return Err(format!("trailing text at {pos}"));
    }
    Ok(value)
}

fn skip_space(chars: &[char], pos: &mut usize) {
    while *pos < chars.len() && (chars[*pos].is_whitespace() || chars[*pos] == ',') {
        *pos += 1;
    }
}

fn parse_value(chars: &[char], pos: &mut usize) -> Result<Edn, String> {
    skip_space(chars, pos);
    let c = *chars.get(*pos).ok_or("unexpected end")?;
    let symbol = |c: char| c.is_alphanumeric() || "*+!-_?.".contains(c);
    match c {
        '[' | '{' => {
            let close = if c == '[' { ']' } else { '}' };
            *pos += 1;
            let mut items = Vec::new();
            loop {
                skip_space(chars, pos);
                match chars.get(*pos) {
                    Some(&c) if c == close => {
                        *pos += 1;
                        break;
                    }
                    Some(_) => items.push(parse_value(chars, pos)?),
                    None => return Err("unbalanced".to_owned()),
                }
            }
            if close == ']' {
                return Ok(Edn::Vector(items));
            }
            if items.len() % 2 != 0 {
                return Err("odd map".to_owned());
            }
            let mut pairs = Vec::new();
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Ok(Edn::Map(pairs))
        }
        '"' => {
            *pos += 1;
            let mut s = String::new();
            loop {
                match chars.get(*pos) {
                    Some('"') => {
                        *pos += 1;
                        return Ok(Edn::Str(s));
                    }
                    Some('\\') => {
                        s.push(*chars.get(*pos + 1).ok_or("bad escape")?);
                        *pos += 2;
                    }
                    Some(&c) => {
                        s.push(c);
                        *pos += 1;
                    }
                    None => return Err("unterminated string".to_owned()),
                }
            }
        }
        ':' => {
            *pos += 1;
            let start = *pos;
            while *pos < chars.len() && symbol(chars[*pos]) {
                *pos += 1;
            }
            if start == *pos {
                return Err("empty keyword".to_owned());
            }
            Ok(Edn::Keyword(chars[start..*pos].iter().collect()))
        }
        _ => {
            let start = *pos;
            while *pos < chars.len() && symbol(chars[*pos]) {
                *pos += 1;
            }
            let word: String = chars[start..*pos].iter().collect();
            match word.as_str() {
                "nil" => Ok(Edn::Nil),
                "" => Err(format!("unexpected {c:?}")),
                w => w
                    .parse()
                    .map(Edn::Int)
                    .map_err(|_| format!("bad token {w}")),
            }
        }
    }
}

fn get<'a>(map: &'a [(Edn, Edn)], key: &str) -> Option<&'a Edn> {
    map.iter()
        .find(|(k, _)| *k == Edn::Keyword(key.to_owned()))
        .map(|(_, v)| v)
}

fn export(ops: &[Op]) -> Vec<Vec<(Edn, Edn)>> {
    let mut out = Vec::new();
    jepsen::edn::write(ops, &mut out).expect("write edn");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.starts_with(";;"), "a mapping comment comes first");
    text.lines()
        .filter(|l| !l.starts_with(";;"))
        .map(|l| match parse_edn(l) {
            Ok(Edn::Map(m)) => m,
            other => panic!("not a map: {l} ({other:?})"),
        })
        .collect()
}

#[test]
fn the_edn_export_has_elle_shape_and_keeps_every_transaction() {
    for seed in [1, 2, 3] {
        let ops = Sim::run(seed, 150);
        let events = export(&ops);
        let count = |f: F, kind: Option<OpType>| {
            ops.iter()
                .filter(|o| o.f == f && kind.is_none_or(|k| o.kind == k))
                .count()
        };
        let txns = events
            .iter()
            .filter(|e| get(e, "f") == Some(&Edn::Keyword("txn".to_owned())))
            .count();
        assert_eq!(
            txns,
            count(F::Send, None) + count(F::Read, None) + 2 * count(F::FinalRead, Some(OpType::Ok))
        );
        let nemesis = events
            .iter()
            .filter(|e| get(e, "process") == Some(&Edn::Keyword("nemesis".to_owned())))
            .count();
        assert_eq!(nemesis, count(F::Nemesis, None));
        for (i, event) in events.iter().enumerate() {
            for key in ["index", "type", "process", "f", "value", "time"] {
                assert!(get(event, key).is_some(), "{key} missing in {event:?}");
            }
            assert_eq!(get(event, "index"), Some(&Edn::Int(i as i64)));
        }
        // Every whole read lists values that some send appended.
        let appended: Vec<&Edn> = events
            .iter()
            .filter_map(|e| match get(e, "value") {
                Some(Edn::Vector(mops)) => match mops.first() {
                    Some(Edn::Vector(m))
                        if m.first() == Some(&Edn::Keyword("append".to_owned())) =>
                    {
                        m.get(2)
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        for event in &events {
            if let Some(Edn::Vector(mops)) = get(event, "value")
                && let Some(Edn::Vector(m)) = mops.first()
                && m.first() == Some(&Edn::Keyword("r".to_owned()))
                && let Some(Edn::Vector(values)) = m.get(2)
            {
                for v in values {
                    assert!(appended.contains(&v), "read of unknown value {v:?}");
                }
            }
        }
    }
}

#[test]
fn the_edn_export_of_a_golden_history_reads_and_maps_back() {
    let (_, ops) = goldens()
        .into_iter()
        .find(|(n, _)| n == "clean_partition_accepted_resolved")
        .expect("golden");
    let mut out = Vec::new();
    jepsen::edn::write(&ops, &mut out).expect("write edn");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains(";; key 1 = chat \"c1\""), "{text}");
    assert!(
        text.contains("sender \"u3\" client_msg_id \"c1\""),
        "{text}"
    );
    assert!(text.contains(":f :start-partition"), "{text}");
    assert!(text.contains(":f :stop-partition"), "{text}");
    assert!(text.contains("[[:r 1 nil]]"), "{text}");
    let events = export(&ops);
    assert!(
        events
            .iter()
            .any(|e| get(e, "type") == Some(&Edn::Keyword("fail".to_owned())))
    );
}
