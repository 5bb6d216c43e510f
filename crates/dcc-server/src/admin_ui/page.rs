//! What every administrators' page shares: the frame ([`AdminChrome`]: language, switch,
//! signed-in administrator, CSRF token), local times, and the translated error page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcc_calendar::berlin;
use time::{OffsetDateTime, UtcOffset};

use crate::admin_ui::i18n::AdminMsg;
use crate::admin_ui::session;
use crate::request_id;
use crate::ui::assets;
use crate::ui::i18n::Lang;
use crate::ui::page::render;

/// The frame of an administrators' page, used by `admin/base.html`.
#[derive(Debug, Clone)]
pub struct AdminChrome {
    /// The page's language.
    pub lang: Lang,
    /// The session's CSRF token (empty on pages without a session).
    pub csrf: String,
    /// The signed-in administrator's username, if any.
    pub administrator: Option<String>,
    /// The page's own path, for the language switch.
    pub path: String,
}

impl AdminChrome {
    /// The frame of a page without a session.
    pub fn anonymous(lang: Lang, path: &str) -> Self {
        Self {
            lang,
            csrf: String::new(),
            administrator: None,
            path: path.to_owned(),
        }
    }

    /// A text in the page's language.
    pub fn t(&self, message: AdminMsg) -> &'static str {
        message.text(self.lang)
    }

    /// The text for a stable code in the page's language.
    pub fn code(&self, code: &str) -> String {
        AdminMsg::code_text(self.lang, code)
    }

    /// The link of the language switch.
    pub fn switch_href(&self) -> String {
        format!("{}?lang={}", self.path, self.lang.other().code())
    }

    /// `hx-headers` of `<body>`: the CSRF token on every htmx request.
    pub fn hx_headers(&self) -> String {
        format!("{{\"X-CSRF-Token\":\"{}\"}}", self.csrf)
    }

    /// The vendored htmx.
    pub fn htmx_path(&self) -> &'static str {
        assets::HTMX_PATH
    }

    /// The style sheet (the staff pages').
    pub fn css_path(&self) -> &'static str {
        assets::css_path()
    }
}

/// A unix time as local German time (Europe/Berlin), `YYYY-MM-DD HH:MM`.
pub fn local_time(unix: i64) -> String {
    let offset = i32::try_from(berlin::offset_seconds(unix))
        .ok()
        .and_then(|seconds| UtcOffset::from_whole_seconds(seconds).ok())
        .unwrap_or(UtcOffset::UTC);
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(at) => {
            let at = at.to_offset(offset);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute()
            )
        }
        Err(_) => unix.to_string(),
    }
}

/// The translated error page: message, code and request id.
#[derive(Template)]
#[template(path = "admin/error.html")]
pub struct AdminErrorPage {
    /// The frame.
    pub chrome: AdminChrome,
    /// The stable code.
    pub code: String,
    /// The request id, to quote when reporting.
    pub request_id: String,
}

/// An error answered with the translated error page.
#[derive(Debug, Clone)]
pub struct AdminUiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, translated through [`AdminMsg::for_code`].
    pub code: &'static str,
    /// The page's language.
    pub lang: Lang,
    /// Clear the session cookie (a session that must not be used again).
    pub clear_session: bool,
}

impl AdminUiError {
    /// An error page with this status and code.
    pub fn new(lang: Lang, status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            lang,
            clear_session: false,
        }
    }

    /// The 403 answer of a missing or wrong CSRF token.
    pub fn csrf(lang: Lang) -> Self {
        Self::new(lang, StatusCode::FORBIDDEN, "csrf_invalid")
    }

    /// The 503 answer of a database that failed.
    pub fn store(lang: Lang) -> Self {
        Self::new(lang, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    }
}

impl IntoResponse for AdminUiError {
    fn into_response(self) -> Response {
        let page = AdminErrorPage {
            chrome: AdminChrome::anonymous(self.lang, "/alerts"),
            code: self.code.to_owned(),
            request_id: request_id::current().unwrap_or_default(),
        };
        let mut response = render(&page);
        *response.status_mut() = self.status;
        if self.clear_session
            && let Ok(value) = HeaderValue::from_str(&session::clear_cookie())
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_german_local_time() {
        // 2021-07-01T20:30:00Z is 22:30 in summer, 2021-12-01T20:30:00Z 21:30 in winter.
        assert_eq!(local_time(1_625_171_400), "2021-07-01 22:30");
        assert_eq!(local_time(1_638_390_600), "2021-12-01 21:30");
    }
}
