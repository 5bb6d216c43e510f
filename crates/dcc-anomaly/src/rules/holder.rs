//! The same holder, recognised by the ledger's keyed hash of name and date of birth (never the
//! clear values): many certificates (`holder_repeated`), certificates from several pharmacies
//! (`holder_pharmacies`, the buyer of a forged vaccination record trying one pharmacy after
//! another), and doses whose numbers and dates contradict each other (`dose_sequence`).

use std::collections::BTreeSet;

use serde_json::json;
use time::Date;

use crate::event::{Content, HolderGroup, Issuance};
use crate::finding::{Finding, Rule};
use crate::settings::AnomalySettings;

/// `holder_repeated`: the holder's vaccination and recovery certificates in the window.
pub(crate) fn repeated(
    settings: &AnomalySettings,
    event: &Issuance,
    groups: &[HolderGroup],
) -> Option<Finding> {
    let rule = &settings.holder_repeated;
    let in_window: Vec<&HolderGroup> = groups
        .iter()
        .filter(|group| group.in_repeat_window > 0)
        .collect();
    let certificates: u64 = in_window.iter().map(|group| group.in_repeat_window).sum();
    if certificates < rule.certificates {
        return None;
    }
    Some(holder_finding(
        Rule::HolderRepeated,
        rule.action,
        event,
        &in_window,
        rule.window_days,
        json!({
            "certificates": certificates,
            "threshold": rule.certificates,
            "window_days": rule.window_days,
            "pharmacies": pharmacies_of(&in_window),
            "uvci": event.uvci,
        }),
    ))
}

/// `holder_pharmacies`: distinct pharmacies that issued to the holder in the window.
pub(crate) fn pharmacies(
    settings: &AnomalySettings,
    event: &Issuance,
    groups: &[HolderGroup],
) -> Option<Finding> {
    let rule = &settings.holder_pharmacies;
    let in_window: Vec<&HolderGroup> = groups
        .iter()
        .filter(|group| group.in_pharmacy_window > 0)
        .collect();
    let pharmacies = pharmacies_of(&in_window);
    if u64::try_from(pharmacies.len()).unwrap_or(u64::MAX) < rule.pharmacies {
        return None;
    }
    let certificates: u64 = in_window.iter().map(|group| group.in_pharmacy_window).sum();
    Some(holder_finding(
        Rule::HolderPharmacies,
        rule.action,
        event,
        &in_window,
        rule.window_days,
        json!({
            "pharmacies": pharmacies,
            "threshold": rule.pharmacies,
            "certificates": certificates,
            "window_days": rule.window_days,
            "uvci": event.uvci,
        }),
    ))
}

/// `dose_sequence`: a vaccination whose dose number and date disagree with another vaccination
/// certificate of the same holder: a lower dose dated on or after a higher one (dn=1 on
/// 1 July after dn=2 on 1 June), or the same dose with another date.
pub(crate) fn dose_sequence(
    settings: &AnomalySettings,
    event: &Issuance,
    groups: &[HolderGroup],
) -> Option<Finding> {
    let rule = &settings.dose_sequence;
    let Content::Vaccination {
        dose_number,
        date: Some(date),
        ..
    } = &event.content
    else {
        return None;
    };
    let conflicts: Vec<&HolderGroup> = groups
        .iter()
        .filter(|group| group.kind == "v" && group.certificates > 0)
        .filter(|group| match (group.dose_number, group.event_date) {
            (Some(other_dose), Some(other_date)) => {
                contradicts(*dose_number, *date, other_dose, other_date)
            }
            _ => false,
        })
        .collect();
    if conflicts.is_empty() {
        return None;
    }
    Some(Finding {
        rule: Rule::DoseSequence,
        action: rule.action,
        telematik_id: event.telematik_id.clone(),
        operator: event.operator.clone(),
        attributed_operator: None,
        subject: String::new(),
        window_start: conflicts
            .iter()
            .map(|group| group.last_at)
            .min()
            .unwrap_or(event.at)
            .min(event.at),
        window_end: event.at,
        evidence: json!({
            "uvci": event.uvci,
            "dose_number": dose_number,
            "conflicting_uvcis": conflicts.iter().map(|group| group.uvci.as_str()).collect::<Vec<_>>(),
            "conflicting_dose_numbers": conflicts.iter().map(|group| group.dose_number).collect::<Vec<_>>(),
            "operator": event.operator,
        }),
        occurrences: 1,
    })
}

/// Whether dose `dose` on `date` and dose `other_dose` on `other_date` cannot both be true.
fn contradicts(dose: u32, date: Date, other_dose: u32, other_date: Date) -> bool {
    (dose < other_dose && date >= other_date)
        || (dose > other_dose && date <= other_date)
        || (dose == other_dose && date != other_date)
}

fn pharmacies_of(groups: &[&HolderGroup]) -> Vec<String> {
    groups
        .iter()
        .map(|group| group.telematik_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn holder_finding(
    rule: Rule,
    action: crate::action::Action,
    event: &Issuance,
    groups: &[&HolderGroup],
    window_days: i64,
    evidence: serde_json::Value,
) -> Finding {
    // The holder's smallest UVCI names the holder's pattern without the holder key.
    let subject = groups
        .iter()
        .map(|group| group.uvci.as_str())
        .min()
        .unwrap_or(&event.uvci)
        .to_owned();
    Finding {
        rule,
        action,
        telematik_id: event.telematik_id.clone(),
        operator: event.operator.clone(),
        attributed_operator: None,
        subject,
        window_start: event.at - window_days * 86_400,
        window_end: event.at,
        evidence,
        occurrences: 1,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn dose_contradictions() {
        let june = date!(2021 - 06 - 01);
        let july = date!(2021 - 07 - 01);
        // Consistent: dose 1 before dose 2, in either order of issuing.
        assert!(!contradicts(1, june, 2, july));
        assert!(!contradicts(2, july, 1, june));
        // A reissue of the same dose and date.
        assert!(!contradicts(2, july, 2, july));
        // dn=1 dated after dn=2, two doses on one day, one dose on two dates.
        assert!(contradicts(1, july, 2, june));
        assert!(contradicts(2, june, 1, july));
        assert!(contradicts(1, june, 2, june));
        assert!(contradicts(2, june, 2, july));
    }
}
