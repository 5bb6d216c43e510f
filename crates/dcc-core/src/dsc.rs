//! Document signer certificates (DSCs): the X.509 certificates whose keys sign HCERTs
//! (dcc-spec.md §5).
//!
//! A [`Dsc`] is parsed once, from DER, into exactly what a verifier needs: the kid, the subject
//! country and common name, the validity window, the extended key usage (as [`KeyUsage`]) and a
//! ready-to-use [`PublicKey`]. Parsing is deliberately narrow so that real-world DSCs load:
//!
//! * Only the extended-key-usage extension is decoded. Every other extension stays an opaque
//!   OCTET STRING, so the FI DSCs, whose BasicConstraints value carries a DER-invalid explicit
//!   `cA FALSE` (dcc-spec.md §8.5 pitfall 4), parse like any other certificate.
//! * The kid and thumbprint are computed over the bytes as received, never over a re-encoding.
//! * The public key is parsed into an aws-lc-rs [`ParsedPublicKey`] once, here, so each COSE
//!   verification costs one signature check and no key decoding.

use std::fmt;

use aws_lc_rs::digest;
use const_oid::ObjectIdentifier;
use der::{Any, Decode as _, Tag, Tagged as _};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;

use crate::kid::Kid;
use crate::model::certificate_type::CertificateType;
use crate::pem::{DER_SEQUENCE, PemError, pem_blocks};
use crate::public_key::{PublicKey, PublicKeyError};

/// A parsed document signer certificate.
///
/// Two `Dsc`s are equal when their DER encodings are equal.
#[derive(Clone)]
pub struct Dsc {
    der: Box<[u8]>,
    thumbprint: [u8; SHA256_LEN],
    kid: Kid,
    country: Option<String>,
    common_name: Option<String>,
    serial: Box<[u8]>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    key_usage: KeyUsage,
    public_key: PublicKey,
}

/// Which certificate types a DSC may sign, from its extended key usage (dcc-spec.md §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUsage {
    /// The DSC has no extended-key-usage extension, or an empty one: it may sign every type.
    Unrestricted,
    /// The DSC has an extended-key-usage extension: it may sign only the listed types.
    Restricted {
        /// The types named by the DCC OIDs `1.3.6.1.4.1.1847.2021.1.{1,2,3}` or their misspelled
        /// aliases `1.3.6.1.4.1.0.1847.2021.1.{1,2,3}`; sorted, without duplicates.
        types: Vec<CertificateType>,
        /// Every other OID in the extension (e.g. ICAO `2.23.136.1.1.14.2`), in dotted form and
        /// in certificate order.
        other_oids: Vec<String>,
    },
}

