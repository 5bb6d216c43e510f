//! Billing end to end: ledger rows → closed statements → fetched over mutual TLS as PDF, CSV
//! and JSON by their own pharmacy only; corrections, form-line splits and reconciliation.

use dcc_billing::month::BillingMonth;
use dcc_billing::statement::Statement;
use dcc_issuance::billing::{Billing, BillingSettings, CloseOutcome};
use dcc_store::billing::{self, FRAUD_REASON};
use dcc_store::ledger::{self, CertificateType, LedgerEntry};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::support::{Backend, Extra, PHARMACY, TestPortal, institution, register};

const OTHER: &str = "3-SMC-B-Testkarte-883110000129068";

fn month(text: &str) -> BillingMonth {
    BillingMonth::parse(text).unwrap()
}

fn entry(
    uvci: &str,
    pharmacy: &str,
    kind: CertificateType,
    dose: Option<i64>,
    at: OffsetDateTime,
) -> LedgerEntry {
    LedgerEntry {
        uvci: uvci.to_owned(),
        telematik_id: pharmacy.to_owned(),
        certificate_type: kind,
        product: "EU/1/20/1528".to_owned(),
        dose_number: dose,
        total_doses: dose.map(|_| 2),
        event_date: "2021-06-01".to_owned(),
        kid: "DEsVUSvpFAE=".to_owned(),
        uci_hash: "a".repeat(64),
        issued_at: at.unix_timestamp(),
        expires_at: at.unix_timestamp() + 365 * 86_400,
        idempotency_key: None,
        request_hash: "b".repeat(64),
        revoked_at: None,
        revocation_reason: None,
        holder_key: None,
        country_code_uci_hash: None,
        signature_hash: None,
        operator_id: None,
    }
}

fn vaccination(uvci: &str, pharmacy: &str, dose: i64, at: OffsetDateTime) -> LedgerEntry {
    entry(uvci, pharmacy, CertificateType::Vaccination, Some(dose), at)
}

async fn seed(portal: &TestPortal, entries: &[LedgerEntry]) {
    let mut tx = portal.store.begin().await.unwrap();
    billing::insert_ledger_bulk(&mut tx, entries).await.unwrap();
    dcc_store::commit(tx).await.unwrap();
}

async fn close(portal: &TestPortal, text: &str, now: OffsetDateTime) -> CloseOutcome {
    let settings = BillingSettings::default();
    let billing = Billing {
        store: &portal.store,
        settings: &settings,
    };
    billing
        .close_month(month(text), now.unix_timestamp(), &|_, _| {})
        .await
        .unwrap()
}

async fn stored(portal: &TestPortal, pharmacy: &str, text: &str) -> Statement {
    let stored = billing::find_statement(portal.store.pool(), pharmacy, text)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no statement for {pharmacy} {text}"));
    Statement::from_content(&stored.content).unwrap()
}

async fn with_other_pharmacy(backend: Backend) -> TestPortal {
    let portal = TestPortal::start_with(
        backend,
        vec![Extra {
            request: institution(OTHER),
            revoked: false,
        }],
    )
    .await;
    register(&portal.store, OTHER, "APO2").await;
    portal
}

/// June and July 2021 around the Berlin midnights and the 8 July tier change.
fn boundary_rows() -> Vec<LedgerEntry> {
    vec![
        vaccination("U/1", PHARMACY, 1, datetime!(2021-06-20 10:00 +2)),
        LedgerEntry {
            holder_key: Some("k1".repeat(32)),
            ..vaccination("U/2", PHARMACY, 1, datetime!(2021-06-20 11:00 +2))
        },
        LedgerEntry {
            holder_key: Some("k1".repeat(32)),
            ..vaccination("U/3", PHARMACY, 2, datetime!(2021-06-20 11:05 +2))
        },
        vaccination("U/4", PHARMACY, 1, datetime!(2021-06-30 23:59:59 +2)),
        vaccination("U/5", PHARMACY, 1, datetime!(2021-07-01 00:00:00 +2)),
        vaccination("U/6", PHARMACY, 2, datetime!(2021-07-07 23:59:59 +2)),
        vaccination("U/7", PHARMACY, 2, datetime!(2021-07-08 00:00:00 +2)),
        entry(
            "U/8",
            PHARMACY,
            CertificateType::Test,
            None,
            datetime!(2021-07-15 12:00 +2),
        ),
        vaccination("U/9", PHARMACY, 1, datetime!(2021-07-31 23:59:59 +2)),
        vaccination("U/10", PHARMACY, 1, datetime!(2021-08-01 00:00:00 +2)),
        vaccination("U/11", OTHER, 1, datetime!(2021-07-10 09:00 +2)),
    ]
}

