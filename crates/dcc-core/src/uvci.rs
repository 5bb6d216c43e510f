//! The unique vaccination certificate identifier (UVCI), the `ci` field of every certificate
//! entry (dcc-spec.md §3).
//!
//! Issuing and reading are deliberately asymmetric. [`Uvci::build`] only produces the URN form
//! of §3.1 with a Luhn-mod-38 check character (§3.2). [`Uvci::parse`] accepts whatever member
//! states actually put into certificates (German `01DE/…`, missing prefixes, lowercase,
//! `dgci:V1:…`), because §3.2 and §3.4 say a verifier must never reject on the identifier's
//! syntax or checksum.

use std::fmt;
use std::str::FromStr;

/// A certificate identifier (`ci`) exactly as it appears in a certificate (dcc-spec.md §3).
///
/// Two values compare equal when their text is identical; use [`Uvci::identifier_key`] for the
/// case-insensitive comparison without the check character that §3.1 prescribes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uvci {
    text: String,
    country: Option<[u8; 2]>,
}

/// The result of checking a UVCI's Luhn-mod-38 check character (dcc-spec.md §3.2).
///
/// This is informational only: the eHealth Network's Annex 2 says the checksum must not be
/// relied upon, and Germany uses a different check character altogether (§3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Checksum {
    /// The character after `#` is the Luhn-mod-38 check character of the text before it.
    Valid,
    /// There is a `#`, but what follows it is not the Luhn-mod-38 check character of the text
    /// before it (including when it is not a single character of the alphabet).
    Invalid,
    /// The identifier has no `#` and so no check character.
    Absent,
}

/// One of the parts that [`Uvci::build`] assembles into an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UvciField {
    /// The ISO 3166-1 alpha-2 code of the issuing country.
    Country,
    /// The issuing entity, possibly made of several `/`-separated components.
    Issuer,
    /// The opaque unique string that identifies the certificate within the issuer.
    Opaque,
}

/// Why a UVCI could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UvciError {
    /// The identifier is empty.
    #[error("the UVCI is empty")]
    Empty,
    /// The identifier is longer than the schema allows (80 characters, dcc-spec.md §3.1).
    #[error("the UVCI has {length} characters, more than the maximum of {MAX_LENGTH}")]
    TooLong {
        /// The identifier's length in characters.
        length: usize,
    },
    /// The identifier contains a control or whitespace character, which no issuer produces
    /// and which would make the value ambiguous when printed.
    #[error("the UVCI contains the character {character:?} at position {position}")]
    ForbiddenCharacter {
        /// The offending character.
        character: char,
        /// Its zero-based position, counted in characters.
        position: usize,
    },
    /// A part passed to [`Uvci::build`] is empty.
    #[error("the {field} of the UVCI is empty")]
    EmptyField {
        /// The empty part.
        field: UvciField,
    },
    /// A part passed to [`Uvci::build`] contains a character it may not contain: the country
    /// allows `A`–`Z`, the opaque part `A`–`Z` and `0`–`9`, and the issuer also `/`.
    #[error("the {field} of the UVCI contains {character:?} at position {position}")]
    InvalidCharacter {
        /// The part containing the character.
        field: UvciField,
        /// The offending character.
        character: char,
        /// Its zero-based position within the part, counted in characters.
        position: usize,
    },
    /// The country passed to [`Uvci::build`] does not have two letters. Longer codes such as
    /// `UNHCR` are reserved by §3.1 but not issued by this system.
    #[error("the country code of the UVCI has {length} characters instead of 2")]
    CountryLength {
        /// The country code's length in characters.
        length: usize,
    },
    /// The issuer passed to [`Uvci::build`] starts or ends with `/` or contains `//`, so one
    /// of its components is empty.
    #[error("the issuer of the UVCI has an empty component")]
    EmptyIssuerComponent,
}

