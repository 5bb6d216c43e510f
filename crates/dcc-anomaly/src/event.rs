//! What the rules look at: the certificates just recorded, and what the ledger says about the
//! recent past of their pharmacies and holders. No names, no dates of birth: a holder is only
//! the ledger's keyed hash.

use time::Date;
use time::macros::format_description;

/// One recorded certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// When it was issued, unix seconds.
    pub at: i64,
    /// The issuing pharmacy.
    pub telematik_id: String,
    /// The operator who issued it, once operator accounts record one.
    pub operator: Option<String>,
    /// Its UVCI.
    pub uvci: String,
    /// The ledger's keyed hash of the holder (`None` without a holder-key secret).
    pub holder_key: Option<String>,
    /// What it certifies.
    pub content: Content,
}

/// The medical content the rules check, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A vaccination.
    Vaccination {
        /// The medicinal product (`mp`).
        product: String,
        /// `dn`.
        dose_number: u32,
        /// `sd`.
        total_doses: u32,
        /// `dt`, when it parses.
        date: Option<Date>,
    },
    /// A test.
    Test {
        /// The day of `sc`, when it parses.
        sampled: Option<Date>,
    },
    /// A recovery.
    Recovery {
        /// `fr`, when it parses.
        first_positive: Option<Date>,
    },
}

impl Content {
    /// `v`, `t` or `r`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Vaccination { .. } => "v",
            Self::Test { .. } => "t",
            Self::Recovery { .. } => "r",
        }
    }
}

/// The calendar day at the start of an ISO 8601 date or date-time, as the ledger stores event
/// dates (`2021-05-29` or `2021-05-29T10:00:00Z`).
pub fn event_day(text: &str) -> Option<Date> {
    let day = text.get(..10)?;
    Date::parse(day, format_description!("[year]-[month]-[day]")).ok()
}

/// What the ledger says about one pharmacy's recent issuing, as of the batch's latest
/// certificate (`Plan::at`); the certificates of the batch included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PharmacyActivity {
    /// Certificates in the burst window.
    pub in_burst_window: u64,
    /// Certificates in the last hour.
    pub in_last_hour: u64,
    /// Certificates outside the opening hours in the `off_hours_repeated` window; read only for
    /// pharmacies the plan names.
    pub closed: Option<ClosedActivity>,
    /// The same hour's count on each trailing day, read only when the last hour reaches the
    /// volume floor ([`crate::detector::Detector::wants_baseline`]).
    pub baseline: Option<Vec<u64>>,
}

/// Certificates issued outside the opening hours within a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClosedActivity {
    /// How many.
    pub certificates: u64,
    /// The first one's time.
    pub first_at: Option<i64>,
    /// The last one's time.
    pub last_at: Option<i64>,
}

/// A holder's vaccination or recovery certificates that agree in pharmacy, type, dose and
/// date, as the ledger groups them (tests are not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderGroup {
    /// The issuing pharmacy.
    pub telematik_id: String,
    /// `v` or `r`.
    pub kind: String,
    /// `dn` of a vaccination.
    pub dose_number: Option<u32>,
    /// The event date, when it parses.
    pub event_date: Option<Date>,
    /// The smallest UVCI of the group.
    pub uvci: String,
    /// The latest issuing time in the group.
    pub last_at: i64,
    /// Certificates in the group within the `dose_sequence` lookback.
    pub certificates: u64,
    /// Of those, within the `holder_repeated` window.
    pub in_repeat_window: u64,
    /// Of those, within the `holder_pharmacies` window.
    pub in_pharmacy_window: u64,
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn event_days_of_dates_and_date_times() {
        assert_eq!(event_day("2021-05-29"), Some(date!(2021 - 05 - 29)));
        assert_eq!(
            event_day("2021-05-29T10:00:00Z"),
            Some(date!(2021 - 05 - 29))
        );
        assert_eq!(event_day("2021-5-29"), None);
        assert_eq!(event_day(""), None);
        assert_eq!(Content::Test { sampled: None }.kind(), "t");
    }
}
