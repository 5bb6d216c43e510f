//! The static files of the staff pages, compiled in: the vendored htmx and the style sheet.
//! Their paths carry a version or a content hash, so they are cached for a year.

use std::sync::LazyLock;

use aws_lc_rs::digest::{SHA256, digest};
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The path of the vendored htmx (see `static/README.md`).
pub const HTMX_PATH: &str = "/static/htmx-2.0.11.min.js";

/// The path of the style sheet: its name carries the first 8 bytes of its SHA-256, so a
/// changed sheet gets a new URL and the year-long cache never serves a stale one.
pub fn css_path() -> &'static str {
    &CSS_PATH
}

/// `GET /static/{file}`.
pub async fn view_static_get(Path(file): Path<String>) -> Response {
    let (body, media_type): (&'static [u8], &str) = if format!("/static/{file}") == HTMX_PATH {
        (HTMX, "text/javascript; charset=utf-8")
    } else if format!("/static/{file}") == *CSS_PATH {
        (CSS, "text/css; charset=utf-8")
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(media_type))],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

static CSS_PATH: LazyLock<String> = LazyLock::new(|| {
    let hash = digest(&SHA256, CSS);
    let short: String = hash
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("/static/counter-{short}.css")
});

const HTMX: &[u8] = include_bytes!("../../static/htmx-2.0.11.min.js");
const CSS: &[u8] = include_bytes!("../../static/counter.css");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_version_or_hash() {
        assert!(css_path().starts_with("/static/counter-"));
        assert_eq!(
            css_path().len(),
            "/static/counter-0123456789abcdef.css".len()
        );
        assert!(HTMX.starts_with(b"var htmx="));
    }
}
