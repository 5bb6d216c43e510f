//! The three certificate forms as typed: parsing what the operator wrote (German or ISO
//! dates, local times) into the JSON body of `POST /api/certify/v2/issue`, the plausibility
//! warnings of `dcc_core::plausibility`, and the way back from a violation's JSON pointer to
//! the form field it concerns.
//!
//! Form field names are the API's field names (`fn`, `dob`, `dn`, `sc`…), so a violation at
//! `/v/0/dn` belongs to the field `dn`.

use dcc_core::model::certificate_type::CertificateType;
use dcc_core::plausibility::{self, PlausibilityWarning};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The disease agent preselected in every form: COVID-19 (SNOMED CT 840539006).
pub const COVID_19: &str = "840539006";

/// A form as submitted; every field is text, absent fields are empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CertificateForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// The per-form random token the idempotency key is made of.
    pub form_token: String,
    /// Set by the "issue anyway" button of the confirm step.
    pub confirm: String,
    /// Family name.
    #[serde(rename = "fn")]
    pub family_name: String,
    /// Given name.
    #[serde(rename = "gn")]
    pub given_name: String,
    /// Date of birth.
    pub dob: String,
    /// Disease or agent targeted.
    pub tg: String,
    /// Vaccine or prophylaxis.
    pub vp: String,
    /// Vaccine product.
    pub mp: String,
    /// Manufacturer (vaccination) or test device (test).
    pub ma: String,
    /// Dose number.
    pub dn: String,
    /// Doses in the series.
    pub sd: String,
    /// Date of vaccination.
    pub dt: String,
    /// Type of test.
    pub tt: String,
    /// Test name (NAAT).
    pub nm: String,
    /// Sample collection, local time.
    pub sc: String,
    /// Test result.
    pub tr: String,
    /// Testing centre.
    pub tc: String,
    /// First positive test.
    pub fr: String,
}

/// A field the form itself refuses before anything is sent to the use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldProblem {
    /// The form field (the API's field name).
    pub field: &'static str,
    /// The code (`required`, `date_format`, `datetime_format`, `number_format`).
    pub code: &'static str,
}

impl CertificateForm {
    /// Whether the operator confirmed issuing despite warnings.
    pub fn confirmed(&self) -> bool {
        !self.confirm.is_empty()
    }

    /// The request body for the issuing use case, or every field problem at once.
    /// `offset` is the local time's offset at the moment of issuing (Europe/Berlin).
    pub fn to_request(
        &self,
        kind: CertificateType,
        offset: UtcOffset,
    ) -> Result<Value, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut name = Map::new();
        for (key, value) in [("fn", &self.family_name), ("gn", &self.given_name)] {
            if !value.trim().is_empty() {
                name.insert(key.to_owned(), Value::from(value.trim()));
            }
        }
        if name.is_empty() {
            problems.push(required("fn"));
        }
        let dob = partial_date(&self.dob, &mut problems, "dob");
        let mut entry = Map::new();
        text(&mut entry, "tg", &self.tg, &mut problems);
        match kind {
            CertificateType::Vaccination => {
                text(&mut entry, "vp", &self.vp, &mut problems);
                text(&mut entry, "mp", &self.mp, &mut problems);
                text(&mut entry, "ma", &self.ma, &mut problems);
                number(&mut entry, "dn", &self.dn, &mut problems);
                number(&mut entry, "sd", &self.sd, &mut problems);
                if let Some(date) = full_date(&self.dt, &mut problems, "dt") {
                    entry.insert("dt".into(), Value::from(iso_date(date)));
                }
            }
            CertificateType::Test => {
                text(&mut entry, "tt", &self.tt, &mut problems);
                optional(&mut entry, "nm", &self.nm);
                optional(&mut entry, "ma", &self.ma);
                match parse_local_time(&self.sc, offset) {
                    Some(collected) => {
                        entry.insert("sc".into(), Value::from(rfc3339(collected)));
                    }
                    None if self.sc.trim().is_empty() => problems.push(required("sc")),
                    None => problems.push(FieldProblem {
                        field: "sc",
                        code: "datetime_format",
                    }),
                }
                text(&mut entry, "tr", &self.tr, &mut problems);
                optional(&mut entry, "tc", &self.tc);
            }
            CertificateType::Recovery => {
                if let Some(date) = full_date(&self.fr, &mut problems, "fr") {
                    entry.insert("fr".into(), Value::from(iso_date(date)));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(json!({ "nam": name, "dob": dob, kind.key(): [entry] }))
    }

    /// The plausibility warnings of what is filled in so far (`today` in local time).
    /// Fields that cannot be read yet give no warning.
    pub fn warnings(
        &self,
        kind: CertificateType,
        today: Date,
        offset: UtcOffset,
    ) -> Vec<PlausibilityWarning> {
        match kind {
            CertificateType::Vaccination => {
                let (Some(dose), Some(total), Some(date)) = (
                    self.dn.trim().parse::<u32>().ok(),
                    self.sd.trim().parse::<u32>().ok(),
                    parse_date(&self.dt),
                ) else {
                    return Vec::new();
                };
                plausibility::vaccination(self.mp.trim(), dose, total, date, today)
            }
            CertificateType::Test => parse_local_time(&self.sc, offset)
                .map(|collected| plausibility::test(collected.date(), today))
                .unwrap_or_default(),
            CertificateType::Recovery => parse_date(&self.fr)
                .map(|first_positive| plausibility::recovery(first_positive, today))
                .unwrap_or_default(),
        }
    }
}

/// The form field a violation's JSON pointer concerns (`/v/0/dn` → `dn`, `/nam/fnt` →
/// `fn`), or `None` for a problem of the whole request.
pub fn field_for_pointer(pointer: &str) -> Option<&'static str> {
    let mut parts = pointer.trim_start_matches('/').split('/');
    let field = match (parts.next()?, parts.next(), parts.next()) {
        ("nam", None, _) => "fn",
        ("nam", Some("fn" | "fnt"), _) => "fn",
        ("nam", Some("gn" | "gnt"), _) => "gn",
        ("dob", _, _) => "dob",
        ("v" | "t" | "r", Some(_), Some(key)) => return entry_field(key),
        _ => return None,
    };
    Some(field)
}

/// Reads a date written `DD.MM.YYYY` or `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    if let Some((day, rest)) = text.split_once('.') {
        let (month, year) = rest.split_once('.')?;
        return date_of(year, month, day);
    }
    let mut parts = text.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    date_of(year, month, day)
}

