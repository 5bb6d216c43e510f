//! Which language a page is shown in: `?lang=` when given (and then remembered in the `lang`
//! cookie for a year), else the `lang` cookie, else German.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::ui::i18n::Lang;

/// The cookie that remembers the choice.
pub const COOKIE: &str = "lang";

/// The chosen language of a request (an extractor; never fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locale(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(language(parts.uri.query(), &parts.headers)))
    }
}

/// The language for a query string and request headers.
pub fn language(query: Option<&str>, headers: &HeaderMap) -> Lang {
    query_choice(query)
        .or_else(|| cookie(headers, COOKIE).and_then(|value| Lang::parse(&value)))
        .unwrap_or_default()
}

/// Middleware: a `?lang=` choice is remembered in the cookie.
pub async fn remember_choice(request: Request, next: Next) -> Response {
    let choice = query_choice(request.uri().query());
    let mut response = next.run(request).await;
    if let Some(lang) = choice {
        let cookie = format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; Secure; SameSite=Strict",
            lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The value of the cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

fn query_choice(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "lang")
        .and_then(|(_, value)| Lang::parse(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie_line: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie_line).unwrap());
        headers
    }

    #[test]
    fn query_beats_cookie_beats_default() {
        assert_eq!(language(None, &HeaderMap::new()), Lang::De);
        assert_eq!(language(None, &headers("a=b; lang=en")), Lang::En);
        assert_eq!(language(Some("x=1&lang=de"), &headers("lang=en")), Lang::De);
        assert_eq!(language(Some("lang=xx"), &headers("lang=en")), Lang::En);
        assert_eq!(
            cookie(&headers("dcc_session=abc; lang=en"), "dcc_session").as_deref(),
            Some("abc")
        );
    }
}
