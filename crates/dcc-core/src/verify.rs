//! Verification of a decoded HCERT as distinct, typed outcomes (dcc-spec.md §1.7).
//!
//! Every step runs and reports on its own, so a caller (or the conformance suite) sees all
//! that is wrong at once: signature, validity window, key usage and schema.

use crate::algorithm::Algorithm;
use crate::dsc::Dsc;
use crate::hcert::cose::{CoseSign1, HeaderAlgorithm};
use crate::hcert::{self, DecodeError, DecodedHcert};
use crate::kid::Kid;
use crate::model::certificate_type::CertificateType;
use crate::trust_list::TrustList;
use crate::validation::{self, Mode, Violation};

/// The outcome of every verification step for one HCERT.
#[derive(Debug, Clone)]
pub struct Verification<'t> {
    /// The decoded layers.
    pub hcert: DecodedHcert,
    /// The signature check.
    pub signature: SignatureCheck,
    /// The DSC whose key verified the signature.
    pub signer: Option<&'t Dsc>,
    /// The validity-window check.
    pub validity: ValidityCheck,
    /// The DSC key-usage check.
    pub key_usage: KeyUsageCheck,
    /// Violations of the JSON schema of the payload's version; empty when it conforms.
    pub schema: Vec<Violation>,
    /// Codes outside the official value sets; empty when every code is known.
    pub value_sets: Vec<Violation>,
}

impl Verification<'_> {
    /// Whether every step passed.
    pub fn is_valid(&self) -> bool {
        self.signature == SignatureCheck::Valid
            && self.validity == ValidityCheck::Valid
            && self.key_usage == KeyUsageCheck::Allowed
            && self.schema.is_empty()
            && self.value_sets.is_empty()
    }

    /// The kid the certificate names, when it is well-formed.
    pub fn kid(&self) -> Option<Kid> {
        self.hcert
            .cose
            .kid()
            .and_then(|kid| Kid::from_slice(kid).ok())
    }

    /// The certificate type, when the payload has exactly one of `v`, `t`, `r`.
    pub fn certificate_type(&self) -> Option<CertificateType> {
        certificate_type(&self.hcert.payload)
    }
}

/// The outcome of the signature step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureCheck {
    /// A DSC with the certificate's kid verified the signature.
    Valid,
    /// Neither header carries a `kid`.
    MissingKid,
    /// The `kid` is not 8 bytes long.
    MalformedKid {
        /// Its length in bytes.
        length: usize,
    },
    /// No trusted DSC has this kid.
    UnknownKid {
        /// The kid.
        kid: Kid,
    },
    /// Neither header carries an `alg`.
    MissingAlgorithm,
    /// The `alg` is neither ES256 nor PS256.
    UnsupportedAlgorithm {
        /// The integer value, if it was one.
        value: Option<i64>,
    },
    /// No DSC with the kid verified the signature.
    Invalid,
}

impl SignatureCheck {
    /// The stable code: `ok` or the failure (documented in the README).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Valid => OK,
            Self::MissingKid => "missing_kid",
            Self::MalformedKid { .. } => "malformed_kid",
            Self::UnknownKid { .. } => "unknown_kid",
            Self::MissingAlgorithm => "missing_alg",
            Self::UnsupportedAlgorithm { .. } => "unsupported_alg",
            Self::Invalid => "bad_signature",
        }
    }
}

/// The outcome of the validity-window step: `iat ≤ clock ≤ exp`, and the DSC's validity
/// covers `iat..exp` when the signing DSC is known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidityCheck {
    /// The clock lies in the window.
    Valid,
    /// The CWT has no `iat`.
    MissingIssuedAt,
    /// The CWT has no `exp`.
    MissingExpiry,
    /// The clock is before `iat`.
    NotYetValid {
        /// `iat`, seconds since 1970.
        issued_at: i64,
        /// The verification clock.
        clock: i64,
    },
    /// The clock is after `exp`.
    Expired {
        /// `exp`, seconds since 1970.
        expires_at: i64,
        /// The verification clock.
        clock: i64,
    },
    /// `iat` predates the DSC's notBefore.
    IssuedBeforeDsc {
        /// `iat`.
        issued_at: i64,
        /// The DSC's notBefore.
        not_before: i64,
    },
    /// `exp` is after the DSC's notAfter.
    ExpiresAfterDsc {
        /// `exp`.
        expires_at: i64,
        /// The DSC's notAfter.
        not_after: i64,
    },
}

