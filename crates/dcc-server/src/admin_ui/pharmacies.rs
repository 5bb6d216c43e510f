//! The pharmacies page: `GET /pharmacies` (every registered pharmacy with its status) and
//! `POST /pharmacies/{telematik_id}/suspend|reactivate`, through the registry's use cases
//! (`dcc_issuance::registry`), which audit each change with the administrator as actor. The
//! use cases take no reason: the audit entry records who and when.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dcc_issuance::registry::{self, RegistryError};
use dcc_store::pharmacies::PharmacyStatus;
use serde::Deserialize;

use crate::admin_session::AdminState;
use crate::admin_ui::i18n::AdminMsg;
use crate::admin_ui::login::CsrfForm;
use crate::admin_ui::page::{AdminChrome, AdminUiError};
use crate::admin_ui::session::AdminPage;
use crate::clock;
use crate::ui::csrf;
use crate::ui::page::render;
use crate::ui::path_segment;

/// The pharmacies page.
#[derive(Template)]
#[template(path = "admin/pharmacies.html")]
pub struct PharmaciesPage {
    /// The frame.
    pub chrome: AdminChrome,
    /// The pharmacies.
    pub pharmacies: Vec<PharmacyLine>,
    /// A notice code to show.
    pub notice: Option<String>,
}

/// One pharmacy as the page shows it.
#[derive(Debug, Clone)]
pub struct PharmacyLine {
    /// Its Telematik-ID.
    pub telematik_id: String,
    /// The Telematik-ID as a path segment.
    pub path: String,
    /// An id for the page's elements.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Whether it may issue.
    pub active: bool,
}

/// `?m=` (a notice code).
#[derive(Debug, Deserialize)]
pub struct PharmaciesQuery {
    m: Option<String>,
}

/// `GET /pharmacies`.
pub async fn view_pharmacies_get(
    State(state): State<AdminState>,
    page: AdminPage,
    Query(query): Query<PharmaciesQuery>,
) -> Response {
    let notice = query
        .m
        .filter(|code| matches!(code.as_str(), "suspended" | "reactivated"));
    let Ok(pharmacies) = registry::list(&state.store).await else {
        return AdminUiError::store(page.lang).into_response();
    };
    let pharmacies = pharmacies
        .iter()
        .map(|pharmacy| PharmacyLine {
            telematik_id: pharmacy.telematik_id.clone(),
            path: path_segment(&pharmacy.telematik_id),
            key: element_key(&pharmacy.telematik_id),
            name: pharmacy.name.clone(),
            active: pharmacy.status == PharmacyStatus::Active,
        })
        .collect();
    render(&PharmaciesPage {
        chrome: page.chrome("/pharmacies"),
        pharmacies,
        notice,
    })
}

/// `POST /pharmacies/{telematik_id}/suspend`.
pub async fn view_pharmacy_suspend_post(
    state: State<AdminState>,
    page: AdminPage,
    Path(telematik_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    change(state, page, &telematik_id, &form, Change::Suspend).await
}

/// `POST /pharmacies/{telematik_id}/reactivate`.
pub async fn view_pharmacy_reactivate_post(
    state: State<AdminState>,
    page: AdminPage,
    Path(telematik_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    change(state, page, &telematik_id, &form, Change::Reactivate).await
}

enum Change {
    Suspend,
    Reactivate,
}

async fn change(
    State(state): State<AdminState>,
    page: AdminPage,
    telematik_id: &str,
    form: &CsrfForm,
    change: Change,
) -> Response {
    if csrf::verify(&page.csrf_token, Some(&form.csrf)).is_err() {
        return AdminUiError::csrf(page.lang).into_response();
    }
    let actor = page.actor();
    let now = clock::now().unix_timestamp();
    let (result, notice) = match change {
        Change::Suspend => (
            registry::suspend(&state.store, &actor, telematik_id, now).await,
            "suspended",
        ),
        Change::Reactivate => (
            registry::reactivate(&state.store, &actor, telematik_id, now).await,
            "reactivated",
        ),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/pharmacies?m={notice}")).into_response(),
        Err(RegistryError::NotFound { .. } | RegistryError::InvalidTelematikId { .. }) => {
            AdminUiError::new(page.lang, StatusCode::NOT_FOUND, "pharmacy_not_registered")
                .into_response()
        }
        Err(_) => AdminUiError::store(page.lang).into_response(),
    }
}

/// A Telematik-ID as part of an element id.
fn element_key(telematik_id: &str) -> String {
    telematik_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