impl Uvci {
    /// Builds `URN:UVCI:01:<country>:<issuer>/<opaque>#<check>`, the URN form of
    /// dcc-spec.md §3.1 (option 2) with the Luhn-mod-38 check character of §3.2.
    ///
    /// `country` must be two letters `A`–`Z`; `issuer` one or more `/`-separated components
    /// of `A`–`Z` and `0`–`9`; `opaque` one such component. The whole identifier, check
    /// character included, may have at most 80 characters (§3.1 advises staying below 60).
    pub fn build(country: &str, issuer: &str, opaque: &str) -> Result<Self, UvciError> {
        validate_country(country)?;
        validate_issuer(issuer)?;
        validate_component(UvciField::Opaque, opaque, |_| false)?;

        let body = format!("{URN_PREFIX}{VERSION}:{country}:{issuer}/{opaque}");
        // The check character and its `#` add two characters.
        let length = body.len() + 2;
        if length > MAX_LENGTH {
            return Err(UvciError::TooLong { length });
        }
        #[expect(
            clippy::expect_used,
            reason = "every character was validated against the Luhn-mod-38 alphabet above"
        )]
        let check = luhn_mod_38_check(&body).expect("the body uses only the UVCI alphabet");
        Self::parse(&format!("{body}#{check}"))
    }

    /// Reads an identifier from a certificate without judging its syntax or checksum.
    ///
    /// Every form seen in the wild is accepted (dcc-spec.md §3.3, §3.4): the URN form, its
    /// lowercase spelling, the German `URN:UVCI:01DE/…`, forms without `URN:UVCI:`, `V1` as
    /// version, `dgci:` prefixes and check strings of any length. Only empty text, text
    /// longer than 80 characters and text with control or whitespace characters is rejected.
    pub fn parse(text: &str) -> Result<Self, UvciError> {
        if text.is_empty() {
            return Err(UvciError::Empty);
        }
        let length = text.chars().count();
        if length > MAX_LENGTH {
            return Err(UvciError::TooLong { length });
        }
        if let Some((position, character)) = text
            .chars()
            .enumerate()
            .find(|(_, character)| character.is_control() || character.is_whitespace())
        {
            return Err(UvciError::ForbiddenCharacter {
                character,
                position,
            });
        }
        Ok(Self {
            text: text.to_owned(),
            country: detect_country(&identifier_key(text)),
        })
    }

    /// The identifier exactly as it was given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The issuing country's two-letter code, uppercased, when it can be recognised after the
    /// version (`01`, `V1`) of one of the forms in dcc-spec.md §3; `None` otherwise.
    ///
    /// This is a best-effort reading for display and statistics, not a validated value: the
    /// certificate's `co`/`is` fields are the authoritative sources.
    pub fn country(&self) -> Option<&str> {
        self.country
            .as_ref()
            .and_then(|country| std::str::from_utf8(country).ok())
    }

    /// Checks the Luhn-mod-38 character after `#` against the uppercased text before it, prefix
    /// included and exactly as written (dcc-spec.md §3.2).
    pub fn checksum(&self) -> Checksum {
        let upper = self.text.to_ascii_uppercase();
        let Some((body, check)) = upper.split_once('#') else {
            return Checksum::Absent;
        };
        let mut check_characters = check.chars();
        let (Some(check), None) = (check_characters.next(), check_characters.next()) else {
            return Checksum::Invalid;
        };
        match luhn_mod_38_valid(&format!("{body}{check}")) {
            Some(true) => Checksum::Valid,
            Some(false) | None => Checksum::Invalid,
        }
    }

    /// The key under which two identifiers are the same certificate: the text before `#`,
    /// uppercased (dcc-spec.md §3.1 compares case-insensitively and excludes the checksum).
    pub fn identifier_key(&self) -> String {
        identifier_key(&self.text)
    }
}

impl fmt::Display for Uvci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Uvci {
    type Err = UvciError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl AsRef<str> for Uvci {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for UvciField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Country => "country",
            Self::Issuer => "issuer",
            Self::Opaque => "opaque part",
        })
    }
}

/// The Luhn-mod-38 check character of `text` (dcc-spec.md §3.2), or `None` when `text` contains
/// a character outside `A`–`Z`, `0`–`9`, `/` and `:`.
///
/// The caller uppercases the text first; lowercase letters are outside the alphabet. For a
/// UVCI, `text` is everything before `#`, `URN:UVCI:` prefix included.
pub fn luhn_mod_38_check(text: &str) -> Option<char> {
    // Walking from the right, the rightmost character is doubled when generating (§3.2).
    let sum = luhn_sum(text, 2)?;
    let check = (MODULUS - sum % MODULUS) % MODULUS;
    character(check)
}

/// Whether `text_with_check`, a text directly followed by its check character and without
/// the `#` between them (`URN:UVCI:01:NL:187/37512422923Z`), passes the Luhn-mod-38 test
/// (dcc-spec.md §3.2).
///
/// Returns `None` when the text is empty or contains a character outside `A`–`Z`, `0`–`9`,
/// `/` and `:` (which includes `#` and lowercase letters).
pub fn luhn_mod_38_valid(text_with_check: &str) -> Option<bool> {
    if text_with_check.is_empty() {
        return None;
    }
    // With the check character appended, the rightmost character keeps factor 1 (§3.2).
    let sum = luhn_sum(text_with_check, 1)?;
    Some(sum % MODULUS == 0)
}

