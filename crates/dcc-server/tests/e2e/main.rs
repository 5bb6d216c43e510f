//! End to end over real mutual TLS on loopback: a dev PKI made for the run, the portal on
//! port 0 with the in-process certificate server, real SQLite and PostgreSQL databases, and
//! reqwest as the pharmacy's client.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod issue;
mod rejections;
mod remote;
mod support;
