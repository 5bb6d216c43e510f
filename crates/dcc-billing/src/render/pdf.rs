//! A small hand-written PDF 1.4: A4 pages of text in the standard Helvetica fonts with
//! WinAnsiEncoding (enough for German; statements hold no names, so no embedded font is
//! needed). No creation date, no document ID: the bytes depend on the statement alone.

use std::fmt::Write;

use super::euro;
use crate::statement::Statement;

/// Renders the statement as a German PDF.
pub(super) fn render(statement: &Statement) -> Vec<u8> {
    let lines = layout(statement);
    let pages: Vec<&[Line]> = lines.chunks(LINES_PER_PAGE).collect();
    let page_count = pages.len().max(1);
    let mut objects: Vec<Vec<u8>> = Vec::new();
    // 1: catalog, 2: pages, 3: regular font, 4: bold font, then (page, content) pairs.
    let page_ids: Vec<usize> = (0..page_count).map(|i| 5 + 2 * i).collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = page_ids.iter().map(|id| format!("{id} 0 R")).collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {page_count} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objects.push(font("Helvetica"));
    objects.push(font("Helvetica-Bold"));
    for (index, page_lines) in pages.iter().enumerate() {
        let content = page_content(page_lines, index + 1, page_count);
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                6 + 2 * index
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(&content);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }
    assemble(&objects)
}

struct Line {
    bold: bool,
    size: u8,
    cells: Vec<(u16, String)>,
}

fn text(bold: bool, size: u8, value: impl Into<String>) -> Line {
    Line {
        bold,
        size,
        cells: vec![(LEFT, value.into())],
    }
}

fn row(bold: bool, cells: &[&str]) -> Line {
    Line {
        bold,
        size: 9,
        cells: COLUMNS
            .iter()
            .zip(cells)
            .map(|(x, value)| (*x, (*value).to_owned()))
            .collect(),
    }
}

fn blank() -> Line {
    text(false, 9, "")
}

fn layout(statement: &Statement) -> Vec<Line> {
    let month = statement.month;
    let mut lines = vec![
        text(
            true,
            14,
            format!(
                "Abrechnung Impfzertifikate – {}",
                month_de(&month.to_string())
            ),
        ),
        blank(),
        text(
            false,
            10,
            format!("Betriebsstätte (Telematik-ID): {}", statement.telematik_id),
        ),
        text(
            false,
            10,
            format!(
                "Abrechnungszeitraum: {} bis {} (Erstellungsdatum, Zeitzone Europe/Berlin)",
                german_date(&iso_first_day(&month.to_string())),
                german_date(&statement.period_end)
            ),
        ),
        text(
            false,
            10,
            format!(
                "Ausgestellt: {}   nicht abrechenbar: {} (als Betrug widerrufen: {}, ohne Vergütung: {})   abgerechnet: {}",
                statement.issued,
                statement.not_billable.total(),
                statement.not_billable.fraud,
                statement.not_billable.no_fee,
                statement.billed
            ),
        ),
        blank(),
        text(true, 11, "Zertifikate nach Erstellungsdatum"),
        row(true, &["Datum", "Art", "Einzelbetrag", "Anzahl", "Betrag"]),
    ];
    if statement.days.is_empty() {
        lines.push(text(false, 9, "keine abrechenbaren Zertifikate"));
    }
    for day in &statement.days {
        lines.push(row(
            false,
            &[
                &german_date(&day.date),
                day.category.label_de(),
                &euro(day.unit_cents),
                &day.count.to_string(),
                &euro(day.amount_cents),
            ],
        ));
    }
    lines.push(blank());
    lines.push(text(true, 11, "Summen je Art und Vergütungsstufe"));
    lines.push(row(
        true,
        &["Sonder-PZN", "Art", "Einzelbetrag", "Anzahl", "Betrag"],
    ));
    for tier in &statement.tiers {
        lines.push(row(
            false,
            &[
                &tier.pzn,
                tier.category.label_de(),
                &euro(tier.unit_cents),
                &tier.count.to_string(),
                &euro(tier.amount_cents),
            ],
        ));
    }
    if !statement.corrections.is_empty() {
        lines.push(blank());
        lines.push(text(
            true,
            11,
            "Korrekturen: nach Abschluss als Betrug widerrufene Zertifikate",
        ));
        lines.push(row(
            true,
            &["Erstellt am", "Art", "Einzelbetrag", "Anzahl", "Betrag"],
        ));
        for correction in &statement.corrections {
            lines.push(row(
                false,
                &[
                    &format!(
                        "{} (abgerechnet {})",
                        german_date(&correction.date),
                        correction.billed_month
                    ),
                    correction.category.label_de(),
                    &euro(correction.unit_cents),
                    &format!("-{}", correction.count),
                    &euro(correction.amount_cents),
                ],
            ));
        }
    }
    lines.push(blank());
    lines.push(text(
        true,
        11,
        "Angaben für den Sonderbeleg Nacht- und Notdienstfonds des DAV",
    ));
    lines.push(text(
        false,
        9,
        "Empfänger, Fonds-IK und das Feld darunter streichen; \"Impfzertifikate\" eintragen; IK der Apotheke eintragen.",
    ));
    lines.push(text(
        false,
        9,
        format!(
            "Abgabemonat Ende: {}   Faktor höchstens 9999 je Zeile (weitere Zeilen bzw. Belege).",
            german_date(&statement.period_end)
        ),
    ));
    lines.push(row(
        true,
        &["Sonder-PZN", "Einzelbetrag", "Faktor", "Anzahl (Cent)", ""],
    ));
    for line in &statement.form_lines {
        lines.push(row(
            false,
            &[
                &line.pzn,
                &euro(line.unit_cents),
                &line.factor.to_string(),
                &line.amount_cents.to_string(),
                "",
            ],
        ));
    }
    lines.push(blank());
    lines.push(text(
        true,
        12,
        format!("Summe: {}", euro(statement.total_cents)),
    ));
    lines.push(blank());
    let hash = statement
        .to_content()
        .map(|content| Statement::content_hash(&content))
        .unwrap_or_default();
    lines.push(text(false, 8, format!("Inhalts-Hash (SHA-256): {hash}")));
    lines.push(text(
        false,
        8,
        "Enthält keine personenbezogenen Daten. Aufbewahren bis 31.12.2024 (CoronaImpfV §10).",
    ));
    lines
}

