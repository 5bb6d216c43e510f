//! Keys in the token: generating a P-256 key pair inside it, finding keys by label or id, and
//! reading the public point.

use std::fmt;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::HsmError;

/// How a key is found: by `CKA_LABEL` or by `CKA_ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySelector {
    /// `CKA_LABEL`.
    Label(String),
    /// `CKA_ID` (raw bytes).
    Id(Vec<u8>),
}

/// A P-256 public key read from the token: the uncompressed point `04‖X‖Y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcPublicKey {
    point: Vec<u8>,
}

impl KeySelector {
    fn attribute(&self) -> Attribute {
        match self {
            Self::Label(label) => Attribute::Label(label.as_bytes().to_vec()),
            Self::Id(id) => Attribute::Id(id.clone()),
        }
    }
}

impl fmt::Display for KeySelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Label(label) => write!(f, "label {label:?}"),
            Self::Id(id) => {
                f.write_str("id ")?;
                id.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
        }
    }
}

impl EcPublicKey {
    /// The uncompressed point `04‖X‖Y` (65 bytes).
    pub fn point(&self) -> &[u8] {
        &self.point
    }

    /// The DER SubjectPublicKeyInfo (id-ecPublicKey, prime256v1).
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&self.point);
        spki
    }

    /// Reads `CKA_EC_POINT`: a DER OCTET STRING around the point (PKCS#11 §2.3.3), or the
    /// bare point as some modules return it.
    fn from_ec_point(bytes: &[u8]) -> Result<Self, HsmError> {
        let point = match bytes {
            [OCTET_STRING, length, rest @ ..] if usize::from(*length) == rest.len() => rest,
            _ => bytes,
        };
        if point.len() != P256_POINT_LEN || point.first() != Some(&UNCOMPRESSED) {
            return Err(HsmError::NotP256);
        }
        Ok(Self {
            point: point.to_vec(),
        })
    }
}

/// Generates a P-256 key pair inside the token, stored on the token, with `label` and `id`
/// on both halves. The private key is sensitive and never extractable; it can only sign.
pub fn generate_p256(session: &Session, label: &str, id: &[u8]) -> Result<EcPublicKey, HsmError> {
    let common = [
        Attribute::Token(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.to_vec()),
    ];
    let mut public_template = common.to_vec();
    public_template.extend([
        Attribute::EcParams(PRIME256V1_OID_DER.to_vec()),
        Attribute::Verify(true),
    ]);
    let mut private_template = common.to_vec();
    private_template.extend([
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
    ]);
    let (public, _private) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &public_template,
            &private_template,
        )
        .map_err(HsmError::call("generating a key pair"))?;
    public_point(session, public)
}

/// Signs `message` with the private key matching `selector`: SHA-256 here, `CKM_ECDSA` in the
/// token; returns the raw `r‖s`.
pub fn sign_es256(
    session: &Session,
    selector: &KeySelector,
    message: &[u8],
) -> Result<Vec<u8>, HsmError> {
    let handle = find_private(session, selector)?;
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
    session
        .sign(&Mechanism::Ecdsa, handle, hash.as_ref())
        .map_err(HsmError::call("signing"))
}

/// The one private P-256 key matching `selector`.
pub fn find_private(session: &Session, selector: &KeySelector) -> Result<ObjectHandle, HsmError> {
    find_one(session, selector, ObjectClass::PRIVATE_KEY, "private")
}

/// The public key matching `selector`.
pub fn find_public(session: &Session, selector: &KeySelector) -> Result<EcPublicKey, HsmError> {
    let handle = find_one(session, selector, ObjectClass::PUBLIC_KEY, "public")?;
    public_point(session, handle)
}

/// Whether the private key matching `selector` is sensitive and not extractable.
pub fn is_protected(session: &Session, selector: &KeySelector) -> Result<bool, HsmError> {
    let handle = find_private(session, selector)?;
    let attributes = session
        .get_attributes(
            handle,
            &[AttributeType::Sensitive, AttributeType::Extractable],
        )
        .map_err(HsmError::call("reading key attributes"))?;
    let sensitive = attributes
        .iter()
        .any(|attribute| matches!(attribute, Attribute::Sensitive(true)));
    let extractable = attributes
        .iter()
        .any(|attribute| matches!(attribute, Attribute::Extractable(true)));
    Ok(sensitive && !extractable)
}

fn find_one(
    session: &Session,
    selector: &KeySelector,
    class: ObjectClass,
    class_name: &'static str,
) -> Result<ObjectHandle, HsmError> {
    let handles = session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::KeyType(KeyType::EC),
            selector.attribute(),
        ])
        .map_err(HsmError::call("finding a key"))?;
    match handles.as_slice() {
        [handle] => Ok(*handle),
        _ => Err(HsmError::KeyNotFound {
            selector: selector.to_string(),
            class: class_name,
            found: handles.len(),
        }),
    }
}

fn public_point(session: &Session, handle: ObjectHandle) -> Result<EcPublicKey, HsmError> {
    let attributes = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(HsmError::call("reading the public point"))?;
    match attributes.first() {
        Some(Attribute::EcPoint(bytes)) => EcPublicKey::from_ec_point(bytes),
        _ => Err(HsmError::NotP256),
    }
}

/// OBJECT IDENTIFIER 1.2.840.10045.3.1.7 (prime256v1), DER.
const PRIME256V1_OID_DER: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits, …) }.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const OCTET_STRING: u8 = 0x04;
const UNCOMPRESSED: u8 = 0x04;
const P256_POINT_LEN: usize = 65;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_is_read_with_or_without_its_octet_string() {
        let mut point = vec![0x04];
        point.extend([7u8; 64]);
        let mut wrapped = vec![0x04, 65];
        wrapped.extend(&point);
        assert_eq!(EcPublicKey::from_ec_point(&wrapped).unwrap().point(), point);
        assert_eq!(EcPublicKey::from_ec_point(&point).unwrap().point(), point);
        assert!(matches!(
            EcPublicKey::from_ec_point(&[0x04, 2, 0x04, 1]),
            Err(HsmError::NotP256)
        ));
        let spki = EcPublicKey::from_ec_point(&point).unwrap().to_spki_der();
        assert_eq!(spki.len(), 91);
        assert_eq!(&spki[..26], P256_SPKI_PREFIX);
        assert_eq!(&spki[26..], point);
    }

    #[test]
    fn selectors_print_label_or_hex_id() {
        assert_eq!(
            KeySelector::Label("dsc".into()).to_string(),
            "label \"dsc\""
        );
        assert_eq!(KeySelector::Id(vec![0x0a, 0xff]).to_string(), "id 0aff");
    }
}
