//! Revocation lists in the EU gateway's batch format (dcc-spec.md §6), built and checked.
//!
//! A batch is `{country, expires, kid, hashType, entries: [{hash}]}`: the hashes of one type for
//! the certificates of one DSC, at most [`MAX_BATCH_ENTRIES`] of them. An issuer publishes
//! every revoked certificate under all three hash types; a verifier computes, for the kid of
//! the certificate in hand, each hash type listed and looks it up.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::algorithm::Algorithm;
use crate::hcert::DecodedHcert;
use crate::hcert::cose::HeaderAlgorithm;
use crate::revocation::{
    HashType, RevocationHash, country_code_uci_hash, signature_hash, uci_hash,
};
use crate::verify::format_time;

/// Most entries in one batch (the gateway's limit).
pub const MAX_BATCH_ENTRIES: usize = 1000;

/// One revoked certificate as an issuer knows it: its DSC's kid (base64), its three hashes
/// and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedCertificate {
    /// The kid of the DSC that signed it, base64.
    pub kid: String,
    /// `UCI` hash.
    pub uci: RevocationHash,
    /// `COUNTRYCODEUCI` hash.
    pub country_code_uci: RevocationHash,
    /// `SIGNATURE` hash.
    pub signature: RevocationHash,
    /// The certificate's `exp`, seconds since 1970: the entry may be dropped after it.
    pub expires_at: i64,
}

/// One batch as on the wire (`RevocationBatchDto`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevocationBatch {
    /// ISO 3166 alpha-2 country of the issuer.
    pub country: String,
    /// When the batch may be deleted (RFC 3339): the latest expiry of its certificates.
    pub expires: String,
    /// The DSC's kid, base64.
    pub kid: String,
    /// `UCI`, `COUNTRYCODEUCI` or `SIGNATURE`.
    pub hash_type: String,
    /// The hashes, base64.
    pub entries: Vec<BatchEntry>,
}

/// One entry of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEntry {
    /// A 16-byte hash, base64.
    pub hash: String,
}

/// Groups revoked certificates into batches: per kid, per hash type, at most
/// [`MAX_BATCH_ENTRIES`] hashes each; sorted, so the same certificates give the same batches.
pub fn build_batches(country: &str, revoked: &[RevokedCertificate]) -> Vec<RevocationBatch> {
    let mut by_kid: BTreeMap<&str, Vec<&RevokedCertificate>> = BTreeMap::new();
    for certificate in revoked {
        by_kid
            .entry(&certificate.kid)
            .or_default()
            .push(certificate);
    }
    let mut batches = Vec::new();
    for (kid, certificates) in by_kid {
        for hash_type in [HashType::Uci, HashType::CountryCodeUci, HashType::Signature] {
            let mut hashes: Vec<(RevocationHash, i64)> = certificates
                .iter()
                .map(|certificate| {
                    let hash = match hash_type {
                        HashType::Uci => certificate.uci,
                        HashType::CountryCodeUci => certificate.country_code_uci,
                        HashType::Signature => certificate.signature,
                    };
                    (hash, certificate.expires_at)
                })
                .collect();
            hashes.sort_unstable();
            hashes.dedup_by_key(|(hash, _)| *hash);
            for chunk in hashes.chunks(MAX_BATCH_ENTRIES) {
                let expires = chunk.iter().map(|(_, at)| *at).max().unwrap_or_default();
                batches.push(RevocationBatch {
                    country: country.to_owned(),
                    expires: format_time(expires),
                    kid: kid.to_owned(),
                    hash_type: hash_type.name().to_owned(),
                    entries: chunk
                        .iter()
                        .map(|(hash, _)| BatchEntry {
                            hash: hash.to_base64(),
                        })
                        .collect(),
                });
            }
        }
    }
    batches
}

/// Why a revocation list could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationListError {
    /// Not JSON of the expected shape (an array of batches, or `{"batches": [...]}`).
    #[error("not a revocation list (an array of batches or {{\"batches\": [...]}}): {0}")]
    Shape(#[source] serde_json::Error),
    /// A batch names an unknown hash type.
    #[error("batch {index}: unknown hashType {hash_type:?} (UCI, COUNTRYCODEUCI or SIGNATURE)")]
    HashType {
        /// The batch's position.
        index: usize,
        /// What it said.
        hash_type: String,
    },
    /// An entry is not a base64 16-byte hash.
    #[error("batch {index}: {hash:?} is not a base64 16-byte hash")]
    Hash {
        /// The batch's position.
        index: usize,
        /// The entry.
        hash: String,
    },
}

