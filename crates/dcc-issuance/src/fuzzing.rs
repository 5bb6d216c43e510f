//! The oracle for the issuance request body, shared by the cargo-fuzz target `issue_body` in
//! `fuzz/` (one line there) and the property tests in `tests/request_properties.rs`.
//!
//! [`issue_body`] runs a body through the two pure steps of [`crate::issue`]'s issuing path,
//! [`IssueRequest::parse`] and [`build_payload`], with a fixed issuer, UVCI part and time. It
//! must never panic; a refusal must list at least one field; and a payload it builds must be
//! one this system can issue: it passes dcc-core's strict issuing validation again after a
//! JSON round trip, reads back into the same typed model, survives the CBOR mapping of the
//! signed certificate unchanged, and carries the issuer's country, issuer and a UVCI with a
//! valid checksum. A failed assertion is a finding, as a panic is.

use dcc_core::hcert::cbor;
use dcc_core::model::{Dcc, Entry};
use dcc_core::uvci::{Checksum, Uvci};
use dcc_core::validation::{self, Mode};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::payload::{IssuerContext, PayloadError, build_payload, opaque_from_random};
use crate::request::{IssueRequest, RequestError};

/// How far a body got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyOutcome {
    /// Refused by [`IssueRequest::parse`] (HTTP 400, 406 or 422).
    Refused,
    /// Parsed, but [`build_payload`] listed invalid fields (HTTP 422).
    Invalid,
    /// A complete payload was built and passed every check of the oracle.
    Built,
}

/// The issuing time the oracle uses: the sample bodies' dates (May 2021) lie before it.
pub const FUZZ_NOW: OffsetDateTime = datetime!(2021-07-01 10:00 UTC);

/// Parses a request body and builds its payload, asserting the properties listed above.
pub fn issue_body(data: &[u8]) -> BodyOutcome {
    let request = match IssueRequest::parse(data) {
        Ok(request) => request,
        Err(error) => {
            if let RequestError::Invalid(violations) = &error {
                assert!(!violations.is_empty(), "a refusal lists no field");
            }
            assert!(!error.code().is_empty());
            return BodyOutcome::Refused;
        }
    };
    let context = context();
    let opaque = opaque_from_random(&OPAQUE_RANDOM);
    let dcc = match build_payload(&request, &context, &opaque, FUZZ_NOW) {
        Ok(dcc) => dcc,
        Err(PayloadError::Invalid(violations)) => {
            assert!(!violations.is_empty(), "an invalid payload lists no field");
            return BodyOutcome::Invalid;
        }
        // The fixed issuer context always forms a UVCI; reaching this is a finding.
        Err(error) => unreachable!("the fixed issuer context was refused: {error}"),
    };
    check_payload(&request, &context, &opaque, &dcc);
    BodyOutcome::Built
}

fn check_payload(request: &IssueRequest, context: &IssuerContext, opaque: &str, dcc: &Dcc) {
    let json = dcc.to_json();
    let violations = validation::validate(&json, Mode::Issue);
    assert!(
        violations.is_empty(),
        "a built payload fails strict validation after a round trip: {violations:?}"
    );
    let again = Dcc::from_json(&json).ok();
    assert_eq!(again.as_ref(), Some(dcc), "the payload does not read back");
    let from_cbor = cbor::cbor_to_json(&dcc.to_cbor()).ok();
    assert_eq!(
        from_cbor.as_ref(),
        Some(&json),
        "the payload does not survive CBOR"
    );

    assert_eq!(dcc.certificate_type(), request.certificate_type);
    assert_eq!(dcc.country(), context.country);
    let issuer = match &dcc.entry {
        Entry::Vaccination(entry) => &entry.issuer,
        Entry::Test(entry) => &entry.issuer,
        Entry::Recovery(entry) => &entry.issuer,
    };
    assert_eq!(issuer, &context.issuer);
    let uvci = Uvci::parse(dcc.certificate_id()).ok();
    assert_eq!(
        uvci.as_ref().map(Uvci::checksum),
        Some(Checksum::Valid),
        "the UVCI {:?} does not parse with a valid checksum",
        dcc.certificate_id()
    );
    let expected_prefix = format!(
        "URN:UVCI:01:{}:{}/{opaque}#",
        context.country, context.issuer_segment
    );
    assert!(dcc.certificate_id().starts_with(&expected_prefix));
}

fn context() -> IssuerContext {
    IssuerContext {
        country: "DE".to_owned(),
        issuer: "Robert Koch-Institut".to_owned(),
        issuer_segment: "APO3X7K2".to_owned(),
    }
}

const OPAQUE_RANDOM: [u8; 16] = *b"dcc-fuzz-uvci-01";
