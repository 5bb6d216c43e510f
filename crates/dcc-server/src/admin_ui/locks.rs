//! The locks page: `GET /locks` (the locks in force: scope, reason, since, by whom),
//! `POST /locks` (lock everyone, one pharmacy or one operator with a reason code and text) and
//! `POST /locks/lift` (lift one), through the kill switch's use cases
//! (`dcc_issuance::kill_switch`), which audit each change with the administrator as actor.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dcc_issuance::audit::ChangedBy;
use dcc_issuance::kill_switch::{self, KillSwitchError};
use dcc_store::locks::{IssuanceLock, LockScope};
use serde::Deserialize;

use crate::admin_session::AdminState;
use crate::admin_ui::i18n::AdminMsg;
use crate::admin_ui::page::{AdminChrome, AdminUiError, local_time};
use crate::admin_ui::session::AdminPage;
use crate::clock;
use crate::ui::csrf;
use crate::ui::i18n::Lang;
use crate::ui::page::render;

/// The locks page.
#[derive(Template)]
#[template(path = "admin/locks.html")]
pub struct LocksPage {
    /// The frame.
    pub chrome: AdminChrome,
    /// The locks in force.
    pub locks: Vec<LockLine>,
    /// A notice code to show.
    pub notice: Option<String>,
    /// The form as typed (kept after a refusal).
    pub form: LockForm,
    /// The refused field and the refusal's code.
    pub field_error: Option<(String, String)>,
}

/// One lock as the page shows it.
#[derive(Debug, Clone)]
pub struct LockLine {
    /// `all`, `pharmacy` or `operator`.
    pub scope: String,
    /// The Telematik-ID or operator id (empty for `all`).
    pub target: String,
    /// The reason code.
    pub reason: String,
    /// The association's comment.
    pub comment: String,
    /// Since, local time.
    pub since: String,
    /// Who set it, in words.
    pub by: String,
    /// An id for the page's elements.
    pub key: String,
}

/// `?m=` (a notice code).
#[derive(Debug, Deserialize)]
pub struct LocksQuery {
    m: Option<String>,
}

/// The lock form (and, with `scope` and `target` only, the lift form).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LockForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// `all`, `pharmacy` or `operator`.
    #[serde(default)]
    pub scope: String,
    /// The Telematik-ID or operator id.
    #[serde(default)]
    pub target: String,
    /// The reason code.
    #[serde(default)]
    pub reason: String,
    /// The comment.
    #[serde(default)]
    pub comment: String,
}

impl LockForm {
    /// Whether the form names the scope `code` (to keep the choice).
    pub fn is_scope(&self, code: impl AsRef<str>) -> bool {
        self.scope == code.as_ref()
    }
}

/// `GET /locks`.
pub async fn view_locks_get(
    State(state): State<AdminState>,
    page: AdminPage,
    Query(query): Query<LocksQuery>,
) -> Response {
    let notice = query.m.filter(|code| {
        matches!(code.as_str(), "locked" | "lifted" | "not_locked")
            && AdminMsg::for_code(code).is_some()
    });
    let form = LockForm {
        scope: "pharmacy".to_owned(),
        reason: "fraud_suspected".to_owned(),
        ..LockForm::default()
    };
    locks_page(&state, &page, notice, form, None).await
}

/// `POST /locks`.
pub async fn view_locks_post(
    State(state): State<AdminState>,
    page: AdminPage,
    Form(form): Form<LockForm>,
) -> Response {
    if csrf::verify(&page.csrf_token, Some(&form.csrf)).is_err() {
        return AdminUiError::csrf(page.lang).into_response();
    }
    let scope = match scope(&form) {
        Ok(scope) => scope,
        Err((field, code)) => return refused(&state, &page, form, field, code).await,
    };
    let actor = page.actor();
    let now = clock::now().unix_timestamp();
    let reason = form.reason.trim();
    let comment = form.comment.trim();
    match kill_switch::lock(&state.store, &actor, scope, reason, comment, now).await {
        Ok(_) => Redirect::to("/locks?m=locked").into_response(),
        Err(KillSwitchError::Store(_)) => AdminUiError::store(page.lang).into_response(),
        Err(error) => {
            let field = match error {
                KillSwitchError::InvalidReason(_) => "reason",
                KillSwitchError::InvalidComment => "comment",
                _ => "target",
            };
            refused(&state, &page, form, field, error.code()).await
        }
    }
}

