//! The form pages: `GET|POST /counter/{vaccination|recovery|test}` and the live preview
//! fragment `POST /counter/{type}/preview` (standardised names and plausibility warnings as
//! the operator types, fetched by htmx).
//!
//! Submitting runs: CSRF check → the form's own field checks → warnings (shown on a confirm
//! step unless "issue anyway" was pressed) → the issuing use case → redirect to the result.
//! The use case's field violations come back next to their fields.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::plausibility::PlausibilityWarning;
use dcc_core::transliterate::transliterate;
use dcc_core::value_sets::ValueSetKind;
use dcc_issuance::issue::IssueError;
use dcc_issuance::payload::PayloadError;
use dcc_issuance::request::RequestError;

use crate::clock;
use crate::portal::PortalState;
use crate::ui::certificate_form::{
    COVID_19, CertificateForm, field_for_pointer, german_date, german_time,
};
use crate::ui::i18n::{Lang, Msg};
use crate::ui::issuing::{self, IssueFailure};
use crate::ui::page::{Chrome, UiError, render};
use crate::ui::pickers::{self, Choice};
use crate::ui::session::CounterSession;
use crate::ui::{csrf, local_now, path_segment};

/// A certificate form page.
#[derive(Template)]
#[template(path = "certificate_form.html")]
pub struct FormPage {
    /// The frame.
    pub chrome: Chrome,
    /// `vaccination`, `recovery` or `test`.
    pub kind: &'static str,
    /// The page title.
    pub title: &'static str,
    /// The form's random token (idempotency).
    pub form_token: String,
    /// Person and event fields.
    pub groups: Vec<FieldGroup>,
    /// Problems not tied to a field (translated).
    pub general_errors: Vec<String>,
    /// Warnings to confirm (translated); non-empty on the confirm step.
    pub confirm_warnings: Vec<String>,
    /// The live preview, rendered in place for the first paint.
    pub preview: Preview,
}

/// The live preview fragment.
#[derive(Template)]
#[template(path = "preview.html")]
pub struct PreviewFragment {
    /// The frame (for texts).
    pub chrome: Chrome,
    /// Names and warnings.
    pub preview: Preview,
}

/// Standardised names and warnings of the form as typed.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// `fnt`.
    pub family_name: String,
    /// `gnt`.
    pub given_name: String,
    /// Translated warnings.
    pub warnings: Vec<String>,
}

/// A fieldset.
#[derive(Debug, Clone)]
pub struct FieldGroup {
    /// Its legend.
    pub legend: &'static str,
    /// Its fields.
    pub fields: Vec<FieldView>,
}

/// One field as shown.
#[derive(Debug, Clone)]
pub struct FieldView {
    /// Name and id (the API's field name).
    pub name: &'static str,
    /// Label.
    pub label: &'static str,
    /// Hint below the field.
    pub hint: Option<&'static str>,
    /// Current value.
    pub value: String,
    /// Translated problem, if any.
    pub error: Option<String>,
    /// The kind of control.
    pub control: Control,
}

