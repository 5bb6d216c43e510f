//! What a printed certificate says, in human words: the holder's names, date of birth, and the
//! entry's fields with value-set codes replaced by their display names (dcc-spec.md §2, §4).
//!
//! Pure: built from the decoded payload JSON (and the CWT expiry), laid out by [`crate::pdf`].

use dcc_core::value_sets::{ValueSetKind, ValueSets};
use serde_json::Value;
use time::OffsetDateTime;

/// Why a payload cannot be shown as a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The payload has none of `v`, `t`, `r` with an entry (dcc-spec.md §2.1).
    #[error("the payload holds no vaccination, test or recovery entry")]
    NoEntry,
    /// The payload has no `nam` object.
    #[error("the payload holds no name")]
    NoName,
    /// The embedded value sets could not be loaded (a build defect).
    #[error("the embedded value sets cannot be read")]
    ValueSets,
}

/// The type of certificate, from the entry array present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// `v`: vaccination.
    Vaccination,
    /// `t`: test.
    Test,
    /// `r`: recovery.
    Recovery,
}

impl EntryKind {
    /// The certificate's title in German and English.
    pub fn title(self) -> Label {
        match self {
            Self::Vaccination => Label::new("Impfzertifikat", "Vaccination certificate"),
            Self::Test => Label::new("Testzertifikat", "Test certificate"),
            Self::Recovery => Label::new("Genesenenzertifikat", "Certificate of recovery"),
        }
    }
}

/// A text in German and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    /// German.
    pub de: &'static str,
    /// English.
    pub en: &'static str,
}

impl Label {
    const fn new(de: &'static str, en: &'static str) -> Self {
        Self { de, en }
    }
}

/// One labelled line of the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// What the value is.
    pub label: Label,
    /// The value, in human words.
    pub value: String,
}

/// Everything the printed certificate shows besides the QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateView {
    /// Vaccination, test or recovery.
    pub kind: EntryKind,
    /// The name as written: "Surname(s), Forename(s)" (`fn`, `gn`).
    pub name: String,
    /// The standardised name in ICAO 9303 form: `FNT<<GNT`.
    pub standardised_name: String,
    /// The date of birth as in the payload (`YYYY-MM-DD`, `YYYY-MM`, `YYYY` or empty).
    pub date_of_birth: String,
    /// The entry's fields, in the order of the EU certificate template.
    pub fields: Vec<Field>,
    /// The end of the signature's validity (CWT `exp`), as a date, when present.
    pub expires: Option<String>,
}