async fn statements_over_mutual_tls(backend: Backend) {
    let portal = with_other_pharmacy(backend).await;
    seed(&portal, &boundary_rows()).await;
    let september = datetime!(2021-09-01 12:00 UTC);
    assert!(matches!(
        close(&portal, "2021-06", september).await,
        CloseOutcome::Closed { .. }
    ));
    assert!(matches!(
        close(&portal, "2021-07", september).await,
        CloseOutcome::Closed { .. }
    ));

    let june = stored(&portal, PHARMACY, "2021-06").await;
    let tiers: Vec<(&str, i64, u64)> = june
        .tiers
        .iter()
        .map(|t| (t.pzn.as_str(), t.unit_cents, t.count))
        .collect();
    assert_eq!(tiers, [("06461469", 1800, 3), ("06461475", 600, 1)]);
    assert_eq!(june.total_cents, 3 * 1800 + 600);

    let client = portal.client_for(PHARMACY);
    let list: Value = client
        .get(portal.url("/api/billing/statements"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let months: Vec<&str> = list["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2021-07", "2021-06"]);

    let get = |accept: &'static str| {
        client
            .get(portal.url("/api/billing/statements/2021-07"))
            .header("accept", accept)
            .send()
    };
    let response = get("application/json").await.unwrap();
    assert_eq!(response.status(), 200);
    let july: Value = response.json().await.unwrap();
    assert_eq!(july["issued"], 5);
    assert_eq!(july["billed"], 4);
    assert_eq!(july["not_billable"], json!({"fraud": 0, "no_fee": 1}));
    assert_eq!(july["total_cents"], 2 * 1800 + 2 * 600);
    let days: Vec<(&str, i64)> = july["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap(),
                d["unit_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2021-07-01", 1800),
            ("2021-07-07", 1800),
            ("2021-07-08", 600),
            ("2021-07-31", 600)
        ]
    );
    let text = july.to_string();
    assert!(
        !text.contains("U/"),
        "a UVCI leaked into the statement: {text}"
    );

    let csv = get("text/csv").await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.contains("formular;2021-07;2021-07-31;;06461469;1800;2;3600\n"),
        "{csv}"
    );
    assert!(csv.ends_with("gesamt;2021-07;;;;;;4800\n"), "{csv}");

    let first = get("application/pdf").await.unwrap();
    assert_eq!(first.headers()["content-type"], "application/pdf");
    let first = first.bytes().await.unwrap();
    let second = get("application/pdf").await.unwrap().bytes().await.unwrap();
    assert_eq!(first, second, "re-rendering must give the same bytes");
    let text = pdftotext(&first);
    for expected in [
        "Abrechnung Impfzertifikate – Juli 2021",
        PHARMACY,
        "06461469",
        "06461475",
        "Summe: 48,00 €",
        "Abgabemonat Ende: 31.07.2021",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }

    let not_acceptable = get("image/png").await.unwrap();
    assert_eq!(not_acceptable.status(), 406);
    let bad_month = client
        .get(portal.url("/api/billing/statements/2021-7"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_month.status(), 400);
    assert_eq!(
        bad_month.json::<Value>().await.unwrap()["code"],
        "invalid_month"
    );

    // The other pharmacy reaches only its own statements: PHARMACY's June is not there for it.
    let other = portal.client_for(OTHER);
    let refused = other
        .get(portal.url("/api/billing/statements/2021-06"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "statement_not_found"
    );
    let own: Value = other
        .get(portal.url("/api/billing/statements/2021-07"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(own["telematik_id"], OTHER);
    assert_eq!(own["total_cents"], 600);

    let fetches = billing::fetches(portal.store.pool(), "2021-07")
        .await
        .unwrap();
    let by: Vec<(&str, &str)> = fetches
        .iter()
        .map(|f| (f.telematik_id.as_str(), f.format.as_str()))
        .collect();
    assert_eq!(
        by,
        [
            (PHARMACY, "json"),
            (PHARMACY, "csv"),
            (PHARMACY, "pdf"),
            (PHARMACY, "pdf"),
            (OTHER, "json")
        ]
    );
    let audit = portal.audit_kinds().await;
    assert_eq!(
        audit
            .iter()
            .filter(|kind| kind.starts_with("statement_fetched"))
            .count(),
        5
    );
    assert_eq!(
        audit
            .iter()
            .filter(|kind| kind.starts_with("billing_month_closed"))
            .count(),
        2
    );
    portal.stop().await;
}

async fn idempotent_retries_are_billed_once(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_for(PHARMACY);
    let body = json!({"nam": {"fn": "Müller", "gn": "Jürgen"}, "dob": "1964-08-12",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
               "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29"}]});
    let mut uvcis = Vec::new();
    for _ in 0..3 {
        let response = client
            .post(portal.url("/api/certify/v2/issue"))
            .header("Idempotency-Key", "visit-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        uvcis.push(response.json::<Value>().await.unwrap()["uvci"].clone());
    }
    assert!(uvcis.windows(2).all(|pair| pair[0] == pair[1]));
    // A second dose for the same person: same holder key, which is no personal data.
    let mut second = body.clone();
    second["v"][0]["dn"] = json!(2);
    let response = client
        .post(portal.url("/api/certify/v2/issue"))
        .json(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let second_uvci = response.json::<Value>().await.unwrap()["uvci"].clone();
    let first = ledger::find_by_uvci(portal.store.pool(), uvcis[0].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let second = ledger::find_by_uvci(portal.store.pool(), second_uvci.as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let key = first.holder_key.clone().unwrap();
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(second.holder_key, Some(key));

    let now = super::support::now();
    let this_month = BillingMonth::containing(now.unix_timestamp());
    let after = now + time::Duration::days(40);
    close(&portal, &this_month.to_string(), after).await;
    let statement = stored(&portal, PHARMACY, &this_month.to_string()).await;
    assert_eq!(
        statement.issued, 2,
        "three retries and one other certificate"
    );
    assert_eq!(statement.billed, 2);
    portal.stop().await;
}

async fn fraud_after_close_is_corrected_next_month(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    seed(
        &portal,
        &[
            vaccination("F/1", PHARMACY, 1, datetime!(2021-07-05 10:00 +2)),
            vaccination("F/2", PHARMACY, 1, datetime!(2021-07-20 10:00 +2)),
            vaccination("F/3", PHARMACY, 1, datetime!(2021-07-21 10:00 +2)),
            vaccination("F/4", PHARMACY, 1, datetime!(2021-08-02 10:00 +2)),
        ],
    )
    .await;
    let revoke = async |uvci: &str, at: OffsetDateTime| {
        let mut tx = portal.store.begin().await.unwrap();
        ledger::revoke(&mut tx, uvci, FRAUD_REASON, at.unix_timestamp())
            .await
            .unwrap();
        dcc_store::commit(tx).await.unwrap();
    };
    // Revoked before July is closed: simply not billed.
    revoke("F/3", datetime!(2021-07-25 10:00 +2)).await;
    close(&portal, "2021-07", datetime!(2021-08-01 01:00 +2)).await;
    let july = stored(&portal, PHARMACY, "2021-07").await;
    assert_eq!(
        (july.issued, july.billed, july.not_billable.fraud),
        (3, 2, 1)
    );
    assert_eq!(july.total_cents, 1800 + 600);
    let july_hash = billing::find_statement(portal.store.pool(), PHARMACY, "2021-07")
        .await
        .unwrap()
        .unwrap()
        .content_hash;

    // Revoked after July was closed: July stays as it was, August takes it back.
    revoke("F/1", datetime!(2021-08-10 10:00 +2)).await;
    close(&portal, "2021-08", datetime!(2021-09-01 01:00 +2)).await;
    let august = stored(&portal, PHARMACY, "2021-08").await;
    assert_eq!(august.corrections.len(), 1);
    assert_eq!(august.corrections[0].billed_month, month("2021-07"));
    assert_eq!(august.corrections[0].amount_cents, -1800);
    assert_eq!(august.total_cents, 600 - 1800);
    let form: Vec<(&str, i64)> = august
        .form_lines
        .iter()
        .map(|l| (l.pzn.as_str(), l.factor))
        .collect();
    assert_eq!(form, [("06461469", -1), ("06461475", 1)]);
    let unchanged = billing::find_statement(portal.store.pool(), PHARMACY, "2021-07")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.content_hash, july_hash);

    // Closing again changes nothing, and September carries no second correction.
    assert!(matches!(
        close(&portal, "2021-08", datetime!(2021-09-02 01:00 +2)).await,
        CloseOutcome::AlreadyClosed(_)
    ));
    close(&portal, "2021-09", datetime!(2021-10-01 01:00 +2)).await;
    assert!(
        billing::find_statement(portal.store.pool(), PHARMACY, "2021-09")
            .await
            .unwrap()
            .is_none()
    );
    let settings = BillingSettings::default();
    let billing = Billing {
        store: &portal.store,
        settings: &settings,
    };
    for text in ["2021-07", "2021-08"] {
        let report = billing.check_month(month(text)).await.unwrap();
        assert_eq!(report.mismatches().count(), 0, "{text}: {report:?}");
    }
    portal.stop().await;
}

async fn more_than_9999_split_across_form_lines(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let rows: Vec<LedgerEntry> = (0..10_001)
        .map(|i| {
            vaccination(
                &format!("M/{i}"),
                PHARMACY,
                1,
                datetime!(2021-07-20 10:00 +2),
            )
        })
        .collect();
    seed(&portal, &rows).await;
    close(&portal, "2021-07", datetime!(2021-08-02 00:00 +2)).await;
    let july = stored(&portal, PHARMACY, "2021-07").await;
    let form: Vec<(&str, i64, i64)> = july
        .form_lines
        .iter()
        .map(|l| (l.pzn.as_str(), l.factor, l.amount_cents))
        .collect();
    assert_eq!(
        form,
        [("06461475", 9999, 9999 * 600), ("06461475", 2, 1200)]
    );
    assert_eq!(july.total_cents, 10_001 * 600);
    portal.stop().await;
}

async fn check_detects_a_mismatch(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    seed(&portal, &boundary_rows()[4..8]).await;
    let settings = BillingSettings::default();
    let billing = Billing {
        store: &portal.store,
        settings: &settings,
    };
    assert!(matches!(
        billing.check_month(month("2021-07")).await,
        Err(dcc_issuance::billing::StatementError::NotClosed(_))
    ));
    close(&portal, "2021-07", datetime!(2021-08-02 00:00 +2)).await;
    assert_eq!(
        billing
            .check_month(month("2021-07"))
            .await
            .unwrap()
            .mismatches()
            .count(),
        0
    );
    // A certificate appears in the closed month afterwards (a back-dated insert).
    seed(
        &portal,
        &[vaccination(
            "LATE/1",
            PHARMACY,
            1,
            datetime!(2021-07-10 10:00 +2),
        )],
    )
    .await;
    let report = billing.check_month(month("2021-07")).await.unwrap();
    let mismatches: Vec<_> = report.mismatches().collect();
    assert_eq!(mismatches.len(), 1);
    assert_eq!(mismatches[0].telematik_id, PHARMACY);
    assert_eq!(mismatches[0].ledger_issued, 5);
    assert_eq!(mismatches[0].statement_issued, Some(4));
    portal.stop().await;
}

async fn automatic_close_closes_ended_months_once(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    seed(&portal, &boundary_rows()[..5]).await;
    let settings = BillingSettings::default();
    dcc_server::billing_close::close_ended(&portal.store, &settings, 3600).await;
    for text in ["2021-06", "2021-07", "2021-08"] {
        assert!(
            billing::find_month(portal.store.pool(), text)
                .await
                .unwrap()
                .is_some(),
            "{text} not closed"
        );
    }
    let june = billing::find_statement(portal.store.pool(), PHARMACY, "2021-06")
        .await
        .unwrap()
        .unwrap();
    // A second pass (the hourly loop) changes nothing.
    dcc_server::billing_close::close_ended(&portal.store, &settings, 3600).await;
    let again = billing::find_statement(portal.store.pool(), PHARMACY, "2021-06")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, june);
    let closes = portal
        .audit_kinds()
        .await
        .into_iter()
        .filter(|kind| kind.starts_with("billing_month_closed"))
        .count();
    let current = BillingMonth::containing(super::support::now().unix_timestamp());
    assert!(
        billing::find_month(portal.store.pool(), &current.to_string())
            .await
            .unwrap()
            .is_none(),
        "the running month must stay open"
    );
    // One close per ended month from June 2021 on (each with grace), none for the running one.
    let now = super::support::now().unix_timestamp();
    let mut expected = 0;
    let mut month = month("2021-06");
    while month.has_ended(now, 3600) {
        expected += 1;
        month = month.next();
    }
    assert_eq!(closes, expected);
    portal.stop().await;
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statement.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|error| {
            panic!("pdftotext is needed (poppler-utils; scripts/test.sh installs it): {error}")
        });
    assert!(output.status.success(), "pdftotext failed: {:?}", output);
    String::from_utf8(output.stdout).unwrap()
}

on_both_backends!(
    statements_over_mutual_tls,
    idempotent_retries_are_billed_once,
    fraud_after_close_is_corrected_next_month,
    more_than_9999_split_across_form_lines,
    check_detects_a_mismatch,
    automatic_close_closes_ended_months_once,
);
