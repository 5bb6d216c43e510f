//! `dcc-billing`: the pure rules of paying pharmacies per certificate (german-context.md §4).
//!
//! No I/O: the caller hands in ledger rows (already stripped of everything but type, dose,
//! issue time, holder key and the fraud flag) and gets typed statements back.
//!
//! - Local dates in Europe/Berlin come from `dcc_calendar::berlin` (shared with anomaly detection).
//! - [`month::BillingMonth`]: a calendar month and its bounds as unix seconds.
//! - [`schedule::FeeSchedule`]: the dated, configurable fee tiers (default: the 2021 rules).
//! - [`classify`]: each ledger row → billing category and fee, or why it is not billable.
//! - [`statement::Statement`]: one pharmacy's month, with form lines and corrections.
//! - [`holder::HolderKeySecret`]: the HMAC that recognises a holder without personal data.
//! - [`render`]: CSV, JSON and a German PDF, byte-identical on every re-render.
//!
//! ```text
//!  ledger rows of one pharmacy (month + the same-visit window before it)
//!      ──▶ classify (schedule, window) ──▶ Statement::assemble (+ corrections)
//!      ──▶ content JSON (stored, hashed) ──▶ render: CSV | JSON | PDF
//! ```

pub mod classify;
mod error;
pub mod holder;
pub mod month;
pub mod render;
pub mod schedule;
pub mod statement;

pub use error::BillingError;
