//! The oracle for the institution-certificate parser, shared by the cargo-fuzz target
//! `institution_certificate` in `fuzz/` (one line there) and the property tests in
//! `tests/institution_properties.rs`.
//!
//! [`institution_certificate`] runs arbitrary bytes through
//! [`InstitutionIdentity::from_der`], the profile check every pharmacy's TLS client certificate
//! passes. It must never panic, and an identity it accepts must be consistent: the Telematik-ID
//! round-trips through its own parser and is the Admission's registration number, a profession
//! OID is present, the fingerprint is SHA-256 over exactly the bytes given, the serial number
//! is 1 to 20 bytes, and the Admission re-encodes (where its authority can be written again)
//! to the same professions and registration number. A failed assertion is a finding, as a
//! panic is.

use crate::admission::Admission;
use crate::certificate::sha256;
use crate::institution::{InstitutionError, InstitutionIdentity};
use crate::telematik_id::TelematikId;

/// Checks a DER certificate's institution profile, asserting the properties listed above, and
/// returns the parser's answer.
pub fn institution_certificate(data: &[u8]) -> Result<InstitutionIdentity, InstitutionError> {
    let identity = InstitutionIdentity::from_der(data)?;
    let telematik_id = identity.telematik_id();
    assert_eq!(
        TelematikId::parse(telematik_id.as_str()).as_ref(),
        Ok(telematik_id),
        "the Telematik-ID does not round-trip"
    );
    assert_eq!(
        identity.admission().registration_number.as_deref(),
        Some(telematik_id.as_str())
    );
    assert!(!identity.profession_oids().is_empty());
    assert_eq!(identity.fingerprint(), &sha256(data));
    let serial_hex = identity.serial_hex();
    assert!(
        (2..=40).contains(&serial_hex.len()) && serial_hex.len() % 2 == 0,
        "serial {serial_hex:?}"
    );

    // The Admission is written for the development certificates by the same model; what it
    // reads it must be able to write back, unless the authority is a kind of name the writer
    // does not produce (a URI, or a directory name that RFC 4514 text cannot carry).
    if let Ok(der) = identity.admission().to_der() {
        let again = Admission::from_der(&der);
        let admission = identity.admission();
        assert_eq!(
            again.as_ref().map(|again| (
                &again.profession_items,
                &again.profession_oids,
                &again.registration_number
            )),
            Ok((
                &admission.profession_items,
                &admission.profession_oids,
                &admission.registration_number
            )),
            "the Admission does not re-encode"
        );
    }
    Ok(identity)
}
