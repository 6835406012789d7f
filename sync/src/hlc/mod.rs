//! The hybrid logical clock (HLC) every region stamps its events with.
//!
//! A timestamp ([`protocol::Hlc`]) is physical milliseconds plus a 16-bit
//! logical counter. [`HybridClock`] issues timestamps that never go backwards
//! and that order after every timestamp the region has received, so "sent
//! after seeing" implies "greater HLC" across regions. Physical time is
//! injected through [`PhysicalClock`] so tests and the consistency harness can
//! run the clock in simulated or deliberately skewed time.
//!
//! - [`physical`]: the physical clock trait and its system, manual and skewed
//!   implementations.
//! - [`clock`]: the hybrid clock itself and its max-offset guard.

pub mod clock;
pub mod physical;

pub use clock::{ClockError, HybridClock};
pub use physical::{ManualClock, PhysicalClock, SkewedClock, SystemClock};
pub use protocol::Hlc;
