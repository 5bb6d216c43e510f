//! Verification keys: a DSC's public key, or the key that signs a national trust list,
//! parsed once from a SubjectPublicKeyInfo and used for every signature check (dcc-spec.md §1.3).

use std::fmt;

use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, UnparsedPublicKey};
use const_oid::ObjectIdentifier;
use der::Decode as _;
use der::asn1::BitString;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::algorithm::Algorithm;
use crate::pem::{DER_SEQUENCE, PemError, pem_blocks};

/// The public key of a DSC (or of a trust-list signer), parsed once for repeated verification.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PublicKey {
    /// An ECDSA key on P-256 (prime256v1), the curve HCERT prescribes; verifies ES256.
    EcP256(KeyMaterial),
    /// An ECDSA key on P-384 (secp384r1), seen in a few test DSCs; it verifies nothing HCERTs
    /// use, see [`PublicKey::verify`].
    EcP384(KeyMaterial),
    /// An RSA key, from an `rsaEncryption` or `id-RSASSA-PSS` SubjectPublicKeyInfo; verifies PS256.
    Rsa {
        /// The parsed key.
        key: KeyMaterial,
        /// The modulus length in bits (2048 or 3072 in practice).
        modulus_bits: u32,
    },
}

/// An opaque, pre-parsed verification key held by a [`PublicKey`].
#[derive(Debug, Clone)]
pub struct KeyMaterial {
    parsed: ParsedPublicKey,
}

/// The kind and size of a [`PublicKey`], for reports and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
    /// RSA with a modulus of the given number of bits.
    Rsa {
        /// The modulus length in bits.
        modulus_bits: u32,
    },
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The algorithm cannot be used with this key (ES256 needs a P-256 key, PS256 an RSA key;
    /// TD CO27).
    #[error("{algorithm} cannot be verified with a {key} key")]
    KeyAlgorithmMismatch {
        /// The algorithm the signature claims.
        algorithm: Algorithm,
        /// The key it was checked against.
        key: KeyType,
    },
    /// The signature does not verify (wrong key, altered message, malformed or wrong-length
    /// signature).
    #[error("the signature is invalid")]
    Invalid,
}

