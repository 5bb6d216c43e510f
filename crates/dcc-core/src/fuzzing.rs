//! Entry points for the cargo-fuzz targets in `fuzz/` (one line each there).
//!
//! Each function decodes arbitrary input and, where the layer is canonical, re-encodes and
//! compares: a round-trip oracle, so the fuzzer finds wrong answers as well as panics.

use crate::hcert::{self, base45, cbor};

/// Base45: whatever decodes must re-encode to the same text.
pub fn base45(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = base45::decode(text) {
        assert_eq!(
            base45::encode(&bytes),
            text,
            "Base45 decoding is not canonical"
        );
    }
}

/// The whole HC1 decoder: must never panic; a decoded payload must survive JSON → CBOR → JSON.
pub fn hc1_decode(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(decoded) = hcert::decode(text) {
        let again = cbor::cbor_to_json(&cbor::json_to_cbor(&decoded.payload, &[]));
        assert_eq!(
            again.ok().as_ref(),
            Some(&decoded.payload),
            "payload does not round-trip"
        );
    }
}