/// Revoked hashes by kid and hash type, ready for lookups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    by_kid: HashMap<String, HashMap<HashType, HashSet<RevocationHash>>>,
}

/// The outcome of [`RevocationList::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationCheck {
    /// No listed hash matches.
    NotRevoked,
    /// A hash of this type is on the list.
    Revoked(HashType),
    /// The certificate lacks what the hashes are computed from (`ci` or kid).
    Unchecked,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListFile {
    Batches(Vec<RevocationBatch>),
    Wrapped { batches: Vec<RevocationBatch> },
}

impl RevocationList {
    /// Reads an array of batches, or an object with a `batches` array (`dcc revocation export`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, RevocationListError> {
        let batches = match serde_json::from_slice(bytes).map_err(RevocationListError::Shape)? {
            ListFile::Batches(batches) | ListFile::Wrapped { batches } => batches,
        };
        Self::from_batches(&batches)
    }

    /// Indexes batches.
    pub fn from_batches(batches: &[RevocationBatch]) -> Result<Self, RevocationListError> {
        let mut list = Self::default();
        for (index, batch) in batches.iter().enumerate() {
            let hash_type = match batch.hash_type.as_str() {
                "UCI" => HashType::Uci,
                "COUNTRYCODEUCI" => HashType::CountryCodeUci,
                "SIGNATURE" => HashType::Signature,
                other => {
                    return Err(RevocationListError::HashType {
                        index,
                        hash_type: other.to_owned(),
                    });
                }
            };
            let set = list
                .by_kid
                .entry(batch.kid.clone())
                .or_default()
                .entry(hash_type)
                .or_default();
            for entry in &batch.entries {
                let hash = RevocationHash::from_base64(&entry.hash).ok_or_else(|| {
                    RevocationListError::Hash {
                        index,
                        hash: entry.hash.clone(),
                    }
                })?;
                set.insert(hash);
            }
        }
        Ok(list)
    }

    /// Hashes on the list.
    pub fn len(&self) -> usize {
        self.by_kid
            .values()
            .flat_map(HashMap::values)
            .map(HashSet::len)
            .sum()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks a decoded certificate up: for its kid, every hash type listed is computed
    /// (`COUNTRYCODEUCI` with the CWT `iss`, as the German app does) and looked up.
    pub fn check(&self, hcert: &DecodedHcert) -> RevocationCheck {
        let Some(kid) = hcert.cose.kid().map(|kid| STANDARD.encode(kid)) else {
            return RevocationCheck::Unchecked;
        };
        let Some(certificate_id) = certificate_id(&hcert.payload) else {
            return RevocationCheck::Unchecked;
        };
        let Some(types) = self.by_kid.get(&kid) else {
            return RevocationCheck::NotRevoked;
        };
        for (hash_type, hashes) in types {
            let hash = match hash_type {
                HashType::Uci => Some(uci_hash(certificate_id)),
                HashType::CountryCodeUci => hcert
                    .claims
                    .issuer
                    .as_deref()
                    .map(|country| country_code_uci_hash(country, certificate_id)),
                HashType::Signature => algorithm(hcert)
                    .map(|algorithm| signature_hash(algorithm, &hcert.cose.signature)),
            };
            if hash.is_some_and(|hash| hashes.contains(&hash)) {
                return RevocationCheck::Revoked(*hash_type);
            }
        }
        RevocationCheck::NotRevoked
    }
}

/// The `ci` of the payload's one entry.
fn certificate_id(payload: &serde_json::Value) -> Option<&str> {
    ["v", "t", "r"]
        .iter()
        .find_map(|group| payload.get(group)?.as_array()?.first()?.get("ci")?.as_str())
}

