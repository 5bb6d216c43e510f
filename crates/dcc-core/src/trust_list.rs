//! The set of trusted DSCs, indexed by kid, and loaders for the list formats verifiers meet
//! (dcc-spec.md §5.3, §5.4).
//!
//! Kids are 8-byte hash prefixes and may collide, so a kid maps to every DSC that has it and a
//! verifier tries them all (dcc-spec.md §1.3). All loaders are pure: they take bytes that the
//! caller fetched, and any error names the entry (counted from 0) and the field at fault.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose;
use serde::Deserialize;

use crate::dsc::{self, Dsc, DscError};
use crate::kid::{Kid, KidError};
use crate::public_key::{PublicKey, SignatureError};

/// A set of trusted DSCs, indexed by kid. Several DSCs may share a kid; all are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    by_kid: BTreeMap<Kid, Vec<Dsc>>,
    len: usize,
}

/// Why a trust list could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustListError {
    /// The certificate input (DER or PEM) is unusable.
    #[error("unusable certificate input")]
    Certificates(#[source] DscError),
    /// The JSON document is malformed or does not have the expected top-level shape.
    #[error("malformed trust list JSON")]
    Json(#[source] serde_json::Error),
    /// An entry does not have the expected shape (a required field is missing or mistyped;
    /// the source names the field).
    #[error("trust list entry {index} is malformed")]
    Entry {
        /// The index of the entry, counted from 0.
        index: usize,
        /// What serde found wrong.
        #[source]
        source: serde_json::Error,
    },
    /// An entry's `rawData` is not standard base64.
    #[error("trust list entry {index}: rawData is not base64")]
    RawData {
        /// The index of the entry, counted from 0.
        index: usize,
        /// The decoding error.
        #[source]
        source: base64::DecodeError,
    },
    /// An entry's `rawData` is not a usable DSC.
    #[error("trust list entry {index}: rawData is not a usable certificate")]
    Certificate {
        /// The index of the entry, counted from 0.
        index: usize,
        /// What is wrong with the certificate.
        #[source]
        source: DscError,
    },
    /// An entry's `kid` field is not a base64 8-byte kid.
    #[error("trust list entry {index}: malformed kid")]
    Kid {
        /// The index of the entry, counted from 0.
        index: usize,
        /// What is wrong with the kid.
        #[source]
        source: KidError,
    },
    /// An entry's `kid` field differs from the kid computed from its certificate.
    #[error(
        "trust list entry {index}: kid {stated} does not match the certificate's kid {computed}"
    )]
    KidMismatch {
        /// The index of the entry, counted from 0.
        index: usize,
        /// The kid the entry states.
        stated: Kid,
        /// The kid of the certificate in `rawData`.
        computed: Kid,
    },
    /// An entry's `thumbprint` is not the hex SHA-256 of its certificate (this includes a
    /// thumbprint that is not 64 hex digits).
    #[error("trust list entry {index}: thumbprint does not match the certificate")]
    ThumbprintMismatch {
        /// The index of the entry, counted from 0.
        index: usize,
    },
    /// A signed list has no second line (the payload).
    #[error("the signed list has no payload line")]
    MissingPayload,
    /// A signed list has more than two lines.
    #[error("the signed list has data after the payload line")]
    TrailingData,
    /// The signature line of a signed list is not standard base64.
    #[error("the list signature is not base64")]
    ListSignatureEncoding(#[source] base64::DecodeError),
    /// The list key cannot verify an ECDSA P-256/SHA-256 signature.
    #[error("the list key is not a P-256 key")]
    ListKeyUnsupported(#[source] SignatureError),
    /// The signature over the payload line does not verify with the list key; the payload was
    /// not parsed.
    #[error("the list signature is invalid")]
    ListSignatureInvalid,
}

impl TrustList {
    /// An empty trust list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a DSC. Returns `false` (and changes nothing) if the list already holds a DSC with
    /// the same DER encoding.
    pub fn add(&mut self, dsc: Dsc) -> bool {
        let candidates = self.by_kid.entry(dsc.kid()).or_default();
        if candidates.contains(&dsc) {
            return false;
        }
        candidates.push(dsc);
        self.len += 1;
        true
    }

    /// Every DSC whose kid is `kid`, in the order added; empty if there is none.
    pub fn candidates(&self, kid: &Kid) -> &[Dsc] {
        self.by_kid.get(kid).map_or(&[], Vec::as_slice)
    }

    /// The number of DSCs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list holds no DSC.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All DSCs, ordered by kid and, within a kid, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &Dsc> {
        self.by_kid.values().flatten()
    }

    /// A list of the certificates in `bytes`: one DER certificate, or PEM text with one or more
    /// `CERTIFICATE` blocks (see [`dsc::from_pem_or_der`]).
    pub fn from_certificates(bytes: &[u8]) -> Result<Self, TrustListError> {
        dsc::from_pem_or_der(bytes)
            .map(Self::from_iter)
            .map_err(TrustListError::Certificates)
    }

    /// A list of the DSCs in an EU gateway trust list: a JSON array of `{kid, timestamp,
    /// country, certificateType, thumbprint, signature, rawData}` (dcc-spec.md §5.3).
    ///
    /// Entries whose `certificateType` is not `DSC` (CSCA, UPLOAD, AUTHENTICATION) and deleted
    /// DSCs (`rawData` null) are skipped. A `kid` or `thumbprint` that is present must match
    /// the certificate. The `signature` (the uploader's CMS) is not checked: verifiers do not
    /// hold the upload certificates.
    pub fn from_eu_gateway_json(bytes: &[u8]) -> Result<Self, TrustListError> {
        let entries: Vec<serde_json::Value> =
            serde_json::from_slice(bytes).map_err(TrustListError::Json)?;
        Self::from_entries(entries)
    }

    /// A list of the DSCs in a German signed DSC list (dcc-spec.md §5.4).
    ///
    /// Line 1 is a base64 ECDSA P-256/SHA-256 signature, raw `r‖s` (64 bytes) or ASN.1 DER,
    /// over the exact bytes of line 2 (without its line terminator). It is verified with
    /// `list_key` before line 2 is parsed. Line 2 is `{"certificates":[…]}` whose entries are
    /// checked as in [`TrustList::from_eu_gateway_json`]. A single line terminator (`\n` or
    /// `\r\n`) after each line is allowed.
    pub fn from_german_dsc_list(
        bytes: &[u8],
        list_key: &PublicKey,
    ) -> Result<Self, TrustListError> {
        let payload = verified_payload(bytes, list_key)?;
        let list: GermanList = serde_json::from_slice(payload).map_err(TrustListError::Json)?;
        Self::from_entries(list.certificates)
    }

    fn from_entries(entries: Vec<serde_json::Value>) -> Result<Self, TrustListError> {
        let mut list = Self::new();
        for (index, value) in entries.into_iter().enumerate() {
            let entry = Entry::deserialize(value)
                .map_err(|source| TrustListError::Entry { index, source })?;
            if let Some(dsc) = entry.into_dsc(index)? {
                list.add(dsc);
            }
        }
        Ok(list)
    }
}

