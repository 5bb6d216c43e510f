//! Publishing the DSCs for verifiers (dcc-spec.md §5.3, §5.4): which registered DSCs are on
//! the list, and the two list formats `dcc_core::trust_list` reads.
//!
//! - The EU gateway shape: a JSON array of `{kid, timestamp, country, certificateType,
//!   thumbprint, signature, rawData}`.
//! - The German two-line signed DSC list: line 1 is the base64 raw `r‖s` ECDSA P-256/SHA-256
//!   signature over the exact bytes of line 2, which is `{"certificates":[…]}` with the same
//!   entries.
//!
//! The gateway's `signature` is the CMS made by a national upload certificate; this issuer
//! uploads to no gateway, so each entry's `signature` is the trust-list signing key's raw
//! ES256 signature over the certificate's DER (base64). Verifiers ignore the field.
//!
//! A DSC is published while it signs, and after it was retired for as long as any certificate
//! it signed is valid (the ledger's latest `expires_at` for its kid), and at least
//! [`IN_FLIGHT_GRACE_SECONDS`] after retirement so that a certificate signed in the instant of
//! a rotation, not yet in the ledger, is covered too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dcc_core::algorithm::Algorithm;
use dcc_core::dsc::Dsc;
use dcc_core::signer::{Signer, SignerError};
use serde::Serialize;

/// A DSC on the published list, with the time it was first published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedDsc {
    /// The certificate.
    pub dsc: Dsc,
    /// When it was registered (the entry's `timestamp`), seconds since 1970.
    pub published_at: i64,
}

/// Where a registered DSC is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DscLifecycle {
    /// It signs new certificates.
    Active,
    /// It stopped signing at `retired_at`; `latest_expiry` is the latest `exp` of what it
    /// signed (`None` if it signed nothing).
    Retired {
        /// When it stopped signing, seconds since 1970.
        retired_at: i64,
        /// The latest expiry of its certificates, seconds since 1970.
        latest_expiry: Option<i64>,
    },
}

/// Why a list could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublicationError {
    /// The trust-list signing key is not an ES256 (P-256) key.
    #[error("the trust-list signing key must be a P-256 (ES256) key")]
    ListKeyNotEs256,
    /// The trust-list signing key failed to sign.
    #[error("the trust-list signing key failed")]
    Sign(#[source] SignerError),
    /// The JSON could not be written.
    #[error("the trust list could not be serialised")]
    Json(#[source] serde_json::Error),
}

impl DscLifecycle {
    /// Whether the DSC belongs on the published list at `now`.
    pub fn is_published(self, now: i64) -> bool {
        match self {
            Self::Active => true,
            Self::Retired {
                retired_at,
                latest_expiry,
            } => {
                now < retired_at.saturating_add(IN_FLIGHT_GRACE_SECONDS)
                    || latest_expiry.is_some_and(|expiry| now <= expiry)
            }
        }
    }
}

/// The EU gateway trust-list JSON for `dscs`, entries signed with `list_signer`.
pub fn eu_gateway_json(
    dscs: &[PublishedDsc],
    country: &str,
    list_signer: &dyn Signer,
) -> Result<Vec<u8>, PublicationError> {
    let entries = entries(dscs, country, list_signer)?;
    serde_json::to_vec(&entries).map_err(PublicationError::Json)
}

/// The German two-line signed DSC list for `dscs`: the signature of line 2 by `list_signer`,
/// a newline, and `{"certificates":[…]}`; no trailing newline.
pub fn german_dsc_list(
    dscs: &[PublishedDsc],
    country: &str,
    list_signer: &dyn Signer,
) -> Result<Vec<u8>, PublicationError> {
    let certificates = entries(dscs, country, list_signer)?;
    let payload =
        serde_json::to_vec(&GermanList { certificates }).map_err(PublicationError::Json)?;
    let signature = sign_es256(list_signer, &payload)?;
    let mut body = BASE64.encode(signature).into_bytes();
    body.push(b'\n');
    body.extend_from_slice(&payload);
    Ok(body)
}

/// How long after its retirement a DSC stays published even if the ledger shows nothing
/// signed with it, covering certificates signed during the switch.
pub const IN_FLIGHT_GRACE_SECONDS: i64 = 300;

/// One entry, in the gateway's field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    kid: String,
    timestamp: String,
    country: String,
    certificate_type: &'static str,
    thumbprint: String,
    signature: String,
    raw_data: String,
}

#[derive(Serialize)]
struct GermanList {
    certificates: Vec<Entry>,
}

