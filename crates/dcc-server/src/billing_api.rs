//! Pharmacies fetch their monthly statements over the portal (mutual TLS):
//! `GET /api/billing/statements` lists the caller's months, and
//! `GET /api/billing/statements/{month}` returns one as PDF, CSV or JSON (`Accept`). Only the
//! caller's own pharmacy is reachable: the Telematik-ID comes from the TLS identity, never from
//! the request. Each fetch is recorded with its audit entry.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use dcc_billing::month::BillingMonth;
use dcc_billing::render::Format;
use dcc_issuance::billing::{Billing, RenderedStatement};
use serde_json::json;

use crate::clock;
use crate::error::ApiError;
use crate::identity::PharmacyIdentity;
use crate::portal::PortalState;

/// `GET /api/billing/statements`: the caller's closed months, newest first.
pub(crate) async fn statements_list(
    State(state): State<PortalState>,
    pharmacy: PharmacyIdentity,
) -> Result<Response, ApiError> {
    let billing = Billing {
        store: &state.store,
        settings: &state.billing,
    };
    let statements = billing.list(&pharmacy.telematik_id).await?;
    let items: Vec<_> = statements
        .iter()
        .map(|s| {
            json!({
                "month": s.month,
                "issued": s.issued,
                "billed": s.billed,
                "total_cents": s.total_cents,
                "content_hash": s.content_hash,
                "closed_at": dcc_core::verify::format_time(s.closed_at),
            })
        })
        .collect();
    Ok(Json(json!({ "statements": items })).into_response())
}

/// `GET /api/billing/statements/{month}`: the caller's statement in the format `Accept` asks for.
pub(crate) async fn statements_get(
    State(state): State<PortalState>,
    pharmacy: PharmacyIdentity,
    Path(month): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let month = BillingMonth::parse(&month).map_err(|_| ApiError::InvalidMonth)?;
    let format = format_from_accept(headers.get(header::ACCEPT))?;
    let billing = Billing {
        store: &state.store,
        settings: &state.billing,
    };
    let now = clock::now().unix_timestamp();
    let rendered = billing
        .fetch(&pharmacy.telematik_id, month, format, now)
        .await?;
    Ok(statement_response(month, format, rendered))
}

/// The rendered statement with its media type, a file name and the content hash.
fn statement_response(
    month: BillingMonth,
    format: Format,
    rendered: RenderedStatement,
) -> Response {
    let disposition = format!(
        "attachment; filename=\"abrechnung-{month}.{}\"",
        format.extension()
    );
    let mut response = (
        [(header::CONTENT_TYPE, rendered.media_type)],
        rendered.bytes,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&rendered.content_hash) {
        response.headers_mut().insert("x-content-sha256", value);
    }
    response
}

/// The first acceptable format in `Accept`; JSON when the header is missing or allows any.
fn format_from_accept(accept: Option<&HeaderValue>) -> Result<Format, ApiError> {
    let Some(accept) = accept.and_then(|value| value.to_str().ok()) else {
        return Ok(Format::Json);
    };
    for media_type in accept
        .split(',')
        .map(|part| part.split(';').next().unwrap_or("").trim())
    {
        match media_type {
            "application/pdf" => return Ok(Format::Pdf),
            "text/csv" => return Ok(Format::Csv),
            "application/json" | "application/*" | "*/*" => return Ok(Format::Json),
            _ => {}
        }
    }
    Err(ApiError::StatementNotAcceptable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_first_known_format() {
        let parse = |text: &str| format_from_accept(Some(&HeaderValue::from_str(text).unwrap()));
        assert_eq!(parse("application/pdf").unwrap(), Format::Pdf);
        assert_eq!(
            parse("text/csv;q=0.9, application/pdf").unwrap(),
            Format::Csv
        );
        assert_eq!(parse("*/*").unwrap(), Format::Json);
        assert_eq!(format_from_accept(None).unwrap(), Format::Json);
        assert!(matches!(
            parse("image/png"),
            Err(ApiError::StatementNotAcceptable)
        ));
    }
}
