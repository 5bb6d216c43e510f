//! What every page shares: the frame around it ([`Chrome`]: language, switch, signed-in
//! operator, CSRF token for htmx) and the translated error page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::request_id;
use crate::ui::assets;
use crate::ui::i18n::{Lang, Msg};

/// The frame of a page, used by `base.html`.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's language.
    pub lang: Lang,
    /// The session's CSRF token (empty on pages without a session).
    pub csrf: String,
    /// The signed-in operator's name, if any.
    pub operator: Option<String>,
    /// Whether the operator may manage operators (shows the menu entry).
    pub can_manage: bool,
    /// The page's own path, for the language switch.
    pub path: String,
}

impl Chrome {
    /// The frame of a page without a session.
    pub fn anonymous(lang: Lang, path: &str) -> Self {
        Self {
            lang,
            csrf: String::new(),
            operator: None,
            can_manage: false,
            path: path.to_owned(),
        }
    }

    /// A text in the page's language.
    pub fn t(&self, message: Msg) -> &'static str {
        message.text(self.lang)
    }

    /// The text for a stable code in the page's language.
    pub fn code(&self, code: &str) -> String {
        self.lang.code_text(code)
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

    /// The style sheet.
    pub fn css_path(&self) -> &'static str {
        assets::css_path()
    }
}

/// Renders a template as an HTML answer (a template that fails to render is a defect and is
/// answered 500 without detail).
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The translated error page (kanidm's `UnrecoverableErrorView`): message, code and request id.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The frame.
    pub chrome: Chrome,
    /// The stable code.
    pub code: String,
    /// The request id, to quote when reporting.
    pub request_id: String,
}

/// An error answered with the translated error page.
#[derive(Debug, Clone)]
pub struct UiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, translated through [`Msg::for_code`].
    pub code: &'static str,
    /// The page's language.
    pub lang: Lang,
    /// Clear the session cookie (a session that must not be used again).
    pub clear_session: bool,
}

impl UiError {
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
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            chrome: Chrome::anonymous(self.lang, "/counter"),
            code: self.code.to_owned(),
            request_id: request_id::current().unwrap_or_default(),
        };
        let mut response = render(&page);
        *response.status_mut() = self.status;
        if self.clear_session
            && let Ok(value) = HeaderValue::from_str(&crate::ui::session::clear_cookie())
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }
}