/// `POST /locks/lift`.
pub async fn view_locks_lift_post(
    State(state): State<AdminState>,
    page: AdminPage,
    Form(form): Form<LockForm>,
) -> Response {
    if csrf::verify(&page.csrf_token, Some(&form.csrf)).is_err() {
        return AdminUiError::csrf(page.lang).into_response();
    }
    let Ok(scope) = scope(&form) else {
        return AdminUiError::new(page.lang, StatusCode::UNPROCESSABLE_ENTITY, "invalid_scope")
            .into_response();
    };
    let actor = page.actor();
    let now = clock::now().unix_timestamp();
    match kill_switch::unlock(&state.store, &actor, scope, now).await {
        Ok(Some(_)) => Redirect::to("/locks?m=lifted").into_response(),
        Ok(None) => Redirect::to("/locks?m=not_locked").into_response(),
        Err(KillSwitchError::Store(_)) => AdminUiError::store(page.lang).into_response(),
        Err(error) => AdminUiError::new(page.lang, StatusCode::UNPROCESSABLE_ENTITY, error.code())
            .into_response(),
    }
}

/// The scope the form names; the refused field and code otherwise.
fn scope(form: &LockForm) -> Result<LockScope, (&'static str, &'static str)> {
    let target = form.target.trim();
    match (form.scope.as_str(), target.is_empty()) {
        ("all", _) => Ok(LockScope::All),
        ("pharmacy" | "operator", true) => Err(("target", "target_required")),
        ("pharmacy", false) => Ok(LockScope::Pharmacy(target.to_owned())),
        ("operator", false) => Ok(LockScope::Operator(target.to_owned())),
        _ => Err(("scope", "invalid_scope")),
    }
}

/// The page again (422) with the refusal next to its field; nothing was changed.
async fn refused(
    state: &AdminState,
    page: &AdminPage,
    form: LockForm,
    field: &str,
    code: &str,
) -> Response {
    let error = Some((field.to_owned(), code.to_owned()));
    let mut response = locks_page(state, page, None, form, error).await;
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn locks_page(
    state: &AdminState,
    page: &AdminPage,
    notice: Option<String>,
    form: LockForm,
    field_error: Option<(String, String)>,
) -> Response {
    let Ok(locks) = kill_switch::list(&state.store).await else {
        return AdminUiError::store(page.lang).into_response();
    };
    render(&LocksPage {
        chrome: page.chrome("/locks"),
        locks: locks
            .iter()
            .map(|lock| lock_line(page.lang, lock))
            .collect(),
        notice,
        form: LockForm {
            csrf: String::new(),
            ..form
        },
        field_error,
    })
}

fn lock_line(lang: Lang, lock: &IssuanceLock) -> LockLine {
    let (scope, target) = match &lock.scope {
        LockScope::All => ("all", ""),
        LockScope::Pharmacy(telematik_id) => ("pharmacy", telematik_id.as_str()),
        LockScope::Operator(id) => ("operator", id.as_str()),
    };
    let by = match ChangedBy::from_label(&lock.locked_by) {
        Some(ChangedBy::CommandLine) => AdminMsg::ByCommandLine.text(lang).to_owned(),
        Some(ChangedBy::AnomalyDetection) => AdminMsg::ByAnomalyDetection.text(lang).to_owned(),
        Some(ChangedBy::Operator(id)) => format!("{} #{id}", AdminMsg::ByAdministrator.text(lang)),
        None if lock.locked_by.is_empty() => AdminMsg::Unknown.text(lang).to_owned(),
        None => lock.locked_by.clone(),
    };
    let key: String = format!("{scope}-{target}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    LockLine {
        scope: scope.to_owned(),
        target: target.to_owned(),
        reason: lock.reason.clone(),
        comment: lock.comment.clone(),
        since: local_time(lock.locked_at),
        by,
        key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(scope: &str, target: &str) -> LockForm {
        LockForm {
            scope: scope.to_owned(),
            target: target.to_owned(),
            ..LockForm::default()
        }
    }

    #[test]
    fn the_form_names_a_scope_and_a_target_where_one_is_needed() {
        assert_eq!(scope(&form("all", "")), Ok(LockScope::All));
        assert_eq!(
            scope(&form("pharmacy", " 3-abc ")),
            Ok(LockScope::Pharmacy("3-abc".into()))
        );
        assert_eq!(
            scope(&form("operator", "7")),
            Ok(LockScope::Operator("7".into()))
        );
        assert_eq!(
            scope(&form("pharmacy", "  ")),
            Err(("target", "target_required"))
        );
        assert_eq!(scope(&form("world", "x")), Err(("scope", "invalid_scope")));
    }
}
