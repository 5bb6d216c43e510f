//! The `HC1:` context identifier in front of the Base45 text (dcc-spec.md §1.1, layer 6).

/// The prefix of version-1 health certificates.
pub const HC1_PREFIX: &str = "HC1:";

/// Why the text does not start with the HC1 prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    /// Another context identifier of the `HCn:` family (a future, incompatible version).
    #[error("unsupported context identifier {found:?}: only HC1: is supported")]
    UnsupportedVersion {
        /// The prefix that was found, e.g. `HC2:`.
        found: String,
    },
    /// No recognisable prefix at all.
    #[error("the text does not start with HC1: (it starts with {start:?})")]
    Missing {
        /// Up to the first eight characters of the text, for the message.
        start: String,
    },
}

/// Strips the `HC1:` prefix, returning the Base45 text behind it.
///
/// Surrounding white space (a trailing newline from a file or a terminal) is ignored; white
/// space inside the text is part of the Base45 alphabet and kept.
pub fn strip(text: &str) -> Result<&str, PrefixError> {
    // A trailing space may be Base45 data (index 36), so only line ends are trimmed there.
    let text = text.trim_start().trim_end_matches(['\n', '\r', '\t']);
    if let Some(rest) = text.strip_prefix(HC1_PREFIX) {
        return Ok(rest);
    }
    let start: String = text.chars().take(8).collect();
    let bytes = text.as_bytes();
    if let [b'H', b'C', version, b':', ..] = bytes
        && (version.is_ascii_digit() || version.is_ascii_uppercase())
    {
        return Err(PrefixError::UnsupportedVersion {
            found: start.chars().take(4).collect(),
        });
    }
    Err(PrefixError::Missing { start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_prefix_and_surrounding_newlines() {
        assert_eq!(strip(" HC1:6BF+70\r\n").unwrap(), "6BF+70");
        assert_eq!(strip("HC1:6BF+7 \n").unwrap(), "6BF+7 ");
    }

    #[test]
    fn rejects_other_versions_and_missing_prefix() {
        assert_eq!(
            strip("HC2:ABC").unwrap_err(),
            PrefixError::UnsupportedVersion {
                found: "HC2:".into()
            }
        );
        assert_eq!(
            strip("HL0:ABC").unwrap_err(),
            PrefixError::Missing {
                start: "HL0:ABC".into()
            }
        );
        assert_eq!(
            strip("6BF+70").unwrap_err(),
            PrefixError::Missing {
                start: "6BF+70".into()
            }
        );
    }
}
