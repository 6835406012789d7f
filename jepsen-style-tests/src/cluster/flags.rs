//! Which optional flags the `region-node` executable under test has, read
//! from its `--help`, so a build without the testing flags still runs
//! (without clock skew) instead of refusing to start.

use std::process::Stdio;

use tokio::process::Command;

use super::ClusterError;

/// Which optional flags a `region-node` executable understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeFlags {
    /// `--test-admin`: the testing endpoints (clock skew).
    pub test_admin: bool,
    /// `--sabotage MODE`: deliberate bugs, to test the checker.
    pub sabotage: bool,
}

/// Reads `program --help`, so a build without the testing flags still runs
/// (without clock skew) instead of refusing to start.
pub async fn probe_flags(program: &std::path::Path) -> Result<NodeFlags, ClusterError> {
    let output = Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| ClusterError::Io {
            what: format!("run {} --help", program.display()),
            source,
        })?;
    let help = String::from_utf8_lossy(&output.stdout);
    Ok(flags_in_help(&help))
}

fn flags_in_help(help: &str) -> NodeFlags {
    let has = |flag: &str| {
        help.split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[')
            .any(|word| word == flag)
    };
    NodeFlags {
        test_admin: has("--test-admin"),
        sabotage: has("--sabotage"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_found_as_whole_words_in_the_help() {
        let help = "Options:\n      --regions <REGIONS>  The mesh\n      --test-admin  Testing endpoints\n";
        assert_eq!(
            flags_in_help(help),
            NodeFlags {
                test_admin: true,
                sabotage: false
            }
        );
        let help = "      --sabotage <MODE>  Break things\n      --test-administrator\n";
        assert_eq!(
            flags_in_help(help),
            NodeFlags {
                test_admin: false,
                sabotage: true
            }
        );
    }
}
