//! The errors of the billing rules.

/// Why a billing value could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BillingError {
    /// A month is not written `YYYY-MM` (years 2000–9999).
    #[error("a month is written YYYY-MM, e.g. 2021-07")]
    InvalidMonth,
    /// A fee period's start is not an ISO date `YYYY-MM-DD`.
    #[error("a fee period starts on an ISO date (YYYY-MM-DD)")]
    InvalidDate,
    /// The fee periods are not in strictly increasing order of their start dates.
    #[error("fee periods must be listed in increasing order of their start dates")]
    UnorderedPeriods,
    /// A PZN is not 8 digits.
    #[error("a PZN has 8 digits")]
    InvalidPzn,
    /// Stored statement content could not be read back.
    #[error("the stored statement content is invalid")]
    InvalidContent,
}

impl BillingError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidMonth => "invalid_month",
            Self::InvalidDate => "invalid_fee_date",
            Self::UnorderedPeriods => "unordered_fee_periods",
            Self::InvalidPzn => "invalid_pzn",
            Self::InvalidContent => "invalid_statement_content",
        }
    }
}
