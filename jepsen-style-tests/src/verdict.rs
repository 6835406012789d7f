//! Checking a history and writing everything a reader needs next to it:
//! `results.json`, `summary.txt`, `timeline.png` and `history.edn` (for
//! Elle). The same path serves `run` (after the final reads) and `check`
//! (on a saved history).

use std::path::Path;

use anyhow::Context as _;

use crate::checker::{self, Report};
use crate::{edn, history, report};

/// Checks the history at `history_path` and writes the report into `out`.
pub fn check_file(history_path: &Path, out: &Path) -> anyhow::Result<Report> {
    let ops =
        history::read(history_path).with_context(|| format!("read {}", history_path.display()))?;
    let verdict = checker::check(&ops);
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    report::write(out, &ops, &verdict)
        .with_context(|| format!("write the report in {}", out.display()))?;
    let edn_path = out.join("history.edn");
    let file = std::fs::File::create(&edn_path)
        .with_context(|| format!("create {}", edn_path.display()))?;
    edn::write(&ops, std::io::BufWriter::new(file))
        .with_context(|| format!("write {}", edn_path.display()))?;
    Ok(verdict)
}
