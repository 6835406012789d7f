//! Tests of the shared document plumbing, through [`ChatMeta`] and
//! [`Profile`], and the merge laws over random edit scripts.

use proptest::prelude::*;

use crate::crdt::{ChangeHash, ChatMeta, CrdtError, Profile};

fn values(meta: &ChatMeta) -> (String, String, String) {
    (meta.title(), meta.description(), meta.avatar())
}

fn sorted_heads(meta: &mut ChatMeta) -> Vec<ChangeHash> {
    let mut heads = meta.heads();
    heads.sort();
    heads
}

fn merged(a: &ChatMeta, b: &ChatMeta) -> ChatMeta {
    let mut out = a.clone();
    out.merge(&mut b.clone())
        .expect("documents with distinct actors merge");
    out
}

#[test]
fn fields_start_empty_and_read_back_what_was_set() {
    let mut meta = ChatMeta::new().with_actor("eu-west");
    assert_eq!(values(&meta), (String::new(), String::new(), String::new()));
    meta.set_title("Climbing");
    meta.set_description("Weekend trips");
    meta.set_avatar("media/42");
    assert_eq!(
        values(&meta),
        ("Climbing".into(), "Weekend trips".into(), "media/42".into())
    );

    let mut profile = Profile::new().with_actor("eu-west");
    profile.set_display_name("Ada");
    profile.set_avatar("media/7");
    profile.set_status_text("on the wall");
    assert_eq!(
        (
            profile.display_name(),
            profile.avatar(),
            profile.status_text()
        ),
        ("Ada".into(), "media/7".into(), "on the wall".into())
    );
}

#[test]
fn setting_the_same_value_records_no_change() {
    let mut meta = ChatMeta::new().with_actor("eu-west");
    meta.set_title("Climbing");
    let heads = meta.heads();
    meta.set_title("Climbing");
    assert_eq!(meta.heads(), heads);
}

#[test]
fn saved_bytes_load_back_and_keep_editing_under_the_same_region() {
    let mut eu = ChatMeta::new().with_actor("eu-west");
    eu.set_title("Climbing");
    let mut us = ChatMeta::from_bytes(&eu.to_bytes())
        .expect("saved document loads")
        .with_actor("us-east");

    // eu-west restarts from its store and edits again under its own name.
    let mut eu = ChatMeta::from_bytes(&eu.to_bytes())
        .expect("saved document loads")
        .with_actor("eu-west");
    eu.set_description("Weekend trips");
    us.merge(&mut eu).expect("one actor per region merges");
    assert_eq!(values(&us), values(&eu));
    assert_eq!(us.description(), "Weekend trips");
}

#[test]
fn concurrent_edits_of_one_field_converge_either_way_round() {
    let mut base = ChatMeta::new().with_actor("eu-west");
    base.set_title("Climbing");
    let bytes = base.to_bytes();
    let mut eu = ChatMeta::from_bytes(&bytes)
        .expect("load")
        .with_actor("eu-west");
    let mut us = ChatMeta::from_bytes(&bytes)
        .expect("load")
        .with_actor("us-east");
    eu.set_title("Bouldering");
    us.set_title("Climbing club");

    let mut eu_then_us = eu.clone();
    eu_then_us.merge(&mut us.clone()).expect("merge");
    let mut us_then_eu = us.clone();
    us_then_eu.merge(&mut eu.clone()).expect("merge");
    assert_eq!(eu_then_us.title(), us_then_eu.title());
    assert!(["Bouldering", "Climbing club"].contains(&eu_then_us.title().as_str()));
    assert_eq!(sorted_heads(&mut eu_then_us), sorted_heads(&mut us_then_eu));
}

#[test]
fn incremental_changes_carry_only_what_the_peer_lacks() {
    let mut eu = ChatMeta::new().with_actor("eu-west");
    eu.set_title("Climbing");
    let mut us = ChatMeta::new().with_actor("us-east");
    let heads = us.heads();
    us.apply_changes(&eu.changes_since(&heads)).expect("apply");
    assert_eq!(us.title(), "Climbing");

    eu.set_avatar("media/1");
    let delta = eu.changes_since(&us.heads());
    assert!(!delta.is_empty() && delta.len() < eu.changes_since(&[]).len());
    us.apply_changes(&delta).expect("apply");
    assert_eq!(values(&us), values(&eu));

    // Nothing new: nothing to send, and applying nothing is harmless.
    let nothing = eu.changes_since(&us.heads());
    assert!(nothing.is_empty());
    us.apply_changes(&nothing).expect("apply empty");

    // A peer ahead of us names heads we do not know; we send all we have.
    us.set_description("Weekend trips");
    let ahead = us.heads();
    assert_eq!(eu.changes_since(&ahead), eu.changes_since(&[]));
}