impl ValidityCheck {
    /// The stable code: `ok` or the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Valid => OK,
            Self::MissingIssuedAt => "missing_iat",
            Self::MissingExpiry => "missing_exp",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Expired { .. } => "expired",
            Self::IssuedBeforeDsc { .. } => "issued_before_dsc",
            Self::ExpiresAfterDsc { .. } => "expires_after_dsc",
        }
    }
}

/// The outcome of the key-usage step (dcc-spec.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyUsageCheck {
    /// The DSC may sign this certificate type.
    Allowed,
    /// The DSC's extended key usage excludes this type.
    NotAllowed {
        /// The certificate's type.
        certificate_type: CertificateType,
    },
    /// No DSC verified the signature, so there is no key usage to check.
    NoSigner,
    /// The payload has not exactly one of `v`, `t`, `r`.
    UnknownType,
}

impl KeyUsageCheck {
    /// The stable code: `ok` or the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Allowed => OK,
            Self::NotAllowed { .. } => "wrong_key_usage",
            Self::NoSigner => "no_signer",
            Self::UnknownType => "unknown_type",
        }
    }
}

/// Decodes and verifies an `HC1:` string at the given clock (seconds since 1970 UTC).
pub fn verify<'t>(
    text: &str,
    trust: &'t TrustList,
    clock: i64,
) -> Result<Verification<'t>, DecodeError> {
    Ok(verify_decoded(hcert::decode(text)?, trust, clock))
}

/// Verifies an already decoded HCERT.
pub fn verify_decoded(hcert: DecodedHcert, trust: &TrustList, clock: i64) -> Verification<'_> {
    let (signature, signer) = check_signature(&hcert.cose, trust);
    let validity = check_validity(&hcert, signer, clock);
    let key_usage = match (signer, certificate_type(&hcert.payload)) {
        (_, None) => KeyUsageCheck::UnknownType,
        (None, Some(_)) => KeyUsageCheck::NoSigner,
        (Some(dsc), Some(certificate_type)) if dsc.key_usage().allows(certificate_type) => {
            KeyUsageCheck::Allowed
        }
        (Some(_), Some(certificate_type)) => KeyUsageCheck::NotAllowed { certificate_type },
    };
    // The EU test suite's "schema validation" is the JSON schema alone (dcc-spec.md §2.7 and
    // the vectors whose codes lie outside the value sets yet pass); value sets are reported as
    // a check of their own, and a valid certificate needs both.
    let (schema, value_sets) = validation::validate(&hcert.payload, Mode::Verify)
        .into_iter()
        .partition(|violation| violation.kind.is_schema_rule());
    Verification {
        hcert,
        signature,
        signer,
        validity,
        key_usage,
        schema,
        value_sets,
    }
}

/// Checks the signature against every DSC in the trust list that has the certificate's kid
/// (8-byte kids can collide, dcc-spec.md §1.3).
pub fn check_signature<'t>(
    cose: &CoseSign1,
    trust: &'t TrustList,
) -> (SignatureCheck, Option<&'t Dsc>) {
    let algorithm = match cose.algorithm() {
        None => return (SignatureCheck::MissingAlgorithm, None),
        Some(HeaderAlgorithm::NotAnInteger) => {
            return (SignatureCheck::UnsupportedAlgorithm { value: None }, None);
        }
        Some(HeaderAlgorithm::Value(value)) => match Algorithm::from_cose(value) {
            Some(algorithm) => algorithm,
            None => {
                return (
                    SignatureCheck::UnsupportedAlgorithm { value: Some(value) },
                    None,
                );
            }
        },
    };
    let Some(kid) = cose.kid() else {
        return (SignatureCheck::MissingKid, None);
    };
    let Ok(kid) = Kid::from_slice(kid) else {
        return (SignatureCheck::MalformedKid { length: kid.len() }, None);
    };
    let candidates = trust.candidates(&kid);
    if candidates.is_empty() {
        return (SignatureCheck::UnknownKid { kid }, None);
    }
    let signed = cose.signed_bytes();
    candidates
        .iter()
        .find(|dsc| {
            dsc.public_key()
                .verify(algorithm, &signed, &cose.signature)
                .is_ok()
        })
        .map_or((SignatureCheck::Invalid, None), |dsc| {
            (SignatureCheck::Valid, Some(dsc))
        })
}