fn page_content(lines: &[Line], page: usize, pages: usize) -> Vec<u8> {
    let mut out = String::from("BT\n");
    let mut y = TOP;
    for line in lines {
        let font = if line.bold { "F2" } else { "F1" };
        for (x, value) in &line.cells {
            let _ = writeln!(
                out,
                "/{font} {} Tf 1 0 0 1 {x} {y} Tm ({}) Tj",
                line.size,
                escape(value)
            );
        }
        y -= LINE_HEIGHT;
    }
    let _ = writeln!(
        out,
        "/F1 8 Tf 1 0 0 1 {LEFT} 30 Tm (Seite {page} von {pages}) Tj"
    );
    out.push_str("ET");
    out.into_bytes()
}

fn font(name: &str) -> Vec<u8> {
    format!("<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>")
        .into_bytes()
}

fn assemble(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

/// A PDF literal string in WinAnsiEncoding, with `(`, `)` and `\` escaped and characters
/// outside the encoding replaced by `?`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {
                let byte = win_ansi(c).unwrap_or(b'?');
                let _ = write!(out, "\\{byte:03o}");
            }
        }
    }
    out
}

fn win_ansi(c: char) -> Option<u8> {
    match c {
        '€' => Some(0x80),
        '–' => Some(0x96),
        '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).ok(),
        _ => None,
    }
}

fn month_de(month: &str) -> String {
    let (year, number) = month.split_once('-').unwrap_or((month, ""));
    let name = match number {
        "01" => "Januar",
        "02" => "Februar",
        "03" => "März",
        "04" => "April",
        "05" => "Mai",
        "06" => "Juni",
        "07" => "Juli",
        "08" => "August",
        "09" => "September",
        "10" => "Oktober",
        "11" => "November",
        "12" => "Dezember",
        _ => number,
    };
    format!("{name} {year}")
}

fn iso_first_day(month: &str) -> String {
    format!("{month}-01")
}

/// `YYYY-MM-DD` → `DD.MM.YYYY`.
fn german_date(iso: &str) -> String {
    let mut parts = iso.split('-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(year), Some(month), Some(day)) => format!("{day}.{month}.{year}"),
        _ => iso.to_owned(),
    }
}

const LEFT: u16 = 50;
const TOP: u16 = 790;
const LINE_HEIGHT: u16 = 14;
const LINES_PER_PAGE: usize = 52;
const COLUMNS: [u16; 5] = [50, 170, 390, 460, 510];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_pdf_specials_and_encodes_umlauts_and_euro() {
        assert_eq!(escape("a(b)c\\"), "a\\(b\\)c\\\\");
        assert_eq!(escape("Ä€–"), "\\304\\200\\226");
        assert_eq!(escape("日"), "\\077");
    }

    #[test]
    fn dates_and_months_in_german() {
        assert_eq!(german_date("2021-07-31"), "31.07.2021");
        assert_eq!(month_de("2021-03"), "März 2021");
    }
}
