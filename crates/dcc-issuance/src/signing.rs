//! The certificate server's role: build and sign the HCERT from a validated payload.
//!
//! It holds one DSC and key per certificate type and refuses to sign when that DSC is not
//! valid at signing time, when `exp` would pass the DSC's notAfter, when the DSC's key usage
//! excludes the type, or when the payload fails the strict issuing schema. It never signs a
//! hash or a COSE structure supplied by a caller (german-context.md §3.3 describes the
//! "sign this hash" API we do not offer).
//!
//! Its keys can be replaced while it runs ([`CertificateServer::install`]): several DSCs per
//! type may be published, one per type signs. Requests in flight finish with the key set they
//! started with; the next request sees the new one, so a rotation fails no request. It refuses
//! to sign with a DSC that is not on its own published list (dcc-spec.md §1.6b item 5).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use dcc_core::algorithm::Algorithm;
use dcc_core::dsc::Dsc;
use dcc_core::hcert::cwt::IssueClaims;
use dcc_core::hcert::{self, EncodeError};
use dcc_core::kid::Kid;
use dcc_core::model::Dcc;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::signer::Signer;
use dcc_core::validation::{self, Mode};

use crate::violation::FieldViolation;

/// The key, DSC and certificate lifetime for one certificate type.
pub struct TypeSigner {
    /// The signing key (a file key or an HSM key).
    pub signer: Arc<dyn Signer>,
    /// The DSC of that key.
    pub dsc: Dsc,
    /// `exp - iat` for certificates of this type, in seconds.
    pub lifetime_seconds: i64,
}

/// The certificate server: one active [`TypeSigner`] per certificate type, and the kids of
/// the DSCs it publishes.
pub struct CertificateServer {
    country: String,
    keys: RwLock<Arc<SigningKeys>>,
}

/// A complete key set: the active signer per type and the published kids. Built, checked
/// ([`SigningKeys::with_type`]) and then installed as a whole.
#[derive(Default, Clone)]
pub struct SigningKeys {
    active: BTreeMap<CertificateType, Arc<TypeSigner>>,
    published: BTreeSet<Kid>,
}

/// A signed certificate and what the ledger needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCertificate {
    /// The `HC1:` text.
    pub hc1: String,
    /// The kid of the DSC that signed it.
    pub kid: Kid,
    /// `iat`, seconds since 1970.
    pub issued_at: i64,
    /// `exp`, seconds since 1970.
    pub expires_at: i64,
    /// The raw COSE signature (for the SIGNATURE revocation hash).
    pub signature: Vec<u8>,
}

impl SignedCertificate {
    /// The signature's algorithm, told by its length: ES256 signatures are `r‖s`, 64 bytes;
    /// PS256 signatures are as long as the RSA modulus (256 bytes and more).
    pub fn algorithm(&self) -> Algorithm {
        if self.signature.len() == ES256_SIGNATURE_LEN {
            Algorithm::Es256
        } else {
            Algorithm::Ps256
        }
    }
}

/// Length of a raw ES256 signature (`r‖s`).
const ES256_SIGNATURE_LEN: usize = 64;

/// Why the certificate server refused or failed to sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// No key is configured for this certificate type.
    #[error("no signing key is configured for {0} certificates")]
    NoKey(CertificateType),
    /// The key's kid is not the configured DSC's kid.
    #[error("the signing key does not belong to the configured DSC for {0} certificates")]
    KeyDscMismatch(CertificateType),
    /// The DSC's extended key usage does not allow this type.
    #[error("the DSC for {0} certificates does not allow signing them (extended key usage)")]
    KeyUsage(CertificateType),
    /// The DSC is not valid at signing time.
    #[error("the DSC for {certificate_type} certificates is not valid now")]
    DscNotValid {
        /// The type whose DSC it is.
        certificate_type: CertificateType,
    },
    /// The active DSC is not on the published trust list, so verifiers would not know it.
    #[error("the DSC for {0} certificates is not on the published trust list")]
    NotPublished(CertificateType),
    /// `exp` would pass the DSC's notAfter.
    #[error("the certificate would expire after its DSC (notAfter {not_after})")]
    ExpiryBeyondDsc {
        /// The DSC's notAfter, seconds since 1970.
        not_after: i64,
    },
    /// The payload fails the strict issuing schema (the portal should have caught this).
    #[error("the payload is invalid: {}", .0.first().map(ToString::to_string).unwrap_or_default())]
    InvalidPayload(Vec<FieldViolation>),
    /// Encoding or the signing key failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The store of a type's key (an HSM) did not answer a probe.
    #[error("the key store of the {certificate_type} key cannot sign now: {source}")]
    KeyUnavailable {
        /// The type whose key it is.
        certificate_type: CertificateType,
        /// What the key store reported.
        #[source]
        source: dcc_core::signer::SignerError,
    },
}

