//! Cross-site request forgery: every form carries a token the attacker's page cannot know.
//!
//! Signed-in pages use the session's `csrf_token` (hidden field `csrf` in forms, header
//! `X-CSRF-Token` on htmx requests, set through `hx-headers` on `<body>`). The login form has
//! no session yet and uses a double-submit cookie: a random token in a `SameSite=Strict`
//! cookie that must equal the form's field. Tokens are compared in constant time.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::HeaderMap;

use crate::ui::locale;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";

/// The header htmx sends the token in.
pub const HEADER: &str = "x-csrf-token";

/// The pre-session cookie of the login and enrolment forms.
pub const LOGIN_COOKIE: &str = "dcc_login_csrf";

/// A request without the right token (answered 403 with a translated page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsrfRefused;

/// Checks a presented token against the expected one (constant time; an empty expected token
/// never matches).
pub fn verify(expected: &str, presented: Option<&str>) -> Result<(), CsrfRefused> {
    match presented {
        Some(presented)
            if !expected.is_empty()
                && verify_slices_are_equal(expected.as_bytes(), presented.as_bytes()).is_ok() =>
        {
            Ok(())
        }
        _ => Err(CsrfRefused),
    }
}

/// The token of an htmx request's header.
pub fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(HEADER).and_then(|value| value.to_str().ok())
}

/// Checks the login form's field against its double-submit cookie.
pub fn verify_login(headers: &HeaderMap, presented: &str) -> Result<(), CsrfRefused> {
    let expected = locale::cookie(headers, LOGIN_COOKIE).unwrap_or_default();
    verify(&expected, Some(presented))
}

/// The `Set-Cookie` value of a fresh pre-session token.
pub fn login_cookie(token: &str) -> String {
    format!("{LOGIN_COOKIE}={token}; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    #[test]
    fn only_the_same_token_passes() {
        assert_eq!(verify("abc123", Some("abc123")), Ok(()));
        assert_eq!(verify("abc123", Some("abc124")), Err(CsrfRefused));
        assert_eq!(verify("abc123", Some("abc12")), Err(CsrfRefused));
        assert_eq!(verify("abc123", None), Err(CsrfRefused));
        assert_eq!(verify("", Some("")), Err(CsrfRefused));
    }

    #[test]
    fn login_token_must_match_its_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("dcc_login_csrf=tok1"),
        );
        assert_eq!(verify_login(&headers, "tok1"), Ok(()));
        assert_eq!(verify_login(&headers, "tok2"), Err(CsrfRefused));
        assert_eq!(verify_login(&HeaderMap::new(), ""), Err(CsrfRefused));
    }
}
