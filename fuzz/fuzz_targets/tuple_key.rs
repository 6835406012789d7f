//! libFuzzer entry for [`fuzz_targets::tuple_key`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::tuple_key(data));