impl SigningKeys {
    /// An empty key set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `type_signer` the active key for a type, checking that key, DSC and key usage fit
    /// together. The DSC is not published by this; see [`SigningKeys::publish`].
    pub fn with_type(
        mut self,
        certificate_type: CertificateType,
        type_signer: TypeSigner,
    ) -> Result<Self, SigningError> {
        if type_signer.signer.kid() != type_signer.dsc.kid() {
            return Err(SigningError::KeyDscMismatch(certificate_type));
        }
        if !type_signer.dsc.key_usage().allows(certificate_type) {
            return Err(SigningError::KeyUsage(certificate_type));
        }
        self.active.insert(certificate_type, Arc::new(type_signer));
        Ok(self)
    }

    /// Adds a kid to the published list.
    pub fn publish(mut self, kid: Kid) -> Self {
        self.published.insert(kid);
        self
    }

    /// The active key of a type.
    pub fn active(&self, certificate_type: CertificateType) -> Option<&TypeSigner> {
        self.active.get(&certificate_type).map(Arc::as_ref)
    }
}

impl CertificateServer {
    /// A certificate server issuing as `country` (the CWT `iss`), with no keys.
    pub fn new(country: impl Into<String>) -> Self {
        Self {
            country: country.into(),
            keys: RwLock::new(Arc::new(SigningKeys::new())),
        }
    }

    /// Configures the active key for a type and publishes its DSC, checking that key, DSC and
    /// key usage fit together.
    pub fn with_type(
        self,
        certificate_type: CertificateType,
        type_signer: TypeSigner,
    ) -> Result<Self, SigningError> {
        let kid = type_signer.dsc.kid();
        let keys = self
            .snapshot()
            .as_ref()
            .clone()
            .with_type(certificate_type, type_signer)?
            .publish(kid);
        self.install(keys);
        Ok(self)
    }

    /// Replaces the whole key set. Requests already signing finish with the previous set.
    pub fn install(&self, keys: SigningKeys) {
        let mut current = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Arc::new(keys);
    }