impl Extend<Dsc> for TrustList {
    /// Adds every DSC, skipping exact duplicates as [`TrustList::add`] does.
    fn extend<I: IntoIterator<Item = Dsc>>(&mut self, dscs: I) {
        for dsc in dscs {
            self.add(dsc);
        }
    }
}

impl FromIterator<Dsc> for TrustList {
    fn from_iter<I: IntoIterator<Item = Dsc>>(dscs: I) -> Self {
        let mut list = Self::new();
        list.extend(dscs);
        list
    }
}

impl<'a> IntoIterator for &'a TrustList {
    type Item = &'a Dsc;
    type IntoIter = std::iter::Flatten<std::collections::btree_map::Values<'a, Kid, Vec<Dsc>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.by_kid.values().flatten()
    }
}

/// One certificate entry, as in the EU gateway list and the German list. Unknown fields are
/// ignored; `timestamp`, `country` and `signature` are not used.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    certificate_type: String,
    kid: Option<String>,
    thumbprint: Option<String>,
    raw_data: Option<String>,
}

/// Line 2 of the German list.
#[derive(Deserialize)]
struct GermanList {
    certificates: Vec<serde_json::Value>,
}

impl Entry {
    /// The entry's DSC, after checking its kid and thumbprint; `None` for entries that are not
    /// DSCs or carry no certificate.
    fn into_dsc(self, index: usize) -> Result<Option<Dsc>, TrustListError> {
        if self.certificate_type != DSC_TYPE {
            return Ok(None);
        }
        let Some(raw_data) = self.raw_data else {
            return Ok(None);
        };
        let der = general_purpose::STANDARD
            .decode(raw_data.trim())
            .map_err(|source| TrustListError::RawData { index, source })?;
        let dsc =
            Dsc::from_der(&der).map_err(|source| TrustListError::Certificate { index, source })?;
        if let Some(kid) = self.kid {
            let stated =
                Kid::from_base64(&kid).map_err(|source| TrustListError::Kid { index, source })?;
            if stated != dsc.kid() {
                return Err(TrustListError::KidMismatch {
                    index,
                    stated,
                    computed: dsc.kid(),
                });
            }
        }
        if let Some(thumbprint) = self.thumbprint
            && !hex_matches(&thumbprint, dsc.thumbprint())
        {
            return Err(TrustListError::ThumbprintMismatch { index });
        }
        Ok(Some(dsc))
    }
}

