//! `GET /counter`: the start page — the three certificate types and the pharmacy's
//! certificates of the day (time, type, UVCI, operator; no personal data of the holders, the
//! ledger holds none).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dcc_calendar::berlin;
use dcc_issuance::handover;

use crate::portal::PortalState;
use crate::ui::certificate_page::{slug, type_name};
use crate::ui::i18n::Msg;
use crate::ui::page::{Chrome, UiError, render};
use crate::ui::session::CounterSession;
use crate::ui::{local_now, path_segment};

/// The start page.
#[derive(Template)]
#[template(path = "counter.html")]
pub struct CounterPage {
    /// The frame.
    pub chrome: Chrome,
    /// Links to the three forms: (path segment, label).
    pub types: Vec<(&'static str, &'static str)>,
    /// Today's certificates, newest first.
    pub today: Vec<DayLine>,
}

/// One certificate of the day.
#[derive(Debug, Clone)]
pub struct DayLine {
    /// Local time `HH:MM`.
    pub time: String,
    /// Translated type.
    pub kind: &'static str,
    /// Who issued it (empty for certificates from before operator accounts).
    pub operator: String,
    /// Whether it has been revoked.
    pub revoked: bool,
    /// The UVCI.
    pub uvci: String,
    /// The UVCI as a path segment (link to the result while it is kept).
    pub link: String,
}

/// `GET /counter`.
pub async fn view_counter_get(
    State(state): State<PortalState>,
    session: CounterSession,
) -> Response {
    let lang = session.lang;
    let now = local_now();
    let from = berlin::start_of_day(now.date());
    let until = from + 26 * 3600;
    let lines =
        match handover::issued_between(&state.store, session.telematik_id(), from, until).await {
            Ok(lines) => lines,
            Err(error) => {
                tracing::error!(%error, "day list unavailable");
                return UiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
                    .into_response();
            }
        };
    let today = lines
        .into_iter()
        .filter(|line| berlin::local_date(line.issued_at) == now.date())
        .map(|line| {
            let local = line.issued_at + berlin::offset_seconds(line.issued_at);
            let seconds_of_day = local.rem_euclid(86_400);
            DayLine {
                time: format!(
                    "{:02}:{:02}",
                    seconds_of_day / 3600,
                    seconds_of_day % 3600 / 60
                ),
                kind: lang.t(type_name(handover::certificate_type(line.certificate_type))),
                operator: line.operator_username.unwrap_or_default(),
                revoked: line.revoked,
                link: path_segment(&line.uvci),
                uvci: line.uvci,
            }
        })
        .collect();
    let types = dcc_core::model::certificate_type::CertificateType::ALL
        .into_iter()
        .map(|kind| (slug(kind), lang.t(type_name(kind))))
        .collect();
    render(&CounterPage {
        chrome: session.chrome("/counter"),
        types,
        today,
    })
}
