//! Renderings of a [`Statement`]: CSV, JSON and a printable German PDF. Each is a pure
//! function of the statement, so re-rendering a stored statement yields the same bytes.

mod csv;
mod pdf;

use crate::statement::Statement;

/// A rendering format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/pdf`.
    Pdf,
    /// `text/csv` (semicolon-separated, UTF-8).
    Csv,
    /// `application/json` (the stored content, pretty-printed).
    Json,
}

impl Format {
    /// Parses `pdf`, `csv` or `json`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pdf" => Some(Self::Pdf),
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }
}

/// Renders `statement` in `format`.
pub fn render(statement: &Statement, format: Format) -> Vec<u8> {
    match format {
        Format::Pdf => pdf::render(statement),
        Format::Csv => csv::render(statement).into_bytes(),
        Format::Json => {
            let mut bytes = serde_json::to_vec_pretty(statement).unwrap_or_default();
            bytes.push(b'\n');
            bytes
        }
    }
}

/// Euro amount from cents, German style: `1.234,56 €`.
pub(crate) fn euro(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let euros = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped},{:02} €", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euro_amounts_in_german_notation() {
        assert_eq!(euro(0), "0,00 €");
        assert_eq!(euro(600), "6,00 €");
        assert_eq!(euro(123_456_789), "1.234.567,89 €");
        assert_eq!(euro(-1800), "-18,00 €");
    }
}
