//! Certificate profiles of the DCC signing hierarchy (dcc-spec.md §5.1–5.2): a national CSCA,
//! one document signer certificate (DSC) per certificate type, and the certificate of the key
//! that signs the published trust list; plus issuing further DSCs (key rotation, HSM keys).

use dcc_core::model::certificate_type::CertificateType;
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

use crate::ca::{CaError, CertificateAuthority, ca_params, distinguished_name};
use crate::certificate::{EncodedCertificate, IssuedCertificate};

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

/// A further DSC for `certificate_type` with a fresh P-256 key (key rotation), issued by
/// `csca` and valid from `now`. Its CN carries `now`, so each DSC's subject is unique
/// (dcc-spec.md §5.1).
pub fn issue_dsc(
    csca: &CertificateAuthority,
    certificate_type: CertificateType,
    now: OffsetDateTime,
) -> Result<IssuedCertificate, CaError> {
    csca.issue(&rotated_dsc_params(certificate_type, now))
}

/// A DSC for a P-256 key held in an HSM, given as its uncompressed point `04‖X‖Y`, issued by
/// `csca` and valid from `now`; CN as in [`issue_dsc`].
pub fn issue_dsc_for_p256_point(
    csca: &CertificateAuthority,
    certificate_type: CertificateType,
    now: OffsetDateTime,
    point: &[u8],
) -> Result<EncodedCertificate, CaError> {
    let public_key = P256Point(point);
    csca.issue_for_public_key(&rotated_dsc_params(certificate_type, now), &public_key)
}

/// A PKCS#10 certificate signing request (PEM) for a DSC of `certificate_type` whose P-256
/// key is held elsewhere (an HSM), for a CSCA outside this system. `point` is the key's
/// uncompressed point; `sign` returns the raw ES256 signature `r‖s` of the request's
/// `CertificationRequestInfo` made with that key (`None` if the key failed).
pub fn dsc_request_for_p256_point(
    certificate_type: CertificateType,
    now: OffsetDateTime,
    point: &[u8],
    sign: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
) -> Result<String, CaError> {
    let key = RemoteP256Key { point, sign };
    let mut params = rotated_dsc_params(certificate_type, now);
    // The issuing CA adds its own key identifier.
    params.use_authority_key_identifier_extension = false;
    params
        .serialize_request(&key)
        .and_then(|request| request.pem())
        .map_err(CaError::Generate)
}

/// A P-256 public key as rcgen takes it.
struct P256Point<'a>(&'a [u8]);

/// A P-256 key held elsewhere that signs through a callback.
struct RemoteP256Key<'a> {
    point: &'a [u8],
    sign: &'a dyn Fn(&[u8]) -> Option<Vec<u8>>,
}

impl rcgen::PublicKeyData for RemoteP256Key<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.point
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for RemoteP256Key<'_> {
    /// X.509 wants the ECDSA signature as DER `Ecdsa-Sig-Value`, not COSE's `r‖s`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let raw = (self.sign)(message).ok_or(rcgen::Error::RemoteKeyError)?;
        let (r, s) = (raw.get(..32), raw.get(32..));
        match (r, s, raw.len()) {
            (Some(r), Some(s), 64) => Ok(ecdsa_der(r, s)),
            _ => Err(rcgen::Error::RemoteKeyError),
        }
    }
}

/// `SEQUENCE { INTEGER r, INTEGER s }` from the 32-byte big-endian halves.
fn ecdsa_der(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let start = bytes
            .iter()
            .position(|&byte| byte != 0)
            .unwrap_or(bytes.len().saturating_sub(1));
        let trimmed = bytes.get(start..).unwrap_or_default();
        let mut out = vec![0x02];
        let pad = trimmed.first().is_some_and(|&byte| byte & 0x80 != 0);
        out.push(u8::try_from(trimmed.len() + usize::from(pad)).unwrap_or(0));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(trimmed);
        out
    }
    let body: Vec<u8> = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap_or(0)];
    out.extend(body);
    out
}

impl rcgen::PublicKeyData for P256Point<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// The certificate of the trust-list signing key: C=DE, CN [`TRUST_LIST_SIGNER_COMMON_NAME`],
/// KeyUsage digitalSignature, no DCC extended key usage, issued by the CSCA, valid from `now`
/// for [`CSCA_VALIDITY`]. Verifiers pin its public key (`trust-list/signer.pub`).
pub(crate) fn trust_list_signer_params(now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(&[
        (DnType::CountryName, "DE"),
        (DnType::CommonName, TRUST_LIST_SIGNER_COMMON_NAME),
    ]);
    params.not_before = now;
    params.not_after = now + CSCA_VALIDITY;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params
}

fn rotated_dsc_params(certificate_type: CertificateType, now: OffsetDateTime) -> CertificateParams {
    let mut params = dsc_params(certificate_type, now);
    params.distinguished_name = distinguished_name(&[
        (DnType::CountryName, "DE"),
        (
            DnType::CommonName,
            &format!(
                "{} {}",
                dsc_common_name(certificate_type),
                now.unix_timestamp()
            ),
        ),
    ]);
    params
}

/// The subject CN of the development DSC for `certificate_type`, e.g.
/// `DCC DSC vaccination DEV`.
pub fn dsc_common_name(certificate_type: CertificateType) -> String {
    format!("DCC DSC {certificate_type} DEV")
}

/// The subject CN of the trust-list signing certificate.
pub const TRUST_LIST_SIGNER_COMMON_NAME: &str = "DCC Trust List Signer DEV TEST-ONLY";

/// The subject CN of the development CSCA.
pub const CSCA_COMMON_NAME: &str = "DCC CSCA DEV TEST-ONLY";

/// How long the CSCA is valid (dcc-spec.md §5.1 recommends 4 years).
pub const CSCA_VALIDITY: Duration = Duration::days(4 * 365);

/// How long a DSC is valid (dcc-spec.md §5.1 recommends 2 years).
pub const DSC_VALIDITY: Duration = Duration::days(2 * 365);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_der_trims_leading_zeros_and_pads_high_bits() {
        let mut r = [0u8; 32];
        r[31] = 0x01;
        let s = [0x80u8; 32];
        let der = ecdsa_der(&r, &s);
        let mut expected = vec![0x30, 3 + 35, 0x02, 0x01, 0x01, 0x02, 33, 0x00];
        expected.extend([0x80; 32]);
        assert_eq!(der, expected);
    }
}
