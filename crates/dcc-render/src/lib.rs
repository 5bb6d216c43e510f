//! `dcc-render`: what the pharmacy hands over, rendered from an HC1 string.
//!
//! ```text
//!  "HC1:…" ──QrCode::encode──▶ modules ──▶ png::render / svg::render
//!     └──hcert::decode──▶ payload ──CertificateView──▶ pdf::render (A4, QR + fields, DE/EN)
//! ```
//!
//! Like `dcc-core`, this crate does no I/O: text in, bytes out. The same input always gives the
//! same bytes (no timestamps, no random identifiers), so a re-issued certificate prints
//! identically and outputs can be compared in tests.

mod output;
pub mod pdf;
pub mod png;
pub mod qr;
pub mod svg;
pub mod view;

pub use output::{Format, RenderError, render};
