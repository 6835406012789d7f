//! libFuzzer entry for [`fuzz_targets::node_config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::node_config(data));