fn entries(
    dscs: &[PublishedDsc],
    country: &str,
    list_signer: &dyn Signer,
) -> Result<Vec<Entry>, PublicationError> {
    dscs.iter()
        .map(|published| {
            let dsc = &published.dsc;
            Ok(Entry {
                kid: dsc.kid().to_base64(),
                timestamp: timestamp(published.published_at),
                country: dsc.country().unwrap_or(country).to_owned(),
                certificate_type: "DSC",
                thumbprint: hex::encode(dsc.thumbprint()),
                signature: BASE64.encode(sign_es256(list_signer, dsc.as_der())?),
                raw_data: BASE64.encode(dsc.as_der()),
            })
        })
        .collect()
}

fn sign_es256(list_signer: &dyn Signer, message: &[u8]) -> Result<Vec<u8>, PublicationError> {
    if list_signer.algorithm() != Algorithm::Es256 {
        return Err(PublicationError::ListKeyNotEs256);
    }
    list_signer.sign(message).map_err(PublicationError::Sign)
}

/// `yyyy-MM-ddTHH:mm:ssZ`, the gateway's timestamp form.
fn timestamp(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|time| {
            time.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    use dcc_core::public_key::PublicKey;
    use dcc_core::signer::SoftwareSigner;
    use dcc_core::trust_list::{TrustList, TrustListError};
    use rcgen::{CertificateParams, KeyPair, PublicKeyData as _};

    use super::*;

    /// A self-signed P-256 certificate and a signer for its key.
    fn certificate(name: &str) -> (Dsc, SoftwareSigner, Vec<u8>) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = KeyPair::from_pkcs8_der_and_sign_algo(
            &pkcs8.as_ref().into(),
            &rcgen::PKCS_ECDSA_P256_SHA256,
        )
        .unwrap();
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let signer = SoftwareSigner::es256_from_pkcs8(pkcs8.as_ref(), &der).unwrap();
        (
            Dsc::from_der(&der).unwrap(),
            signer,
            key.subject_public_key_info(),
        )
    }

    fn published(names: &[&str]) -> Vec<PublishedDsc> {
        names
            .iter()
            .map(|name| PublishedDsc {
                dsc: certificate(name).0,
                published_at: 1_625_097_600,
            })
            .collect()
    }

    #[test]
    fn gateway_json_round_trips_through_the_reader() {
        let (_, list_signer, _) = certificate("list");
        let dscs = published(&["one", "two"]);
        let json = eu_gateway_json(&dscs, "DE", &list_signer).unwrap();
        let list = TrustList::from_eu_gateway_json(&json).unwrap();
        assert_eq!(list.len(), 2);
        for published in &dscs {
            assert_eq!(
                list.candidates(&published.dsc.kid()),
                std::slice::from_ref(&published.dsc)
            );
        }
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value[0]["timestamp"], "2021-07-01T00:00:00Z");
        assert_eq!(value[0]["certificateType"], "DSC");
        assert_eq!(value[0]["country"], "DE");
        assert_eq!(value[0]["thumbprint"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn german_list_verifies_with_the_list_key_only() {
        let (_, list_signer, list_spki) = certificate("list");
        let dscs = published(&["one"]);
        let body = german_dsc_list(&dscs, "DE", &list_signer).unwrap();
        let key = PublicKey::from_spki(&list_spki).unwrap();
        let list = TrustList::from_german_dsc_list(&body, &key).unwrap();
        assert_eq!(list.len(), 1);
        let (_, _, other_spki) = certificate("other");
        let other = PublicKey::from_spki(&other_spki).unwrap();
        assert!(matches!(
            TrustList::from_german_dsc_list(&body, &other),
            Err(TrustListError::ListSignatureInvalid)
        ));
    }

    #[test]
    fn retired_dscs_stay_published_while_their_certificates_are_valid() {
        let retired = |latest_expiry| DscLifecycle::Retired {
            retired_at: 1_000,
            latest_expiry,
        };
        assert!(DscLifecycle::Active.is_published(i64::MAX));
        // Nothing signed: only the grace after retirement.
        assert!(retired(None).is_published(1_000 + IN_FLIGHT_GRACE_SECONDS - 1));
        assert!(!retired(None).is_published(1_000 + IN_FLIGHT_GRACE_SECONDS));
        // Signed certificates valid until 90 000: published until then, not after.
        assert!(retired(Some(90_000)).is_published(90_000));
        assert!(!retired(Some(90_000)).is_published(90_001));
    }
}
