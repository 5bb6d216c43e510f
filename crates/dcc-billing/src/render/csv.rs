//! CSV: one record per line of the statement, semicolon-separated (as German spreadsheets
//! expect), a `abschnitt` column naming the section.

use std::fmt::Write;

use crate::statement::Statement;

/// Renders the statement as CSV.
pub(super) fn render(statement: &Statement) -> String {
    let mut out = String::new();
    out.push_str("abschnitt;monat;datum;kategorie;pzn;einzelbetrag_cent;anzahl;betrag_cent\n");
    let month = statement.month;
    for day in &statement.days {
        let _ = writeln!(
            out,
            "tag;{month};{};{};{};{};{};{}",
            day.date,
            category(day.category),
            day.pzn,
            day.unit_cents,
            day.count,
            day.amount_cents
        );
    }
    for tier in &statement.tiers {
        let _ = writeln!(
            out,
            "summe;{month};;{};{};{};{};{}",
            category(tier.category),
            tier.pzn,
            tier.unit_cents,
            tier.count,
            tier.amount_cents
        );
    }
    for correction in &statement.corrections {
        let _ = writeln!(
            out,
            "korrektur;{};{};{};{};{};{};{}",
            correction.billed_month,
            correction.date,
            category(correction.category),
            correction.pzn,
            correction.unit_cents,
            correction.count,
            correction.amount_cents
        );
    }
    for line in &statement.form_lines {
        let _ = writeln!(
            out,
            "formular;{month};{};;{};{};{};{}",
            statement.period_end, line.pzn, line.unit_cents, line.factor, line.amount_cents
        );
    }
    let _ = writeln!(out, "ausgestellt;{month};;;;;{};", statement.issued);
    let _ = writeln!(
        out,
        "nicht_abrechenbar_betrug;{month};;;;;{};",
        statement.not_billable.fraud
    );
    let _ = writeln!(
        out,
        "nicht_abrechenbar_ohne_verguetung;{month};;;;;{};",
        statement.not_billable.no_fee
    );
    let _ = writeln!(out, "abgerechnet;{month};;;;;{};", statement.billed);
    let _ = writeln!(out, "gesamt;{month};;;;;;{}", statement.total_cents);
    out
}

fn category(category: crate::classify::Category) -> &'static str {
    match category {
        crate::classify::Category::Vaccination => "impfzertifikat",
        crate::classify::Category::SecondDoseSameVisit => "impfzertifikat_ii",
        crate::classify::Category::Recovery => "genesenenzertifikat",
        crate::classify::Category::Test => "testzertifikat",
    }
}
