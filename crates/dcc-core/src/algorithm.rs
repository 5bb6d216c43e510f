//! The COSE signature algorithms an HCERT may use (dcc-spec.md §1.3).

/// A COSE signature algorithm allowed for HCERTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256; the signature is the raw 64-byte `r‖s`.
    Es256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    Ps256,
}

impl Algorithm {
    /// The algorithm with the given COSE `alg` label value, if it is one HCERTs may use.
    pub fn from_cose(value: i64) -> Option<Self> {
        match value {
            ES256 => Some(Self::Es256),
            PS256 => Some(Self::Ps256),
            _ => None,
        }
    }

    /// The COSE `alg` label value (RFC 8152 / IANA COSE registry).
    pub fn cose_value(self) -> i64 {
        match self {
            Self::Es256 => ES256,
            Self::Ps256 => PS256,
        }
    }

    /// The JOSE/COSE name, `ES256` or `PS256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Ps256 => "PS256",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const ES256: i64 = -7;
const PS256: i64 = -37;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cose_values_round_trip() {
        for alg in [Algorithm::Es256, Algorithm::Ps256] {
            assert_eq!(Algorithm::from_cose(alg.cose_value()), Some(alg));
        }
        assert_eq!(Algorithm::from_cose(-35), None);
    }
}
