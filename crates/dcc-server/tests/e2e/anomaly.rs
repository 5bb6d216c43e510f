//! Anomaly detection through the real portal: the portal's clock is driven to a night, a burst
//! of certificates there raises a stored alert and the automatic lock, the next request is
//! answered 423, `/metrics` counts it, and the association acknowledges the alert and unlocks.

use dcc_calendar::berlin;
use dcc_calendar::holidays::holiday_on;
use dcc_issuance::alerts::Acknowledger;
use dcc_issuance::operators::Actor;
use dcc_issuance::{alerts, kill_switch};
use dcc_server::clock::Clock;
use dcc_store::locks::{self, LockScope};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::support::{Backend, PHARMACY, TestPortal, now};

/// The command line acknowledging as "verband".
const VERBAND: Acknowledger<'static> = Acknowledger::CommandLine { name: "verband" };

/// A vaccination for a different person each time (the holder key follows the standardised
/// name, which keeps letters only).
fn body(n: u32) -> Value {
    let family = [
        "Anders", "Berger", "Conrad", "Dietz", "Engel", "Fuchs", "Graf", "Hahn",
    ];
    let name = family.get(n as usize).copied().unwrap_or("Imhof");
    json!({"nam": {"fn": name}, "dob": "1970",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29"}]})
}

async fn issue(client: &reqwest::Client, url: &str, n: u32) -> (u16, Value) {
    let response = client.post(url).json(&body(n)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// 23:00 Europe/Berlin on the eve of the next ordinary working day (Monday to Saturday, not a
/// public holiday) after today: closed by the default hours, and followed by a morning when
/// the pharmacy is open.
fn night_before_a_working_day() -> OffsetDateTime {
    let mut day = berlin::local_date(now().unix_timestamp())
        .next_day()
        .unwrap()
        .next_day()
        .unwrap();
    while day.weekday() == time::Weekday::Sunday || holiday_on(day).is_some() {
        day = day.next_day().unwrap();
    }
    OffsetDateTime::from_unix_timestamp(berlin::start_of_day(day) - 3600).unwrap()
}

pub(super) async fn a_night_burst_is_alerted_locked_and_acknowledged(backend: Backend) {
    let night = night_before_a_working_day();
    let clock = Clock::manual(night);
    let portal = TestPortal::start_clocked(
        backend,
        Vec::new(),
        |config| config.anomaly.enabled = true,
        clock.clone(),
    )
    .await;
    let client = portal.client_for(PHARMACY);
    let url = portal.url("/api/certify/v2/issue");

    // Five certificates, two minutes apart: each is an off-hours occurrence, the fifth makes
    // the repeated pattern.
    for n in 0..5 {
        clock.set(night + time::Duration::minutes(2 * i64::from(n)));
        let (status, answer) = issue(&client, &url, n).await;
        assert_eq!(status, 200, "certificate {n}: {answer}");
    }
    // Detection runs beside the writer: once it has evaluated the fifth, the sixth is locked.
    portal.portal.as_ref().unwrap().settled().await;
    clock.set(night + time::Duration::minutes(10));
    let (status, answer) = issue(&client, &url, 5).await;
    assert_eq!(status, 423, "{answer}");
    assert_eq!(answer["code"], "issuance_locked");
    assert_eq!(answer["reason"], "anomaly_off_hours_repeated");
    assert_eq!(portal.ledger_count(PHARMACY).await, 5);

    // The stored alerts and the lock.
    let open = alerts::list(&portal.store, true, 10).await.unwrap();
    let summary: Vec<(&str, &str)> = open
        .iter()
        .map(|alert| (alert.rule.as_str(), alert.action_taken.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("off_hours_repeated", "lock_pharmacy"),
            ("off_hours", "warn")
        ]
    );
    let repeated = &open[0];
    assert_eq!(repeated.telematik_id, PHARMACY);
    assert_eq!(repeated.evidence["certificates"], 5);
    assert_eq!(repeated.window_start, night.unix_timestamp());
    assert_eq!(repeated.window_end, night.unix_timestamp() + 8 * 60);
    // Counted for the pharmacy, attributed to the one operator who issued all five.
    let operator = repeated.operator_id.clone().expect("attributed operator");
    assert_eq!(repeated.evidence["attributed_operator"], operator.as_str());
    assert_eq!(
        repeated.evidence["operators"],
        serde_json::json!([{"operator": operator, "certificates": 5}])
    );
    assert!(
        !repeated
            .evidence
            .to_string()
            .to_lowercase()
            .contains("anders"),
        "no names in the evidence: {}",
        repeated.evidence
    );
    let in_force = locks::list(portal.store.pool()).await.unwrap();
    assert_eq!(in_force.len(), 1);
    assert_eq!(in_force[0].scope, LockScope::Pharmacy(PHARMACY.into()));

    // `/metrics` counts the alerts, the action and the open alerts.
    let text = client
        .get(portal.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "dcc_anomaly_alerts_total{rule=\"off_hours\"} 1",
        "dcc_anomaly_alerts_total{rule=\"off_hours_repeated\"} 1",
        "dcc_anomaly_actions_total{action=\"lock_pharmacy\"} 1",
        "dcc_anomaly_open_alerts{rule=\"off_hours_repeated\"} 1",
        "dcc_anomaly_open_alerts{rule=\"burst\"} 0",
        "dcc_anomaly_evaluation_failures_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }

    // The association: acknowledging needs a comment; then it unlocks, and the next morning
    // the pharmacy issues as usual without a new alert.
    let refused = alerts::acknowledge(&portal.store, repeated.id, VERBAND, None, 0).await;
    assert_eq!(refused.unwrap_err().code(), "comment_required");
    let at = night.unix_timestamp() + 3600;
    alerts::acknowledge(
        &portal.store,
        repeated.id,
        VERBAND,
        Some("PTA-Zugang gesperrt, Inhaberin informiert"),
        at,
    )
    .await
    .unwrap();
    kill_switch::unlock(
        &portal.store,
        &Actor::CommandLine,
        LockScope::Pharmacy(PHARMACY.into()),
        at,
    )
    .await
    .unwrap();
    clock.set(night + time::Duration::hours(11));
    let (status, answer) = issue(&client, &url, 6).await;
    assert_eq!(status, 200, "{answer}");
    let open = alerts::list(&portal.store, true, 10).await.unwrap();
    assert_eq!(
        open.iter().map(|a| a.rule.as_str()).collect::<Vec<_>>(),
        ["off_hours"]
    );

    let kinds = portal.audit_kinds().await;
    let anomaly: Vec<&str> = kinds
        .iter()
        .map(|line| line.split(' ').next().unwrap())
        .filter(|kind| {
            kind.starts_with("anomaly")
                || kind.starts_with("issuance_locked")
                || kind.starts_with("issuance_unlocked")
        })
        .collect();
    assert_eq!(
        anomaly,
        [
            "anomaly_alert_raised",
            "anomaly_alert_raised",
            "issuance_locked",
            "anomaly_alert_acknowledged",
            "issuance_unlocked",
        ]
    );
    let chain = dcc_store::audit::verify_chain(&portal.store).await.unwrap();
    assert_eq!(chain.first_broken, None);
    portal.stop().await;
}

on_both_backends!(a_night_burst_is_alerted_locked_and_acknowledged);
