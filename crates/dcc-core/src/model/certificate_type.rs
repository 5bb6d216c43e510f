//! The three kinds of certificate (dcc-spec.md §2.3–2.5).

/// Which kind of certificate a payload is: its one entry sits under `v`, `t` or `r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertificateType {
    /// Vaccination (`v`).
    Vaccination,
    /// Test (`t`).
    Test,
    /// Recovery (`r`).
    Recovery,
}

impl CertificateType {
    /// All types, in the order `v`, `t`, `r`.
    pub const ALL: [CertificateType; 3] = [Self::Vaccination, Self::Test, Self::Recovery];

    /// The payload key of the entry array: `v`, `t` or `r`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Vaccination => "v",
            Self::Test => "t",
            Self::Recovery => "r",
        }
    }

    /// The type whose payload key is `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.key() == key)
    }

    /// The extended-key-usage OID that allows a DSC to sign this type (dcc-spec.md §5.2).
    pub fn key_usage_oid(self) -> &'static str {
        match self {
            Self::Test => "1.3.6.1.4.1.1847.2021.1.1",
            Self::Vaccination => "1.3.6.1.4.1.1847.2021.1.2",
            Self::Recovery => "1.3.6.1.4.1.1847.2021.1.3",
        }
    }

    /// The misspelled OID (with an extra `.0`) that many issuers used; verifiers treat it as
    /// an alias of [`Self::key_usage_oid`] (dcc-spec.md §5.2).
    pub fn key_usage_oid_alias(self) -> &'static str {
        match self {
            Self::Test => "1.3.6.1.4.1.0.1847.2021.1.1",
            Self::Vaccination => "1.3.6.1.4.1.0.1847.2021.1.2",
            Self::Recovery => "1.3.6.1.4.1.0.1847.2021.1.3",
        }
    }
}

impl std::fmt::Display for CertificateType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Vaccination => "vaccination",
            Self::Test => "test",
            Self::Recovery => "recovery",
        })
    }
}
