//! The Admission extension (OID 1.3.36.8.3.3, Common PKI / ISIS-MTT) that carries the profession
//! and the Telematik-ID of a TI certificate (german-context.md §5.3).
//!
//! The ASN.1 is modelled once, with `der` derives, and used both to encode the extension of the
//! development certificates and to decode it from a peer certificate:
//!
//! ```text
//! AdmissionSyntax ::= SEQUENCE { admissionAuthority GeneralName OPTIONAL,
//!                                contentsOfAdmissions SEQUENCE OF Admissions }
//! Admissions      ::= SEQUENCE { admissionAuthority [0] EXPLICIT GeneralName OPTIONAL,
//!                                namingAuthority [1] EXPLICIT NamingAuthority OPTIONAL,
//!                                professionInfos SEQUENCE OF ProfessionInfo }
//! ProfessionInfo  ::= SEQUENCE { namingAuthority [0] EXPLICIT NamingAuthority OPTIONAL,
//!                                professionItems SEQUENCE OF DirectoryString,
//!                                professionOIDs SEQUENCE OF OBJECT IDENTIFIER OPTIONAL,
//!                                registrationNumber PrintableString OPTIONAL,
//!                                addProfessionInfo OCTET STRING OPTIONAL }
//! NamingAuthority ::= SEQUENCE { namingAuthorityId OBJECT IDENTIFIER OPTIONAL,
//!                                namingAuthorityUrl IA5String OPTIONAL,
//!                                namingAuthorityText DirectoryString OPTIONAL }
//! ```
//!
//! [`Admission`] is the reading gematik's libraries use: the first ProfessionInfo of the first
//! Admissions (TI certificates carry exactly one of each).

use std::str::FromStr as _;

use const_oid::ObjectIdentifier;
use der::asn1::{Ia5String, OctetString, PrintableString};
use der::{Decode as _, Encode as _, Sequence};
use x509_cert::ext::pkix::name::{DirectoryString, GeneralName};
use x509_cert::name::Name;

/// `AdmissionSyntax`: the value of the Admission extension.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct AdmissionSyntax {
    /// The authority that granted every admission listed (e.g. a chamber), if named here.
    #[asn1(optional = "true")]
    pub admission_authority: Option<GeneralName>,
    /// The admissions.
    pub contents_of_admissions: Vec<Admissions>,
}

/// `Admissions`: one group of professions granted by one authority.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct Admissions {
    /// The authority that granted these admissions, if it differs from the outer one.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub admission_authority: Option<GeneralName>,
    /// The naming authority of the profession items.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub naming_authority: Option<NamingAuthority>,
    /// The professions.
    pub profession_infos: Vec<ProfessionInfo>,
}

/// `ProfessionInfo`: one profession, in words and as OIDs, with a registration number.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct ProfessionInfo {
    /// The naming authority of the profession items.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub naming_authority: Option<NamingAuthority>,
    /// The professions in words, e.g. `Öffentliche Apotheke`.
    pub profession_items: Vec<DirectoryString>,
    /// The professions as OIDs, e.g. 1.2.276.0.76.4.54.
    #[asn1(optional = "true")]
    pub profession_oids: Option<Vec<ObjectIdentifier>>,
    /// The registration number; in the TI, the Telematik-ID.
    #[asn1(optional = "true")]
    pub registration_number: Option<PrintableString>,
    /// Further information, opaque.
    #[asn1(optional = "true")]
    pub add_profession_info: Option<OctetString>,
}

/// `NamingAuthority`: who defines the meaning of the profession items.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct NamingAuthority {
    /// The authority as an OID.
    #[asn1(optional = "true")]
    pub naming_authority_id: Option<ObjectIdentifier>,
    /// The authority as a URL.
    #[asn1(optional = "true")]
    pub naming_authority_url: Option<Ia5String>,
    /// The authority in words.
    #[asn1(optional = "true")]
    pub naming_authority_text: Option<DirectoryString>,
}

/// The content of an Admission extension as the TI reads it: the first ProfessionInfo of the
/// first Admissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The admission authority as an RFC 4514 string (a directory name, e.g.
    /// `O=Landesapothekerkammer Dev,C=DE`), or the text of a URI, DNS or e-mail name.
    /// Read from the first Admissions, else from the outer AdmissionSyntax.
    pub authority: Option<String>,
    /// The professions in words.
    pub profession_items: Vec<String>,
    /// The professions as OIDs.
    pub profession_oids: Vec<ObjectIdentifier>,
    /// The registration number (the Telematik-ID), unchecked.
    pub registration_number: Option<String>,
}

