#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dcc_core::fuzzing::hc1_decode(data));