    /// The key set in use now.
    pub fn snapshot(&self) -> Arc<SigningKeys> {
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The active DSCs, for verifying what was issued.
    pub fn dscs(&self) -> Vec<Dsc> {
        self.snapshot()
            .active
            .values()
            .map(|type_signer| type_signer.dsc.clone())
            .collect()
    }

    /// Asks the stores of the active keys whether they can sign (one round trip per HSM key;
    /// file keys have nothing to ask). `None` when no active key is in an HSM; otherwise the
    /// first failure, naming the type whose key failed.
    pub fn probe_keys(&self) -> Option<Result<(), SigningError>> {
        let keys = self.snapshot();
        let mut probed = None;
        for (certificate_type, type_signer) in &keys.active {
            match type_signer.signer.probe() {
                None => {}
                Some(Ok(())) => probed = Some(Ok(())),
                Some(Err(source)) => {
                    return Some(Err(SigningError::KeyUnavailable {
                        certificate_type: *certificate_type,
                        source,
                    }));
                }
            }
        }
        probed
    }

    /// Signs a payload at `now` (seconds since 1970).
    pub fn sign(&self, dcc: &Dcc, now: i64) -> Result<SignedCertificate, SigningError> {
        let certificate_type = dcc.certificate_type();
        let keys = self.snapshot();
        let type_signer = keys
            .active(certificate_type)
            .ok_or(SigningError::NoKey(certificate_type))?;
        if !keys.published.contains(&type_signer.dsc.kid()) {
            return Err(SigningError::NotPublished(certificate_type));
        }
        let violations = validation::validate(&dcc.to_json(), Mode::Issue);
        if !violations.is_empty() {
            return Err(SigningError::InvalidPayload(
                violations.iter().map(FieldViolation::from).collect(),
            ));
        }
        let dsc = &type_signer.dsc;
        let not_before = dsc.not_before().unix_timestamp();
        let not_after = dsc.not_after().unix_timestamp();
        if now < not_before || now > not_after {
            return Err(SigningError::DscNotValid { certificate_type });
        }
        let expires_at = now + type_signer.lifetime_seconds;
        if expires_at > not_after {
            return Err(SigningError::ExpiryBeyondDsc { not_after });
        }
        let claims = IssueClaims {
            issuer: self.country.clone(),
            issued_at: now,
            expires_at,
        };
        let (cose, signature) =
            hcert::sign_returning_signature(dcc, &claims, type_signer.signer.as_ref())?;
        let hc1 = hcert::encode_cose(&cose)?;
        Ok(SignedCertificate {
            hc1,
            kid: dsc.kid(),
            issued_at: now,
            expires_at,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    use dcc_core::signer::SoftwareSigner;
    use dcc_core::trust_list::TrustList;
    use rcgen::{CertificateParams, CustomExtension, KeyPair};

    use super::*;

    /// A DSC valid 2021-01-01 .. 2023-01-01 whose EKU allows `eku_last`
    /// (1.3.6.1.4.1.1847.2021.1.<eku_last>), and its key.
    fn type_signer(eku_last: u8, lifetime_days: i64) -> TypeSigner {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = KeyPair::from_pkcs8_der_and_sign_algo(
            &pkcs8.as_ref().into(),
            &rcgen::PKCS_ECDSA_P256_SHA256,
        )
        .unwrap();
        let mut params = CertificateParams::default();
        params.not_before = rcgen::date_time_ymd(2021, 1, 1);
        params.not_after = rcgen::date_time_ymd(2023, 1, 1);
        let oid = [
            0x2B, 0x06, 0x01, 0x04, 0x01, 0x8E, 0x37, 0x8F, 0x65, 0x01, eku_last,
        ];
        let mut eku = vec![0x30, 13, 0x06, 11];
        eku.extend_from_slice(&oid);
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(&[2, 5, 29, 37], eku));
        let der = params.self_signed(&key).unwrap().der().to_vec();
        TypeSigner {
            signer: Arc::new(SoftwareSigner::es256_from_pkcs8(pkcs8.as_ref(), &der).unwrap()),
            dsc: Dsc::from_der(&der).unwrap(),
            lifetime_seconds: lifetime_days * DAY,
        }
    }

    fn vaccination() -> Dcc {
        Dcc::from_json(&serde_json::json!({
            "ver": "1.3.0",
            "nam": {"fn": "Muster", "fnt": "MUSTER"},
            "dob": "1964",
            "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                   "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29", "co": "DE",
                   "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO1/X1#F"}]
        }))
        .unwrap()
    }

    const JULY_2021: i64 = 1_625_097_600;
    const DAY: i64 = 86_400;

    #[test]
    fn signs_what_verifies() {
        let server = CertificateServer::new("DE")
            .with_type(CertificateType::Vaccination, type_signer(2, 365))
            .unwrap();
        let signed = server.sign(&vaccination(), JULY_2021).unwrap();
        assert_eq!(signed.expires_at, JULY_2021 + 365 * DAY);
        assert_eq!(signed.signature.len(), 64);
        let trust: TrustList = server.dscs().into_iter().collect();
        let verification = dcc_core::verify::verify(&signed.hc1, &trust, JULY_2021).unwrap();
        assert!(verification.is_valid(), "{verification:?}");
        assert_eq!(verification.hcert.claims.issuer.as_deref(), Some("DE"));
    }

    #[test]
    fn refuses_a_dsc_whose_key_usage_excludes_the_type() {
        let error = CertificateServer::new("DE")
            .with_type(CertificateType::Vaccination, type_signer(1, 365))
            .err()
            .unwrap();
        assert!(matches!(
            error,
            SigningError::KeyUsage(CertificateType::Vaccination)
        ));
    }

    #[test]
    fn refuses_outside_the_dsc_validity() {
        let server = CertificateServer::new("DE")
            .with_type(CertificateType::Vaccination, type_signer(2, 365))
            .unwrap();
        // 2024: the DSC expired at the start of 2023.
        let error = server
            .sign(&vaccination(), JULY_2021 + 1000 * DAY)
            .unwrap_err();
        assert!(matches!(error, SigningError::DscNotValid { .. }), "{error}");
        // Mid-2022 plus a year passes notAfter.
        let error = server
            .sign(&vaccination(), JULY_2021 + 365 * DAY)
            .unwrap_err();
        assert!(matches!(
            error,
            SigningError::ExpiryBeyondDsc {
                not_after: 1_672_531_200
            }
        ));
    }

    #[test]
    fn refuses_a_dsc_that_is_not_published() {
        let server = CertificateServer::new("DE");
        let keys = SigningKeys::new()
            .with_type(CertificateType::Vaccination, type_signer(2, 365))
            .unwrap();
        server.install(keys.clone());
        assert!(matches!(
            server.sign(&vaccination(), JULY_2021),
            Err(SigningError::NotPublished(CertificateType::Vaccination))
        ));
        let kid = keys.active(CertificateType::Vaccination).unwrap().dsc.kid();
        server.install(keys.publish(kid));
        let signed = server.sign(&vaccination(), JULY_2021).unwrap();
        assert_eq!(signed.kid, kid);
    }

    #[test]
    fn refuses_unconfigured_types_and_invalid_payloads() {
        let server = CertificateServer::new("DE");
        assert!(matches!(
            server.sign(&vaccination(), JULY_2021),
            Err(SigningError::NoKey(CertificateType::Vaccination))
        ));
        let server = server
            .with_type(CertificateType::Vaccination, type_signer(2, 365))
            .unwrap();
        let mut dcc = vaccination();
        dcc.name.family_name_standardised = Some("muster".into());
        assert!(matches!(
            server.sign(&dcc, JULY_2021),
            Err(SigningError::InvalidPayload(_))
        ));
    }
}
