//! Certificate profiles of the internal service PKI: the TLS server certificates of the portal
//! and the certificate (signer) server, and the client identity the portal presents to the
//! certificate server, and the association administrators' client identity towards the admin
//! listener. None of these is part of the TI; they stand in for the operator's own CA.

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SanType};
use time::{Duration, OffsetDateTime};

use crate::ca::{ca_params, distinguished_name};

/// The service CA: C=DE, O `dcc dev`, CN [`SERVICE_CA_COMMON_NAME`], path length 0.
pub(crate) fn service_ca_params(now: OffsetDateTime) -> CertificateParams {
    ca_params(
        distinguished_name(&[
            (DnType::CountryName, "DE"),
            (DnType::OrganizationName, SERVICE_ORGANISATION),
            (DnType::CommonName, SERVICE_CA_COMMON_NAME),
        ]),
        now,
        now + SERVICE_CA_VALIDITY,
        Some(0),
    )
}

/// A TLS server certificate for `localhost` and `127.0.0.1`: digitalSignature, serverAuth.
pub(crate) fn server_params(
    common_name: &str,
    now: OffsetDateTime,
) -> Result<CertificateParams, rcgen::Error> {
    let mut params = leaf_params(common_name, now);
    params.subject_alt_names = vec![
        SanType::DnsName(rcgen::string::Ia5String::try_from("localhost")?),
        SanType::IpAddress(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params)
}

/// A TLS client certificate naming a service: digitalSignature, clientAuth.
pub(crate) fn client_params(common_name: &str, now: OffsetDateTime) -> CertificateParams {
    let mut params = leaf_params(common_name, now);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}

fn leaf_params(common_name: &str, now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(&[
        (DnType::CountryName, "DE"),
        (DnType::OrganizationName, SERVICE_ORGANISATION),
        (DnType::CommonName, common_name),
    ]);
    params.not_before = now;
    params.not_after = now + SERVICE_VALIDITY;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params
}

/// The subject CN of the portal's TLS server certificate.
pub const PORTAL_SERVER_COMMON_NAME: &str = "dcc-portal-server";
/// The subject CN of the certificate server's TLS server certificate.
pub const SIGNER_SERVER_COMMON_NAME: &str = "dcc-signer-server";
/// The subject CN of the portal's client identity, which the certificate server requires.
pub const PORTAL_CLIENT_COMMON_NAME: &str = "dcc-portal";
/// The subject CN of the association administrators' client certificate, which the admin
/// listener requires (or a CN starting with `dcc-admin:`, one per administrator's device).
pub const ADMIN_CLIENT_COMMON_NAME: &str = "dcc-admin";
/// The subject CN of the service CA.
pub const SERVICE_CA_COMMON_NAME: &str = "DCC Service CA DEV TEST-ONLY";

/// The subject O of every service certificate.
const SERVICE_ORGANISATION: &str = "dcc dev";
/// How long the service CA is valid.
const SERVICE_CA_VALIDITY: Duration = Duration::days(10 * 365);
/// How long service certificates are valid.
const SERVICE_VALIDITY: Duration = Duration::days(2 * 365);
