//! What a region offers consistency tests, and nothing else: an admin
//! endpoint that skews the node's clock (`--test-admin`), and deliberate
//! defects (`--sabotage MODE`) that let a test harness prove it notices the
//! bugs it is meant to find. Both are off unless asked for, and sabotage
//! refuses to start without a second, test-only setting in the environment.

pub mod admin;
pub mod sabotage;

pub use sabotage::Sabotage;
