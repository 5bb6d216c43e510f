//! The rules over a stream of certificates kept in memory: the facts a [`Plan`] asks for are
//! computed from the stream itself, with the same windows the ledger queries use. For replays
//! of generated traffic and for tests; the service reads the facts from the ledger instead, so
//! that every instance on one database sees the same history.

use std::collections::{BTreeMap, HashMap};

use time::Date;

use crate::attribution::{self, OperatorCount};
use crate::detector::{Detector, Facts, Plan};
use crate::event::{ClosedActivity, Content, HolderGroup, Issuance, PharmacyActivity};
use crate::finding::Finding;

/// The detector with the history of the certificates it was given.
#[derive(Debug, Clone)]
pub struct StreamDetector {
    detector: Detector,
    times: HashMap<String, Vec<i64>>,
    /// Per pharmacy, the operator of each entry of `times` (same order).
    operators: HashMap<String, Vec<Option<String>>>,
    holders: HashMap<String, Vec<HolderRecord>>,
}

#[derive(Debug, Clone)]
struct HolderRecord {
    at: i64,
    telematik_id: String,
    kind: &'static str,
    dose_number: Option<u32>,
    event_date: Option<Date>,
    uvci: String,
}

impl StreamDetector {
    /// An empty history.
    pub fn new(detector: Detector) -> Self {
        Self {
            detector,
            times: HashMap::new(),
            operators: HashMap::new(),
            holders: HashMap::new(),
        }
    }

    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Records the batch and evaluates the rules over it, as the service does after committing
    /// a batch.
    pub fn record_batch(&mut self, batch: &[Issuance]) -> Vec<Finding> {
        for event in batch {
            self.remember(event);
        }
        let plan = self.detector.plan(batch);
        let facts = self.facts(&plan);
        let mut findings = self.detector.evaluate(batch, &plan, &facts);
        for finding in &mut findings {
            if let Some(spans) = attribution::spans(finding, &plan) {
                let counts = self.operator_counts(&finding.telematik_id, &spans);
                attribution::attribute(finding, &counts);
            }
        }
        findings
    }