/// Sums the Luhn addends of `text` from right to left, starting with `first_factor` and
/// alternating between 2 and 1.
fn luhn_sum(text: &str, first_factor: u32) -> Option<u32> {
    let mut sum = 0_u32;
    let mut factor = first_factor;
    for character in text.chars().rev() {
        let addend = factor * code_point(character)?;
        sum = (sum + addend / MODULUS + addend % MODULUS) % MODULUS;
        factor = 3 - factor;
    }
    Some(sum)
}

fn code_point(character: char) -> Option<u32> {
    if !character.is_ascii() {
        return None;
    }
    // The alphabet is ASCII, so the byte offset `find` returns is the code point.
    ALPHABET
        .find(character)
        .and_then(|index| u32::try_from(index).ok())
}

fn character(code_point: u32) -> Option<char> {
    ALPHABET.chars().nth(usize::try_from(code_point).ok()?)
}

fn identifier_key(text: &str) -> String {
    let body = text.split_once('#').map_or(text, |(body, _)| body);
    body.to_ascii_uppercase()
}

/// Finds the country code after the prefix and version of the forms listed in dcc-spec.md
/// §3.1, §3.3 and §3.4, in the uppercased identifier key.
fn detect_country(key: &str) -> Option<[u8; 2]> {
    let rest = KNOWN_PREFIXES
        .iter()
        .find_map(|prefix| key.strip_prefix(prefix))
        .unwrap_or(key);
    let version = rest.as_bytes().get(..2)?;
    let is_version = matches!(version, [b'0'..=b'9' | b'V', b'0'..=b'9']);
    if !is_version {
        return None;
    }
    let rest = rest.get(2..)?;
    let (after_version, needs_terminator) = match rest.strip_prefix([':', '/']) {
        Some(after_separator) => (after_separator, true),
        // Germany writes `01DE/` and Spain `01ES…` with no separator after the version (§3.3,
        // §3.4); there the code runs straight into the next field.
        None => (rest, false),
    };
    let (country, after_country) = after_version.as_bytes().split_first_chunk::<2>()?;
    if !country.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    // With a separator after the version, a longer code such as `UNHCR` (§3.1) is not a
    // two-letter country, so the code must be followed by a separator or the end.
    if needs_terminator && !matches!(after_country.first(), None | Some(b':' | b'/')) {
        return None;
    }
    Some(*country)
}

fn validate_country(country: &str) -> Result<(), UvciError> {
    validate_characters(UvciField::Country, country, |character| {
        character.is_ascii_uppercase()
    })?;
    let length = country.chars().count();
    if length != 2 {
        return Err(UvciError::CountryLength { length });
    }
    Ok(())
}

fn validate_issuer(issuer: &str) -> Result<(), UvciError> {
    validate_component(UvciField::Issuer, issuer, |character| character == '/')?;
    if issuer.split('/').any(str::is_empty) {
        return Err(UvciError::EmptyIssuerComponent);
    }
    Ok(())
}

/// Checks that `value` is non-empty and uses only `A`–`Z`, `0`–`9` and whatever `also_allowed`
/// accepts (§3.1 components are `[A-Z0-9]+`).
fn validate_component(
    field: UvciField,
    value: &str,
    also_allowed: impl Fn(char) -> bool,
) -> Result<(), UvciError> {
    validate_characters(field, value, |character| {
        character.is_ascii_uppercase() || character.is_ascii_digit() || also_allowed(character)
    })
}