impl CertificateView {
    /// Builds the view of a decoded payload; `expires_at` is the CWT `exp` claim.
    pub fn from_payload(payload: &Value, expires_at: Option<i64>) -> Result<Self, ViewError> {
        let sets = ValueSets::official().map_err(|_| ViewError::ValueSets)?;
        let name = payload.get("nam").ok_or(ViewError::NoName)?;
        let text = |value: &Value, key: &str| -> String {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (kind, entry) = [
            ("v", EntryKind::Vaccination),
            ("t", EntryKind::Test),
            ("r", EntryKind::Recovery),
        ]
        .into_iter()
        .find_map(|(key, kind)| {
            let entry = payload.get(key)?.as_array()?.first()?;
            Some((kind, entry))
        })
        .ok_or(ViewError::NoEntry)?;

        let lookup = |key: &str, set: ValueSetKind| -> String {
            let code = text(entry, key);
            sets.get(set).display(&code).map_or(code, str::to_owned)
        };
        let plain = |key: &str| text(entry, key);
        let field = |label: Label, value: String| Field { label, value };

        let mut fields = vec![field(DISEASE, lookup("tg", ValueSetKind::DiseaseAgent))];
        match kind {
            EntryKind::Vaccination => {
                let number = |key: &str| entry.get(key).and_then(Value::as_u64).unwrap_or(0);
                fields.extend([
                    field(VACCINE, lookup("vp", ValueSetKind::VaccineProphylaxis)),
                    field(PRODUCT, lookup("mp", ValueSetKind::VaccineProduct)),
                    field(
                        MANUFACTURER,
                        lookup("ma", ValueSetKind::VaccineManufacturer),
                    ),
                    field(DOSE, format!("{}/{}", number("dn"), number("sd"))),
                    field(VACCINATION_DATE, plain("dt")),
                    field(VACCINATION_COUNTRY, lookup("co", ValueSetKind::Country)),
                ]);
            }
            EntryKind::Test => {
                fields.push(field(TEST_TYPE, lookup("tt", ValueSetKind::TestType)));
                if entry.get("nm").is_some() {
                    fields.push(field(TEST_NAME, plain("nm")));
                }
                if entry.get("ma").is_some() {
                    fields.push(field(
                        TEST_DEVICE,
                        lookup("ma", ValueSetKind::TestManufacturer),
                    ));
                }
                fields.push(field(SAMPLE_TIME, date_time(&plain("sc"))));
                fields.push(field(TEST_RESULT, lookup("tr", ValueSetKind::TestResult)));
                if entry.get("tc").is_some() {
                    fields.push(field(TEST_CENTRE, plain("tc")));
                }
                fields.push(field(TEST_COUNTRY, lookup("co", ValueSetKind::Country)));
            }
            EntryKind::Recovery => fields.extend([
                field(FIRST_POSITIVE, plain("fr")),
                field(TEST_COUNTRY, lookup("co", ValueSetKind::Country)),
                field(VALID_FROM, plain("df")),
                field(VALID_UNTIL, plain("du")),
            ]),
        }
        fields.push(field(ISSUER, plain("is")));
        fields.push(field(UVCI, plain("ci")));

        let surname = text(name, "fn");
        let forename = text(name, "gn");
        let name_as_written = match (surname.is_empty(), forename.is_empty()) {
            (false, false) => format!("{surname}, {forename}"),
            (false, true) => surname,
            (true, _) => forename,
        };
        let standardised_name = match (text(name, "fnt"), text(name, "gnt")) {
            (surname, forename) if forename.is_empty() => surname,
            (surname, forename) => format!("{surname}<<{forename}"),
        };
        Ok(Self {
            kind,
            name: name_as_written,
            standardised_name,
            date_of_birth: text(payload, "dob"),
            fields,
            expires: expires_at.and_then(expiry_date),
        })
    }
}

/// Labels of the person block.
pub const NAME: Label = Label::new("Name", "Name");
/// Label of the standardised name.
pub const STANDARDISED_NAME: Label = Label::new("Standardisierter Name", "Standardised name");
/// Label of the date of birth.
pub const DATE_OF_BIRTH: Label = Label::new("Geburtsdatum", "Date of birth");
/// Label of the signature's expiry.
pub const SIGNATURE_EXPIRES: Label = Label::new("Technisch gültig bis", "Technically valid until");

/// The validity note of the EU certificate template (Regulation (EU) 2021/953, Annex), in
/// German and English, one paragraph each.
pub const VALIDITY_NOTE: Label = Label::new(
    "Dieses Zertifikat ist kein Reisedokument. Die wissenschaftlichen Erkenntnisse über \
     COVID-19-Impfungen, -Tests und -Genesung entwickeln sich fortlaufend weiter, auch im \
     Hinblick auf neue besorgniserregende Virusvarianten. Bitte informieren Sie sich vor \
     Reiseantritt über die am Zielort geltenden Gesundheitsmaßnahmen und damit verbundenen \
     Beschränkungen.",
    "This certificate is not a travel document. The scientific evidence on COVID-19 \
     vaccination, testing and recovery continues to evolve, also in view of new variants of \
     concern of the virus. Before travelling, please check the applicable public health \
     measures and related restrictions applied at the point of destination.",
);

const DISEASE: Label = Label::new("Zielkrankheit oder -erreger", "Disease or agent targeted");
const VACCINE: Label = Label::new("Impfstoff", "Vaccine/prophylaxis");
const PRODUCT: Label = Label::new("Impfstoff-Produkt", "Vaccine medicinal product");
const MANUFACTURER: Label = Label::new("Hersteller", "Manufacturer");
const DOSE: Label = Label::new("Impfdosis (Nummer/Gesamtzahl)", "Dose (number/total)");
const VACCINATION_DATE: Label = Label::new("Datum der Impfung", "Date of vaccination");
const VACCINATION_COUNTRY: Label = Label::new("Land der Impfung", "Country of vaccination");
const TEST_TYPE: Label = Label::new("Art des Tests", "Type of test");
const TEST_NAME: Label = Label::new("Testname", "Test name");
const TEST_DEVICE: Label = Label::new("Testhersteller", "Test manufacturer");
const SAMPLE_TIME: Label = Label::new("Probenahme", "Date and time of sample collection");
const TEST_RESULT: Label = Label::new("Testergebnis", "Test result");
const TEST_CENTRE: Label = Label::new("Testzentrum", "Testing centre");
const TEST_COUNTRY: Label = Label::new("Land des Tests", "Country of test");
const FIRST_POSITIVE: Label = Label::new(
    "Datum des ersten positiven Tests",
    "Date of first positive test result",
);
const VALID_FROM: Label = Label::new("Gültig ab", "Certificate valid from");
const VALID_UNTIL: Label = Label::new("Gültig bis", "Certificate valid until");
const ISSUER: Label = Label::new("Zertifikataussteller", "Certificate issuer");
const UVCI: Label = Label::new("Zertifikatkennung", "Unique certificate identifier");

/// An RFC 3339 date-time as "YYYY-MM-DD HH:MM (UTC±hh:mm)"; other text is shown unchanged.
fn date_time(text: &str) -> String {
    let Ok(parsed) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    else {
        return text.to_owned();
    };
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute] (UTC[offset_hour sign:mandatory]:[offset_minute])"
    );
    parsed.format(format).unwrap_or_else(|_| text.to_owned())
}