fn algorithm(hcert: &DecodedHcert) -> Option<Algorithm> {
    match hcert.cose.algorithm()? {
        HeaderAlgorithm::Value(value) => Algorithm::from_cose(value),
        HeaderAlgorithm::NotAnInteger => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revoked(kid: &str, n: u8, expires_at: i64) -> RevokedCertificate {
        RevokedCertificate {
            kid: kid.to_owned(),
            uci: RevocationHash::from_bytes([n; 16]),
            country_code_uci: RevocationHash::from_bytes([n.wrapping_add(100); 16]),
            signature: RevocationHash::from_bytes([n.wrapping_add(200); 16]),
            expires_at,
        }
    }

    #[test]
    fn batches_group_by_kid_and_type_and_split_at_the_limit() {
        let mut certificates: Vec<RevokedCertificate> = Vec::new();
        for n in 0..=255u8 {
            for m in 0..5 {
                let mut certificate = revoked("AAAAAAAAAAA=", n, 1_000 + i64::from(n));
                certificate.uci =
                    RevocationHash::from_bytes([n, m, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                certificates.push(certificate);
            }
        }
        certificates.push(revoked("BBBBBBBBBBB=", 1, 5_000));
        let batches = build_batches("DE", &certificates);
        let summary: Vec<(&str, &str, usize)> = batches
            .iter()
            .map(|batch| {
                (
                    batch.kid.as_str(),
                    batch.hash_type.as_str(),
                    batch.entries.len(),
                )
            })
            .collect();
        // 1,280 distinct UCI hashes split 1000 + 280; the other two types repeat per n.
        assert_eq!(
            summary,
            [
                ("AAAAAAAAAAA=", "UCI", 1000),
                ("AAAAAAAAAAA=", "UCI", 280),
                ("AAAAAAAAAAA=", "COUNTRYCODEUCI", 256),
                ("AAAAAAAAAAA=", "SIGNATURE", 256),
                ("BBBBBBBBBBB=", "UCI", 1),
                ("BBBBBBBBBBB=", "COUNTRYCODEUCI", 1),
                ("BBBBBBBBBBB=", "SIGNATURE", 1),
            ]
        );
        assert_eq!(batches[4].expires, "1970-01-01T01:23:20Z");
        let json = serde_json::to_string(&batches[4]).unwrap();
        assert!(json.contains("\"hashType\":\"UCI\""), "{json}");
    }

    #[test]
    fn lists_are_read_in_both_shapes_and_refuse_bad_entries() {
        let batches = build_batches("DE", &[revoked("AAAAAAAAAAA=", 7, 10)]);
        let array = serde_json::to_vec(&batches).unwrap();
        let wrapped = serde_json::to_vec(&serde_json::json!({ "batches": batches })).unwrap();
        let from_array = RevocationList::from_json(&array).unwrap();
        assert_eq!(from_array.len(), 3);
        assert_eq!(RevocationList::from_json(&wrapped).unwrap(), from_array);

        let mut bad = batches.clone();
        bad[0].hash_type = "UVCI".to_owned();
        assert!(matches!(
            RevocationList::from_batches(&bad),
            Err(RevocationListError::HashType { index: 0, .. })
        ));
        let mut bad = batches;
        bad[1].entries[0].hash = "c2hvcnQ=".to_owned();
        assert!(matches!(
            RevocationList::from_batches(&bad),
            Err(RevocationListError::Hash { index: 1, .. })
        ));
        assert!(matches!(
            RevocationList::from_json(b"{\"lists\": []}"),
            Err(RevocationListError::Shape(_))
        ));
    }

    #[test]
    fn a_listed_hash_of_any_type_marks_the_certificate_revoked() {
        let hc1 = include_str!("../../../samples/de-vaccination.hc1").trim();
        let hcert = crate::hcert::decode(hc1).unwrap();
        let kid = STANDARD.encode(hcert.cose.kid().unwrap());
        let ci = certificate_id(&hcert.payload).unwrap().to_owned();
        let iss = hcert.claims.issuer.clone().unwrap();
        let own = RevokedCertificate {
            kid: kid.clone(),
            uci: uci_hash(&ci),
            country_code_uci: country_code_uci_hash(&iss, &ci),
            signature: signature_hash(Algorithm::Es256, &hcert.cose.signature),
            expires_at: 0,
        };
        let other = revoked(&kid, 9, 0);
        let list_of = |types: &[&str], certificate: &RevokedCertificate| {
            let batches: Vec<RevocationBatch> =
                build_batches("DE", std::slice::from_ref(certificate))
                    .into_iter()
                    .filter(|batch| types.contains(&batch.hash_type.as_str()))
                    .collect();
            RevocationList::from_batches(&batches).unwrap()
        };
        for (name, hash_type) in [
            ("UCI", HashType::Uci),
            ("COUNTRYCODEUCI", HashType::CountryCodeUci),
            ("SIGNATURE", HashType::Signature),
        ] {
            assert_eq!(
                list_of(&[name], &own).check(&hcert),
                RevocationCheck::Revoked(hash_type),
                "{name}"
            );
        }
        let all = ["UCI", "COUNTRYCODEUCI", "SIGNATURE"];
        assert_eq!(
            list_of(&all, &other).check(&hcert),
            RevocationCheck::NotRevoked
        );
        let mut elsewhere = own;
        elsewhere.kid = "BBBBBBBBBBB=".to_owned();
        assert_eq!(
            list_of(&all, &elsewhere).check(&hcert),
            RevocationCheck::NotRevoked
        );
    }
}
