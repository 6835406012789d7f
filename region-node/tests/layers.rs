//! The layers of region-node, as `src/lib.rs` states them, hold: no module
//! imports (`crate::…`) from a module of a higher layer. Reads the sources
//! as text; a new top-level module must be given its layer here.

use std::collections::BTreeMap;
use std::path::Path;

/// Every top-level module and its layer, lowest first (as in `src/lib.rs`).
const LAYERS: &[(&str, u8)] = &[
    ("config", 0),
    ("clock", 0),
    ("codec", 0),
    ("hlc", 0),
    ("limits", 0),
    ("metrics", 0),
    ("storage", 0),
    ("launcher", 0),
    ("tls", 0),
    ("link", 1),
    ("hub", 2),
    ("chat", 3),
    ("accounts", 3),
    ("media", 3),
    ("replica", 4),
    ("presence_rule", 4),
    ("state", 5),
    ("http", 6),
    ("ws", 6),
    ("error", 6),
    ("server", 7),
];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative
        .components()
        .next()
        .expect("a component")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(&own) = layers.get(module.as_str()) else {
            panic!("module {module} has no layer: add it to LAYERS and to src/lib.rs");
        };
        let text = std::fs::read_to_string(file).expect("read a source");
        for (at, _) in text.match_indices("crate::") {
            let name: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if let Some(&theirs) = layers.get(name.as_str())
                && theirs > own
            {
                wrong.push(format!("{} ({module}) uses crate::{name}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports from a higher layer:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_module_of_lib_rs_has_a_layer() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("read lib.rs");
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    for line in lib.lines() {
        if let Some(name) = line
            .strip_prefix("pub mod ")
            .and_then(|rest| rest.strip_suffix(';'))
        {
            assert!(layers.contains_key(name), "module {name} has no layer");
        }
    }
}
