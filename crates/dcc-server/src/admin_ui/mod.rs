//! The association administrators' web pages (issue #7), served on the admin listener next to
//! its JSON API, behind the same door: mutual TLS with an administrator certificate of the
//! service CA (CN `dcc-admin[:…]`), then a sign-in with password and TOTP of a scope-`*`
//! account.
//!
//! Built like the staff pages ([`crate::ui`]), whose pieces they share — the security headers
//! and CSP ([`crate::ui::headers`]), the language choice ([`crate::ui::locale`]), CSRF
//! comparison ([`crate::ui::csrf`]), the style sheet, htmx and the TOTP QR code — but with
//! sessions of their own: a browser session in the cookie `dcc_admin_session`, opened here and
//! bound to the admin certificate ([`session`]), never the portal's `dcc_session`.
//!
//! One file per page: [`login`] (sign in, enrolment of the second factor, sign out),
//! [`alerts`] (open and acknowledged alerts; acknowledge with a comment), [`locks`] (the
//! kill switch), [`pharmacies`] (suspend and reactivate); and [`i18n`], [`page`], [`session`].
//! Every handler parses its form, calls one `dcc_issuance` use case and renders.

use axum::Router;
use axum::middleware::from_fn;
use axum::routing::{get, post};

use crate::admin_session::AdminState;
use crate::ui::{assets, headers, locale};

pub mod alerts;
pub mod i18n;
pub mod locks;
pub mod login;
pub mod page;
pub mod pharmacies;
pub mod session;

/// The routes of the admin pages, to be merged into the admin listener's router.
pub fn routes() -> Router<AdminState> {
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
        .route("/alerts", get(alerts::view_alerts_get))
        .route("/alerts/{id}/ack", post(alerts::view_alert_ack_post))
        .route(
            "/locks",
            get(locks::view_locks_get).post(locks::view_locks_post),
        )
        .route("/locks/lift", post(locks::view_locks_lift_post))
        .route("/pharmacies", get(pharmacies::view_pharmacies_get))
        .route(
            "/pharmacies/{telematik_id}/suspend",
            post(pharmacies::view_pharmacy_suspend_post),
        )
        .route(
            "/pharmacies/{telematik_id}/reactivate",
            post(pharmacies::view_pharmacy_reactivate_post),
        )
        .route("/static/{file}", get(assets::view_static_get))
        .layer(from_fn(locale::remember_choice))
        .layer(from_fn(headers::secure))
}