/// Line 2 of a signed list, after its signature (line 1) has been verified with `key`.
fn verified_payload<'a>(bytes: &'a [u8], key: &PublicKey) -> Result<&'a [u8], TrustListError> {
    let (signature_line, rest) = split_line(bytes).ok_or(TrustListError::MissingPayload)?;
    let payload = match split_line(rest) {
        Some((payload, [])) => payload,
        Some(_) => return Err(TrustListError::TrailingData),
        None => rest,
    };
    if payload.is_empty() {
        return Err(TrustListError::MissingPayload);
    }
    let signature = general_purpose::STANDARD
        .decode(signature_line.trim_ascii())
        .map_err(TrustListError::ListSignatureEncoding)?;
    let verified = if signature.len() == ES256_RAW_LEN {
        key.verify(crate::algorithm::Algorithm::Es256, payload, &signature)
    } else {
        key.verify_es256_der(payload, &signature)
    };
    match verified {
        Ok(()) => Ok(payload),
        Err(SignatureError::Invalid) => Err(TrustListError::ListSignatureInvalid),
        Err(mismatch) => Err(TrustListError::ListKeyUnsupported(mismatch)),
    }
}

/// The bytes before the first `\n` (without a trailing `\r`) and the bytes after it.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let newline = bytes.iter().position(|&byte| byte == b'\n')?;
    let (line, rest) = bytes.split_at(newline);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, rest.get(1..).unwrap_or_default()))
}

/// Whether `hex` (either case) is the hexadecimal form of `bytes`.
fn hex_matches(hex: &str, bytes: &[u8]) -> bool {
    let hex = hex.as_bytes();
    hex.len() == bytes.len() * 2
        && hex.chunks_exact(2).zip(bytes).all(|(pair, &byte)| {
            let digits: Option<Vec<u32>> = pair
                .iter()
                .map(|&digit| char::from(digit).to_digit(16))
                .collect();
            matches!(digits.as_deref(), Some(&[high, low]) if high * 16 + low == u32::from(byte))
        })
}

