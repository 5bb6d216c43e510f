//! `dcc-core`: the EU Digital COVID Certificate (HCERT) format, pure and I/O-free.
//!
//! This crate builds, signs, decodes and verifies HCERTs. It opens no files, reads no
//! clock and draws no randomness of its own: time arrives as a parameter, keys arrive
//! through the [`signer::Signer`] trait, trusted certificates through a
//! [`trust_list::TrustList`] built from bytes. Anyone can embed the verifier without the
//! server's dependencies.
//!
//! ```text
//!  Dcc (model) ──▶ CBOR ──▶ CWT {1 iss, 6 iat, 4 exp, -260 {1: dcc}}
//!       ──▶ COSE_Sign1 (alg + kid protected, Signer) ──▶ zlib ──▶ Base45 ──▶ "HC1:" ──▶ QR
//!
//!  "HC1:" ──▶ hcert::decode ──▶ DecodedHcert ──▶ verify::verify_decoded(trust, clock)
//!       ──▶ Verification { signature, validity, key_usage, schema }
//! ```
//!
//! Brief overview of the main types: [`model::Dcc`] (the payload), [`hcert::encode`] and
//! [`hcert::decode`] (the pipeline), [`verify::Verification`] (typed outcomes per step),
//! [`validation::validate`] (schema rules and value sets, every violation by path),
//! [`uvci::Uvci`], [`transliterate::transliterate`], [`revocation`] (hash types).

pub mod algorithm;
pub mod dsc;
#[doc(hidden)]
pub mod fuzzing;
pub mod hcert;
pub mod kid;
pub mod model;
pub mod pem;
pub mod plausibility;
pub mod public_key;
pub mod revocation;
pub mod revocation_list;
pub mod signer;
pub mod transliterate;
pub mod trust_list;
pub mod uvci;
pub mod validation;
pub mod value_sets;
pub mod verify;
