#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dcc_issuance::fuzzing::issue_body(data);
});
