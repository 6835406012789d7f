//! Replays every corpus file of every fuzz target: an input that once
//! crashed a decoder, or that seeds the fuzzer, must pass the property.

use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

#[test]
fn every_target_has_a_seed_corpus_and_passes_it() {
    for (name, target) in fuzz_targets::TARGETS {
        let dir = corpus_dir(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .collect::<Result<Vec<_>, _>>()
            .expect("corpus directory lists");
        assert!(!entries.is_empty(), "{name} has an empty corpus");
        for entry in entries {
            let bytes = std::fs::read(entry.path()).expect("corpus file reads");
            target(&bytes);
        }
    }
}

#[test]
fn the_seeds_reach_past_the_decoders() {
    // A corpus of inputs that are all refused would fuzz only the error
    // paths: at least one seed of each JSON target must decode.
    let decodes = |name: &str, ok: &dyn Fn(&[u8]) -> bool| {
        let dir = corpus_dir(name);
        std::fs::read_dir(&dir)
            .expect("corpus directory lists")
            .map(|e| std::fs::read(e.expect("entry").path()).expect("reads"))
            .any(|bytes| ok(&bytes))
    };
    assert!(decodes("client_frame", &|b| {
        serde_json::from_slice::<protocol::frames::ClientFrame>(b).is_ok()
    }));
    assert!(decodes("peer_message", &|b| {
        serde_json::from_slice::<protocol::peer::PeerMessage>(b).is_ok()
    }));
    assert!(decodes("topology", &|b| {
        std::str::from_utf8(b).is_ok_and(|t| placement::topology::Topology::from_yaml(t).is_ok())
    }));
}