const DSC_TYPE: &str = "DSC";
const ES256_RAW_LEN: usize = 64;

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair};
    use serde_json::json;

    use super::*;
    use crate::dsc::tests::{TestDsc, VACCINATION, generate, p256, sign_es256};

    fn b64(bytes: &[u8]) -> String {
        general_purpose::STANDARD.encode(bytes)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// A gateway/German-list entry for a generated DSC, with the correct kid and thumbprint.
    fn entry(generated: &TestDsc) -> serde_json::Value {
        let dsc = Dsc::from_der(&generated.der).unwrap();
        json!({
            "kid": dsc.kid().to_base64(),
            "timestamp": "2021-05-12T21:48:50+02:00",
            "country": "DE",
            "certificateType": "DSC",
            "thumbprint": hex(dsc.thumbprint()),
            "signature": "MIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwgAYJKoZIhvcNAQcBAAA=",
            "rawData": b64(&generated.der),
        })
    }

    fn gateway(entries: &[serde_json::Value]) -> Vec<u8> {
        serde_json::to_vec(entries).unwrap()
    }

    fn kid_of(generated: &TestDsc) -> Kid {
        Kid::of_certificate(&generated.der)
    }

    #[test]
    fn add_skips_exact_duplicates_and_indexes_by_kid() {
        let generated = p256("a", &[]);
        let dsc = Dsc::from_der(&generated.der).unwrap();
        let mut list = TrustList::new();
        assert!(list.is_empty());
        assert!(list.add(dsc.clone()));
        assert!(!list.add(dsc.clone()));
        assert_eq!(list.len(), 1);
        assert_eq!(list.candidates(&dsc.kid()), std::slice::from_ref(&dsc));
        assert_eq!(list.candidates(&Kid::from([0; 8])), &[] as &[Dsc]);
    }

    #[test]
    fn extend_and_iter_cover_every_dsc() {
        let dscs: Vec<Dsc> = ["a", "b", "c"]
            .into_iter()
            .map(|name| Dsc::from_der(&p256(name, &[]).der).unwrap())
            .collect();
        let mut list: TrustList = dscs.iter().take(2).cloned().collect();
        list.extend(dscs.iter().cloned());
        assert_eq!(list.len(), 3);
        let mut names: Vec<_> = list.iter().filter_map(Dsc::common_name).collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!((&list).into_iter().count(), 3);
    }

    #[test]
    fn from_certificates_reads_a_pem_bundle() {
        let first = p256("one", &[]);
        let second = p256("two", &[VACCINATION]);
        let list = TrustList::from_certificates(format!("{}{}", first.pem, second.pem).as_bytes())
            .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list.candidates(&kid_of(&second)).len(), 1);
        assert!(matches!(
            TrustList::from_certificates(b"nothing"),
            Err(TrustListError::Certificates(DscError::Pem(_)))
        ));
    }

    #[test]
    fn gateway_json_keeps_dscs_and_skips_other_entries() {
        let first = p256("one", &[]);
        let second = p256("two", &[]);
        let csca = p256("csca", &[]);
        let mut csca_entry = entry(&csca);
        csca_entry["certificateType"] = json!("CSCA");
        let mut deleted = entry(&p256("deleted", &[]));
        deleted["rawData"] = json!(null);
        let mut upper = entry(&second);
        upper["thumbprint"] = json!(upper["thumbprint"].as_str().unwrap().to_uppercase());
        let list =
            TrustList::from_eu_gateway_json(&gateway(&[entry(&first), csca_entry, deleted, upper]))
                .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.candidates(&kid_of(&first))[0].common_name(),
            Some("one")
        );
        assert_eq!(
            list.candidates(&kid_of(&second))[0].common_name(),
            Some("two")
        );
        assert!(list.candidates(&kid_of(&csca)).is_empty());
    }

    #[test]
    fn gateway_entries_without_kid_or_thumbprint_are_accepted() {
        let generated = p256("bare", &[]);
        let bare = json!([{ "certificateType": "DSC", "rawData": b64(&generated.der) }]);
        let list = TrustList::from_eu_gateway_json(bare.to_string().as_bytes()).unwrap();
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn gateway_kid_mismatch_names_the_entry() {
        let first = p256("one", &[]);
        let second = p256("two", &[]);
        let mut wrong = entry(&second);
        wrong["kid"] = json!(kid_of(&first).to_base64());
        let error = TrustList::from_eu_gateway_json(&gateway(&[entry(&first), wrong])).unwrap_err();
        assert!(matches!(
            error,
            TrustListError::KidMismatch { index: 1, stated, computed }
                if stated == kid_of(&first) && computed == kid_of(&second)
        ));
    }

    #[test]
    fn gateway_thumbprint_mismatch_names_the_entry() {
        let first = p256("one", &[]);
        let mut wrong = entry(&first);
        wrong["thumbprint"] = json!("00".repeat(32));
        let error = TrustList::from_eu_gateway_json(&gateway(&[wrong])).unwrap_err();
        assert!(matches!(
            error,
            TrustListError::ThumbprintMismatch { index: 0 }
        ));
        let mut short = entry(&first);
        short["thumbprint"] = json!("abc");
        let error = TrustList::from_eu_gateway_json(&gateway(&[entry(&first), short])).unwrap_err();
        assert!(matches!(
            error,
            TrustListError::ThumbprintMismatch { index: 1 }
        ));
    }

    #[test]
    fn gateway_field_errors_name_entry_and_field() {
        let good = entry(&p256("good", &[]));
        let mut bad_kid = good.clone();
        bad_kid["kid"] = json!("AAAA");
        assert!(matches!(
            TrustList::from_eu_gateway_json(&gateway(&[good.clone(), bad_kid])),
            Err(TrustListError::Kid {
                index: 1,
                source: KidError::WrongLength { len: 3 }
            })
        ));
        let mut bad_base64 = good.clone();
        bad_base64["rawData"] = json!("not base64!");
        assert!(matches!(
            TrustList::from_eu_gateway_json(&gateway(&[bad_base64])),
            Err(TrustListError::RawData { index: 0, .. })
        ));
        let mut not_certificate = good.clone();
        not_certificate["rawData"] = json!(b64(b"0\x00"));
        assert!(matches!(
            TrustList::from_eu_gateway_json(&gateway(&[not_certificate])),
            Err(TrustListError::Certificate {
                index: 0,
                source: DscError::Der(_)
            })
        ));
        let missing_type = json!([good, { "rawData": "AA==" }]);
        match TrustList::from_eu_gateway_json(missing_type.to_string().as_bytes()) {
            Err(TrustListError::Entry { index: 1, source }) => {
                assert!(source.to_string().contains("certificateType"), "{source}");
            }
            other => panic!("expected an entry error, got {other:?}"),
        }
    }

    #[test]
    fn gateway_garbage_is_a_json_error() {
        assert!(matches!(
            TrustList::from_eu_gateway_json(b"{\"not\": \"an array\"}"),
            Err(TrustListError::Json(_))
        ));
        assert!(matches!(
            TrustList::from_eu_gateway_json(b"\x00garbage"),
            Err(TrustListError::Json(_))
        ));
    }

    /// A German two-line list over `entries`, signed with the P-256 key in `signer`.
    fn german_list(signer: &TestDsc, entries: &[serde_json::Value]) -> (Vec<u8>, Vec<u8>) {
        let payload = serde_json::to_vec(&json!({ "certificates": entries })).unwrap();
        let signature = sign_es256(&signer.pkcs8, &payload);
        let mut body = b64(&signature).into_bytes();
        body.push(b'\n');
        body.extend_from_slice(&payload);
        (body, payload)
    }

    fn list_key(signer: &TestDsc) -> PublicKey {
        PublicKey::from_spki(&signer.spki).unwrap()
    }

    #[test]
    fn german_list_with_valid_signature_loads() {
        let signer = p256("list signer", &[]);
        let dsc = p256("dsc", &[]);
        let (body, _) = german_list(&signer, &[entry(&dsc)]);
        let list = TrustList::from_german_dsc_list(&body, &list_key(&signer)).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list.candidates(&kid_of(&dsc)).len(), 1);

        let mut with_newline = body.clone();
        with_newline.extend_from_slice(b"\r\n");
        let list = TrustList::from_german_dsc_list(&with_newline, &list_key(&signer)).unwrap();
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn german_list_accepts_der_signatures() {
        let signer = p256("list signer", &[]);
        let payload =
            serde_json::to_vec(&json!({ "certificates": [entry(&p256("d", &[]))] })).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &signer.pkcs8)
                .unwrap();
        let signature = key.sign(&SystemRandom::new(), &payload).unwrap();
        let body = format!(
            "{}\n{}",
            b64(signature.as_ref()),
            String::from_utf8(payload).unwrap()
        );
        let list = TrustList::from_german_dsc_list(body.as_bytes(), &list_key(&signer)).unwrap();
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn german_list_tampered_payload_is_rejected() {
        let signer = p256("list signer", &[]);
        let (body, payload) = german_list(&signer, &[entry(&p256("dsc", &[]))]);
        let mut tampered = body.clone();
        let at = tampered.len() - payload.len() + 5;
        tampered[at] ^= 0x01;
        assert!(matches!(
            TrustList::from_german_dsc_list(&tampered, &list_key(&signer)),
            Err(TrustListError::ListSignatureInvalid)
        ));
    }

    #[test]
    fn german_list_with_wrong_key_is_rejected_before_parsing() {
        let signer = p256("list signer", &[]);
        let other = p256("someone else", &[]);
        let (body, _) = german_list(&signer, &[entry(&p256("dsc", &[]))]);
        assert!(matches!(
            TrustList::from_german_dsc_list(&body, &list_key(&other)),
            Err(TrustListError::ListSignatureInvalid)
        ));
        // A payload that is not even JSON: the signature check fails first, so no JSON error.
        let forged = format!("{}\nnot json at all", b64(&[0; 64]));
        assert!(matches!(
            TrustList::from_german_dsc_list(forged.as_bytes(), &list_key(&signer)),
            Err(TrustListError::ListSignatureInvalid)
        ));
    }

    #[test]
    fn german_list_entries_are_checked_like_gateway_entries() {
        let signer = p256("list signer", &[]);
        let first = p256("one", &[]);
        let mut wrong_kid = entry(&p256("two", &[]));
        wrong_kid["kid"] = json!(kid_of(&first).to_base64());
        let (body, _) = german_list(&signer, &[entry(&first), wrong_kid]);
        assert!(matches!(
            TrustList::from_german_dsc_list(&body, &list_key(&signer)),
            Err(TrustListError::KidMismatch { index: 1, .. })
        ));
        let mut wrong_thumbprint = entry(&first);
        wrong_thumbprint["thumbprint"] = json!("ff".repeat(32));
        let (body, _) = german_list(&signer, &[wrong_thumbprint]);
        assert!(matches!(
            TrustList::from_german_dsc_list(&body, &list_key(&signer)),
            Err(TrustListError::ThumbprintMismatch { index: 0 })
        ));
    }

    #[test]
    fn german_list_signed_garbage_is_a_json_error() {
        let signer = p256("list signer", &[]);
        let payload = b"{\"certificates\": 42}";
        let body = format!(
            "{}\n{}",
            b64(&sign_es256(&signer.pkcs8, payload)),
            String::from_utf8_lossy(payload)
        );
        assert!(matches!(
            TrustList::from_german_dsc_list(body.as_bytes(), &list_key(&signer)),
            Err(TrustListError::Json(_))
        ));
    }

    #[test]
    fn german_list_shape_errors() {
        let signer = p256("list signer", &[]);
        let key = list_key(&signer);
        assert!(matches!(
            TrustList::from_german_dsc_list(b"c2lnbmF0dXJl", &key),
            Err(TrustListError::MissingPayload)
        ));
        assert!(matches!(
            TrustList::from_german_dsc_list(b"c2lnbmF0dXJl\n\n", &key),
            Err(TrustListError::MissingPayload)
        ));
        assert!(matches!(
            TrustList::from_german_dsc_list(b"c2lnbmF0dXJl\n{}\n{}", &key),
            Err(TrustListError::TrailingData)
        ));
        assert!(matches!(
            TrustList::from_german_dsc_list(b"not base64!\n{}", &key),
            Err(TrustListError::ListSignatureEncoding(_))
        ));
        let rsa = generate(&rcgen::PKCS_RSA_SHA256, "rsa", &[], Vec::new());
        let rsa_key = PublicKey::from_spki(&rsa.spki).unwrap();
        let (body, _) = german_list(&signer, &[]);
        assert!(matches!(
            TrustList::from_german_dsc_list(&body, &rsa_key),
            Err(TrustListError::ListKeyUnsupported(
                SignatureError::KeyAlgorithmMismatch { .. }
            ))
        ));
    }
}
