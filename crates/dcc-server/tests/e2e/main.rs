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

/// Instantiates each named `async fn(Backend)` as one test per backend, so a failure names
/// the backend it happened on.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

mod accounts;
mod admin;
mod admin_alerts;
mod anomaly;
mod billing;
mod containment;
mod dry_run;
mod instances;
mod issue;
mod operators;
mod outage;
mod rejections;
mod remote;
mod render;
mod revocation;
mod support;
mod ui;
