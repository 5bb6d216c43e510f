//! End-to-end tests of the pipeline through the public API: issue, decode, verify, and
//! property tests of the round trip and of the Base45 and zlib layers.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod errors;
mod properties;
mod roundtrip;
mod support;
