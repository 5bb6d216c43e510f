//! The rules, one file per family. Each takes the settings and the facts the detector
//! gathered and returns at most one [`crate::finding::Finding`].

pub(crate) mod content;
pub(crate) mod holder;
pub(crate) mod off_hours;
pub(crate) mod pace;

use dcc_calendar::berlin;
use time::macros::format_description;

/// An instant as Europe/Berlin wall-clock text, `2021-05-12T23:14` (evidence is read by people
/// who think in local time).
pub(crate) fn local_text(unix: i64) -> String {
    berlin::local_datetime(unix)
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .unwrap_or_else(|_| unix.to_string())
}