/// Why an Admission extension could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmissionError {
    /// The extension value is not DER of an `AdmissionSyntax`.
    #[error("the Admission extension is not valid DER: {0}")]
    Der(#[source] der::Error),
    /// `contentsOfAdmissions` is empty.
    #[error("the Admission extension lists no admissions")]
    NoAdmissions,
    /// The first Admissions has no ProfessionInfo.
    #[error("the first admission lists no profession")]
    NoProfessionInfo,
    /// The authority string is not an RFC 4514 distinguished name.
    #[error("the admission authority is not a distinguished name: {0}")]
    Authority(#[source] der::Error),
    /// A registration number outside the PrintableString alphabet, or an empty profession item.
    #[error("a value cannot be encoded: {0}")]
    Value(#[source] der::Error),
}

impl Admission {
    /// Decodes the value (the content of the extension's OCTET STRING) of an Admission
    /// extension.
    pub fn from_der(der: &[u8]) -> Result<Self, AdmissionError> {
        let syntax = AdmissionSyntax::from_der(der).map_err(AdmissionError::Der)?;
        Self::from_syntax(&syntax)
    }

    /// The TI reading of a decoded `AdmissionSyntax`.
    pub fn from_syntax(syntax: &AdmissionSyntax) -> Result<Self, AdmissionError> {
        let admissions = syntax
            .contents_of_admissions
            .first()
            .ok_or(AdmissionError::NoAdmissions)?;
        let info = admissions
            .profession_infos
            .first()
            .ok_or(AdmissionError::NoProfessionInfo)?;
        let authority = admissions
            .admission_authority
            .as_ref()
            .or(syntax.admission_authority.as_ref())
            .and_then(general_name_text);
        Ok(Self {
            authority,
            profession_items: info
                .profession_items
                .iter()
                .map(|item| item.value().into_owned())
                .collect(),
            profession_oids: info.profession_oids.clone().unwrap_or_default(),
            registration_number: info
                .registration_number
                .as_ref()
                .map(|number| number.as_str().to_owned()),
        })
    }

    /// The `AdmissionSyntax` for this admission: the authority (parsed as an RFC 4514 directory
    /// name) in the outer AdmissionSyntax, one Admissions, one ProfessionInfo with the items as
    /// UTF8String and the registration number as PrintableString.
    pub fn to_syntax(&self) -> Result<AdmissionSyntax, AdmissionError> {
        let admission_authority = self
            .authority
            .as_deref()
            .map(|text| Name::from_str(text).map(GeneralName::DirectoryName))
            .transpose()
            .map_err(AdmissionError::Authority)?;
        let registration_number = self
            .registration_number
            .as_deref()
            .map(PrintableString::new)
            .transpose()
            .map_err(AdmissionError::Value)?;
        let profession_oids =
            (!self.profession_oids.is_empty()).then(|| self.profession_oids.clone());
        Ok(AdmissionSyntax {
            admission_authority,
            contents_of_admissions: vec![Admissions {
                admission_authority: None,
                naming_authority: None,
                profession_infos: vec![ProfessionInfo {
                    naming_authority: None,
                    profession_items: self
                        .profession_items
                        .iter()
                        .map(|item| DirectoryString::Utf8String(item.clone()))
                        .collect(),
                    profession_oids,
                    registration_number,
                    add_profession_info: None,
                }],
            }],
        })
    }

    /// The DER encoding of [`Admission::to_syntax`]: the value of the extension.
    pub fn to_der(&self) -> Result<Vec<u8>, AdmissionError> {
        self.to_syntax()?.to_der().map_err(AdmissionError::Value)
    }
}

/// The OID of the Admission extension.
pub const OID_ADMISSION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.8.3.3");

fn general_name_text(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::DirectoryName(name) => Some(name.to_string()),
        GeneralName::Rfc822Name(text)
        | GeneralName::DnsName(text)
        | GeneralName::UniformResourceIdentifier(text) => Some(text.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC_PHARMACY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.276.0.76.4.54");

    fn pharmacy() -> Admission {
        Admission {
            authority: Some("O=Landesapothekerkammer Dev,C=DE".to_owned()),
            profession_items: vec!["Öffentliche Apotheke".to_owned()],
            profession_oids: vec![PUBLIC_PHARMACY],
            registration_number: Some("3-SMC-B-Testkarte-883110000116873".to_owned()),
        }
    }

    #[test]
    fn round_trips_through_der() {
        let der = pharmacy().to_der().unwrap();
        assert_eq!(Admission::from_der(&der), Ok(pharmacy()));
    }

    #[test]
    fn umlauts_are_utf8_strings() {
        let der = pharmacy().to_der().unwrap();
        // UTF8String tag 0x0c, length 21, then the UTF-8 bytes of "Öffentliche Apotheke".
        let mut expected = vec![0x0c, 21];
        expected.extend_from_slice("Öffentliche Apotheke".as_bytes());
        assert!(der.windows(expected.len()).any(|window| window == expected));
        let syntax = AdmissionSyntax::from_der(&der).unwrap();
        let item = &syntax.contents_of_admissions[0].profession_infos[0].profession_items[0];
        assert_eq!(
            item,
            &DirectoryString::Utf8String("Öffentliche Apotheke".to_owned())
        );
    }

    #[test]
    fn authority_is_a_directory_name_in_asn1_order() {
        let syntax = pharmacy().to_syntax().unwrap();
        let Some(GeneralName::DirectoryName(name)) = &syntax.admission_authority else {
            panic!(
                "expected a directory name, got {:?}",
                syntax.admission_authority
            );
        };
        // RFC 4514 writes the last RDN first: C comes first in the encoding.
        let first = name.iter().next().unwrap();
        assert_eq!(first.oid, const_oid::db::rfc4519::C);
    }

    #[test]
    fn reads_the_first_profession_of_the_first_admission_and_the_inner_authority() {
        let mut syntax = pharmacy().to_syntax().unwrap();
        let mut second = syntax.contents_of_admissions[0].profession_infos[0].clone();
        second.registration_number = Some(PrintableString::new("9-other").unwrap());
        syntax.contents_of_admissions[0]
            .profession_infos
            .push(second);
        syntax.contents_of_admissions[0].admission_authority =
            Some(GeneralName::UniformResourceIdentifier(
                Ia5String::new("https://chamber.example").unwrap(),
            ));
        let der = syntax.to_der().unwrap();
        let admission = Admission::from_der(&der).unwrap();
        assert_eq!(
            admission.registration_number.as_deref(),
            Some("3-SMC-B-Testkarte-883110000116873")
        );
        assert_eq!(
            admission.authority.as_deref(),
            Some("https://chamber.example")
        );
    }

    #[test]
    fn decodes_naming_authorities_and_optional_fields() {
        let naming = NamingAuthority {
            naming_authority_id: Some(ObjectIdentifier::new_unwrap("1.2.276.0.76.3.1.91")),
            naming_authority_url: None,
            naming_authority_text: Some(DirectoryString::Utf8String("gematik".to_owned())),
        };
        let syntax = AdmissionSyntax {
            admission_authority: None,
            contents_of_admissions: vec![Admissions {
                admission_authority: None,
                naming_authority: Some(naming.clone()),
                profession_infos: vec![ProfessionInfo {
                    naming_authority: Some(naming),
                    profession_items: vec![DirectoryString::Utf8String("x".to_owned())],
                    profession_oids: None,
                    registration_number: None,
                    add_profession_info: Some(OctetString::new(vec![1, 2]).unwrap()),
                }],
            }],
        };
        let der = syntax.to_der().unwrap();
        assert_eq!(AdmissionSyntax::from_der(&der).unwrap(), syntax);
        let admission = Admission::from_der(&der).unwrap();
        assert_eq!(admission.authority, None);
        assert!(admission.profession_oids.is_empty());
        assert_eq!(admission.registration_number, None);
    }

    #[test]
    fn errors_are_typed() {
        assert!(matches!(
            Admission::from_der(&[0x30, 0x03]),
            Err(AdmissionError::Der(_))
        ));
        let empty = AdmissionSyntax {
            admission_authority: None,
            contents_of_admissions: vec![],
        };
        assert_eq!(
            Admission::from_der(&empty.to_der().unwrap()),
            Err(AdmissionError::NoAdmissions)
        );
        let no_info = AdmissionSyntax {
            admission_authority: None,
            contents_of_admissions: vec![Admissions {
                admission_authority: None,
                naming_authority: None,
                profession_infos: vec![],
            }],
        };
        assert_eq!(
            Admission::from_der(&no_info.to_der().unwrap()),
            Err(AdmissionError::NoProfessionInfo)
        );
        let mut bad_number = pharmacy();
        bad_number.registration_number = Some("3-Süd".to_owned());
        assert!(matches!(bad_number.to_der(), Err(AdmissionError::Value(_))));
        let mut bad_authority = pharmacy();
        bad_authority.authority = Some("not a name".to_owned());
        assert!(matches!(
            bad_authority.to_der(),
            Err(AdmissionError::Authority(_))
        ));
    }
}
