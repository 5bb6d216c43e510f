use dcc_store::Store;
use dcc_store::activity::{self, SpanCount, WindowCounts};
use dcc_store::alerts::{self, AlertPage, AlertState, AlertWrite, NewAlert};
use dcc_store::ledger::{self, CertificateType, LedgerEntry};
use dcc_store::throttles::{self, Throttle};
use serde_json::json;

use crate::support::{PHARMACY_A, PHARMACY_B, T0, TestDb, add_pharmacy, vaccination};

fn alert<'a>(open_key: &'a str, evidence: &'a serde_json::Value, at: i64) -> NewAlert<'a> {
    NewAlert {
        rule: "off_hours_repeated",
        severity: "critical",
        telematik_id: PHARMACY_A,
        operator_id: None,
        subject: "",
        open_key,
        window_start: at - 100,
        window_end: at,
        evidence,
        action: "lock_pharmacy",
        occurrences: 1,
        at,
    }
}

async fn write(store: &Store, alert: &NewAlert<'_>) -> AlertWrite {
    let mut tx = store.begin().await.unwrap();
    let written = alerts::raise_or_refresh(&mut tx, alert).await.unwrap();
    tx.commit().await.unwrap();
    written
}

pub async fn alerts_are_raised_refreshed_acknowledged_and_raised_again(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let key = format!("off_hours_repeated|{PHARMACY_A}||");
    let first = json!({"certificates": 5});
    let AlertWrite::Raised(id) = write(&db.store, &alert(&key, &first, T0)).await else {
        panic!("the first write raises");
    };
    let later = json!({"certificates": 7});
    let mut refresh = alert(&key, &later, T0 + 600);
    refresh.occurrences = 2;
    assert_eq!(write(&db.store, &refresh).await, AlertWrite::Refreshed(id));
    let stored = alerts::find(db.store.pool(), id).await.unwrap().unwrap();
    assert_eq!(stored.occurrences, 3);
    assert_eq!(
        (stored.window_start, stored.window_end),
        (T0 - 100, T0 + 600)
    );
    assert_eq!(stored.evidence, later);
    assert_eq!((stored.created_at, stored.updated_at), (T0, T0 + 600));
    assert!(stored.is_open());
    assert_eq!(
        alerts::open_by_rule(db.store.pool()).await.unwrap(),
        [("off_hours_repeated".to_owned(), 1)]
    );

    let mut tx = db.store.begin().await.unwrap();
    let acknowledged =
        alerts::acknowledge(&mut tx, id, "verband", "Inhaberin informiert", T0 + 900)
            .await
            .unwrap()
            .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(acknowledged.acknowledged_at, Some(T0 + 900));
    assert_eq!(
        acknowledged.comment.as_deref(),
        Some("Inhaberin informiert")
    );
    // A second acknowledgement finds no open alert; an unknown id neither.
    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(
        alerts::acknowledge(&mut tx, id, "x", "y", T0 + 901)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        alerts::acknowledge(&mut tx, 9999, "x", "y", T0 + 901)
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();
    assert_eq!(alerts::open_by_rule(db.store.pool()).await.unwrap(), []);

    // The same pattern later is a new alert.
    let AlertWrite::Raised(second) = write(&db.store, &alert(&key, &first, T0 + 1000)).await else {
        panic!("after the acknowledgement the pattern raises anew");
    };
    assert_ne!(second, id);
    let all = alerts::list(db.store.pool(), false, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|a| (a.id, a.is_open())).collect::<Vec<_>>(),
        [(second, true), (id, false)]
    );
    let open = alerts::list(db.store.pool(), true, 10).await.unwrap();
    assert_eq!(open.iter().map(|a| a.id).collect::<Vec<_>>(), [second]);
}

pub async fn acknowledged_alerts_are_final_and_alerts_are_kept(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let evidence = json!({});
    let AlertWrite::Raised(id) = write(&db.store, &alert("k", &evidence, T0)).await else {
        panic!("raised");
    };
    let delete = sqlx::query("DELETE FROM anomaly_alerts WHERE id = $1")
        .bind(id)
        .execute(db.store.pool())
        .await;
    assert!(delete.is_err(), "an open alert cannot be deleted");
    let mut tx = db.store.begin().await.unwrap();
    alerts::acknowledge(&mut tx, id, "verband", "geprüft", T0 + 1)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let update = sqlx::query("UPDATE anomaly_alerts SET comment = 'anders' WHERE id = $1")
        .bind(id)
        .execute(db.store.pool())
        .await;
    assert!(update.is_err(), "an acknowledged alert is final");
    let stored = alerts::find(db.store.pool(), id).await.unwrap().unwrap();
    assert_eq!(stored.comment.as_deref(), Some("geprüft"));
}