    /// Per operator, the pharmacy's certificates with `start <= t < end` for any span.
    fn operator_counts(&self, telematik_id: &str, spans: &[(i64, i64)]) -> Vec<OperatorCount> {
        let (Some(times), Some(operators)) = (
            self.times.get(telematik_id),
            self.operators.get(telematik_id),
        ) else {
            return Vec::new();
        };
        let mut counts: BTreeMap<Option<&str>, u64> = BTreeMap::new();
        for &(start, end) in spans {
            let from = times.partition_point(|&t| t < start);
            let to = times.partition_point(|&t| t < end);
            for operator in operators.get(from..to).unwrap_or(&[]) {
                *counts.entry(operator.as_deref()).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .map(|(operator, certificates)| OperatorCount {
                operator: operator.map(str::to_owned),
                certificates,
            })
            .collect()
    }

    /// Records one certificate and evaluates the rules over it alone.
    pub fn record(&mut self, event: &Issuance) -> Vec<Finding> {
        self.record_batch(std::slice::from_ref(event))
    }

    fn remember(&mut self, event: &Issuance) {
        let times = self.times.entry(event.telematik_id.clone()).or_default();
        let operators = self
            .operators
            .entry(event.telematik_id.clone())
            .or_default();
        let position = times.partition_point(|&t| t <= event.at);
        times.insert(position, event.at);
        operators.insert(position.min(operators.len()), event.operator.clone());
        // Nothing older than the baseline's reach is ever counted again.
        let reach = i64::from(self.detector.baseline_days() + 2) * DAY;
        let stale = times.partition_point(|&t| t < event.at - reach);
        if stale > 1024 {
            times.drain(..stale);
            operators.drain(..stale.min(operators.len()));
        }
        let Some(holder_key) = &event.holder_key else {
            return;
        };
        let (kind, dose_number, event_date) = match &event.content {
            Content::Vaccination {
                dose_number, date, ..
            } => ("v", Some(*dose_number), *date),
            Content::Recovery { first_positive } => ("r", None, *first_positive),
            // Tests are not read for holder rules.
            Content::Test { .. } => return,
        };
        self.holders
            .entry(holder_key.clone())
            .or_default()
            .push(HolderRecord {
                at: event.at,
                telematik_id: event.telematik_id.clone(),
                kind,
                dose_number,
                event_date,
                uvci: event.uvci.clone(),
            });
    }

    fn facts(&self, plan: &Plan) -> Facts {
        let mut facts = Facts::default();
        let empty = Vec::new();
        for telematik_id in &plan.pharmacies {
            let times = self.times.get(telematik_id).unwrap_or(&empty);
            let mut activity = PharmacyActivity {
                in_burst_window: count_between(times, plan.burst_since, plan.at),
                in_last_hour: count_between(times, plan.hour_since, plan.at),
                closed: None,
                baseline: None,
            };
            if let Some(query) = plan
                .closed
                .iter()
                .find(|query| &query.telematik_id == telematik_id)
            {
                activity.closed = Some(closed_activity(times, &query.intervals));
            }
            if self.detector.wants_baseline(&activity) {
                activity.baseline = Some(
                    (1..=i64::from(self.detector.baseline_days()))
                        .map(|day| {
                            let end = plan.at - day * DAY;
                            count_between(times, end - 3600, end)
                        })
                        .collect(),
                );
            }
            facts.pharmacies.insert(telematik_id.clone(), activity);
        }
        for key in &plan.holder_keys {
            let records = self.holders.get(key).unwrap_or(&Vec::new()).clone();
            facts
                .holders
                .insert(key.clone(), holder_groups(&records, plan));
        }
        facts
    }
}

/// Certificates with `since < t <= until` in sorted `times`.
fn count_between(times: &[i64], since: i64, until: i64) -> u64 {
    let upto = times.partition_point(|&t| t <= until);
    let before = times.partition_point(|&t| t <= since);
    u64::try_from(upto.saturating_sub(before)).unwrap_or(u64::MAX)
}

fn closed_activity(times: &[i64], intervals: &[(i64, i64)]) -> ClosedActivity {
    let mut activity = ClosedActivity::default();
    for &(start, end) in intervals {
        let from = times.partition_point(|&t| t < start);
        let to = times.partition_point(|&t| t < end);
        let inside = times.get(from..to).unwrap_or(&[]);
        if let (Some(&first), Some(&last)) = (inside.first(), inside.last()) {
            activity.first_at = Some(activity.first_at.map_or(first, |t: i64| t.min(first)));
            activity.last_at = Some(activity.last_at.map_or(last, |t: i64| t.max(last)));
        }
        activity.certificates += u64::try_from(inside.len()).unwrap_or(u64::MAX);
    }
    activity
}

/// The records grouped as the ledger query groups them.
fn holder_groups(records: &[HolderRecord], plan: &Plan) -> Vec<HolderGroup> {
    type GroupKey = (String, &'static str, Option<u32>, Option<Date>);
    let mut groups: BTreeMap<GroupKey, HolderGroup> = BTreeMap::new();
    for record in records
        .iter()
        .filter(|record| record.at > plan.holder_since && record.at <= plan.at)
    {
        let key = (
            record.telematik_id.clone(),
            record.kind,
            record.dose_number,
            record.event_date,
        );
        let group = groups.entry(key).or_insert_with(|| HolderGroup {
            telematik_id: record.telematik_id.clone(),
            kind: record.kind.to_owned(),
            dose_number: record.dose_number,
            event_date: record.event_date,
            uvci: record.uvci.clone(),
            last_at: record.at,
            certificates: 0,
            in_repeat_window: 0,
            in_pharmacy_window: 0,
        });
        if record.uvci < group.uvci {
            group.uvci = record.uvci.clone();
        }
        group.last_at = group.last_at.max(record.at);
        group.certificates += 1;
        group.in_repeat_window += u64::from(record.at > plan.repeat_since);
        group.in_pharmacy_window += u64::from(record.at > plan.pharmacy_window_since);
    }
    groups.into_values().collect()
}

const DAY: i64 = 86_400;
