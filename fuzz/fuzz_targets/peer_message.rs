//! libFuzzer entry for [`fuzz_targets::peer_message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::peer_message(data));