#[test]
fn changes_that_arrive_early_wait_for_their_dependencies() {
    let mut eu = ChatMeta::new().with_actor("eu-west");
    eu.set_title("one");
    let first = eu.changes_since(&[]);
    let after_first = eu.heads();
    eu.set_title("two");
    let second = eu.changes_since(&after_first);

    let mut us = ChatMeta::new().with_actor("us-east");
    us.apply_changes(&second).expect("queued");
    assert_eq!(us.title(), "");
    us.apply_changes(&first).expect("apply");
    assert_eq!(us.title(), "two");
}

#[test]
fn garbage_is_refused_with_a_typed_error() {
    assert!(matches!(
        ChatMeta::from_bytes(b"not a document"),
        Err(CrdtError::Decode(_))
    ));
    let mut meta = ChatMeta::new();
    assert!(matches!(
        meta.apply_changes(b"not a change"),
        Err(CrdtError::Apply(_))
    ));
}

#[test]
fn two_writers_sharing_an_actor_cannot_merge() {
    let mut first = ChatMeta::new().with_actor("eu-west");
    first.set_title("a");
    let mut second = ChatMeta::new().with_actor("eu-west");
    second.set_title("b");
    assert!(matches!(first.merge(&mut second), Err(CrdtError::Merge(_))));
}

/// One step of an edit script across three regions.
#[derive(Debug, Clone)]
enum Step {
    /// Region `.0` sets field `.1` to value `.2`.
    Edit(usize, usize, u8),
    /// Region `.1` takes in what region `.0` has, incrementally.
    Sync(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0usize..3, 0usize..3, 0u8..4).prop_map(|(r, f, v)| Step::Edit(r, f, v)),
        1 => (0usize..3, 0usize..3).prop_map(|(from, to)| Step::Sync(from, to)),
    ]
}

const REGIONS: [&str; 3] = ["ap-south", "eu-west", "us-east"];

fn run(script: &[Step]) -> Vec<ChatMeta> {
    let mut docs: Vec<ChatMeta> = REGIONS
        .iter()
        .map(|region| ChatMeta::new().with_actor(region))
        .collect();
    for step in script {
        match *step {
            Step::Edit(region, field, value) => {
                let text = format!("{}-{value}", REGIONS[region]);
                let doc = &mut docs[region];
                match field {
                    0 => doc.set_title(&text),
                    1 => doc.set_description(&text),
                    _ => doc.set_avatar(&text),
                }
            }
            Step::Sync(from, to) => {
                let heads = docs[to].heads();
                let delta = docs[from].changes_since(&heads);
                docs[to].apply_changes(&delta).expect("own changes apply");
            }
        }
    }
    docs
}

fn same(a: &mut ChatMeta, b: &mut ChatMeta) -> bool {
    values(a) == values(b) && sorted_heads(a) == sorted_heads(b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merge_is_a_join(script in prop::collection::vec(step(), 0..24)) {
        let docs = run(&script);
        let (a, b, c) = (&docs[0], &docs[1], &docs[2]);
        prop_assert!(same(&mut merged(a, b), &mut merged(b, a)));
        prop_assert!(same(&mut merged(&merged(a, b), c), &mut merged(a, &merged(b, c))));
        prop_assert!(same(&mut merged(a, a), &mut a.clone()));

        // Shipping only the missing changes ends where a full merge does.
        let mut incremental = b.clone();
        let delta = a.clone().changes_since(&incremental.heads());
        incremental.apply_changes(&delta).expect("apply");
        prop_assert!(same(&mut incremental, &mut merged(b, a)));

        // Saving and loading keeps what a peer can observe.
        let mut loaded = ChatMeta::from_bytes(&a.clone().to_bytes()).expect("load");
        prop_assert!(same(&mut loaded, &mut a.clone()));
    }
}
