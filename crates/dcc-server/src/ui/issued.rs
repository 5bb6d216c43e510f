//! The result of issuing: `GET /counter/issued/{uvci}` with the QR code large enough to scan
//! from the screen, the UVCI and the PDF (download, or open to print); the QR as
//! `…/qr.svg` and the certificate as `…/certificate.pdf`.
//!
//! The HC1 text is fetched again from the 24-hour store of idempotent answers, for the
//! issuing pharmacy only; afterwards the pages answer "not available any more".

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcc_issuance::handover::{self, KeptCertificate};
use dcc_render::Format;
use serde::Deserialize;

use crate::clock;
use crate::portal::PortalState;
use crate::ui::certificate_page::type_name;
use crate::ui::i18n::Msg;
use crate::ui::page::{Chrome, UiError, render};
use crate::ui::path_segment;
use crate::ui::session::CounterSession;

/// The result page.
#[derive(Template)]
#[template(path = "issued.html")]
pub struct IssuedPage {
    /// The frame.
    pub chrome: Chrome,
    /// The UVCI.
    pub uvci: String,
    /// The UVCI as a path segment.
    pub link: String,
    /// The translated type.
    pub kind: &'static str,
    /// Expiry, `DD.MM.YYYY`.
    pub expires: String,
}

/// `?inline=1` opens the PDF in the browser (to print) instead of downloading it.
#[derive(Debug, Deserialize)]
pub struct PdfQuery {
    #[serde(default)]
    inline: Option<String>,
}

/// `GET /counter/issued/{uvci}`.
pub async fn view_issued_get(
    State(state): State<PortalState>,
    session: CounterSession,
    Path(uvci): Path<String>,
) -> Response {
    let certificate = match kept(&state, &session, &uvci).await {
        Ok(certificate) => certificate,
        Err(error) => return error.into_response(),
    };
    let expires = time::OffsetDateTime::from_unix_timestamp(certificate.expires_at)
        .map(|at| crate::ui::certificate_form::german_date(at.date()))
        .unwrap_or_default();
    let link = path_segment(&certificate.uvci);
    render(&IssuedPage {
        chrome: session.chrome(&format!("/counter/issued/{link}")),
        kind: session.lang.t(type_name(certificate.certificate_type)),
        uvci: certificate.uvci,
        link,
        expires,
    })
}

/// `GET /counter/issued/{uvci}/qr.svg`.
pub async fn view_issued_svg_get(
    State(state): State<PortalState>,
    session: CounterSession,
    Path(uvci): Path<String>,
) -> Response {
    rendered(&state, &session, &uvci, Format::Svg, None).await
}

/// `GET /counter/issued/{uvci}/certificate.pdf`.
pub async fn view_issued_pdf_get(
    State(state): State<PortalState>,
    session: CounterSession,
    Path(uvci): Path<String>,
    Query(query): Query<PdfQuery>,
) -> Response {
    let disposition = if query.inline.is_some() {
        "inline; filename=\"certificate.pdf\""
    } else {
        "attachment; filename=\"certificate.pdf\""
    };
    rendered(&state, &session, &uvci, Format::Pdf, Some(disposition)).await
}

async fn rendered(
    state: &PortalState,
    session: &CounterSession,
    uvci: &str,
    format: Format,
    disposition: Option<&'static str>,
) -> Response {
    let certificate = match kept(state, session, uvci).await {
        Ok(certificate) => certificate,
        Err(error) => return error.into_response(),
    };
    let hc1 = certificate.hc1;
    let bytes = match tokio::task::spawn_blocking(move || dcc_render::render(&hc1, format)).await {
        Ok(Ok(bytes)) => bytes,
        _ => {
            tracing::error!(uvci = %certificate.uvci, "render failed");
            return UiError::new(
                session.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "render_failed",
            )
            .into_response();
        }
    };
    let mut response = ([(header::CONTENT_TYPE, format.media_type())], bytes).into_response();
    if let Some(disposition) = disposition {
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static(disposition),
        );
    }
    response
}

async fn kept(
    state: &PortalState,
    session: &CounterSession,
    uvci: &str,
) -> Result<KeptCertificate, UiError> {
    let now = clock::now().unix_timestamp();
    match handover::kept_certificate(&state.store, session.telematik_id(), uvci, now).await {
        Ok(Some(certificate)) => Ok(certificate),
        Ok(None) => Err(UiError::new(
            session.lang,
            StatusCode::NOT_FOUND,
            "certificate_not_kept",
        )),
        Err(error) => {
            tracing::error!(%error, "kept certificate unavailable");
            Err(UiError::new(
                session.lang,
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
            ))
        }
    }
}
