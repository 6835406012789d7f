//! libFuzzer entry for [`fuzz_targets::tuple_order`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::tuple_order(data));
