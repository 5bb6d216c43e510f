//! Anomaly detection as a use case: the group-commit writer hands over every batch of
//! certificates it has just committed ([`crate::recorder`]); this module reads what the rules
//! need from the ledger, runs them ([`dcc_anomaly`]), stores each finding as an alert (one open
//! alert per ongoing pattern, [`dcc_store::alerts`]) and, when an alert is new, takes its
//! rule's action through the existing locks and limits, auditing the alert and the action in
//! the same transaction.
//!
//! Why after the commit, in a task of its own: the answers of the batch are sent before
//! detection runs and the writer goes on with its next batch meanwhile, so detection never
//! delays a certificate (its reads count windows that grow with a pharmacy's volume) and a
//! failing detector (logged and counted) never fails one. An automatic lock stops every
//! certificate written after the detection round that raised it, on this instance and on every
//! other, whose writers read the locks in their own transactions. The reads are
//! aggregates over indexed windows, and the expensive ones (closed hours, the volume baseline)
//! run only for pharmacies that just issued outside their hours or reached the volume floor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use dcc_anomaly::action::Action;
use dcc_anomaly::attribution::{self, OperatorCount};
use dcc_anomaly::detector::{Detector, Facts, Plan};
use dcc_anomaly::event::{
    ClosedActivity, Content, HolderGroup, Issuance, PharmacyActivity, event_day,
};
use dcc_anomaly::finding::{Finding, Rule};
use dcc_anomaly::settings::{AnomalySettings, SettingsError};
use dcc_store::alerts::{self, AlertWrite, NewAlert};
use dcc_store::ledger::{CertificateType, LedgerEntry};
use dcc_store::locks::{self, IssuanceLock, LockScope};
use dcc_store::throttles::{self, Throttle};
use dcc_store::{Store, StoreError, Tx, activity};

use crate::audit::{self, AuditEvent, ChangedBy};

/// The rules, their settings and what this process has done with them.
#[derive(Debug)]
pub struct AnomalyDetection {
    detector: Detector,
    counters: Counters,
    /// Open-alert keys this process wrote, with the issuing time of the write; findings of a
    /// key written less than `refresh_seconds` ago only count as occurrences in memory.
    written: Mutex<HashMap<String, i64>>,
}

/// Counters of one process, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyStats {
    /// Alerts raised, per rule code (every rule listed).
    pub raised: Vec<(&'static str, u64)>,
    /// Actions taken, per action code (every action listed).
    pub actions: Vec<(&'static str, u64)>,
    /// Batches whose evaluation failed (the database, in practice).
    pub failures: u64,
}

/// A new alert and the action taken for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedAlert {
    /// The alert's number.
    pub id: i64,
    /// The rule.
    pub rule: Rule,
    /// The action taken.
    pub action: Action,
    /// The pharmacy.
    pub telematik_id: String,
}

/// Why a batch could not be evaluated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnomalyError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Default)]
struct Counters {
    raised: [AtomicU64; Rule::ALL.len()],
    actions: [AtomicU64; Action::ALL.len()],
    failures: AtomicU64,
}

impl AnomalyDetection {
    /// Detection with these settings, once they validate.
    pub fn new(settings: AnomalySettings) -> Result<Self, SettingsError> {
        Ok(Self {
            detector: Detector::new(settings)?,
            counters: Counters::default(),
            written: Mutex::new(HashMap::new()),
        })
    }

