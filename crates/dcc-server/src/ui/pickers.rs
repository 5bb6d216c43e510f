//! The choices of the form's pickers, from `dcc-core`'s embedded value sets: display names,
//! active codes only (a deprecated code stays listed when it is the one already chosen),
//! sorted by name.

use dcc_core::value_sets::{ValueSetKind, ValueSets};

/// One option of a picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The code sent with the form.
    pub code: String,
    /// The display name.
    pub label: String,
    /// Whether it is the chosen one.
    pub selected: bool,
}

/// The options of the value set `kind`, with `selected` marked.
pub fn choices(kind: ValueSetKind, selected: &str) -> Vec<Choice> {
    let Ok(sets) = ValueSets::official() else {
        return Vec::new();
    };
    let set = sets.get(kind);
    let mut choices: Vec<Choice> = set
        .codes()
        .filter(|code| set.is_active(code) || *code == selected)
        .map(|code| Choice {
            code: code.to_owned(),
            label: set.display(code).unwrap_or(code).to_owned(),
            selected: code == selected,
        })
        .collect();
    choices.sort_by_key(|choice| choice.label.to_lowercase());
    choices
}

/// The display name of `code` in the value set `kind`, or the code itself.
pub fn display(kind: ValueSetKind, code: &str) -> String {
    ValueSets::official()
        .ok()
        .and_then(|sets| sets.get(kind).display(code))
        .unwrap_or(code)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickers_offer_display_names_and_mark_the_choice() {
        let products = choices(ValueSetKind::VaccineProduct, "EU/1/20/1528");
        let comirnaty = products
            .iter()
            .find(|choice| choice.code == "EU/1/20/1528")
            .unwrap();
        assert_eq!(comirnaty.label, "Comirnaty");
        assert!(comirnaty.selected);
        assert_eq!(products.iter().filter(|c| c.selected).count(), 1);
        let countries = choices(ValueSetKind::Country, "DE");
        assert!(countries.len() > 200);
        assert_eq!(display(ValueSetKind::Country, "DE"), "Germany");
        assert_eq!(
            display(ValueSetKind::TestResult, "260415000"),
            "Not detected"
        );
    }
}
