//! `dcc-calendar`: the German civil calendar the service needs, without a time-zone database
//! and without I/O.
//!
//! - [`berlin`]: the Europe/Berlin offset of an instant (EU summer-time rule), the local date
//!   and wall-clock time, and the instant of local midnight. Billing fixes fee tiers and months
//!   by the local date; anomaly detection compares issuing times with opening hours.
//! - [`holidays`]: the public holidays observed in every German state, computed from the year
//!   (the Easter-based ones from the Gregorian Easter date).
//!
//! Nothing here reads the clock: every function takes the instant or the date it is about.

pub mod berlin;
pub mod holidays;
