//! `dcc-issuance`: the use cases of the issuing system, free of HTTP.
//!
//! A pharmacy's request ([`request::IssueRequest`], parsed from the body of
//! `POST /api/certify/v2/issue`) becomes a complete payload ([`payload::build_payload`]: standardised
//! names, UVCI from the pharmacy's registry segment, country, issuer), which the certificate server
//! ([`signing::CertificateServer`]) signs after checking its DSC. Business rules live here so
//! that they cannot import axum (the server crate calls in, never the other way round). The
//! certificate, its kept response and its audit entry are written by [`recorder::Recorder`], which
//! commits the writes of concurrent requests together (group commit) and hands each committed batch to
//! [`anomaly`] detection, whose alerts the association works through with [`alerts`].
//! [`billing`] closes months into statements and hands pharmacies theirs.

pub mod active_pharmacies;
pub mod alerts;
pub mod anomaly;
pub mod audit;
pub mod billing;
pub mod fuzzing;
pub mod handover;
pub mod issue;
pub mod kill_switch;
pub mod limits;
pub mod operators;
pub mod payload;
pub mod publication;
pub mod recorder;
pub mod registry;
pub mod request;
pub mod revocation;
pub mod sessions;
pub mod sign_in;
pub mod signing;
pub mod violation;
