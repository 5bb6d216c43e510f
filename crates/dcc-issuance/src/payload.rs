//! From a pharmacy's request to the complete DCC payload: standardised names, the UVCI, the
//! country and issuer, derived recovery dates, plausibility and the strict issuing schema.

use dcc_core::model::Dcc;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::transliterate::transliterate;
use dcc_core::uvci::{Uvci, UvciError};
use dcc_core::validation::{self, Mode};
use serde_json::{Map, Value, json};
use time::{Date, Duration, OffsetDateTime};

use crate::request::IssueRequest;
use crate::violation::FieldViolation;

/// Who issues: fixed for a deployment and a pharmacy, never taken from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerContext {
    /// ISO 3166-1 alpha-2 country of issue and of the event (`co`), e.g. `DE`.
    pub country: String,
    /// The certificate issuer written into `is`, e.g. `Robert Koch-Institut`.
    pub issuer: String,
    /// The pharmacy's stable UVCI issuer segment from the registry, e.g. `APO3X7K2`.
    pub issuer_segment: String,
}

/// Why no payload could be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The request's fields are invalid; every one is listed.
    #[error("{} field(s) are invalid", .0.len())]
    Invalid(Vec<FieldViolation>),
    /// The registry's issuer segment cannot form a UVCI (a configuration fault).
    #[error("the pharmacy's issuer segment cannot form a UVCI: {0}")]
    IssuerSegment(#[source] UvciError),
}

/// The schema version this system issues: 1.3.2 is the first that allows a standardised
/// forename without a standardised surname (`fnt` OR `gnt`, dcc-spec.md §2.2), which the
/// issuing rules already accept.
pub const SCHEMA_VERSION: &str = "1.3.2";

/// Builds and validates the payload. `opaque` is the UVCI's random part (see
/// [`opaque_from_random`]); `now` is the time of issue, for plausibility checks.
pub fn build_payload(
    request: &IssueRequest,
    context: &IssuerContext,
    opaque: &str,
    now: OffsetDateTime,
) -> Result<Dcc, PayloadError> {
    let uvci = Uvci::build(&context.country, &context.issuer_segment, opaque)
        .map_err(PayloadError::IssuerSegment)?;
    let mut name = Map::new();
    for (key, standardised) in [("fn", "fnt"), ("gn", "gnt")] {
        if let Some(value) = request.name.get(key) {
            name.insert(key.to_owned(), value.clone());
            if let Some(text) = value.as_str().map(str::trim).filter(|t| !t.is_empty()) {
                name.insert(standardised.to_owned(), Value::from(transliterate(text)));
            }
        }
    }
    let mut entry = request.entry.clone();
    entry.insert("co".into(), Value::from(context.country.clone()));
    entry.insert("is".into(), Value::from(context.issuer.clone()));
    entry.insert("ci".into(), Value::from(uvci.as_str()));
    let mut violations = Vec::new();
    let prefix = format!("/{}/0", request.certificate_type.key());
    plausibility(
        request.certificate_type,
        &mut entry,
        &prefix,
        now,
        &mut violations,
    );

    let payload = json!({
        "ver": SCHEMA_VERSION,
        "nam": name,
        "dob": request.date_of_birth,
        request.certificate_type.key(): [entry],
    });
    violations.extend(
        validation::validate(&payload, Mode::Issue)
            .iter()
            .map(FieldViolation::from),
    );
    if !violations.is_empty() {
        violations.sort_by(|a, b| a.path.cmp(&b.path));
        return Err(PayloadError::Invalid(violations));
    }
    Dcc::from_json(&payload).map_err(|error| {
        PayloadError::Invalid(vec![FieldViolation::new("", "schema", error.to_string())])
    })
}