/// Seconds since 1970 as a `YYYY-MM-DD` date (UTC).
fn expiry_date(seconds: i64) -> Option<String> {
    let moment = OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    moment.format(format).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn vaccination_fields_in_human_words() {
        let payload = json!({
            "ver": "1.3.0",
            "nam": {"fn": "Müller-Łukasiewicz", "fnt": "MUELLER<LUKASIEWICZ",
                    "gn": "Jürgen Ødegård", "gnt": "JUERGEN<OEDEGAARD"},
            "dob": "1964-08-12",
            "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                   "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29", "co": "DE",
                   "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO123/4P6D3QWHVKZ8#C"}]
        });
        let view = CertificateView::from_payload(&payload, Some(1_656_000_000)).unwrap();
        assert_eq!(view.kind, EntryKind::Vaccination);
        assert_eq!(view.name, "Müller-Łukasiewicz, Jürgen Ødegård");
        assert_eq!(
            view.standardised_name,
            "MUELLER<LUKASIEWICZ<<JUERGEN<OEDEGAARD"
        );
        let values: Vec<&str> = view
            .fields
            .iter()
            .map(|field| field.value.as_str())
            .collect();
        assert_eq!(
            values,
            [
                "COVID-19",
                "SARS-CoV-2 mRNA vaccine",
                "Comirnaty",
                "Biontech Manufacturing GmbH",
                "2/2",
                "2021-05-29",
                "Germany",
                "Robert Koch-Institut",
                "URN:UVCI:01:DE:APO123/4P6D3QWHVKZ8#C",
            ]
        );
        assert_eq!(view.expires.as_deref(), Some("2022-06-23"));
    }

    #[test]
    fn test_entry_shows_result_and_sample_time() {
        let payload = json!({
            "ver": "1.3.0", "nam": {"fnt": "MUSTERMANN"}, "dob": "1990",
            "t": [{"tg": "840539006", "tt": "LP217198-3", "ma": "1232",
                   "sc": "2021-05-30T10:12:22+02:00", "tr": "260415000", "co": "AT",
                   "is": "BMSGPK", "ci": "URN:UVCI:01:AT:XYZ#1"}]
        });
        let view = CertificateView::from_payload(&payload, None).unwrap();
        assert_eq!(view.kind, EntryKind::Test);
        assert_eq!(view.name, "");
        assert_eq!(view.standardised_name, "MUSTERMANN");
        let find = |en: &str| {
            view.fields
                .iter()
                .find(|field| field.label.en == en)
                .map(|field| field.value.as_str())
        };
        assert_eq!(find("Test result"), Some("Not detected"));
        assert_eq!(
            find("Date and time of sample collection"),
            Some("2021-05-30 10:12 (UTC+02:00)")
        );
        assert_eq!(find("Country of test"), Some("Austria"));
        assert!(find("Test manufacturer").is_some_and(|name| name.contains("Panbio")));
    }

    #[test]
    fn unknown_codes_are_shown_as_codes() {
        let payload = json!({
            "nam": {"fnt": "X"}, "dob": "",
            "r": [{"tg": "840539006", "fr": "2021-01-01", "co": "QQ", "is": "I",
                   "df": "2021-01-12", "du": "2021-06-30", "ci": "U"}]
        });
        let view = CertificateView::from_payload(&payload, None).unwrap();
        assert!(view.fields.iter().any(|field| field.value == "QQ"));
    }

    #[test]
    fn payload_without_entry_is_refused() {
        let payload = json!({"nam": {"fnt": "X"}, "dob": ""});
        assert_eq!(
            CertificateView::from_payload(&payload, None),
            Err(ViewError::NoEntry)
        );
    }
}
