//! The placement service binary.

fn main() {}