/// Checks `iat ≤ clock ≤ exp` and, when the signer is known, that the DSC's validity covers
/// `iat..exp` (dcc-spec.md §1.7 step 7, as the reference harness does).
pub fn check_validity(hcert: &DecodedHcert, signer: Option<&Dsc>, clock: i64) -> ValidityCheck {
    let Some(issued_at) = hcert.claims.issued_at else {
        return ValidityCheck::MissingIssuedAt;
    };
    let Some(expires_at) = hcert.claims.expires_at else {
        return ValidityCheck::MissingExpiry;
    };
    if clock < issued_at {
        return ValidityCheck::NotYetValid { issued_at, clock };
    }
    if clock > expires_at {
        return ValidityCheck::Expired { expires_at, clock };
    }
    if let Some(dsc) = signer {
        let not_before = dsc.not_before().unix_timestamp();
        let not_after = dsc.not_after().unix_timestamp();
        if issued_at < not_before {
            return ValidityCheck::IssuedBeforeDsc {
                issued_at,
                not_before,
            };
        }
        if expires_at > not_after {
            return ValidityCheck::ExpiresAfterDsc {
                expires_at,
                not_after,
            };
        }
    }
    ValidityCheck::Valid
}

/// The certificate type of a JSON payload: the one of `v`, `t`, `r` that is a non-empty
/// array, or `None` when there is not exactly one.
pub fn certificate_type(payload: &serde_json::Value) -> Option<CertificateType> {
    let mut found = CertificateType::ALL.into_iter().filter(|certificate_type| {
        payload
            .get(certificate_type.key())
            .and_then(serde_json::Value::as_array)
            .is_some_and(|entries| !entries.is_empty())
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

const OK: &str = "ok";

impl std::fmt::Display for SignatureCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Valid => f.write_str("the signature is valid"),
            Self::MissingKid => f.write_str("the certificate names no kid (key identifier)"),
            Self::MalformedKid { length } => {
                write!(f, "the kid is {length} bytes long; it must be 8")
            }
            Self::UnknownKid { kid } => write!(f, "no trusted DSC has the kid {kid}"),
            Self::MissingAlgorithm => f.write_str("the certificate names no signature algorithm"),
            Self::UnsupportedAlgorithm { value: Some(value) } => {
                write!(
                    f,
                    "the signature algorithm {value} is neither ES256 (-7) nor PS256 (-37)"
                )
            }
            Self::UnsupportedAlgorithm { value: None } => {
                f.write_str("the signature algorithm is not an integer")
            }
            Self::Invalid => f.write_str("the signature does not verify with any DSC of its kid"),
        }
    }
}

impl std::fmt::Display for ValidityCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let date = |seconds: &i64| format_time(*seconds);
        match self {
            Self::Valid => f.write_str("the certificate is within its validity window"),
            Self::MissingIssuedAt => f.write_str("the certificate has no issue date (iat)"),
            Self::MissingExpiry => f.write_str("the certificate has no expiry date (exp)"),
            Self::NotYetValid { issued_at, clock } => write!(
                f,
                "not yet valid: issued at {} but checked at {}",
                date(issued_at),
                date(clock)
            ),
            Self::Expired { expires_at, clock } => {
                write!(
                    f,
                    "expired at {}; checked at {}",
                    date(expires_at),
                    date(clock)
                )
            }
            Self::IssuedBeforeDsc {
                issued_at,
                not_before,
            } => write!(
                f,
                "issued at {}, before its DSC became valid at {}",
                date(issued_at),
                date(not_before)
            ),
            Self::ExpiresAfterDsc {
                expires_at,
                not_after,
            } => write!(
                f,
                "expires at {}, after its DSC expires at {}",
                date(expires_at),
                date(not_after)
            ),
        }
    }
}

impl std::fmt::Display for KeyUsageCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Allowed => f.write_str("the DSC may sign this certificate type"),
            Self::NotAllowed { certificate_type } => write!(
                f,
                "the DSC's extended key usage does not allow {certificate_type} certificates"
            ),
            Self::NoSigner => f.write_str("not checked: no trusted DSC verified the signature"),
            Self::UnknownType => {
                f.write_str("not checked: the payload has not exactly one of v, t and r")
            }
        }
    }
}

/// Formats seconds since 1970 as an RFC 3339 UTC time, for messages.
pub fn format_time(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{seconds} (seconds since 1970)"))
}
