#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = dcc_pki::fuzzing::institution_certificate(data);
});
