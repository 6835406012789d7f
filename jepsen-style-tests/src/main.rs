//! `jepsen-style-tests`: run a workload with faults against a mesh, or
//! re-check a saved history.

fn main() -> anyhow::Result<()> {
    Ok(())
}