/// How a field is entered.
#[derive(Debug, Clone)]
pub enum Control {
    /// A text input with this `inputmode`.
    Text(&'static str),
    /// A picker.
    Select(Vec<Choice>),
    /// A value fixed by the service, shown in a disabled picker.
    Fixed(String),
}

/// `GET /counter/{type}`: an empty form with today's date and a fresh form token.
pub async fn view_certificate_get(
    State(state): State<PortalState>,
    session: CounterSession,
    Path(kind): Path<String>,
) -> Response {
    let Some(kind) = certificate_type(&kind) else {
        return UiError::new(session.lang, StatusCode::NOT_FOUND, "not_found").into_response();
    };
    let Ok(random) = clock::random() else {
        return UiError::new(
            session.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "random_unavailable",
        )
        .into_response();
    };
    let now = local_now();
    let form = CertificateForm {
        form_token: hex::encode(random),
        tg: COVID_19.to_owned(),
        dt: german_date(now.date()),
        sc: german_time(now),
        ..CertificateForm::default()
    };
    let page = form_page(
        &state,
        &session,
        kind,
        &form,
        &BTreeMap::new(),
        Vec::new(),
        Vec::new(),
    );
    render(&page)
}

/// `POST /counter/{type}`: check, confirm warnings, issue, redirect to the result.
pub async fn view_certificate_post(
    State(state): State<PortalState>,
    session: CounterSession,
    Path(kind): Path<String>,
    Form(form): Form<CertificateForm>,
) -> Response {
    let lang = session.lang;
    if csrf::verify(session.csrf_token(), Some(&form.csrf)).is_err() {
        return UiError::csrf(lang).into_response();
    }
    let Some(kind) = certificate_type(&kind) else {
        return UiError::new(lang, StatusCode::NOT_FOUND, "not_found").into_response();
    };
    let now = local_now();
    let body = match form.to_request(kind, now.offset()) {
        Ok(body) => body,
        Err(problems) => {
            let errors = problems
                .iter()
                .map(|p| (p.field, lang.code_text(p.code)))
                .collect();
            let page = form_page(
                &state,
                &session,
                kind,
                &form,
                &errors,
                Vec::new(),
                Vec::new(),
            );
            return with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let warnings = form.warnings(kind, now.date(), now.offset());
    if !warnings.is_empty() && !form.confirmed() {
        let texts = warnings.iter().map(|w| warning_text(lang, *w)).collect();
        let page = form_page(
            &state,
            &session,
            kind,
            &form,
            &BTreeMap::new(),
            Vec::new(),
            texts,
        );
        return render(&page);
    }
    let body = body.to_string();
    match issuing::issue(
        &state,
        session.telematik_id(),
        session.signed_in.operator.id,
        body.as_bytes(),
        &form.form_token,
    )
    .await
    {
        Ok(issued) => {
            Redirect::to(&format!("/counter/issued/{}", path_segment(&issued.uvci))).into_response()
        }
        Err(failure) => {
            let (errors, general, status) = failure_view(lang, &failure);
            let page = form_page(&state, &session, kind, &form, &errors, general, Vec::new());
            with_status(render(&page), status)
        }
    }
}

/// `POST /counter/{type}/preview`: the preview fragment for htmx (CSRF token in the header).
pub async fn view_preview_post(
    session: CounterSession,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Form(form): Form<CertificateForm>,
) -> Response {
    let presented = csrf::header_token(&headers).or(Some(form.csrf.as_str()));
    if csrf::verify(session.csrf_token(), presented).is_err() {
        return UiError::csrf(session.lang).into_response();
    }
    let Some(kind) = certificate_type(&kind) else {
        return UiError::new(session.lang, StatusCode::NOT_FOUND, "not_found").into_response();
    };
    render(&PreviewFragment {
        chrome: session.chrome(&format!("/counter/{}", slug(kind))),
        preview: preview(session.lang, kind, &form),
    })
}

/// The translated text of a warning, with its numbers.
pub fn warning_text(lang: Lang, warning: PlausibilityWarning) -> String {
    let message = Msg::for_code(warning.code()).unwrap_or(Msg::ViolationInvalid);
    match warning {
        PlausibilityWarning::DoseAboveSeries {
            dose_number,
            total_doses,
        } => message.fill(
            lang,
            &[
                ("dose", &dose_number.to_string()),
                ("total", &total_doses.to_string()),
            ],
        ),
        PlausibilityWarning::VaccinationBeforeAuthorisation { authorised } => {
            message.fill(lang, &[("date", &german_date(authorised))])
        }
        PlausibilityWarning::RecoveryTooEarly { days }
        | PlausibilityWarning::RecoveryTooLate { days } => {
            message.fill(lang, &[("days", &days.to_string())])
        }
        _ => message.text(lang).to_owned(),
    }
}

/// The URL segment of a certificate type.
pub fn slug(kind: CertificateType) -> &'static str {
    match kind {
        CertificateType::Vaccination => "vaccination",
        CertificateType::Recovery => "recovery",
        CertificateType::Test => "test",
    }
}

/// The certificate type of a URL segment.
pub fn certificate_type(slug: &str) -> Option<CertificateType> {
    match slug {
        "vaccination" => Some(CertificateType::Vaccination),
        "recovery" => Some(CertificateType::Recovery),
        "test" => Some(CertificateType::Test),
        _ => None,
    }
}

/// The translated name of a certificate type.
pub fn type_name(kind: CertificateType) -> Msg {
    match kind {
        CertificateType::Vaccination => Msg::TypeVaccination,
        CertificateType::Recovery => Msg::TypeRecovery,
        CertificateType::Test => Msg::TypeTest,
    }
}

/// Field errors, general errors and the status of a failed issue.
fn failure_view(
    lang: Lang,
    failure: &IssueFailure,
) -> (BTreeMap<&'static str, String>, Vec<String>, StatusCode) {
    let violations = match failure {
        IssueFailure::Issue(
            IssueError::Request(RequestError::Invalid(list))
            | IssueError::Payload(PayloadError::Invalid(list)),
        ) => list.as_slice(),
        _ => &[],
    };
    let mut errors = BTreeMap::new();
    let mut general = Vec::new();
    for violation in violations {
        let text = lang.code_text(violation.code);
        match field_for_pointer(&violation.path) {
            Some(field) => {
                errors.entry(field).or_insert(text);
            }
            None => general.push(format!("{text} ({})", violation.path)),
        }
    }
    let status = if violations.is_empty() {
        general.push(lang.code_text(failure.code()));
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (errors, general, status)
}

fn preview(lang: Lang, kind: CertificateType, form: &CertificateForm) -> Preview {
    let now = local_now();
    let standardised = |name: &str| {
        let name = name.trim();
        if name.is_empty() {
            String::new()
        } else {
            transliterate(name)
        }
    };
    Preview {
        family_name: standardised(&form.family_name),
        given_name: standardised(&form.given_name),
        warnings: form
            .warnings(kind, now.date(), now.offset())
            .into_iter()
            .map(|warning| warning_text(lang, warning))
            .collect(),
    }
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

fn form_page(
    state: &PortalState,
    session: &CounterSession,
    kind: CertificateType,
    form: &CertificateForm,
    errors: &BTreeMap<&'static str, String>,
    general_errors: Vec<String>,
    confirm_warnings: Vec<String>,
) -> FormPage {
    let lang = session.lang;
    let t = |message: Msg| message.text(lang);
    let field =
        |name: &'static str, label: Msg, value: &str, hint: Option<Msg>, control| FieldView {
            name,
            label: t(label),
            hint: hint.map(t),
            value: value.to_owned(),
            error: errors.get(name).cloned(),
            control,
        };
    let text = Control::Text("text");
    let numeric = Control::Text("numeric");
    let select = |set: ValueSetKind, value: &str| Control::Select(pickers::choices(set, value));
    let person = FieldGroup {
        legend: t(Msg::Person),
        fields: vec![
            field("fn", Msg::FamilyName, &form.family_name, None, text.clone()),
            field("gn", Msg::GivenName, &form.given_name, None, text.clone()),
            field(
                "dob",
                Msg::DateOfBirth,
                &form.dob,
                Some(Msg::DateHint),
                numeric.clone(),
            ),
        ],
    };
    let country = Control::Fixed(format!(
        "{} ({})",
        pickers::display(ValueSetKind::Country, &state.country),
        state.country
    ));
    let mut event = vec![field(
        "tg",
        Msg::Disease,
        &form.tg,
        None,
        select(ValueSetKind::DiseaseAgent, &form.tg),
    )];
    match kind {
        CertificateType::Vaccination => event.extend([
            field(
                "vp",
                Msg::VaccineProphylaxis,
                &form.vp,
                None,
                select(ValueSetKind::VaccineProphylaxis, &form.vp),
            ),
            field(
                "mp",
                Msg::Product,
                &form.mp,
                None,
                select(ValueSetKind::VaccineProduct, &form.mp),
            ),
            field(
                "ma",
                Msg::Manufacturer,
                &form.ma,
                None,
                select(ValueSetKind::VaccineManufacturer, &form.ma),
            ),
            field("dn", Msg::DoseNumber, &form.dn, None, numeric.clone()),
            field("sd", Msg::TotalDoses, &form.sd, None, numeric.clone()),
            field(
                "dt",
                Msg::VaccinationDate,
                &form.dt,
                Some(Msg::DateHint),
                numeric.clone(),
            ),
        ]),
        CertificateType::Test => event.extend([
            field(
                "tt",
                Msg::TestType,
                &form.tt,
                None,
                select(ValueSetKind::TestType, &form.tt),
            ),
            field("nm", Msg::TestName, &form.nm, None, text.clone()),
            field(
                "ma",
                Msg::TestDevice,
                &form.ma,
                None,
                select(ValueSetKind::TestManufacturer, &form.ma),
            ),
            field(
                "sc",
                Msg::SampleCollected,
                &form.sc,
                Some(Msg::DateTimeHint),
                text.clone(),
            ),
            field(
                "tr",
                Msg::TestResult,
                &form.tr,
                None,
                select(ValueSetKind::TestResult, &form.tr),
            ),
            field("tc", Msg::TestingCentre, &form.tc, None, text.clone()),
        ]),
        CertificateType::Recovery => event.push(field(
            "fr",
            Msg::FirstPositive,
            &form.fr,
            Some(Msg::DateHint),
            numeric.clone(),
        )),
    }
    event.push(field(
        "co",
        Msg::Country,
        "",
        Some(Msg::CountryFixed),
        country,
    ));
    let mut general_errors = general_errors;
    if !errors.is_empty() {
        general_errors.insert(0, t(Msg::FixErrors).to_owned());
    }
    FormPage {
        chrome: session.chrome(&format!("/counter/{}", slug(kind))),
        kind: slug(kind),
        title: t(type_name(kind)),
        form_token: form.form_token.clone(),
        groups: vec![
            person,
            FieldGroup {
                legend: t(Msg::Event),
                fields: event,
            },
        ],
        general_errors,
        confirm_warnings,
        preview: preview(lang, kind, form),
    }
}