/// Why a SubjectPublicKeyInfo is not a usable verification key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The bytes are not a DER SubjectPublicKeyInfo.
    #[error("not a DER SubjectPublicKeyInfo")]
    Spki(#[source] der::Error),
    /// The key algorithm is neither id-ecPublicKey, rsaEncryption nor id-RSASSA-PSS.
    #[error("unsupported public key algorithm {oid}")]
    UnsupportedAlgorithm {
        /// The algorithm OID found.
        oid: ObjectIdentifier,
    },
    /// The EC key is on a curve other than P-256 or P-384.
    #[error("unsupported elliptic curve {oid}")]
    UnsupportedCurve {
        /// The curve OID found.
        oid: ObjectIdentifier,
    },
    /// The EC key does not name its curve (no namedCurve parameter).
    #[error("the EC key does not name its curve")]
    MissingCurve,
    /// The subjectPublicKey BIT STRING has unused bits.
    #[error("the subjectPublicKey bit string is not byte-aligned")]
    UnalignedKey,
    /// The subjectPublicKey of an RSA key is not a PKCS#1 `RSAPublicKey`.
    #[error("the RSA key is not a PKCS#1 RSAPublicKey")]
    MalformedRsaKey,
    /// aws-lc-rs rejected the key material (bad point, bad RSA key, unsupported size).
    #[error("the key material was rejected")]
    Rejected(#[source] KeyRejected),
    /// The PEM text is malformed or holds no `PUBLIC KEY` block.
    #[error("malformed PEM")]
    Pem(#[source] PemError),
}

impl PublicKey {
    /// Parses a SubjectPublicKeyInfo given as DER or as PEM text with a `PUBLIC KEY` block
    /// (e.g. the pinned key of a signed national trust list, dcc-spec.md §5.4).
    pub fn from_spki(bytes: &[u8]) -> Result<Self, PublicKeyError> {
        let der = match bytes.first() {
            Some(&DER_SEQUENCE) => bytes.to_vec(),
            _ => pem_blocks(bytes, PEM_PUBLIC_KEY)
                .map_err(PublicKeyError::Pem)?
                .into_iter()
                .next()
                .ok_or(PublicKeyError::Pem(PemError::NoBlock {
                    label: PEM_PUBLIC_KEY,
                }))?,
        };
        let info = SubjectPublicKeyInfoOwned::from_der(&der).map_err(PublicKeyError::Spki)?;
        Self::from_spki_info(&info)
    }

    /// The kind and size of the key.
    pub fn key_type(&self) -> KeyType {
        match self {
            Self::EcP256(_) => KeyType::EcP256,
            Self::EcP384(_) => KeyType::EcP384,
            Self::Rsa { modulus_bits, .. } => KeyType::Rsa {
                modulus_bits: *modulus_bits,
            },
        }
    }

    /// Verifies a COSE signature made with `algorithm` over `message` (the Sig_structure).
    ///
    /// * ES256 needs a P-256 key; the signature is the raw 64-byte `r‖s` (dcc-spec.md §1.3).
    /// * PS256 needs an RSA key (2048–8192 bits); RSASSA-PSS with SHA-256, MGF1-SHA-256 and a
    ///   salt of exactly 32 bytes.
    /// * A P-384 key is a [`SignatureError::KeyAlgorithmMismatch`] for both: aws-lc-rs has no
    ///   fixed-width P-384/SHA-256 verifier, and HCERT allows only P-256 for ES256, so ES 401–403
    ///   (known issue #228 of the test data) fail here as in the reference harness.
    pub fn verify(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let key = match (self, algorithm) {
            (Self::EcP256(key), Algorithm::Es256) | (Self::Rsa { key, .. }, Algorithm::Ps256) => {
                key
            }
            _ => {
                return Err(SignatureError::KeyAlgorithmMismatch {
                    algorithm,
                    key: self.key_type(),
                });
            }
        };
        key.parsed
            .verify_sig(message, signature)
            .map_err(|_| SignatureError::Invalid)
    }

    /// Verifies an ECDSA P-256/SHA-256 signature in ASN.1 DER form (`SEQUENCE { r, s }`), as
    /// some signed trust lists carry.
    pub(crate) fn verify_es256_der(
        &self,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        match self {
            Self::EcP256(key) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, key.parsed.as_ref())
                    .verify(message, signature)
                    .map_err(|_| SignatureError::Invalid)
            }
            _ => Err(SignatureError::KeyAlgorithmMismatch {
                algorithm: Algorithm::Es256,
                key: self.key_type(),
            }),
        }
    }

    pub(crate) fn from_spki_info(info: &SubjectPublicKeyInfoOwned) -> Result<Self, PublicKeyError> {
        let key_bytes = aligned_bytes(&info.subject_public_key)?;
        let algorithm = info.algorithm.oid;
        if algorithm == ALG_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters
                .as_ref()
                .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok())
                .ok_or(PublicKeyError::MissingCurve)?;
            if curve == CURVE_P256 {
                KeyMaterial::new(&signature::ECDSA_P256_SHA256_FIXED, key_bytes).map(Self::EcP256)
            } else if curve == CURVE_P384 {
                KeyMaterial::new(&signature::ECDSA_P384_SHA384_FIXED, key_bytes).map(Self::EcP384)
            } else {
                Err(PublicKeyError::UnsupportedCurve { oid: curve })
            }
        } else if algorithm == ALG_RSA_ENCRYPTION || algorithm == ALG_RSASSA_PSS {
            // The subjectPublicKey is a PKCS#1 RSAPublicKey in both cases. Parameters of an
            // id-RSASSA-PSS key (hash, salt) are not enforced: the COSE algorithm fixes PS256.
            let key = KeyMaterial::new(&PS256, key_bytes)?;
            let modulus_bits = RsaParameters::public_modulus_len(key_bytes)
                .map_err(|_| PublicKeyError::MalformedRsaKey)?;
            Ok(Self::Rsa { key, modulus_bits })
        } else {
            Err(PublicKeyError::UnsupportedAlgorithm { oid: algorithm })
        }
    }
}

impl KeyMaterial {
    /// The raw key: the SEC1 point of an EC key, or the PKCS#1 `RSAPublicKey` of an RSA key.
    pub fn as_bytes(&self) -> &[u8] {
        self.parsed.as_ref()
    }

    fn new(
        algorithm: &'static dyn signature::VerificationAlgorithm,
        key_bytes: &[u8],
    ) -> Result<Self, PublicKeyError> {
        ParsedPublicKey::new(algorithm, key_bytes)
            .map(|parsed| Self { parsed })
            .map_err(PublicKeyError::Rejected)
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EcP256 => f.write_str("EC P-256"),
            Self::EcP384 => f.write_str("EC P-384"),
            Self::Rsa { modulus_bits } => write!(f, "RSA-{modulus_bits}"),
        }
    }
}

fn aligned_bytes(bits: &BitString) -> Result<&[u8], PublicKeyError> {
    bits.as_bytes().ok_or(PublicKeyError::UnalignedKey)
}

/// PS256: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length = digest length = 32 bytes.
const PS256: RsaParameters =
    signature::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(signature::RsaPssSaltLength::Digest);

const PEM_PUBLIC_KEY: &str = "PUBLIC KEY";
const ALG_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ALG_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ALG_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const CURVE_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const CURVE_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
