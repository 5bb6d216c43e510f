//! The rules that differ between schema versions (spec §2.6), and the choice of version.

use super::syntax;

/// The schema rules in force for one group of schema versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Profile {
    /// `maxLength` of names, `is`, `ci` and `tc`: 50 before 1.3.0, 80 since (§2.6).
    pub(super) max_length: usize,
    /// `maximum` of `dn` and `sd`: 9 before 1.3.0, none since (§2.6).
    pub(super) dose_maximum: Option<i64>,
    /// Whether `t.tc` is required: it was until 1.3.0 (§2.6).
    pub(super) test_centre_required: bool,
    /// `maxItems` of `v`, `t`, `r`: 1 since 1.3.0, unbounded before (§2.6).
    pub(super) max_entries: Option<usize>,
    /// `maxLength` of `t.nm`: 80 since 1.3.0, unbounded before (§2.6).
    pub(super) test_name_max_length: Option<usize>,
    /// The `dob` pattern.
    pub(super) date_of_birth: DateOfBirthRule,
    /// Which standardised names are required.
    pub(super) names: NameRule,
}

/// The `dob` pattern of a schema version (§2.1, §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DateOfBirthRule {
    /// 1.0.x: a full date, with an unanchored pattern (so any string containing one matches).
    FullDate,
    /// 1.1.0 to 1.2.1: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    Partial,
    /// Since 1.3.0: as `Partial`, or empty.
    PartialOrEmpty,
}

impl DateOfBirthRule {
    /// The pattern as written in the schema, for error messages.
    pub(super) fn pattern(self) -> &'static str {
        match self {
            Self::FullDate => DOB_PATTERN_1_0,
            Self::Partial => DOB_PATTERN_1_1,
            Self::PartialOrEmpty => DOB_PATTERN_1_3,
        }
    }

    /// Whether `text` matches the pattern.
    pub(super) fn matches(self, text: &str) -> bool {
        match self {
            Self::FullDate => syntax::contains_full_date_shape(text),
            Self::Partial => !text.is_empty() && syntax::is_partial_date_shape(text),
            Self::PartialOrEmpty => text.is_empty() || syntax::is_partial_date_shape(text),
        }
    }
}

/// The rule on `nam.fnt` and `nam.gnt` (§2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NameRule {
    /// Before 1.3.2: `fnt` is required.
    SurnameRequired,
    /// Since 1.3.2: `fnt` or `gnt` (Implementing Decision 2022/483).
    SurnameOrForename,
}

/// Schema 1.0.0 and 1.0.1.
const V1_0: Profile = Profile {
    max_length: 50,
    dose_maximum: Some(9),
    test_centre_required: true,
    max_entries: None,
    test_name_max_length: None,
    date_of_birth: DateOfBirthRule::FullDate,
    names: NameRule::SurnameRequired,
};

/// Schema 1.1.0 to 1.2.1.
const V1_1: Profile = Profile {
    date_of_birth: DateOfBirthRule::Partial,
    ..V1_0
};

/// Schema 1.3.0 and 1.3.1.
const V1_3_0: Profile = Profile {
    max_length: 80,
    dose_maximum: None,
    test_centre_required: false,
    max_entries: Some(1),
    test_name_max_length: Some(80),
    date_of_birth: DateOfBirthRule::PartialOrEmpty,
    names: NameRule::SurnameRequired,
};

/// Schema 1.3.2 and 1.3.3, the current rules.
pub(super) const CURRENT: Profile = Profile {
    names: NameRule::SurnameOrForename,
    ..V1_3_0
};

/// The oldest `ver` we issue (§2.1).
pub(super) const OLDEST_ISSUED: (u64, u64, u64) = (1, 3, 0);

/// The same, as text for messages.
pub(super) const OLDEST_ISSUED_TEXT: &str = "1.3.0";

/// The known versions with their profiles, in ascending order.
const KNOWN: [((u64, u64, u64), Profile); 9] = [
    ((1, 0, 0), V1_0),
    ((1, 0, 1), V1_0),
    ((1, 1, 0), V1_1),
    ((1, 2, 0), V1_1),
    ((1, 2, 1), V1_1),
    ((1, 3, 0), V1_3_0),
    ((1, 3, 1), V1_3_0),
    ((1, 3, 2), CURRENT),
    ((1, 3, 3), CURRENT),
];

/// Reads `ver` as three runs of ASCII digits separated by single other characters, as the
/// schema pattern `^\d+.\d+.\d+$` allows; `None` if it is not of that shape or out of range.
pub(super) fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut runs = text.split(|character: char| !character.is_ascii_digit());
    let major = runs.next()?.parse().ok()?;
    let minor = runs.next()?.parse().ok()?;
    let patch = runs.next()?.parse().ok()?;
    match runs.next() {
        None => Some((major, minor, patch)),
        Some(_) => None,
    }
}

/// The profile for a payload whose `ver` is `version` (module docs of `validation`).
pub(super) fn for_version(version: Option<(u64, u64, u64)>) -> Profile {
    let Some(version) = version else {
        return CURRENT;
    };
    let mut chosen = V1_0;
    for (known, profile) in KNOWN {
        if known <= version {
            chosen = profile;
        }
    }
    chosen
}

const DOB_PATTERN_1_0: &str = r"(19|20)\d{2}-\d{2}-\d{2}";
const DOB_PATTERN_1_1: &str = r"^(19|20)\d\d(-\d\d){0,2}$";
const DOB_PATTERN_1_3: &str = r"^((19|20)\d\d(-\d\d){0,2}){0,1}$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_read_as_three_digit_runs() {
        assert_eq!(parse_version("1.3.0"), Some((1, 3, 0)));
        assert_eq!(parse_version("1x3y10"), Some((1, 3, 10)));
        assert_eq!(parse_version("1.3"), None);
        assert_eq!(parse_version("1.3.0.1"), None);
        assert_eq!(parse_version("v1.3.0"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn unknown_versions_take_the_greatest_known_below() {
        assert_eq!(for_version(Some((1, 0, 4))), V1_0);
        assert_eq!(for_version(Some((1, 2, 9))), V1_1);
        assert_eq!(for_version(Some((1, 3, 1))), V1_3_0);
        assert_eq!(for_version(Some((1, 4, 0))), CURRENT);
        assert_eq!(for_version(Some((2, 0, 0))), CURRENT);
    }

    #[test]
    fn versions_below_the_first_take_the_first_and_unreadable_take_current() {
        assert_eq!(for_version(Some((0, 9, 0))), V1_0);
        assert_eq!(for_version(None), CURRENT);
    }

    #[test]
    fn date_of_birth_patterns_per_version() {
        assert!(DateOfBirthRule::FullDate.matches("1978-01-26T00:00:00"));
        assert!(!DateOfBirthRule::FullDate.matches("1978"));
        assert!(DateOfBirthRule::Partial.matches("1978"));
        assert!(!DateOfBirthRule::Partial.matches(""));
        assert!(DateOfBirthRule::PartialOrEmpty.matches(""));
        assert!(!DateOfBirthRule::PartialOrEmpty.matches("1978-01-26T00:00:00"));
    }
}
