use dcc_issuance::payload::{IssuerContext, build_payload};
use dcc_issuance::request::IssueRequest;
use time::macros::{date, datetime, offset};

use super::*;

const BERLIN_SUMMER: UtcOffset = offset!(+2);

fn vaccination() -> CertificateForm {
    CertificateForm {
        family_name: "Müller".into(),
        given_name: "Jürgen".into(),
        dob: "12.08.1964".into(),
        tg: COVID_19.into(),
        vp: "1119349007".into(),
        mp: "EU/1/20/1528".into(),
        ma: "ORG-100030215".into(),
        dn: "2".into(),
        sd: "2".into(),
        dt: "2021-06-01".into(),
        ..CertificateForm::default()
    }
}

/// The body the form makes is one the issuing use case accepts and builds a payload from.
fn builds(body: &Value, now: OffsetDateTime) {
    let request = IssueRequest::parse(body.to_string().as_bytes()).unwrap();
    let context = IssuerContext {
        country: "DE".into(),
        issuer: "Robert Koch-Institut".into(),
        issuer_segment: "APO1".into(),
    };
    build_payload(&request, &context, "0123456789ABCDEFGHIJKLMNO", now).unwrap();
}

#[test]
fn a_vaccination_form_becomes_the_api_body() {
    let body = vaccination()
        .to_request(CertificateType::Vaccination, BERLIN_SUMMER)
        .unwrap();
    assert_eq!(
        body,
        json!({"nam": {"fn": "Müller", "gn": "Jürgen"}, "dob": "1964-08-12",
               "v": [{"tg": COVID_19, "vp": "1119349007", "mp": "EU/1/20/1528",
                      "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-06-01"}]})
    );
    builds(&body, datetime!(2021-06-07 10:00 UTC));
}

#[test]
fn a_test_form_turns_local_time_into_rfc3339() {
    let form = CertificateForm {
        family_name: "Schmidt".into(),
        dob: "1990".into(),
        tg: COVID_19.into(),
        tt: "LP217198-3".into(),
        ma: "1232".into(),
        sc: "01.06.2021 09:30".into(),
        tr: "260415000".into(),
        tc: "Apotheke am Markt".into(),
        ..CertificateForm::default()
    };
    let body = form
        .to_request(CertificateType::Test, BERLIN_SUMMER)
        .unwrap();
    assert_eq!(body["t"][0]["sc"], "2021-06-01T09:30:00+02:00");
    assert_eq!(body["dob"], "1990");
    assert_eq!(body["nam"], json!({"fn": "Schmidt"}));
    assert!(body["t"][0].get("nm").is_none());
    builds(&body, datetime!(2021-06-01 10:00 UTC));
}

#[test]
fn a_recovery_form_sends_the_positive_test_only() {
    let form = CertificateForm {
        given_name: "Ana".into(),
        dob: "03.1980".into(),
        tg: COVID_19.into(),
        fr: "01.05.2021".into(),
        ..CertificateForm::default()
    };
    let body = form
        .to_request(CertificateType::Recovery, BERLIN_SUMMER)
        .unwrap();
    assert_eq!(body["r"], json!([{"tg": COVID_19, "fr": "2021-05-01"}]));
    assert_eq!(body["dob"], "1980-03");
    builds(&body, datetime!(2021-06-15 10:00 UTC));
}

#[test]
fn every_problem_of_a_form_is_reported_by_field() {
    let form = CertificateForm {
        dob: "31.02.1990".into(),
        dn: "x".into(),
        dt: "".into(),
        ..CertificateForm::default()
    };
    let problems = form
        .to_request(CertificateType::Vaccination, BERLIN_SUMMER)
        .unwrap_err();
    let found: Vec<(&str, &str)> = problems.iter().map(|p| (p.field, p.code)).collect();
    assert_eq!(
        found,
        [
            ("fn", "required"),
            ("dob", "date_format"),
            ("tg", "required"),
            ("vp", "required"),
            ("mp", "required"),
            ("ma", "required"),
            ("dn", "number_format"),
            ("sd", "required"),
            ("dt", "required"),
        ]
    );
    let test = CertificateForm {
        sc: "gestern".into(),
        ..vaccination()
    };
    let problems = test
        .to_request(CertificateType::Test, BERLIN_SUMMER)
        .unwrap_err();
    assert!(problems.contains(&FieldProblem {
        field: "sc",
        code: "datetime_format"
    }));
}

#[test]
fn warnings_follow_dcc_core_plausibility() {
    let today = date!(2021 - 06 - 07);
    let mut form = vaccination();
    assert!(
        form.warnings(CertificateType::Vaccination, today, BERLIN_SUMMER)
            .is_empty()
    );
    form.dn = "3".into();
    form.dt = "01.12.2020".into();
    let codes: Vec<&str> = form
        .warnings(CertificateType::Vaccination, today, BERLIN_SUMMER)
        .iter()
        .map(|w| w.code())
        .collect();
    assert_eq!(
        codes,
        ["dose_above_series", "vaccination_before_authorisation"]
    );
    form.dt = "08.06.2021".into();
    assert_eq!(
        form.warnings(CertificateType::Vaccination, today, BERLIN_SUMMER)[1].code(),
        "vaccination_in_future"
    );
    // Half-typed input warns about nothing.
    form.dn = "".into();
    assert!(
        form.warnings(CertificateType::Vaccination, today, BERLIN_SUMMER)
            .is_empty()
    );

    let recovery = CertificateForm {
        fr: "2021-06-01".into(),
        ..CertificateForm::default()
    };
    assert_eq!(
        recovery.warnings(CertificateType::Recovery, today, BERLIN_SUMMER)[0].code(),
        "recovery_too_early"
    );
    let test = CertificateForm {
        sc: "09.06.2021 08:00".into(),
        ..CertificateForm::default()
    };
    assert_eq!(
        test.warnings(CertificateType::Test, today, BERLIN_SUMMER)[0].code(),
        "test_in_future"
    );
}

#[test]
fn violation_pointers_lead_to_form_fields() {
    assert_eq!(field_for_pointer("/v/0/dn"), Some("dn"));
    assert_eq!(field_for_pointer("/t/0/sc"), Some("sc"));
    assert_eq!(field_for_pointer("/r/0/du"), Some("fr"));
    assert_eq!(field_for_pointer("/nam/fnt"), Some("fn"));
    assert_eq!(field_for_pointer("/nam/gn"), Some("gn"));
    assert_eq!(field_for_pointer("/nam"), Some("fn"));
    assert_eq!(field_for_pointer("/dob"), Some("dob"));
    assert_eq!(field_for_pointer("/v/0/co"), None);
    assert_eq!(field_for_pointer(""), None);
    assert_eq!(field_for_pointer("/ver"), None);
}

#[test]
fn dates_and_times_are_read_in_both_spellings() {
    assert_eq!(parse_date("1.2.2021"), Some(date!(2021 - 02 - 01)));
    assert_eq!(parse_date("2021-02-01"), Some(date!(2021 - 02 - 01)));
    assert_eq!(parse_date("21-02-01"), None);
    assert_eq!(
        parse_local_time("2021-02-01T07:05", offset!(+1)),
        Some(datetime!(2021-02-01 07:05 +1))
    );
    assert_eq!(german_date(date!(2021 - 02 - 01)), "01.02.2021");
    assert_eq!(
        german_time(datetime!(2021-02-01 07:05 +1)),
        "01.02.2021 07:05"
    );
}