    /// The rules.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// What this process has raised and done so far.
    pub fn stats(&self) -> AnomalyStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        AnomalyStats {
            raised: Rule::ALL
                .iter()
                .zip(&self.counters.raised)
                .map(|(rule, counter)| (rule.code(), load(counter)))
                .collect(),
            actions: Action::ALL
                .iter()
                .zip(&self.counters.actions)
                .map(|(action, counter)| (action.code(), load(counter)))
                .collect(),
            failures: load(&self.counters.failures),
        }
    }

    /// Evaluates certificates the writer has just committed (each with its issuing time).
    /// Never fails the caller: an error is logged and counted, and the next batch is evaluated
    /// as usual (its windows include this batch's certificates).
    pub async fn after_commit(&self, store: &Store, entries: &[&LedgerEntry]) -> Vec<RaisedAlert> {
        let events: Vec<Issuance> = entries.iter().map(|entry| issuance(entry)).collect();
        match self.evaluate(store, &events).await {
            Ok(raised) => raised,
            Err(error) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, certificates = events.len(), "anomaly detection failed for a batch");
                Vec::new()
            }
        }
    }

    /// Evaluates a batch of recorded certificates: reads the facts, runs the rules, stores the
    /// findings and takes the actions of new alerts.
    pub async fn evaluate(
        &self,
        store: &Store,
        batch: &[Issuance],
    ) -> Result<Vec<RaisedAlert>, AnomalyError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let plan = self.detector.plan(batch);
        let facts = self.read_facts(store, &plan).await?;
        let mut findings: Vec<Finding> = self
            .detector
            .evaluate(batch, &plan, &facts)
            .into_iter()
            .filter(|finding| !self.recently_written(finding, plan.at))
            .collect();
        if findings.is_empty() {
            return Ok(Vec::new());
        }
        for finding in &mut findings {
            if let Some(spans) = attribution::spans(finding, &plan) {
                let counted = activity::operators_in_spans(
                    store.pool(),
                    &finding.telematik_id,
                    &spans,
                    activity::ATTRIBUTION_LATEST,
                )
                .await?;
                let counts: Vec<OperatorCount> = counted
                    .into_iter()
                    .map(|(operator, certificates)| OperatorCount {
                        operator: operator.map(|id| id.to_string()),
                        certificates,
                    })
                    .collect();
                attribution::attribute(finding, &counts);
            }
        }
        let mut tx = store.begin().await?;
        let mut raised = Vec::new();
        for finding in &findings {
            if let Some(alert) = self.store_finding(&mut tx, finding, plan.at).await? {
                raised.push(alert);
            }
        }
        dcc_store::commit(tx).await?;
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let refresh = self.detector.settings().refresh_seconds;
        if written.len() > WRITTEN_KEYS_KEPT {
            written.retain(|_, at| *at > plan.at - refresh);
        }
        for finding in &findings {
            written.insert(finding.key().to_text(), plan.at);
            // A holder pattern just written: the holder's history is not read again while the
            // alert is fresh (a holder with thousands of certificates would cost a scan of
            // them per batch). The holder key stays in this process's memory only.
            if matches!(finding.rule, Rule::HolderRepeated | Rule::HolderPharmacies) {
                for (holder_key, groups) in &facts.holders {
                    let subject = groups.iter().map(|group| group.uvci.as_str()).min();
                    if subject == Some(finding.subject.as_str()) {
                        written.insert(holder_cooldown_key(holder_key), plan.at);
                    }
                }
            }
        }
        drop(written);
        for alert in &raised {
            self.count(alert);
            tracing::warn!(
                alert_id = alert.id,
                rule = alert.rule.code(),
                action = alert.action.code(),
                pharmacy = %alert.telematik_id,
                "anomaly alert raised"
            );
        }
        Ok(raised)
    }

    async fn read_facts(&self, store: &Store, plan: &Plan) -> Result<Facts, StoreError> {
        let pool = store.pool();
        let mut facts = Facts::default();
        // The recent counts feed `burst` and `volume_spike` only; a pharmacy whose alerts of
        // both were written by this process within `refresh_seconds` is not counted again
        // (its findings would not be written anyway). Under a sustained flood this saves a
        // count over every certificate of the pharmacy's last hour per batch.
        let pharmacies: Vec<&str> = plan
            .pharmacies
            .iter()
            .map(String::as_str)
            .filter(|telematik_id| {
                let written =
                    |rule| self.recently_written_key(&pharmacy_key(rule, telematik_id), plan.at);
                !(written(Rule::Burst) && written(Rule::VolumeSpike))
            })
            .collect();
        let counts = match pharmacies.is_empty() {
            true => HashMap::new(),
            false => {
                activity::window_counts(
                    pool,
                    &pharmacies,
                    plan.hour_since,
                    plan.burst_since,
                    plan.at,
                )
                .await?
            }
        };
        // Pharmacies that just issued outside their hours, grouped by identical closed spans
        // (every pharmacy with the default hours shares one query); not while this process
        // refreshed the pharmacy's `off_hours_repeated` alert within `refresh_seconds`.
        let mut closed_groups: Vec<(&[Span], Vec<&str>)> = Vec::new();
        for query in &plan.closed {
            let key = pharmacy_key(Rule::OffHoursRepeated, &query.telematik_id);
            if self.recently_written_key(&key, plan.at) {
                continue;
            }
            match closed_groups
                .iter_mut()
                .find(|(spans, _)| *spans == query.intervals.as_slice())
            {
                Some((_, ids)) => ids.push(&query.telematik_id),
                None => closed_groups.push((&query.intervals, vec![&query.telematik_id])),
            }
        }
        let mut closed = HashMap::new();
        for (spans, ids) in &closed_groups {
            let counted = activity::in_spans(pool, ids, spans).await?;
            for id in ids {
                let span = counted.get(*id).copied().unwrap_or_default();
                closed.insert(
                    (*id).to_owned(),
                    ClosedActivity {
                        certificates: span.certificates,
                        first_at: span.first_at,
                        last_at: span.last_at,
                    },
                );
            }
        }
        for telematik_id in &plan.pharmacies {
            let counted = counts.get(telematik_id).copied().unwrap_or_default();
            let mut pharmacy = PharmacyActivity {
                in_last_hour: counted.first,
                in_burst_window: counted.second,
                closed: closed.remove(telematik_id),
                baseline: None,
            };
            let spike_key = pharmacy_key(Rule::VolumeSpike, telematik_id);
            if self.detector.wants_baseline(&pharmacy)
                && !self.recently_written_key(&spike_key, plan.at)
            {
                pharmacy.baseline = Some(
                    activity::same_hour_counts(
                        pool,
                        telematik_id,
                        plan.at,
                        self.detector.baseline_days(),
                    )
                    .await?,
                );
            }
            facts.pharmacies.insert(telematik_id.clone(), pharmacy);
        }
        let keys: Vec<&str> = plan
            .holder_keys
            .iter()
            .filter(|key| !self.recently_written_key(&holder_cooldown_key(key), plan.at))
            .map(String::as_str)
            .collect();
        if !keys.is_empty() {
            let rows = activity::holder_groups(
                pool,
                &keys,
                plan.holder_since,
                plan.repeat_since,
                plan.pharmacy_window_since,
                plan.at,
            )
            .await?;
            for row in rows {
                facts
                    .holders
                    .entry(row.holder_key.clone())
                    .or_default()
                    .push(HolderGroup {
                        telematik_id: row.telematik_id,
                        kind: row.certificate_type,
                        dose_number: row.dose_number.and_then(|dose| u32::try_from(dose).ok()),
                        event_date: event_day(&row.event_date),
                        uvci: row.uvci,
                        last_at: row.last_at,
                        certificates: row.certificates,
                        in_repeat_window: row.after_first,
                        in_pharmacy_window: row.after_second,
                    });
            }
        }
        Ok(facts)
    }

    /// Raises or refreshes the finding's alert; for a new alert, takes the action and audits
    /// both.
    async fn store_finding(
        &self,
        tx: &mut Tx<'_>,
        finding: &Finding,
        at: i64,
    ) -> Result<Option<RaisedAlert>, StoreError> {
        let open_key = finding.key().to_text();
        let alert = NewAlert {
            rule: finding.rule.code(),
            severity: finding.severity().code(),
            telematik_id: &finding.telematik_id,
            operator_id: finding.responsible_operator(),
            subject: &finding.subject,
            open_key: &open_key,
            window_start: finding.window_start,
            window_end: finding.window_end,
            evidence: &finding.evidence,
            action: finding.action.code(),
            occurrences: i64::try_from(finding.occurrences).unwrap_or(i64::MAX),
            at,
        };
        let AlertWrite::Raised(id) = alerts::raise_or_refresh(tx, &alert).await? else {
            return Ok(None);
        };
        let event = AuditEvent::AnomalyAlertRaised {
            alert_id: id,
            rule: finding.rule.code(),
            telematik_id: finding.telematik_id.clone(),
            operator: finding.responsible_operator().map(str::to_owned),
            action: finding.action.code(),
        };
        audit::record(tx, &event, at).await?;
        self.take_action(tx, finding, id, at).await?;
        Ok(Some(RaisedAlert {
            id,
            rule: finding.rule,
            action: finding.action,
            telematik_id: finding.telematik_id.clone(),
        }))
    }

    async fn take_action(
        &self,
        tx: &mut Tx<'_>,
        finding: &Finding,
        alert_id: i64,
        at: i64,
    ) -> Result<(), StoreError> {
        let scope = match (finding.action, finding.responsible_operator()) {
            (Action::Warn, _) => return Ok(()),
            (Action::Throttle, _) => {
                let settings = &self.detector.settings().throttle;
                let throttle = Throttle {
                    telematik_id: finding.telematik_id.clone(),
                    pharmacy_burst: settings.pharmacy_burst,
                    pharmacy_per_day: settings.pharmacy_per_day,
                    until: at + settings.minutes * 60,
                    alert_id,
                    created_at: at,
                };
                throttles::set(tx, &throttle).await?;
                let event = AuditEvent::PharmacyThrottled {
                    telematik_id: throttle.telematik_id,
                    alert_id,
                    until: throttle.until,
                    pharmacy_burst: throttle.pharmacy_burst,
                    pharmacy_per_day: throttle.pharmacy_per_day,
                };
                audit::record(tx, &event, at).await?;
                return Ok(());
            }
            (Action::LockOperator, Some(operator)) => LockScope::Operator(operator.to_owned()),
            // Without a known operator the pharmacy is what can be locked: containment first.
            (Action::LockOperator | Action::LockPharmacy, _) => {
                LockScope::Pharmacy(finding.telematik_id.clone())
            }
        };
        let lock = IssuanceLock {
            scope,
            reason: format!("anomaly_{}", finding.rule.code()),
            comment: format!("alert {alert_id}"),
            locked_at: at,
            locked_by: ChangedBy::AnomalyDetection.label(),
        };
        if locks::lock_if_absent(tx, &lock).await? {
            let event = AuditEvent::IssuanceLocked {
                scope: lock.scope,
                reason: lock.reason,
                by: ChangedBy::AnomalyDetection,
            };
            audit::record(tx, &event, at).await?;
        }
        Ok(())
    }

    fn recently_written(&self, finding: &Finding, at: i64) -> bool {
        self.recently_written_key(&finding.key().to_text(), at)
    }

    fn recently_written_key(&self, key: &str, at: i64) -> bool {
        let refresh = self.detector.settings().refresh_seconds;
        self.written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .is_some_and(|&written| at - written < refresh)
    }

    fn count(&self, alert: &RaisedAlert) {
        if let Some(counter) = Rule::ALL
            .iter()
            .position(|rule| *rule == alert.rule)
            .and_then(|index| self.counters.raised.get(index))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(counter) = Action::ALL
            .iter()
            .position(|action| *action == alert.action)
            .and_then(|index| self.counters.actions.get(index))
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The open-alert key of a pharmacy's own pattern (no operator, no subject), as
/// [`dcc_anomaly::finding::FindingKey::to_text`] writes it.
fn pharmacy_key(rule: Rule, telematik_id: &str) -> String {
    format!("{}|{telematik_id}||", rule.code())
}

/// A recorded certificate as the rules see it; the operator is the account that issued it, when
/// it was issued by a signed-in operator.
pub fn issuance(entry: &LedgerEntry) -> Issuance {
    let content = match entry.certificate_type {
        CertificateType::Vaccination => Content::Vaccination {
            product: entry.product.clone(),
            dose_number: entry
                .dose_number
                .and_then(|dose| u32::try_from(dose).ok())
                .unwrap_or(0),
            total_doses: entry
                .total_doses
                .and_then(|doses| u32::try_from(doses).ok())
                .unwrap_or(0),
            date: event_day(&entry.event_date),
        },
        CertificateType::Test => Content::Test {
            sampled: event_day(&entry.event_date),
        },
        CertificateType::Recovery => Content::Recovery {
            first_positive: event_day(&entry.event_date),
        },
    };
    Issuance {
        at: entry.issued_at,
        telematik_id: entry.telematik_id.clone(),
        operator: entry.operator_id.map(|id| id.to_string()),
        uvci: entry.uvci.clone(),
        holder_key: entry.holder_key.clone(),
        content,
    }
}

/// The in-memory cooldown entry of a holder whose pattern was just written.
fn holder_cooldown_key(holder_key: &str) -> String {
    format!("holder|{holder_key}")
}

/// A half-open span of unix seconds.
type Span = (i64, i64);

/// Open-alert keys remembered before the stale ones are dropped.
const WRITTEN_KEYS_KEPT: usize = 10_000;