/// Reads a local time written `DD.MM.YYYY HH:MM` or `YYYY-MM-DD HH:MM` (or with `T`) at the
/// given offset.
pub fn parse_local_time(text: &str, offset: UtcOffset) -> Option<OffsetDateTime> {
    let text = text.trim();
    let (date, time) = text.split_once([' ', 'T'])?;
    let (hour, minute) = time.trim().split_once(':')?;
    let time = Time::from_hms(hour.parse().ok()?, minute.get(..2)?.parse().ok()?, 0).ok()?;
    Some(PrimitiveDateTime::new(parse_date(date)?, time).assume_offset(offset))
}

/// A date as `DD.MM.YYYY`, the way the form shows it.
pub fn german_date(date: Date) -> String {
    format!(
        "{:02}.{:02}.{:04}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// A local time as `DD.MM.YYYY HH:MM`.
pub fn german_time(time: OffsetDateTime) -> String {
    format!(
        "{} {:02}:{:02}",
        german_date(time.date()),
        time.hour(),
        time.minute()
    )
}

fn entry_field(key: &str) -> Option<&'static str> {
    Some(match key {
        "tg" => "tg",
        "vp" => "vp",
        "mp" => "mp",
        "ma" => "ma",
        "dn" => "dn",
        "sd" => "sd",
        "dt" => "dt",
        "tt" => "tt",
        "nm" => "nm",
        "sc" => "sc",
        "tr" => "tr",
        "tc" => "tc",
        "fr" => "fr",
        // Derived from `fr` by the server.
        "df" | "du" => "fr",
        _ => return None,
    })
}

fn required(field: &'static str) -> FieldProblem {
    FieldProblem {
        field,
        code: "required",
    }
}

fn text(
    entry: &mut Map<String, Value>,
    key: &'static str,
    value: &str,
    problems: &mut Vec<FieldProblem>,
) {
    if value.trim().is_empty() {
        problems.push(required(key));
    } else {
        entry.insert(key.to_owned(), Value::from(value.trim()));
    }
}

fn optional(entry: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.trim().is_empty() {
        entry.insert(key.to_owned(), Value::from(value.trim()));
    }
}

fn number(
    entry: &mut Map<String, Value>,
    key: &'static str,
    value: &str,
    problems: &mut Vec<FieldProblem>,
) {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=9).contains(&n) => {
            entry.insert(key.to_owned(), Value::from(n));
        }
        _ if value.trim().is_empty() => problems.push(required(key)),
        _ => problems.push(FieldProblem {
            field: key,
            code: "number_format",
        }),
    }
}

fn full_date(value: &str, problems: &mut Vec<FieldProblem>, field: &'static str) -> Option<Date> {
    if value.trim().is_empty() {
        problems.push(required(field));
        return None;
    }
    let date = parse_date(value);
    if date.is_none() {
        problems.push(FieldProblem {
            field,
            code: "date_format",
        });
    }
    date
}

/// A date of birth may be partial (`YYYY`, `YYYY-MM`, `MM.YYYY`) as the schema allows.
fn partial_date(value: &str, problems: &mut Vec<FieldProblem>, field: &'static str) -> String {
    let text = value.trim();
    if text.is_empty() {
        problems.push(required(field));
        return String::new();
    }
    if let Some(date) = parse_date(text) {
        return iso_date(date);
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let partial = match text.split_once(['-', '.']) {
        None if digits(text, 4) => Some(text.to_owned()),
        Some((year, month)) if digits(year, 4) && digits(month, 2) => {
            Some(format!("{year}-{month}"))
        }
        Some((month, year)) if digits(year, 4) && digits(month, 2) => {
            Some(format!("{year}-{month}"))
        }
        _ => None,
    };
    partial.unwrap_or_else(|| {
        problems.push(FieldProblem {
            field,
            code: "date_format",
        });
        String::new()
    })
}

fn date_of(year: &str, month: &str, day: &str) -> Option<Date> {
    if year.trim().len() != 4 {
        return None;
    }
    let month = Month::try_from(month.trim().parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.trim().parse().ok()?, month, day.trim().parse().ok()?).ok()
}

fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn rfc3339(time: OffsetDateTime) -> String {
    let offset = time.offset();
    let (hours, minutes, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!(
        "{}T{:02}:{:02}:00{sign}{:02}:{:02}",
        iso_date(time.date()),
        time.hour(),
        time.minute(),
        hours.unsigned_abs(),
        minutes.unsigned_abs()
    )
}

#[cfg(test)]
#[path = "certificate_form_tests.rs"]
mod tests;
