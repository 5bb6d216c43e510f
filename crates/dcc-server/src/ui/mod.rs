//! The staff pages of the pharmacy counter (issue #5): server-rendered askama templates
//! (`templates/`), a little vendored htmx for the live parts, German by default and English
//! on request.
//!
//! One file per page or concern: [`login`] (sign in, TOTP enrolment with [`enrol_qr`], sign
//! out), [`counter`] (the start page
//! with the list of the day), [`certificate_page`] (the three forms, the live preview and the
//! confirm step) with [`certificate_form`] (form → API body, warnings, violations → fields)
//! and [`pickers`] (value-set choices), [`issuing`] (the issuing use case as the API calls it),
//! [`issued`] (the result: QR, PDF), [`operators`] (owners manage their pharmacy's operators),
//! and the cross-cutting [`i18n`], [`locale`], [`csrf`],
//! [`headers`], [`session`], [`page`] and [`assets`].
//!
//! Every answer carries the security headers of [`headers`]; every POST checks a CSRF token;
//! page requests without a session go to `/login`.

use axum::Router;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use dcc_calendar::berlin;
use time::{OffsetDateTime, UtcOffset};

use crate::clock;
use crate::portal::PortalState;

pub mod assets;
pub mod certificate_form;
pub mod certificate_page;
pub mod counter;
pub mod csrf;
pub mod enrol_qr;
pub mod headers;
pub mod i18n;
pub mod issued;
pub mod issuing;
pub mod locale;
pub mod login;
pub mod operators;
pub mod page;
pub mod pickers;
pub mod session;
pub mod statements;

/// The routes of the staff pages, to be merged into the portal's router.
pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/", get(login::view_root_get))
        .route(
            "/login",
            get(login::view_login_get).post(login::view_login_post),
        )
        .route(
            "/enrol",
            get(login::view_enrol_get).post(login::view_enrol_post),
        )
        .route("/logout", post(login::view_logout_post))
        .route("/counter", get(counter::view_counter_get))
        .route(
            "/counter/{kind}",
            get(certificate_page::view_certificate_get)
                .post(certificate_page::view_certificate_post),
        )
        .route(
            "/counter/{kind}/preview",
            post(certificate_page::view_preview_post),
        )
        .route("/counter/issued/{uvci}", get(issued::view_issued_get))
        .route(
            "/counter/issued/{uvci}/certificate.pdf",
            get(issued::view_issued_pdf_get),
        )
        .route(
            "/counter/issued/{uvci}/qr.svg",
            get(issued::view_issued_svg_get),
        )
        .route(
            "/operators",
            get(operators::view_operators_get).post(operators::view_operators_post),
        )
        .route(
            "/operators/{id}/disable",
            post(operators::view_operator_disable_post),
        )
        .route(
            "/operators/{id}/reset",
            post(operators::view_operator_reset_post),
        )
        .route("/statements", get(statements::view_statements_get))
        .route(
            "/statements/{month}/{format}",
            get(statements::view_statement_file_get),
        )
        .route("/static/{file}", get(assets::view_static_get))
        .layer(from_fn(locale::remember_choice))
        .layer(from_fn(headers::secure))
}

/// The current time in Germany (Europe/Berlin, by the EU summer-time rule).
pub fn local_now() -> OffsetDateTime {
    let now = clock::now();
    let offset = UtcOffset::from_whole_seconds(
        i32::try_from(berlin::offset_seconds(now.unix_timestamp())).unwrap_or(3600),
    )
    .unwrap_or(UtcOffset::UTC);
    now.to_offset(offset)
}

/// A value as one URL path segment: everything but unreserved characters percent-encoded
/// (a UVCI holds `/`, `#` and `:`).
pub fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