fn validate_characters(
    field: UvciField,
    value: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<(), UvciError> {
    if value.is_empty() {
        return Err(UvciError::EmptyField { field });
    }
    match value
        .chars()
        .enumerate()
        .find(|(_, character)| !allowed(*character))
    {
        Some((position, character)) => Err(UvciError::InvalidCharacter {
            field,
            character,
            position,
        }),
        None => Ok(()),
    }
}

/// The schema's maximum length of `ci` (dcc-spec.md §3.1).
const MAX_LENGTH: usize = 80;

/// The prefix of the URN form (§3.1).
const URN_PREFIX: &str = "URN:UVCI:";

/// The only UVCI version defined so far (§3.1).
const VERSION: &str = "01";

/// Prefixes seen before the version: the URN form, the `UCI` deviation registered by one or
/// two countries (§3.1) and Cyprus's `dgci:` (§3.4). They are matched in the uppercased key.
const KNOWN_PREFIXES: [&str; 3] = [URN_PREFIX, "URN:UCI:", "DGCI:"];

/// The Luhn-mod-N alphabet in code-point order, `A` = 0 to `:` = 37 (§3.2).
const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:";

/// N, the size of [`ALPHABET`].
const MODULUS: u32 = 38;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NL_BODY: &str = "URN:UVCI:01:NL:187/37512422923";

    #[test]
    fn check_character_of_the_spec_example() {
        assert_eq!(luhn_mod_38_check(NL_BODY), Some('Z'));
    }

    #[test]
    fn check_character_is_none_outside_the_alphabet() {
        assert_eq!(luhn_mod_38_check("urn:uvci:01:nl:187/37512422923"), None);
        assert_eq!(luhn_mod_38_check("URN:UVCI:01:NL:187#Z"), None);
        assert_eq!(luhn_mod_38_check("URN:UVCI:01:NL:18Ä"), None);
    }

    #[test]
    fn validity_of_text_with_check_character() {
        assert_eq!(luhn_mod_38_valid(&format!("{NL_BODY}Z")), Some(true));
        assert_eq!(luhn_mod_38_valid(&format!("{NL_BODY}Y")), Some(false));
        assert_eq!(luhn_mod_38_valid(&format!("{NL_BODY}#Z")), None);
        assert_eq!(luhn_mod_38_valid(""), None);
    }

    #[test]
    fn single_character_errors_are_detected() {
        // Luhn mod N catches every single substitution; swap one character of the body.
        let altered = format!("{}Z", NL_BODY.replacen("187", "186", 1));
        assert_eq!(luhn_mod_38_valid(&altered), Some(false));
    }

    #[track_caller]
    fn check_form(text: &str, country: Option<&str>, checksum: Checksum, key: &str) {
        let uvci = Uvci::parse(text).unwrap();
        assert_eq!(uvci.as_str(), text);
        assert_eq!(uvci.to_string(), text);
        assert_eq!(uvci.country(), country, "country of {text}");
        assert_eq!(uvci.checksum(), checksum, "checksum of {text}");
        assert_eq!(uvci.identifier_key(), key);
    }

    #[test]
    fn urn_form_with_valid_checksum() {
        check_form(
            "URN:UVCI:01:NL:187/37512422923#Z",
            Some("NL"),
            Checksum::Valid,
            NL_BODY,
        );
    }

    #[test]
    fn lowercase_urn_form() {
        check_form(
            "urn:uvci:01:nl:187/37512422923#z",
            Some("NL"),
            Checksum::Valid,
            NL_BODY,
        );
    }

    #[test]
    fn wrong_check_character_is_invalid() {
        check_form(
            "URN:UVCI:01:NL:187/37512422923#A",
            Some("NL"),
            Checksum::Invalid,
            NL_BODY,
        );
        // A check string longer than one character can never be valid.
        check_form(
            "URN:UVCI:01:NL:187/37512422923#ZZ",
            Some("NL"),
            Checksum::Invalid,
            NL_BODY,
        );
        check_form(
            "URN:UVCI:01:NL:187/37512422923#",
            Some("NL"),
            Checksum::Invalid,
            NL_BODY,
        );
    }

    #[test]
    fn missing_check_character_is_absent() {
        check_form(NL_BODY, Some("NL"), Checksum::Absent, NL_BODY);
    }

    #[test]
    fn german_form_without_colon_after_version() {
        // Germany's check character does not follow Luhn mod 38 (§3.3).
        check_form(
            "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W",
            Some("DE"),
            Checksum::Invalid,
            "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8",
        );
    }

    #[test]
    fn german_form_without_prefix() {
        check_form(
            "01DE/IBMT102/18Q12HTUJ45NO7ZTR2RGAS#C",
            Some("DE"),
            Checksum::Invalid,
            "01DE/IBMT102/18Q12HTUJ45NO7ZTR2RGAS",
        );
    }

    #[test]
    fn reference_issuer_form_with_v1_version() {
        check_form(
            "URN:UVCI:V1:AE:8KST0RH057HI8XKW3M8K2NAD06",
            Some("AE"),
            Checksum::Absent,
            "URN:UVCI:V1:AE:8KST0RH057HI8XKW3M8K2NAD06",
        );
    }

    #[test]
    fn luxembourg_abbreviated_form() {
        check_form(
            "01/LU/2O1I84U8U12I5#UK",
            Some("LU"),
            Checksum::Invalid,
            "01/LU/2O1I84U8U12I5",
        );
    }

    #[test]
    fn cyprus_dgci_form() {
        check_form(
            "dgci:V1:CY:3PH6IK23C7GF4UIWA1Y1PZ8PBC:89",
            Some("CY"),
            Checksum::Absent,
            "DGCI:V1:CY:3PH6IK23C7GF4UIWA1Y1PZ8PBC:89",
        );
    }

    #[test]
    fn spanish_form_without_separators() {
        // The value was checked with an independent Luhn-mod-38 implementation.
        check_form(
            "01ES21VE8D20E9F2D50000000759#D",
            Some("ES"),
            Checksum::Invalid,
            "01ES21VE8D20E9F2D50000000759",
        );
    }

    #[test]
    fn unrecognisable_country_is_none() {
        check_form(
            "URN:UVCI:01:UNHCR:ABC123",
            None,
            Checksum::Absent,
            "URN:UVCI:01:UNHCR:ABC123",
        );
        check_form("ABCDEF#Q", None, Checksum::Invalid, "ABCDEF");
        check_form("0", None, Checksum::Absent, "0");
    }

    #[test]
    fn identifier_key_ignores_case_and_check_character() {
        let upper = Uvci::parse("URN:UVCI:01:NL:187/37512422923#Z").unwrap();
        let lower = Uvci::parse("urn:uvci:01:nl:187/37512422923").unwrap();
        assert_ne!(upper, lower);
        assert_eq!(upper.identifier_key(), lower.identifier_key());
    }

    #[test]
    fn parse_rejects_empty_text() {
        assert_eq!(Uvci::parse(""), Err(UvciError::Empty));
    }

    #[test]
    fn parse_accepts_80_characters_and_rejects_81() {
        let at_limit = "A".repeat(80);
        assert_eq!(Uvci::parse(&at_limit).unwrap().as_str(), at_limit);
        assert_eq!(
            Uvci::parse(&"A".repeat(81)),
            Err(UvciError::TooLong { length: 81 })
        );
        // Length counts characters, not bytes.
        assert_eq!(
            Uvci::parse(&"Ä".repeat(81)),
            Err(UvciError::TooLong { length: 81 })
        );
    }

    #[test]
    fn parse_rejects_whitespace_and_control_characters() {
        assert_eq!(
            Uvci::parse("URN:UVCI:01:NL:187 /1"),
            Err(UvciError::ForbiddenCharacter {
                character: ' ',
                position: 18
            })
        );
        assert_eq!(
            Uvci::parse("01DE/IZ1\n"),
            Err(UvciError::ForbiddenCharacter {
                character: '\n',
                position: 8
            })
        );
        assert_eq!(
            Uvci::parse("\u{7F}01"),
            Err(UvciError::ForbiddenCharacter {
                character: '\u{7F}',
                position: 0
            })
        );
    }

    #[test]
    fn from_str_matches_parse() {
        let uvci: Uvci = "01/LU/2O1I84U8U12I5#UK".parse().unwrap();
        assert_eq!(uvci, Uvci::parse("01/LU/2O1I84U8U12I5#UK").unwrap());
        assert_eq!("".parse::<Uvci>(), Err(UvciError::Empty));
    }

    #[test]
    fn build_produces_the_urn_form_with_check_character() {
        let uvci = Uvci::build("NL", "187", "37512422923").unwrap();
        assert_eq!(uvci.as_str(), "URN:UVCI:01:NL:187/37512422923#Z");
        assert_eq!(uvci.country(), Some("NL"));
        assert_eq!(uvci.checksum(), Checksum::Valid);
    }

    #[test]
    fn build_accepts_an_issuer_with_components() {
        let uvci = Uvci::build("DE", "PH/12345678", "0A1B2C3D4E5F").unwrap();
        assert!(
            uvci.as_str()
                .starts_with("URN:UVCI:01:DE:PH/12345678/0A1B2C3D4E5F#")
        );
        assert_eq!(uvci.checksum(), Checksum::Valid);
    }

    #[test]
    fn build_rejects_bad_countries() {
        let field = UvciField::Country;
        assert_eq!(
            Uvci::build("", "1", "2"),
            Err(UvciError::EmptyField { field })
        );
        assert_eq!(
            Uvci::build("nl", "1", "2"),
            Err(UvciError::InvalidCharacter {
                field,
                character: 'n',
                position: 0
            })
        );
        assert_eq!(
            Uvci::build("N1", "1", "2"),
            Err(UvciError::InvalidCharacter {
                field,
                character: '1',
                position: 1
            })
        );
        assert_eq!(
            Uvci::build("NLD", "1", "2"),
            Err(UvciError::CountryLength { length: 3 })
        );
        assert_eq!(
            Uvci::build("N", "1", "2"),
            Err(UvciError::CountryLength { length: 1 })
        );
    }

    #[test]
    fn build_rejects_bad_issuers() {
        let field = UvciField::Issuer;
        assert_eq!(
            Uvci::build("NL", "", "2"),
            Err(UvciError::EmptyField { field })
        );
        assert_eq!(
            Uvci::build("NL", "AB:C", "2"),
            Err(UvciError::InvalidCharacter {
                field,
                character: ':',
                position: 2
            })
        );
        assert_eq!(
            Uvci::build("NL", "ab", "2"),
            Err(UvciError::InvalidCharacter {
                field,
                character: 'a',
                position: 0
            })
        );
        for issuer in ["/A", "A/", "A//B", "/"] {
            assert_eq!(
                Uvci::build("NL", issuer, "2"),
                Err(UvciError::EmptyIssuerComponent),
                "issuer {issuer:?}"
            );
        }
    }

    #[test]
    fn build_rejects_bad_opaque_parts() {
        let field = UvciField::Opaque;
        assert_eq!(
            Uvci::build("NL", "1", ""),
            Err(UvciError::EmptyField { field })
        );
        assert_eq!(
            Uvci::build("NL", "1", "AB/C"),
            Err(UvciError::InvalidCharacter {
                field,
                character: '/',
                position: 2
            })
        );
        assert_eq!(
            Uvci::build("NL", "1", "ABc"),
            Err(UvciError::InvalidCharacter {
                field,
                character: 'c',
                position: 2
            })
        );
    }

    #[test]
    fn build_rejects_identifiers_over_80_characters() {
        // `URN:UVCI:01:NL:` + `1/` + opaque + `#X` is 19 characters plus the opaque part.
        assert_eq!(
            Uvci::build("NL", "1", &"A".repeat(61))
                .unwrap()
                .as_str()
                .len(),
            80
        );
        assert_eq!(
            Uvci::build("NL", "1", &"A".repeat(62)),
            Err(UvciError::TooLong { length: 81 })
        );
    }

    #[test]
    fn errors_describe_the_field() {
        let error = UvciError::InvalidCharacter {
            field: UvciField::Opaque,
            character: '/',
            position: 2,
        };
        assert_eq!(
            error.to_string(),
            "the opaque part of the UVCI contains '/' at position 2"
        );
    }

    proptest! {
        #[test]
        fn built_identifiers_parse_with_a_valid_checksum(
            country in "[A-Z]{2}",
            issuer in "[A-Z0-9]{1,8}(/[A-Z0-9]{1,8}){0,2}",
            opaque in "[A-Z0-9]{1,60}",
        ) {
            let length = "URN:UVCI:01:".len() + 2 + 1 + issuer.len() + 1 + opaque.len() + 2;
            match Uvci::build(&country, &issuer, &opaque) {
                Ok(uvci) => {
                    prop_assert!(length <= 80);
                    let parsed = Uvci::parse(uvci.as_str()).unwrap();
                    prop_assert_eq!(&parsed, &uvci);
                    prop_assert_eq!(parsed.checksum(), Checksum::Valid);
                    prop_assert_eq!(parsed.country(), Some(country.as_str()));
                }
                Err(error) => prop_assert_eq!(error, UvciError::TooLong { length }),
            }
        }

        #[test]
        fn parse_keeps_any_accepted_text_verbatim(text in "\\PC{0,90}") {
            match Uvci::parse(&text) {
                Ok(uvci) => {
                    prop_assert_eq!(uvci.as_str(), text.as_str());
                    prop_assert!(uvci.country().is_none_or(|c| c.len() == 2));
                }
                Err(error) => {
                    let expected = matches!(
                        error,
                        UvciError::Empty
                            | UvciError::TooLong { .. }
                            | UvciError::ForbiddenCharacter { .. }
                    );
                    prop_assert!(expected, "unexpected error {:?}", error);
                }
            }
        }
    }
}
