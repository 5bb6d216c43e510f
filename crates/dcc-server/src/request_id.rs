//! A request id on every request (`X-Request-Id`): taken from the client when it sends a
//! well-formed one, made up otherwise; echoed in the answer, carried by a `request` span into
//! every log line of the request, and passed on from the portal to the certificate server, so
//! one id follows a certificate across both processes' logs.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::clock;

/// The header that carries the id.
pub const HEADER: &str = "x-request-id";

/// Longest id taken from a client.
pub const MAX_LEN: usize = 64;

tokio::task_local! {
    static CURRENT: String;
}

/// Middleware: assigns the id, runs the request inside its span and echoes the id.
pub async fn assign(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|text| well_formed(text))
        .map_or_else(new_id, str::to_owned);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = CURRENT
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// The id of the request this task is serving, if any (for calls to other services).
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// 1 to [`MAX_LEN`] characters from `A–Z a–z 0–9 . _ -`.
fn well_formed(text: &str) -> bool {
    (1..=MAX_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// 32 hex digits from the system's random generator (`unavailable` if it fails).
fn new_id() -> String {
    match clock::random() {
        Ok(bytes) => hex::encode(bytes),
        Err(_) => "unavailable".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken_from_clients() {
        assert!(well_formed("req-123.a_B"));
        assert!(!well_formed(""));
        assert!(!well_formed("a b"));
        assert!(!well_formed("<script>"));
        assert!(!well_formed(&"x".repeat(MAX_LEN + 1)));
        assert_eq!(new_id().len(), 32);
    }
}
