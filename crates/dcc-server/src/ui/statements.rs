//! `GET /statements`: the pharmacy's monthly billing statements (issue #6), and
//! `GET /statements/{month}/{format}` to download one as PDF, CSV or JSON. Every signed-in
//! operator of the pharmacy may read them (they hold counts and amounts only, no personal
//! data); each download is recorded and audited like a fetch over the API.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcc_billing::month::BillingMonth;
use dcc_billing::render::Format;
use dcc_issuance::billing::{Billing, StatementError};

use crate::clock;
use crate::portal::PortalState;
use crate::ui::i18n::Msg;
use crate::ui::page::{Chrome, UiError, render};
use crate::ui::session::CounterSession;

/// The statements page.
#[derive(Template)]
#[template(path = "statements.html")]
pub struct StatementsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The closed months, newest first.
    pub statements: Vec<StatementLine>,
}

/// One month's statement.
#[derive(Debug, Clone)]
pub struct StatementLine {
    /// `YYYY-MM`.
    pub month: String,
    /// Certificates issued in the month.
    pub issued: i64,
    /// Certificates billed.
    pub billed: i64,
    /// The total, `1.234,00 €` style (German) or `€1,234.00` (English).
    pub total: String,
}

/// `GET /statements`.
pub async fn view_statements_get(
    State(state): State<PortalState>,
    session: CounterSession,
) -> Response {
    let lang = session.lang;
    let billing = Billing {
        store: &state.store,
        settings: &state.billing,
    };
    let stored = match billing.list(session.telematik_id()).await {
        Ok(stored) => stored,
        Err(error) => return statement_error(lang, &error),
    };
    let statements = stored
        .into_iter()
        .map(|statement| StatementLine {
            month: statement.month,
            issued: statement.issued,
            billed: statement.billed,
            total: euros(statement.total_cents, lang),
        })
        .collect();
    render(&StatementsPage {
        chrome: session.chrome("/statements"),
        statements,
    })
}

/// `GET /statements/{month}/{format}`: the stored statement, rendered; the fetch is recorded.
pub async fn view_statement_file_get(
    State(state): State<PortalState>,
    session: CounterSession,
    Path((month, format)): Path<(String, String)>,
) -> Response {
    let lang = session.lang;
    let Ok(month) = BillingMonth::parse(&month) else {
        return UiError::new(lang, StatusCode::BAD_REQUEST, "invalid_month").into_response();
    };
    let Some(format) = Format::parse(&format) else {
        return UiError::new(lang, StatusCode::NOT_FOUND, "not_found").into_response();
    };
    let billing = Billing {
        store: &state.store,
        settings: &state.billing,
    };
    let now = clock::now().unix_timestamp();
    let rendered = match billing
        .fetch(session.telematik_id(), month, format, now)
        .await
    {
        Ok(rendered) => rendered,
        Err(error) => return statement_error(lang, &error),
    };
    let disposition = format!(
        "attachment; filename=\"abrechnung-{month}.{}\"",
        format.extension()
    );
    let mut response = (
        [(header::CONTENT_TYPE, rendered.media_type)],
        rendered.bytes,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn statement_error(lang: crate::ui::i18n::Lang, error: &StatementError) -> Response {
    let (status, code) = match error {
        StatementError::NotFound { .. }
        | StatementError::NotClosed(_)
        | StatementError::NotEnded(_) => (StatusCode::NOT_FOUND, "statement_not_found"),
        StatementError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        _ => {
            tracing::error!(code = error.code(), "statement unavailable");
            (StatusCode::INTERNAL_SERVER_ERROR, "statement_unavailable")
        }
    };
    UiError::new(lang, status, code).into_response()
}

/// Cents as euros in the page's language.
fn euros(cents: i64, lang: crate::ui::i18n::Lang) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = cents / 100;
    let rest = cents % 100;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(match lang {
                crate::ui::i18n::Lang::De => '.',
                crate::ui::i18n::Lang::En => ',',
            });
        }
        grouped.push(digit);
    }
    match lang {
        crate::ui::i18n::Lang::De => format!("{sign}{grouped},{rest:02} €"),
        crate::ui::i18n::Lang::En => format!("{sign}€{grouped}.{rest:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::Lang;

    #[test]
    fn amounts_are_written_as_each_language_writes_them() {
        assert_eq!(euros(123_456_700, Lang::De), "1.234.567,00 €");
        assert_eq!(euros(123_456_700, Lang::En), "€1,234,567.00");
        assert_eq!(euros(600, Lang::De), "6,00 €");
        assert_eq!(euros(-1_800, Lang::En), "-€18.00");
        assert_eq!(euros(5, Lang::De), "0,05 €");
    }
}
