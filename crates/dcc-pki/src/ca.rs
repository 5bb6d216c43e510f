//! A small certificate authority: a certificate, its key, and the rcgen issuer that signs with
//! them. It can be generated, stored as two PEM files and loaded back to issue more.

use std::fmt;

use der::{Tag, Tagged as _};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, DnValue, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams,
    SerialNumber,
};
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::name::Name;

use crate::certificate::{CertificateError, EncodedCertificate, IssuedCertificate};
use crate::crl::{Crl, CrlError};
use crate::private_key::{PrivateKey, PrivateKeyError};
use crate::serial::Serial;

/// A CA certificate with its private key, ready to issue certificates and CRLs.
pub struct CertificateAuthority {
    issued: IssuedCertificate,
    issuer: Issuer<'static, KeyPair>,
}

/// Why a CA could not be built, loaded or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The CA certificate or key is unusable, or they do not belong together.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// A key could not be generated or loaded.
    #[error(transparent)]
    PrivateKey(#[from] PrivateKeyError),
    /// rcgen refused to build a certificate or CRL.
    #[error("the certificate or CRL could not be built: {0}")]
    Generate(#[source] rcgen::Error),
    /// The CA's subject uses a form this crate cannot reproduce as an issuer name
    /// (multi-valued RDNs, repeated attribute types, or string types other than UTF8String and
    /// PrintableString).
    #[error("the CA subject cannot be reproduced as an issuer name")]
    UnsupportedName,
    /// The CA certificate has a malformed SubjectKeyIdentifier.
    #[error("the CA certificate's subject key identifier is malformed: {0}")]
    SubjectKeyIdentifier(#[source] der::Error),
    /// The generated CRL does not parse.
    #[error(transparent)]
    Crl(#[from] CrlError),
}

impl CertificateAuthority {
    /// A self-signed root CA with a fresh P-256 key. `params` must describe a CA.
    pub(crate) fn self_signed(params: CertificateParams) -> Result<Self, CaError> {
        let private_key = PrivateKey::generate_p256()?;
        let key_pair = private_key.key_pair()?;
        let certificate = params.self_signed(&key_pair).map_err(CaError::Generate)?;
        Self::assemble(params, certificate.der(), private_key, key_pair)
    }

    /// An intermediate CA with a fresh P-256 key, signed by `parent`.
    pub(crate) fn signed_by(
        params: CertificateParams,
        parent: &CertificateAuthority,
    ) -> Result<Self, CaError> {
        let private_key = PrivateKey::generate_p256()?;
        let key_pair = private_key.key_pair()?;
        let certificate = params
            .signed_by(&key_pair, &parent.issuer)
            .map_err(CaError::Generate)?;
        Self::assemble(params, certificate.der(), private_key, key_pair)
    }

    /// Loads a CA from its certificate and PKCS#8 key PEM texts, to issue further
    /// certificates. Issued certificates carry the CA subject, byte for byte, as issuer, and
    /// the CA's SubjectKeyIdentifier as AuthorityKeyIdentifier.
    pub fn from_pem(certificate_pem: &str, key_pem: &str) -> Result<Self, CaError> {
        let issued = IssuedCertificate::from_pem(certificate_pem, key_pem)?;
        let certificate = issued.certificate().parse()?;
        let tbs = certificate.tbs_certificate();
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen_name(tbs.subject())?;
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        if let Some(ski) = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(CaError::SubjectKeyIdentifier)?
        {
            params.key_identifier_method = KeyIdMethod::PreSpecified(ski.1.0.as_bytes().to_vec());
        }
        let key_pair = issued.private_key().key_pair()?;
        Ok(Self {
            issued,
            issuer: Issuer::new(params, key_pair),
        })
    }

    /// Issues a certificate for a fresh P-256 key.
    pub(crate) fn issue(&self, params: &CertificateParams) -> Result<IssuedCertificate, CaError> {
        let private_key = PrivateKey::generate_p256()?;
        let key_pair = private_key.key_pair()?;
        let certificate = params
            .signed_by(&key_pair, &self.issuer)
            .map_err(CaError::Generate)?;
        Ok(IssuedCertificate::new(
            EncodedCertificate::from_der(certificate.der())?,
            private_key,
        )?)
    }

    /// Issues a certificate for a public key held elsewhere (an HSM key). Only the
    /// certificate is returned; the private key never leaves its token.
    pub(crate) fn issue_for_public_key(
        &self,
        params: &CertificateParams,
        public_key: &impl rcgen::PublicKeyData,
    ) -> Result<EncodedCertificate, CaError> {
        let certificate = params
            .signed_by(public_key, &self.issuer)
            .map_err(CaError::Generate)?;
        Ok(EncodedCertificate::from_der(certificate.der())?)
    }

    /// Issues a CRL listing `revoked` (revoked at `now`), valid from `now` for
    /// [`CRL_VALIDITY`]. The CRL number is `now` in seconds since 1970, so later CRLs have
    /// larger numbers.
    pub fn crl(&self, revoked: &[Serial], now: OffsetDateTime) -> Result<Crl, CaError> {
        let params = CertificateRevocationListParams {
            this_update: now,
            next_update: now + CRL_VALIDITY,
            crl_number: SerialNumber::from_slice(&now.unix_timestamp().max(0).to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial.as_bytes()),
                    revocation_time: now,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer).map_err(CaError::Generate)?;
        Ok(Crl::from_der(crl.der())?)
    }

    /// The CA certificate and key.
    pub fn issued(&self) -> &IssuedCertificate {
        &self.issued
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &EncodedCertificate {
        self.issued.certificate()
    }

    fn assemble(
        params: CertificateParams,
        der: &[u8],
        private_key: PrivateKey,
        key_pair: KeyPair,
    ) -> Result<Self, CaError> {
        let issued = IssuedCertificate::new(EncodedCertificate::from_der(der)?, private_key)?;
        Ok(Self {
            issued,
            issuer: Issuer::new(params, key_pair),
        })
    }
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("certificate", self.certificate())
            .finish_non_exhaustive()
    }
}

/// Parameters for a CA certificate: the subject, a validity window, keyCertSign + cRLSign,
/// BasicConstraints CA (with a path length limit when given), SKI. Callers add AKI for CAs
/// signed by another CA.
pub(crate) fn ca_params(
    subject: DistinguishedName,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    path_len: Option<u8>,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::Ca(match path_len {
        Some(len) => BasicConstraints::Constrained(len),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// A distinguished name from `(type, value)` pairs in ASN.1 order; the country is written as
/// PrintableString (RFC 5280 `X520countryName`), everything else as UTF8String.
pub(crate) fn distinguished_name(entries: &[(DnType, &str)]) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    for (kind, value) in entries {
        let value = match (kind, rcgen::string::PrintableString::try_from(*value)) {
            (DnType::CountryName, Ok(printable)) => DnValue::PrintableString(printable),
            _ => DnValue::Utf8String((*value).to_owned()),
        };
        name.push(kind.clone(), value);
    }
    name
}

/// The arcs of an OID, as rcgen takes them.
pub(crate) fn oid_arcs(oid: &const_oid::ObjectIdentifier) -> Vec<u64> {
    oid.arcs().map(u64::from).collect()
}

/// How long a CRL is valid after its `thisUpdate`.
pub const CRL_VALIDITY: Duration = Duration::days(7);

/// The rcgen form of a parsed name, keeping every string type so the encoding is identical.
fn rcgen_name(name: &Name) -> Result<DistinguishedName, CaError> {
    let mut out = DistinguishedName::new();
    for rdn in name.iter_rdn() {
        let mut attributes = rdn.iter();
        let (Some(attribute), None) = (attributes.next(), attributes.next()) else {
            return Err(CaError::UnsupportedName);
        };
        let kind = DnType::from_oid(&oid_arcs(&attribute.oid));
        if out.get(&kind).is_some() {
            return Err(CaError::UnsupportedName);
        }
        let text = std::str::from_utf8(attribute.value.value())
            .map_err(|_| CaError::UnsupportedName)?
            .to_owned();
        let value = match attribute.value.tag() {
            Tag::Utf8String => DnValue::Utf8String(text),
            Tag::PrintableString => DnValue::PrintableString(
                rcgen::string::PrintableString::try_from(text)
                    .map_err(|_| CaError::UnsupportedName)?,
            ),
            _ => return Err(CaError::UnsupportedName),
        };
        out.push(kind, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use der::Encode as _;
    use time::macros::datetime;
    use x509_cert::ext::pkix::AuthorityKeyIdentifier;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2021-06-01 00:00 UTC);

    fn root() -> CertificateAuthority {
        let subject = distinguished_name(&[
            (DnType::CountryName, "DE"),
            (DnType::OrganizationName, "Prüf-Organisation"),
            (DnType::CommonName, "Test Root"),
        ]);
        CertificateAuthority::self_signed(ca_params(subject, NOW, NOW + Duration::days(365), None))
            .unwrap()
    }

    fn leaf_params() -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(&[(DnType::CommonName, "leaf")]);
        params.not_before = NOW;
        params.not_after = NOW + Duration::days(30);
        params.use_authority_key_identifier_extension = true;
        params
    }

    #[test]
    fn a_loaded_ca_issues_with_the_same_issuer_name_and_key_identifier() {
        let ca = root();
        let loaded = CertificateAuthority::from_pem(
            &ca.certificate().to_pem(),
            &ca.issued().private_key_pem(),
        )
        .unwrap();
        let ca_certificate = ca.certificate().parse().unwrap();
        let ca_tbs = ca_certificate.tbs_certificate();
        let ski = ca_tbs
            .get_extension::<SubjectKeyIdentifier>()
            .unwrap()
            .unwrap()
            .1;
        for issuer in [&ca, &loaded] {
            let leaf = issuer.issue(&leaf_params()).unwrap();
            let parsed = leaf.certificate().parse().unwrap();
            let tbs = parsed.tbs_certificate();
            assert_eq!(
                tbs.issuer().to_der().unwrap(),
                ca_tbs.subject().to_der().unwrap()
            );
            let aki = tbs
                .get_extension::<AuthorityKeyIdentifier>()
                .unwrap()
                .unwrap()
                .1;
            assert_eq!(aki.key_identifier.as_ref(), Some(&ski.0));
        }
    }

    #[test]
    fn country_is_printable_and_other_attributes_utf8() {
        let ca = root();
        let parsed = ca.certificate().parse().unwrap();
        let tags: Vec<Tag> = parsed
            .tbs_certificate()
            .subject()
            .iter()
            .map(|attribute| attribute.value.tag())
            .collect();
        assert_eq!(
            tags,
            [Tag::PrintableString, Tag::Utf8String, Tag::Utf8String]
        );
    }

    #[test]
    fn loading_with_a_foreign_key_is_refused() {
        let ca = root();
        let other = root();
        assert!(matches!(
            CertificateAuthority::from_pem(
                &ca.certificate().to_pem(),
                &other.issued().private_key_pem()
            ),
            Err(CaError::Certificate(CertificateError::KeyMismatch))
        ));
    }

    #[test]
    fn crl_lists_the_revoked_serials() {
        let ca = root();
        let serial = Serial::parse("01020304").unwrap();
        let crl = ca.crl(std::slice::from_ref(&serial), NOW).unwrap();
        assert_eq!(crl.revoked_serials().unwrap(), vec![serial]);
        let list = crl.parse().unwrap();
        assert_eq!(
            list.tbs_cert_list.this_update.to_unix_duration().as_secs(),
            NOW.unix_timestamp().unsigned_abs()
        );
        assert_eq!(Crl::from_pem(&crl.to_pem()).unwrap(), crl);
    }
}