/// Why bytes are not a usable DSC.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DscError {
    /// The input is empty.
    #[error("no certificate data")]
    Empty,
    /// The bytes are not a DER X.509 certificate.
    #[error("not a DER X.509 certificate")]
    Der(#[source] der::Error),
    /// notBefore or notAfter cannot be represented as a date-time.
    #[error("the certificate validity is out of range")]
    Validity,
    /// The extended-key-usage extension is present but cannot be decoded, so the types the DSC
    /// may sign are unknown.
    #[error("the extended key usage extension is malformed")]
    ExtendedKeyUsage(#[source] der::Error),
    /// The subject public key is unusable.
    #[error("unusable subject public key")]
    PublicKey(#[source] PublicKeyError),
    /// The PEM text is malformed.
    #[error("malformed PEM")]
    Pem(#[source] PemError),
    /// The certificate in the given PEM block (counted from 0) is unusable.
    #[error("PEM certificate block {block}")]
    InBlock {
        /// The index of the `CERTIFICATE` block, counted from 0.
        block: usize,
        /// What is wrong with it.
        #[source]
        source: Box<DscError>,
    },
}

impl Dsc {
    /// Parses a DSC from its DER encoding.
    ///
    /// Only the fields a verifier needs are decoded; extensions other than extended key usage
    /// are not looked at, which keeps DSCs with DER-invalid extension contents usable.
    pub fn from_der(der: &[u8]) -> Result<Self, DscError> {
        if der.is_empty() {
            return Err(DscError::Empty);
        }
        let certificate = Certificate::from_der(der).map_err(DscError::Der)?;
        let tbs = certificate.tbs_certificate();
        let validity = tbs.validity();
        let thumbprint = sha256(der);
        Ok(Self {
            der: der.into(),
            thumbprint,
            kid: Kid::from_sha256(&thumbprint),
            country: first_attribute(tbs.subject(), &ATTR_COUNTRY),
            common_name: first_attribute(tbs.subject(), &ATTR_COMMON_NAME),
            serial: tbs.serial_number().as_bytes().into(),
            not_before: date_time(validity.not_before)?,
            not_after: date_time(validity.not_after)?,
            key_usage: key_usage(&certificate)?,
            public_key: PublicKey::from_spki_info(tbs.subject_public_key_info())
                .map_err(DscError::PublicKey)?,
        })
    }

    /// The DER encoding, exactly as given to [`Dsc::from_der`].
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The kid: the first 8 bytes of [`Dsc::thumbprint`].
    pub fn kid(&self) -> Kid {
        self.kid
    }

    /// SHA-256 over the DER encoding (the EU gateway's `thumbprint`).
    pub fn thumbprint(&self) -> &[u8; 32] {
        &self.thumbprint
    }

    /// The first subject `C` (country) attribute, if present and decodable as a string.
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// The first subject `CN` (common name) attribute, if present and decodable as a string.
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    /// The serial number: the content octets of the DER INTEGER (big-endian, two's complement).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The start of the validity period (notBefore), in UTC.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// The end of the validity period (notAfter), in UTC.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The certificate types this DSC may sign.
    pub fn key_usage(&self) -> &KeyUsage {
        &self.key_usage
    }

    /// The subject public key, ready for [`PublicKey::verify`].
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
}

impl PartialEq for Dsc {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Dsc {}

impl fmt::Debug for Dsc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dsc")
            .field("kid", &self.kid)
            .field("country", &self.country)
            .field("common_name", &self.common_name)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("key_usage", &self.key_usage)
            .field("key_type", &self.public_key.key_type())
            .finish_non_exhaustive()
    }
}

/// Parses one DER certificate, or PEM text holding one or more `CERTIFICATE` blocks.
///
/// Input starting with a DER SEQUENCE tag (`0x30`) is taken as DER; anything else as PEM text,
/// where text outside the blocks and blocks with other labels are ignored (RFC 7468 §2).
pub fn from_pem_or_der(bytes: &[u8]) -> Result<Vec<Dsc>, DscError> {
    match bytes.first() {
        None => Err(DscError::Empty),
        Some(&DER_SEQUENCE) => Dsc::from_der(bytes).map(|dsc| vec![dsc]),
        Some(_) => pem_blocks(bytes, PEM_CERTIFICATE)
            .map_err(DscError::Pem)?
            .iter()
            .enumerate()
            .map(|(block, der)| {
                Dsc::from_der(der).map_err(|source| DscError::InBlock {
                    block,
                    source: Box::new(source),
                })
            })
            .collect(),
    }
}

impl KeyUsage {
    /// Whether a DSC with this key usage may sign a certificate of type `certificate_type`.
    ///
    /// An extension that is present but lacks the type's OID (in either spelling) forbids it;
    /// this reproduces every `EXPECTEDKEYUSAGE` flag of the EU test vectors (dcc-spec.md §5.2).
    pub fn allows(&self, certificate_type: CertificateType) -> bool {
        match self {
            Self::Unrestricted => true,
            Self::Restricted { types, .. } => types.contains(&certificate_type),
        }
    }

    /// The key usage described by the OIDs of an extended-key-usage extension (dotted form).
    pub fn from_oids<I, S>(oids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut types = Vec::new();
        let mut other_oids = Vec::new();
        for oid in oids {
            let oid = oid.as_ref();
            match CertificateType::ALL
                .into_iter()
                .find(|t| t.key_usage_oid() == oid || t.key_usage_oid_alias() == oid)
            {
                Some(certificate_type) => types.push(certificate_type),
                None => other_oids.push(oid.to_owned()),
            }
        }
        if types.is_empty() && other_oids.is_empty() {
            return Self::Unrestricted;
        }
        types.sort_unstable();
        types.dedup();
        Self::Restricted { types, other_oids }
    }
}

/// The key usage from all extended-key-usage extensions of the certificate.
fn key_usage(certificate: &Certificate) -> Result<KeyUsage, DscError> {
    let mut oids = Vec::new();
    let extensions = certificate
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten();
    for extension in extensions.filter(|extension| extension.extn_id == EXT_KEY_USAGE) {
        let usage = ExtendedKeyUsage::from_der(extension.extn_value.as_bytes())
            .map_err(DscError::ExtendedKeyUsage)?;
        oids.extend(usage.0.iter().map(ToString::to_string));
    }
    Ok(KeyUsage::from_oids(oids))
}

/// The first attribute of type `oid` in `name`, decoded leniently from the usual string types.
fn first_attribute(name: &Name, oid: &ObjectIdentifier) -> Option<String> {
    name.iter()
        .find(|attribute| attribute.oid == *oid)
        .and_then(|attribute| directory_string(&attribute.value))
}

/// A DirectoryString-like value as text; `None` for other types or invalid contents.
fn directory_string(value: &Any) -> Option<String> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            std::str::from_utf8(bytes).ok().map(str::to_owned)
        }
        // T.61 in practice carries Latin-1.
        Tag::TeletexString => Some(bytes.iter().map(|&byte| char::from(byte)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|pair| {
                    pair.iter()
                        .fold(0u16, |acc, &byte| (acc << 8) | u16::from(byte))
                })
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn date_time(time: x509_cert::time::Time) -> Result<OffsetDateTime, DscError> {
    i64::try_from(time.to_unix_duration().as_secs())
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .ok_or(DscError::Validity)
}

fn sha256(bytes: &[u8]) -> [u8; SHA256_LEN] {
    let mut out = [0; SHA256_LEN];
    for (target, source) in out
        .iter_mut()
        .zip(digest::digest(&digest::SHA256, bytes).as_ref())
    {
        *target = *source;
    }
    out
}

const SHA256_LEN: usize = 32;
const PEM_CERTIFICATE: &str = "CERTIFICATE";

const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ATTR_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const ATTR_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");

#[cfg(test)]
pub(crate) mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair};
    use base64::Engine as _;
    use base64::engine::general_purpose;
    use rcgen::{
        CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, KeyPair,
        PublicKeyData as _, SignatureAlgorithm,
    };

    use super::*;
    use crate::algorithm::Algorithm;
    use crate::public_key::{KeyType, SignatureError};

    /// OID arcs of the extended-key-usage values used in the tests.
    pub(crate) const VACCINATION: &[u64] = &[1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2];
    pub(crate) const TEST_ALIAS: &[u64] = &[1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 1];
    pub(crate) const RECOVERY_ALIAS: &[u64] = &[1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 3];
    pub(crate) const ICAO_DOCUMENT_SIGNER: &[u64] = &[2, 23, 136, 1, 1, 14, 2];

    /// A generated self-signed DSC and its private key (PKCS#8).
    pub(crate) struct TestDsc {
        pub(crate) der: Vec<u8>,
        pub(crate) pem: String,
        pub(crate) pkcs8: Vec<u8>,
        pub(crate) spki: Vec<u8>,
    }

    pub(crate) fn generate(
        algorithm: &'static SignatureAlgorithm,
        common_name: &str,
        usages: &[&[u64]],
        extensions: Vec<CustomExtension>,
    ) -> TestDsc {
        let key = KeyPair::generate_for(algorithm).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CountryName, "DE");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.not_before = time::macros::datetime!(2021-04-27 00:00 UTC);
        params.not_after = time::macros::datetime!(2023-04-27 00:00 UTC);
        params.serial_number = Some(vec![0x01, 0x23, 0x45].into());
        params.extended_key_usages = usages
            .iter()
            .map(|oid| ExtendedKeyUsagePurpose::Other(oid.to_vec()))
            .collect();
        params.custom_extensions = extensions;
        let certificate = params.self_signed(&key).unwrap();
        TestDsc {
            der: certificate.der().to_vec(),
            pem: certificate.pem(),
            pkcs8: key.serialize_der(),
            spki: key.subject_public_key_info(),
        }
    }

    pub(crate) fn p256(common_name: &str, usages: &[&[u64]]) -> TestDsc {
        generate(
            &rcgen::PKCS_ECDSA_P256_SHA256,
            common_name,
            usages,
            Vec::new(),
        )
    }

    /// An ES256 (raw r‖s) signature by a P-256 PKCS#8 key.
    pub(crate) fn sign_es256(pkcs8: &[u8], message: &[u8]) -> Vec<u8> {
        let key =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).unwrap();
        key.sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    fn key_usage_of(usages: &[&[u64]]) -> KeyUsage {
        Dsc::from_der(&p256("ku", usages).der)
            .unwrap()
            .key_usage()
            .clone()
    }

    #[test]
    fn parses_the_fields_a_verifier_needs() {
        let generated = p256("DSC 1", &[]);
        let dsc = Dsc::from_der(&generated.der).unwrap();
        assert_eq!(dsc.as_der(), generated.der.as_slice());
        assert_eq!(dsc.kid(), Kid::of_certificate(&generated.der));
        assert_eq!(
            dsc.thumbprint().get(..8),
            Some(dsc.kid().as_bytes().as_slice())
        );
        assert_eq!(dsc.country(), Some("DE"));
        assert_eq!(dsc.common_name(), Some("DSC 1"));
        assert_eq!(dsc.serial(), &[0x01, 0x23, 0x45]);
        assert_eq!(
            dsc.not_before(),
            time::macros::datetime!(2021-04-27 00:00 UTC)
        );
        assert_eq!(
            dsc.not_after(),
            time::macros::datetime!(2023-04-27 00:00 UTC)
        );
        assert_eq!(dsc.public_key().key_type(), KeyType::EcP256);
        assert_eq!(dsc.key_usage(), &KeyUsage::Unrestricted);
    }

    #[test]
    fn no_extended_key_usage_allows_every_type() {
        let usage = key_usage_of(&[]);
        assert!(CertificateType::ALL.into_iter().all(|t| usage.allows(t)));
    }

    #[test]
    fn correct_oid_allows_only_its_type() {
        let usage = key_usage_of(&[VACCINATION]);
        assert_eq!(
            usage,
            KeyUsage::Restricted {
                types: vec![CertificateType::Vaccination],
                other_oids: vec![]
            }
        );
        assert!(usage.allows(CertificateType::Vaccination));
        assert!(!usage.allows(CertificateType::Test));
        assert!(!usage.allows(CertificateType::Recovery));
    }

    #[test]
    fn misspelled_oids_count_as_their_types() {
        let usage = key_usage_of(&[RECOVERY_ALIAS, TEST_ALIAS]);
        assert_eq!(
            usage,
            KeyUsage::Restricted {
                types: vec![CertificateType::Test, CertificateType::Recovery],
                other_oids: vec![]
            }
        );
        assert!(!usage.allows(CertificateType::Vaccination));
    }

    #[test]
    fn icao_only_key_usage_allows_nothing() {
        // IS 3 of the test data: EKU present, but no DCC OID ⇒ key usage check fails.
        let usage = key_usage_of(&[ICAO_DOCUMENT_SIGNER]);
        assert_eq!(
            usage,
            KeyUsage::Restricted {
                types: vec![],
                other_oids: vec!["2.23.136.1.1.14.2".to_owned()]
            }
        );
        assert!(CertificateType::ALL.into_iter().all(|t| !usage.allows(t)));
    }

    #[test]
    fn both_spellings_of_one_type_give_it_once() {
        let usage = KeyUsage::from_oids([
            "1.3.6.1.4.1.1847.2021.1.2",
            "1.3.6.1.5.5.7.3.2",
            "1.3.6.1.4.1.0.1847.2021.1.2",
        ]);
        assert_eq!(
            usage,
            KeyUsage::Restricted {
                types: vec![CertificateType::Vaccination],
                other_oids: vec!["1.3.6.1.5.5.7.3.2".to_owned()]
            }
        );
        assert_eq!(
            KeyUsage::from_oids(Vec::<String>::new()),
            KeyUsage::Unrestricted
        );
    }

    #[test]
    fn empty_extended_key_usage_extension_is_unrestricted() {
        let extension = CustomExtension::from_oid_content(&[2, 5, 29, 37], vec![0x30, 0x00]);
        let generated = generate(&rcgen::PKCS_ECDSA_P256_SHA256, "e", &[], vec![extension]);
        let dsc = Dsc::from_der(&generated.der).unwrap();
        assert_eq!(dsc.key_usage(), &KeyUsage::Unrestricted);
    }

    #[test]
    fn malformed_extended_key_usage_is_an_error() {
        let extension =
            CustomExtension::from_oid_content(&[2, 5, 29, 37], vec![0x30, 0x03, 0x01, 0x01, 0x00]);
        let generated = generate(&rcgen::PKCS_ECDSA_P256_SHA256, "m", &[], vec![extension]);
        assert!(matches!(
            Dsc::from_der(&generated.der),
            Err(DscError::ExtendedKeyUsage(_))
        ));
    }

    #[test]
    fn der_invalid_basic_constraints_are_tolerated() {
        // Like the FI DSCs: BasicConstraints with an explicitly encoded default `cA FALSE`.
        let mut extension =
            CustomExtension::from_oid_content(&[2, 5, 29, 19], vec![0x30, 0x03, 0x01, 0x01, 0x00]);
        extension.set_criticality(true);
        let generated = generate(&rcgen::PKCS_ECDSA_P256_SHA256, "FI", &[], vec![extension]);
        let dsc = Dsc::from_der(&generated.der).unwrap();
        assert_eq!(dsc.kid(), Kid::of_certificate(&generated.der));
    }

    #[test]
    fn es256_verifies_raw_signatures_and_rejects_alterations() {
        let generated = p256("es", &[]);
        let dsc = Dsc::from_der(&generated.der).unwrap();
        let signature = sign_es256(&generated.pkcs8, b"message");
        let key = dsc.public_key();
        assert_eq!(key.verify(Algorithm::Es256, b"message", &signature), Ok(()));
        assert_eq!(
            key.verify(Algorithm::Es256, b"messagf", &signature),
            Err(SignatureError::Invalid)
        );
        let mut flipped = signature.clone();
        flipped[10] ^= 0x04;
        assert_eq!(
            key.verify(Algorithm::Es256, b"message", &flipped),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            key.verify(Algorithm::Es256, b"message", &signature[..63]),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            key.verify(Algorithm::Ps256, b"message", &signature),
            Err(SignatureError::KeyAlgorithmMismatch {
                algorithm: Algorithm::Ps256,
                key: KeyType::EcP256
            })
        );
    }

    #[test]
    fn p384_keys_parse_but_do_not_verify_es256() {
        let generated = generate(&rcgen::PKCS_ECDSA_P384_SHA384, "p384", &[], Vec::new());
        let dsc = Dsc::from_der(&generated.der).unwrap();
        assert_eq!(dsc.public_key().key_type(), KeyType::EcP384);
        assert_eq!(
            dsc.public_key().verify(Algorithm::Es256, b"m", &[0; 96]),
            Err(SignatureError::KeyAlgorithmMismatch {
                algorithm: Algorithm::Es256,
                key: KeyType::EcP384
            })
        );
    }

    fn sign_ps256(pkcs8: &[u8], message: &[u8]) -> Vec<u8> {
        let key = RsaKeyPair::from_pkcs8(pkcs8).unwrap();
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(
            &signature::RSA_PSS_SHA256,
            &SystemRandom::new(),
            message,
            &mut signature,
        )
        .unwrap();
        signature
    }

    #[test]
    fn ps256_verifies_with_rsa_keys() {
        let generated = generate(&rcgen::PKCS_RSA_SHA256, "rsa", &[], Vec::new());
        let dsc = Dsc::from_der(&generated.der).unwrap();
        let key = dsc.public_key();
        assert_eq!(key.key_type(), KeyType::Rsa { modulus_bits: 2048 });
        let signature = sign_ps256(&generated.pkcs8, b"message");
        assert_eq!(key.verify(Algorithm::Ps256, b"message", &signature), Ok(()));
        let mut flipped = signature.clone();
        flipped[100] ^= 0x01;
        assert_eq!(
            key.verify(Algorithm::Ps256, b"message", &flipped),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            key.verify(Algorithm::Es256, b"message", &signature),
            Err(SignatureError::KeyAlgorithmMismatch {
                algorithm: Algorithm::Es256,
                key: KeyType::Rsa { modulus_bits: 2048 }
            })
        );
    }

    #[test]
    fn rsassa_pss_spki_is_an_rsa_key() {
        let generated = generate(&rcgen::PKCS_RSA_SHA256, "pss", &[], Vec::new());
        // Turn the rsaEncryption OID (…1.1.1) into id-RSASSA-PSS (…1.1.10); same length.
        let rsa_encryption = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        let mut spki = generated.spki.clone();
        let at = spki.windows(9).position(|w| w == rsa_encryption).unwrap();
        spki[at + 8] = 0x0a;
        let key = PublicKey::from_spki(&spki).unwrap();
        assert_eq!(key.key_type(), KeyType::Rsa { modulus_bits: 2048 });
        let signature = sign_ps256(&generated.pkcs8, b"pss");
        assert_eq!(key.verify(Algorithm::Ps256, b"pss", &signature), Ok(()));
    }

    #[test]
    fn spki_from_der_and_pem() {
        let generated = p256("spki", &[]);
        let from_der = PublicKey::from_spki(&generated.spki).unwrap();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            general_purpose::STANDARD.encode(&generated.spki)
        );
        let from_pem = PublicKey::from_spki(pem.as_bytes()).unwrap();
        let signature = sign_es256(&generated.pkcs8, b"x");
        assert_eq!(from_der.verify(Algorithm::Es256, b"x", &signature), Ok(()));
        assert_eq!(from_pem.verify(Algorithm::Es256, b"x", &signature), Ok(()));
        let key_bytes = from_der_key_bytes(&from_der);
        assert_eq!(key_bytes.len(), 65);
        assert_eq!(key_bytes.first(), Some(&0x04));
    }

    fn from_der_key_bytes(key: &PublicKey) -> &[u8] {
        match key {
            PublicKey::EcP256(material) => material.as_bytes(),
            other => panic!("expected a P-256 key, got {other:?}"),
        }
    }

    #[test]
    fn spki_errors_are_typed() {
        assert!(matches!(
            PublicKey::from_spki(&[0x30, 0x00]),
            Err(PublicKeyError::Spki(_))
        ));
        assert!(matches!(
            PublicKey::from_spki(b"no pem here"),
            Err(PublicKeyError::Pem(PemError::NoBlock {
                label: "PUBLIC KEY"
            }))
        ));
        let ed25519 = generate(&rcgen::PKCS_ED25519, "ed", &[], Vec::new());
        assert!(matches!(
            PublicKey::from_spki(&ed25519.spki),
            Err(PublicKeyError::UnsupportedAlgorithm { oid })
                if oid.to_string() == "1.3.101.112"
        ));
        assert!(matches!(
            Dsc::from_der(&ed25519.der),
            Err(DscError::PublicKey(
                PublicKeyError::UnsupportedAlgorithm { .. }
            ))
        ));
    }

    #[test]
    fn from_pem_or_der_reads_one_der_certificate() {
        let generated = p256("der", &[]);
        let dscs = from_pem_or_der(&generated.der).unwrap();
        assert_eq!(dscs.len(), 1);
        assert_eq!(dscs[0].as_der(), generated.der.as_slice());
    }

    #[test]
    fn from_pem_or_der_reads_every_certificate_block() {
        let first = p256("one", &[]);
        let second = p256("two", &[VACCINATION]);
        let text = format!(
            "Bundle of two DSCs\n{}\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\r\n{}",
            first.pem, second.pem
        );
        let dscs = from_pem_or_der(text.as_bytes()).unwrap();
        let names: Vec<_> = dscs.iter().map(Dsc::common_name).collect();
        assert_eq!(names, [Some("one"), Some("two")]);
    }

    #[test]
    fn from_pem_or_der_reports_what_is_wrong() {
        assert!(matches!(from_pem_or_der(b""), Err(DscError::Empty)));
        assert!(matches!(
            from_pem_or_der(&[0x30, 0x03, 0x02, 0x01, 0x01]),
            Err(DscError::Der(_))
        ));
        assert!(matches!(
            from_pem_or_der(b"hello"),
            Err(DscError::Pem(PemError::NoBlock {
                label: "CERTIFICATE"
            }))
        ));
        assert!(matches!(
            from_pem_or_der(b"-----BEGIN CERTIFICATE-----\nMIIB\n"),
            Err(DscError::Pem(PemError::Unterminated { block: 0 }))
        ));
        assert!(matches!(
            from_pem_or_der(b"-----BEGIN CERTIFICATE-----\nMI*B\n-----END CERTIFICATE-----\n"),
            Err(DscError::Pem(PemError::Base64 { block: 0, .. }))
        ));
        assert!(matches!(
            from_pem_or_der(&[0xff, 0xfe]),
            Err(DscError::Pem(PemError::NotText))
        ));
        let good = p256("good", &[]);
        let text = format!(
            "{}-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
            good.pem
        );
        assert!(matches!(
            from_pem_or_der(text.as_bytes()),
            Err(DscError::InBlock { block: 1, source }) if matches!(*source, DscError::Der(_))
        ));
    }

    #[test]
    fn equality_is_by_der() {
        let generated = p256("eq", &[]);
        let a = Dsc::from_der(&generated.der).unwrap();
        let b = Dsc::from_der(&generated.der).unwrap();
        let other = Dsc::from_der(&p256("eq", &[]).der).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, other);
    }
}
