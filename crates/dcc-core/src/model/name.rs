//! The holder's name, `nam` (dcc-spec.md §2.2).

use serde::{Deserialize, Serialize};

use crate::transliterate::transliterate;

/// `nam`: surname and forename as written, and their ICAO 9303 standardised forms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    /// `fn`: surname(s) as written.
    #[serde(rename = "fn", default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `fnt`: standardised surname, `^[A-Z<]*$`.
    #[serde(rename = "fnt", default, skip_serializing_if = "Option::is_none")]
    pub family_name_standardised: Option<String>,
    /// `gn`: forename(s) as written.
    #[serde(rename = "gn", default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `gnt`: standardised forename, `^[A-Z<]*$`.
    #[serde(rename = "gnt", default, skip_serializing_if = "Option::is_none")]
    pub given_name_standardised: Option<String>,
}

impl PersonName {
    /// A name as written, with `fnt`/`gnt` derived by ICAO 9303 transliteration
    /// (dcc-spec.md §2.8). Empty parts are left out.
    pub fn from_written(family_name: Option<&str>, given_name: Option<&str>) -> Self {
        let clean =
            |part: Option<&str>| part.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        let family_name = clean(family_name);
        let given_name = clean(given_name);
        Self {
            family_name_standardised: family_name.as_deref().map(transliterate),
            given_name_standardised: given_name.as_deref().map(transliterate),
            family_name,
            given_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_standardised_forms() {
        let name = PersonName::from_written(Some("Musterfrau-Gößinger"), Some(" Erika Dörte "));
        assert_eq!(name.family_name.as_deref(), Some("Musterfrau-Gößinger"));
        assert_eq!(
            name.family_name_standardised.as_deref(),
            Some("MUSTERFRAU<GOESSINGER")
        );
        assert_eq!(name.given_name.as_deref(), Some("Erika Dörte"));
        assert_eq!(
            name.given_name_standardised.as_deref(),
            Some("ERIKA<DOERTE")
        );
        assert_eq!(
            PersonName::from_written(Some(" "), None),
            PersonName::default()
        );
    }
}