/// Two connection pools (two instances) raise the same pattern at once: one alert, every
/// occurrence counted, exactly one `Raised`.
pub async fn alerts_are_paged_by_state_and_pharmacy(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    let evidence = json!({"certificates": 3});
    let mut ids = Vec::new();
    for (index, telematik_id) in [PHARMACY_A, PHARMACY_B, PHARMACY_A].into_iter().enumerate() {
        let key = format!("burst|{telematik_id}||{index}");
        let mut new = alert(&key, &evidence, T0 + index as i64);
        new.telematik_id = telematik_id;
        let AlertWrite::Raised(id) = write(&db.store, &new).await else {
            panic!("raised");
        };
        ids.push(id);
    }
    let mut tx = db.store.begin().await.unwrap();
    alerts::acknowledge(&mut tx, ids[0], "operator:9", "geprüft", T0 + 10)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();

    let listed = |state, telematik_id, after, limit| {
        let store = db.store.clone();
        async move {
            let page = AlertPage {
                state,
                telematik_id,
                after,
                limit,
            };
            alerts::page(store.pool(), &page)
                .await
                .unwrap()
                .iter()
                .map(|alert| alert.id)
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(listed(AlertState::All, None, 0, 10).await, ids);
    assert_eq!(
        listed(AlertState::Open, None, 0, 10).await,
        [ids[1], ids[2]]
    );
    assert_eq!(
        listed(AlertState::Acknowledged, None, 0, 10).await,
        [ids[0]]
    );
    assert_eq!(
        listed(AlertState::All, Some(PHARMACY_A), 0, 10).await,
        [ids[0], ids[2]]
    );
    assert_eq!(
        listed(AlertState::Open, Some(PHARMACY_A), 0, 10).await,
        [ids[2]]
    );
    assert_eq!(listed(AlertState::All, None, 0, 2).await, [ids[0], ids[1]]);
    assert_eq!(listed(AlertState::All, None, ids[1], 2).await, [ids[2]]);
    assert!(
        listed(AlertState::All, Some("3-none"), 0, 10)
            .await
            .is_empty()
    );
}

pub async fn concurrent_instances_raise_one_alert(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let other = Store::connect(&db.url).await.unwrap();
    let mut tasks = Vec::new();
    for (index, store) in [db.store.clone(), other.clone()]
        .into_iter()
        .cycle()
        .take(20)
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let evidence = json!({"n": index});
            write(
                &store,
                &alert("same|pattern||", &evidence, T0 + index as i64),
            )
            .await
        }));
    }
    let mut raised = 0;
    for task in tasks {
        if let AlertWrite::Raised(_) = task.await.unwrap() {
            raised += 1;
        }
    }
    assert_eq!(raised, 1);
    let all = alerts::list(db.store.pool(), false, 100).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].occurrences, 20);
    other.close().await;
}

pub async fn throttles_hold_until_their_time(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    let evidence = json!({});
    let AlertWrite::Raised(id) = write(&db.store, &alert("k", &evidence, T0)).await else {
        panic!("raised");
    };
    let throttle = Throttle {
        telematik_id: PHARMACY_A.to_owned(),
        pharmacy_burst: 5,
        pharmacy_per_day: 100,
        until: T0 + 3600,
        alert_id: id,
        created_at: T0,
    };
    let mut tx = db.store.begin().await.unwrap();
    throttles::set(&mut tx, &throttle).await.unwrap();
    // Setting again replaces.
    throttles::set(
        &mut tx,
        &Throttle {
            pharmacy_burst: 3,
            ..throttle.clone()
        },
    )
    .await
    .unwrap();
    let ids = [PHARMACY_A, PHARMACY_B];
    let now = throttles::in_force(&mut tx, &ids, T0 + 3599).await.unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[PHARMACY_A].pharmacy_burst, 3);
    assert!(
        throttles::in_force(&mut tx, &ids, T0 + 3600)
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
}

fn entry(n: usize, telematik_id: &str, at: i64) -> LedgerEntry {
    let mut entry = vaccination(&format!("URN:UVCI:01:DE:X/{n:04}"), telematik_id, None);
    entry.issued_at = at;
    entry
}

async fn insert(store: &Store, entries: &[LedgerEntry]) {
    let mut tx = store.begin().await.unwrap();
    ledger::insert_batch(&mut tx, entries).await.unwrap();
    tx.commit().await.unwrap();
}

