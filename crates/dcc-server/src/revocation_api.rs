//! `GET /revocation-list`: the revoked, unexpired certificates of this issuer in the EU
//! gateway's batch format (`{"batches": [{country, expires, kid, hashType, entries}]}`), with
//! `Last-Modified` (the latest revocation) and `If-Modified-Since` (304 when nothing changed).

use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcc_issuance::revocation;
use serde_json::json;

use crate::clock;
use crate::error::ApiError;
use crate::portal::PortalState;

/// `GET /revocation-list`.
pub async fn revocation_list_get(
    State(state): State<PortalState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = clock::now().unix_timestamp();
    let (batches, last_revoked_at) = revocation::published(&state.store, &state.country, now)
        .await
        .map_err(|error| {
            tracing::error!(%error, "reading the revocation list failed");
            ApiError::RevocationList
        })?;
    // Seconds are what HTTP dates carry; a list without revocations is as old as 1970.
    let modified = system_time(last_revoked_at.unwrap_or(0));
    let unchanged = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| httpdate::parse_http_date(text).ok())
        .is_some_and(|since| modified <= since);
    let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
    if unchanged {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::LAST_MODIFIED, last_modified)],
        )
            .into_response());
    }
    let body = json!({ "batches": batches });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::LAST_MODIFIED, last_modified),
        ],
        body.to_string(),
    )
        .into_response())
}

fn system_time(unix_seconds: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(unix_seconds).unwrap_or(0))
}
