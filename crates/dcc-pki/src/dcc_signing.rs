//! Certificate profiles of the DCC signing hierarchy (dcc-spec.md §5.1–5.2): a national CSCA
//! and one document signer certificate (DSC) per certificate type.

use dcc_core::model::certificate_type::CertificateType;
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

use crate::ca::{ca_params, distinguished_name};

/// The CSCA: C=DE, CN [`CSCA_COMMON_NAME`], CA with path length 0, keyCertSign + cRLSign, valid
/// from `now` for [`CSCA_VALIDITY`].
pub(crate) fn csca_params(now: OffsetDateTime) -> CertificateParams {
    ca_params(
        distinguished_name(&[
            (DnType::CountryName, "DE"),
            (DnType::CommonName, CSCA_COMMON_NAME),
        ]),
        now,
        now + CSCA_VALIDITY,
        Some(0),
    )
}

/// A DSC for one certificate type: C=DE, CN `DCC DSC <type> DEV`, KeyUsage digitalSignature,
/// EKU the type's DCC OID only (so it may sign nothing else), BasicConstraints CA:FALSE, SKI,
/// AKI = CSCA SKI, valid from `now` for [`DSC_VALIDITY`].
pub(crate) fn dsc_params(
    certificate_type: CertificateType,
    now: OffsetDateTime,
) -> CertificateParams {
    let common_name = dsc_common_name(certificate_type);
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(&[
        (DnType::CountryName, "DE"),
        (DnType::CommonName, &common_name),
    ]);
    params.not_before = now;
    params.not_after = now + DSC_VALIDITY;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(
        certificate_type
            .key_usage_oid()
            .split('.')
            .filter_map(|arc| arc.parse().ok())
            .collect(),
    )];
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params
}

/// The subject CN of the development DSC for `certificate_type`, e.g.
/// `DCC DSC vaccination DEV`.
pub fn dsc_common_name(certificate_type: CertificateType) -> String {
    format!("DCC DSC {certificate_type} DEV")
}

/// The subject CN of the development CSCA.
pub const CSCA_COMMON_NAME: &str = "DCC CSCA DEV TEST-ONLY";

/// How long the CSCA is valid (dcc-spec.md §5.1 recommends 4 years).
pub const CSCA_VALIDITY: Duration = Duration::days(4 * 365);

/// How long a DSC is valid (dcc-spec.md §5.1 recommends 2 years).
pub const DSC_VALIDITY: Duration = Duration::days(2 * 365);