pub async fn activity_counts_windows_spans_and_same_hours(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    let at = T0 + 30 * 86_400;
    let mut entries = Vec::new();
    // Pharmacy A: 3 in the last 100 s, 2 more within the hour, one just outside it.
    for (n, back) in [10, 50, 99, 1000, 3599, 3600].into_iter().enumerate() {
        entries.push(entry(n, PHARMACY_A, at - back));
    }
    // The same hour one and three days back (4 and 1), and just outside it two days back.
    for n in 0..4 {
        entries.push(entry(100 + n, PHARMACY_A, at - 86_400 - 10 * n as i64));
    }
    entries.push(entry(200, PHARMACY_A, at - 3 * 86_400 - 3599));
    entries.push(entry(201, PHARMACY_A, at - 2 * 86_400 - 3600));
    entries.push(entry(300, PHARMACY_B, at - 5));
    insert(&db.store, &entries).await;

    let pool = db.store.pool();
    let counts = activity::window_counts(pool, &[PHARMACY_A, PHARMACY_B], at - 3600, at - 100, at)
        .await
        .unwrap();
    assert_eq!(
        counts[PHARMACY_A],
        WindowCounts {
            first: 5,
            second: 3
        }
    );
    assert_eq!(
        counts[PHARMACY_B],
        WindowCounts {
            first: 1,
            second: 1
        }
    );

    let spans = [(at - 100, at - 40), (at - 20, at - 9)];
    let both = [PHARMACY_A, PHARMACY_B];
    let counted = activity::in_spans(pool, &both, &spans).await.unwrap();
    assert_eq!(
        counted[PHARMACY_A],
        SpanCount {
            certificates: 3,
            first_at: Some(at - 99),
            last_at: Some(at - 10),
        }
    );
    assert!(!counted.contains_key(PHARMACY_B), "{counted:?}");
    // More spans than one statement takes.
    let many: Vec<(i64, i64)> = (0..10)
        .map(|i| (at - 4000 + i * 10, at - 3995 + i * 10))
        .collect();
    let mut with_tail = many.clone();
    with_tail.push((at - 100, at + 1));
    let counted = activity::in_spans(pool, &both, &with_tail).await.unwrap();
    assert_eq!(counted[PHARMACY_A].certificates, 3);
    assert_eq!(counted[PHARMACY_B].certificates, 1);
    assert!(
        activity::in_spans(pool, &both, &many)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        activity::same_hour_counts(pool, PHARMACY_A, at, 4)
            .await
            .unwrap(),
        [4, 0, 1, 0]
    );
}

pub async fn activity_groups_a_holders_certificates(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    let at = T0 + 100 * 86_400;
    let holder = "h".repeat(64);
    let mut entries = Vec::new();
    for (n, (pharmacy, dose, back_days)) in [
        (PHARMACY_A, 1, 60),
        (PHARMACY_A, 2, 20),
        (PHARMACY_A, 2, 19),
        (PHARMACY_B, 2, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let mut certificate = entry(n, pharmacy, at - back_days * 86_400);
        certificate.dose_number = Some(dose);
        certificate.event_date = format!("2021-0{}-01", 5 + dose);
        certificate.holder_key = Some(holder.clone());
        entries.push(certificate);
    }
    // A test of the same holder is not read; another holder neither.
    let mut test = entry(10, PHARMACY_B, at - 1);
    test.certificate_type = CertificateType::Test;
    test.holder_key = Some(holder.clone());
    entries.push(test);
    let mut other = entry(11, PHARMACY_B, at - 1);
    other.holder_key = Some("o".repeat(64));
    entries.push(other);
    insert(&db.store, &entries).await;

    let mut groups = activity::holder_groups(
        db.store.pool(),
        &[holder.as_str()],
        at - 90 * 86_400,
        at - 30 * 86_400,
        at - 10 * 86_400,
        at,
    )
    .await
    .unwrap();
    groups.sort_by(|a, b| (&a.telematik_id, a.dose_number).cmp(&(&b.telematik_id, b.dose_number)));
    type Summary<'a> = (&'a str, Option<i64>, &'a str, u64, u64, u64);
    let summary: Vec<Summary<'_>> = groups
        .iter()
        .map(|g| {
            (
                g.telematik_id.as_str(),
                g.dose_number,
                g.uvci.as_str(),
                g.certificates,
                g.after_first,
                g.after_second,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (PHARMACY_A, Some(1), "URN:UVCI:01:DE:X/0000", 1, 0, 0),
            (PHARMACY_A, Some(2), "URN:UVCI:01:DE:X/0001", 2, 2, 0),
            (PHARMACY_B, Some(2), "URN:UVCI:01:DE:X/0003", 1, 1, 1),
        ]
    );
    assert_eq!(groups[1].last_at, at - 19 * 86_400);
    assert!(
        groups
            .iter()
            .all(|g| g.certificate_type == "v" && g.holder_key == holder)
    );
}
