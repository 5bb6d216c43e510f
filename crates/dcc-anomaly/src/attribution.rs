//! Who is behind a pharmacy-wide pattern. `off_hours_repeated`, `volume_spike` and `burst`
//! count a pharmacy's certificates, not one person's: an insider who borrows colleagues'
//! accounts must not slip under a per-person threshold. Once such a rule fires, the caller
//! reads how many of the counted certificates each operator issued ([`spans`] says where), and
//! [`attribute`] writes that breakdown into the evidence and names the operator who issued at
//! least half of them. `lock_operator` locks that person, so colleagues keep issuing; with no
//! such operator it locks the pharmacy.

use serde_json::{Value, json};

use crate::detector::Plan;
use crate::finding::{Finding, Rule};

/// Certificates of one operator (or of none: rows from before operator accounts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCount {
    /// The operator id, `None` for certificates without one.
    pub operator: Option<String>,
    /// How many.
    pub certificates: u64,
}

/// The half-open spans `[start, end)` of unix seconds whose certificates the finding counted,
/// for a pharmacy-wide finding without an operator; `None` for the other rules (they name the
/// operator of the certificate that triggered them) and for findings already attributed.
pub fn spans(finding: &Finding, plan: &Plan) -> Option<Vec<(i64, i64)>> {
    if finding.operator.is_some() || finding.attributed_operator.is_some() {
        return None;
    }
    // Windows are `since < issued_at <= at`; in whole seconds that is `[since + 1, at + 1)`.
    match finding.rule {
        Rule::Burst => Some(vec![(plan.burst_since + 1, plan.at + 1)]),
        Rule::VolumeSpike => Some(vec![(plan.hour_since + 1, plan.at + 1)]),
        Rule::OffHoursRepeated => plan
            .closed
            .iter()
            .find(|query| query.telematik_id == finding.telematik_id)
            .map(|query| query.intervals.clone()),
        Rule::OffHours
        | Rule::HolderRepeated
        | Rule::HolderPharmacies
        | Rule::ImplausibleContent
        | Rule::DoseSequence => None,
    }
}

/// Adds `operators` (each operator's certificates, most first; `null` for certificates
/// without an operator) to the evidence, and names the operator who issued at least half of
/// the certificates counted, if there is one.
pub fn attribute(finding: &mut Finding, counts: &[OperatorCount]) {
    let mut sorted: Vec<&OperatorCount> = counts
        .iter()
        .filter(|count| count.certificates > 0)
        .collect();
    sorted.sort_by(|a, b| {
        b.certificates
            .cmp(&a.certificates)
            .then_with(|| a.operator.cmp(&b.operator))
    });
    let total: u64 = sorted.iter().map(|count| count.certificates).sum();
    let leader = sorted
        .first()
        .filter(|first| first.certificates.saturating_mul(2) >= total)
        .filter(|first| {
            // A tie for the lead names no one.
            sorted
                .get(1)
                .is_none_or(|second| second.certificates < first.certificates)
        })
        .and_then(|first| first.operator.clone());
    let breakdown: Vec<Value> = sorted
        .iter()
        .map(|count| json!({"operator": count.operator, "certificates": count.certificates}))
        .collect();
    if let Some(fields) = finding.evidence.as_object_mut() {
        fields.insert("operators".into(), Value::Array(breakdown));
        if let Some(leader) = &leader {
            fields.insert("attributed_operator".into(), Value::String(leader.clone()));
        }
    }
    finding.attributed_operator = leader;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::detector::ClosedQuery;

    fn finding(rule: Rule) -> Finding {
        Finding {
            rule,
            action: Action::LockOperator,
            telematik_id: "3-A".into(),
            operator: None,
            attributed_operator: None,
            subject: String::new(),
            window_start: 0,
            window_end: 0,
            evidence: json!({"certificates": 6}),
            occurrences: 1,
        }
    }

    fn plan() -> Plan {
        Plan {
            at: 1_000,
            burst_since: 880,
            hour_since: -2_600,
            pharmacies: vec!["3-A".into()],
            closed: vec![ClosedQuery {
                telematik_id: "3-A".into(),
                intervals: vec![(10, 20), (30, 40)],
            }],
            holder_keys: Vec::new(),
            holder_since: 0,
            repeat_since: 0,
            pharmacy_window_since: 0,
        }
    }

    fn count(operator: Option<&str>, certificates: u64) -> OperatorCount {
        OperatorCount {
            operator: operator.map(str::to_owned),
            certificates,
        }
    }

    #[test]
    fn spans_cover_the_counted_windows_of_pharmacy_wide_rules_only() {
        let plan = plan();
        assert_eq!(
            spans(&finding(Rule::Burst), &plan),
            Some(vec![(881, 1_001)])
        );
        assert_eq!(
            spans(&finding(Rule::VolumeSpike), &plan),
            Some(vec![(-2_599, 1_001)])
        );
        assert_eq!(
            spans(&finding(Rule::OffHoursRepeated), &plan),
            Some(vec![(10, 20), (30, 40)])
        );
        assert_eq!(spans(&finding(Rule::OffHours), &plan), None);
        assert_eq!(spans(&finding(Rule::HolderRepeated), &plan), None);
        let mut named = finding(Rule::Burst);
        named.operator = Some("7".into());
        assert_eq!(spans(&named, &plan), None);
    }

    #[test]
    fn the_operator_with_at_least_half_is_named_with_the_breakdown() {
        let mut found = finding(Rule::OffHoursRepeated);
        attribute(
            &mut found,
            &[count(Some("12"), 2), count(Some("7"), 5), count(None, 3)],
        );
        assert_eq!(found.attributed_operator.as_deref(), Some("7"));
        assert_eq!(found.evidence["attributed_operator"], "7");
        assert_eq!(
            found.evidence["operators"],
            json!([
                {"operator": "7", "certificates": 5},
                {"operator": null, "certificates": 3},
                {"operator": "12", "certificates": 2},
            ])
        );
        // The finding's own key is unchanged: one ongoing pattern stays one alert.
        assert_eq!(found.key().operator, "");
    }

    #[test]
    fn no_one_is_named_without_a_majority_a_clear_lead_or_an_operator() {
        let mut spread = finding(Rule::Burst);
        attribute(
            &mut spread,
            &[
                count(Some("1"), 4),
                count(Some("2"), 3),
                count(Some("3"), 3),
            ],
        );
        assert_eq!(spread.attributed_operator, None);
        assert!(spread.evidence.get("attributed_operator").is_none());
        assert_eq!(spread.evidence["operators"][0]["operator"], "1");

        let mut tie = finding(Rule::Burst);
        attribute(&mut tie, &[count(Some("1"), 5), count(Some("2"), 5)]);
        assert_eq!(tie.attributed_operator, None);

        let mut unknown = finding(Rule::Burst);
        attribute(&mut unknown, &[count(None, 9), count(Some("2"), 1)]);
        assert_eq!(unknown.attributed_operator, None);

        let mut empty = finding(Rule::Burst);
        attribute(&mut empty, &[]);
        assert_eq!(empty.attributed_operator, None);
        assert_eq!(empty.evidence["operators"], json!([]));
    }
}