/// The UVCI's opaque part from 16 random bytes: 25 characters of `[0-9A-Z]` (128 bits).
pub fn opaque_from_random(random: &[u8; 16]) -> String {
    let mut value = u128::from_be_bytes(*random);
    let mut out = [b'0'; OPAQUE_LEN];
    for slot in out.iter_mut().rev() {
        let digit = (value % 36) as u8;
        *slot = if digit < 10 {
            b'0' + digit
        } else {
            b'A' + digit - 10
        };
        value /= 36;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// Dates that cannot be right: events in the future, and recovery dates outside the window
/// of dcc-spec.md §2.5 (valid from at least 11 days, until at most 180 days after the test).
/// "Today" is the date in Europe/Berlin, where the pharmacies are: between midnight and 01:00
/// (02:00 in summer) the UTC date is still yesterday, and a vaccination of today would
/// otherwise be "in the future".
/// Recovery `df`/`du` are derived when absent, as the German portal did (`fr` + 28 / + 180 days).
fn plausibility(
    certificate_type: CertificateType,
    entry: &mut Map<String, Value>,
    prefix: &str,
    now: OffsetDateTime,
    violations: &mut Vec<FieldViolation>,
) {
    let today = dcc_calendar::berlin::local_date(now.unix_timestamp());
    let date = |entry: &Map<String, Value>, key: &str| {
        entry.get(key).and_then(Value::as_str).and_then(|text| {
            Date::parse(text, &time::format_description::well_known::Iso8601::DATE).ok()
        })
    };
    let future = |key: &str| {
        FieldViolation::new(
            format!("{prefix}/{key}"),
            "implausible_date",
            format!("{prefix}/{key}: must not be in the future"),
        )
    };
    match certificate_type {
        CertificateType::Vaccination => {
            if date(entry, "dt").is_some_and(|dt| dt > today) {
                violations.push(future("dt"));
            }
        }
        CertificateType::Test => {
            let collected = entry.get("sc").and_then(Value::as_str).and_then(|text| {
                OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
            });
            if collected.is_some_and(|sc| sc > now + Duration::minutes(5)) {
                violations.push(future("sc"));
            }
        }
        CertificateType::Recovery => {
            let Some(first_positive) = date(entry, "fr") else {
                return;
            };
            if first_positive > today {
                violations.push(future("fr"));
                return;
            }
            for (key, days) in [("df", RECOVERY_FROM_DAYS), ("du", RECOVERY_UNTIL_DAYS)] {
                if !entry.contains_key(key) {
                    let derived = first_positive + Duration::days(days);
                    entry.insert(key.into(), Value::from(derived.to_string()));
                }
            }
            let (Some(valid_from), Some(valid_until)) = (date(entry, "df"), date(entry, "du"))
            else {
                return;
            };
            if valid_from < first_positive + Duration::days(11) {
                violations.push(FieldViolation::new(
                    format!("{prefix}/df"),
                    "implausible_date",
                    format!("{prefix}/df: must be at least 11 days after fr"),
                ));
            }
            if valid_until > first_positive + Duration::days(RECOVERY_UNTIL_DAYS)
                || valid_until < valid_from
            {
                violations.push(FieldViolation::new(
                    format!("{prefix}/du"),
                    "implausible_date",
                    format!("{prefix}/du: must lie between df and 180 days after fr"),
                ));
            } else if valid_until < today {
                violations.push(FieldViolation::new(
                    format!("{prefix}/du"),
                    "implausible_date",
                    format!("{prefix}/du: the recovery certificate would already have expired"),
                ));
            }
        }
    }
}

const OPAQUE_LEN: usize = 25;
const RECOVERY_FROM_DAYS: i64 = 28;
const RECOVERY_UNTIL_DAYS: i64 = 180;

#[cfg(test)]
mod tests {
    use dcc_core::model::Entry;
    use dcc_core::uvci::Checksum;
    use time::macros::datetime;

    use super::*;

    fn context() -> IssuerContext {
        IssuerContext {
            country: "DE".into(),
            issuer: "Robert Koch-Institut".into(),
            issuer_segment: "APO3X7K2".into(),
        }
    }

    fn request(json: &str) -> IssueRequest {
        IssueRequest::parse(json.as_bytes()).unwrap()
    }

    const NOW: OffsetDateTime = datetime!(2021-07-01 10:00 UTC);

    #[test]
    fn builds_a_complete_vaccination() {
        let request = request(
            r#"{"nam":{"fn":"Müller-Lüdenscheidt","gn":"Jürgen"},"dob":"1964-08-12",
               "v":[{"tg":"840539006","vp":"1119349007","mp":"EU/1/20/1528",
                     "ma":"ORG-100030215","dn":1,"sd":2,"dt":"2021-05-29"}]}"#,
        );
        let dcc = build_payload(&request, &context(), "ABC123", NOW).unwrap();
        assert_eq!(dcc.version, "1.3.2");
        assert_eq!(
            dcc.name.family_name_standardised.as_deref(),
            Some("MUELLER<LUEDENSCHEIDT")
        );
        assert_eq!(dcc.name.given_name_standardised.as_deref(), Some("JUERGEN"));
        let Entry::Vaccination(entry) = &dcc.entry else {
            panic!("not a vaccination")
        };
        assert_eq!(entry.country, "DE");
        assert_eq!(entry.issuer, "Robert Koch-Institut");
        let uvci = Uvci::parse(&entry.certificate_id).unwrap();
        assert!(
            entry
                .certificate_id
                .starts_with("URN:UVCI:01:DE:APO3X7K2/ABC123#")
        );
        assert_eq!(uvci.checksum(), Checksum::Valid);
    }

    #[test]
    fn derives_recovery_validity() {
        let request = request(
            r#"{"nam":{"gn":"Anna"},"dob":"1990","r":[{"tg":"840539006","fr":"2021-06-01"}]}"#,
        );
        let dcc = build_payload(&request, &context(), "X1", NOW).unwrap();
        let Entry::Recovery(entry) = &dcc.entry else {
            panic!("not a recovery")
        };
        assert_eq!(entry.valid_from, "2021-06-29");
        assert_eq!(entry.valid_until, "2021-11-28");
    }

    #[test]
    fn lists_every_invalid_field() {
        let request = request(
            r#"{"nam":{"fn":"Muster"},"dob":"1964-13-45",
               "v":[{"tg":"840539006","vp":"1119349007","mp":"EU/9/99/9999",
                     "ma":"ORG-100030215","dn":0,"sd":2,"dt":"2021-08-01"}]}"#,
        );
        let Err(PayloadError::Invalid(violations)) = build_payload(&request, &context(), "X1", NOW)
        else {
            panic!("accepted");
        };
        let found: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.path.as_str(), v.code))
            .collect();
        assert!(
            found.contains(&("/v/0/dt", "implausible_date")),
            "{found:?}"
        );
        assert!(found.contains(&("/v/0/dn", "schema")), "{found:?}");
        assert!(found.contains(&("/v/0/mp", "value_set")), "{found:?}");
        assert!(found.iter().any(|(path, _)| *path == "/dob"), "{found:?}");
    }

    #[test]
    fn today_is_the_pharmacys_date_not_the_utc_date() {
        // 23:30 UTC on 28 November is 00:30 on 29 November in Berlin.
        let late = time::macros::datetime!(2026-11-28 23:30 UTC);
        let body = |day: &str| {
            request(&format!(
                r#"{{"nam":{{"fn":"Muster"}},"dob":"1964-08-12",
                   "v":[{{"tg":"840539006","vp":"1119349007","mp":"EU/1/20/1528",
                         "ma":"ORG-100030215","dn":2,"sd":2,"dt":"{day}"}}]}}"#
            ))
        };
        assert!(build_payload(&body("2026-11-29"), &context(), "X1", late).is_ok());
        let Err(PayloadError::Invalid(violations)) =
            build_payload(&body("2026-11-30"), &context(), "X1", late)
        else {
            panic!("a date after Berlin's today was accepted");
        };
        assert_eq!(violations[0].path, "/v/0/dt");
        assert_eq!(violations[0].code, "implausible_date");
    }

    #[test]
    fn expired_recovery_window_is_refused() {
        let request = request(
            r#"{"nam":{"gn":"Anna"},"dob":"1990","r":[{"tg":"840539006","fr":"2020-12-01"}]}"#,
        );
        let Err(PayloadError::Invalid(violations)) = build_payload(&request, &context(), "X1", NOW)
        else {
            panic!("accepted");
        };
        assert_eq!(violations[0].path, "/r/0/du");
    }

    #[test]
    fn opaque_part_is_base36_and_spreads() {
        assert_eq!(opaque_from_random(&[0; 16]), "0".repeat(25));
        let all = opaque_from_random(&[0xFF; 16]);
        assert_eq!(all, "F5LXX1ZZ5PNORYNQGLHZMSP33");
        assert!(
            all.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
    }
}
