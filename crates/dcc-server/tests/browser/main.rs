//! The staff pages in a real browser: headless Chromium driven over WebDriver (chromedriver),
//! connecting to the portal over mutual TLS with a pharmacy's institution certificate.
//!
//! How the browser gets the client certificate (see `browser.rs`): every browser runs with a
//! HOME of its own holding an NSS database (`certutil`, `pk12util`) with the portal's service
//! CA trusted for TLS servers and the pharmacy's certificate and key imported from a PKCS#12
//! file (made with `openssl pkcs12 -export` from the dev PKI's PEM files); its profile's
//! `Preferences` carry an `auto_select_certificate` content setting for the portal's origin,
//! so Chromium presents that certificate without a selection dialog.
//!
//! Needs the Debian packages chromium, chromium-driver, libnss3-tools, openssl, zbar-tools
//! and poppler-utils (scripts/test.sh installs them); a missing one fails the test loudly.
//! Screenshots of the main screens are kept in `$CARGO_TARGET_DIR/ui-screenshots/`.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../e2e/accounts.rs"]
mod accounts;
mod admin;
mod browser;
mod counter;
mod refusals;
#[path = "../e2e/support.rs"]
#[allow(dead_code)]
mod support;
