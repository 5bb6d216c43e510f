//! `dcc-anomaly`: the pure rules that notice abuse of the issuing system (issue #7).
//!
//! In 2021 an insider issued fake certificates at night and on Sundays for weeks, and only the
//! police noticed (german-context.md §2.2). The rules here look at every recorded certificate
//! and at the recent past of its pharmacy and holder, and report [`finding::Finding`]s: an
//! alert with evidence (counts, times, pharmacy, operator when known; never personal data) and
//! the automatic action configured for the rule.
//!
//! - [`settings::AnomalySettings`]: the `[anomaly]` section of `dcc.toml`.
//! - [`hours::OpeningHours`]: a pharmacy's week in Europe/Berlin time; Sundays and the
//!   nationwide holidays (`dcc_calendar`) are closed by default.
//! - [`event`]: the certificate as the rules see it, and the facts read about its past.
//! - [`detector::Detector`]: plan what to read, then evaluate the rules.
//! - [`finding`]: rules, findings and the key that makes one ongoing pattern one alert.
//! - [`action`]: warn, throttle, lock the operator, lock the pharmacy.
//! - [`attribution`]: the operator behind a pharmacy-wide pattern (`lock_operator` locks them).
//! - [`stream::StreamDetector`]: the same rules over a stream kept in memory (replays).
//!
//! | rule | fires when | default action |
//! |---|---|---|
//! | `off_hours` | a certificate outside the hours (30 min grace), on a Sunday or holiday | warn |
//! | `off_hours_repeated` | 5 such certificates within 24 h | lock_pharmacy |
//! | `volume_spike` | last hour ≥ 30 and ≥ 4 × the busiest same hour of 14 trailing days | warn |
//! | `burst` | 10 certificates within 120 s | throttle |
//! | `holder_repeated` | 4 vaccination/recovery certificates of one holder within 30 days | warn |
//! | `holder_pharmacies` | one holder's certificates from 3 pharmacies within 30 days | warn |
//! | `implausible_content` | `dcc_core::plausibility` warnings (before authorisation, future…) | warn |
//! | `dose_sequence` | dose numbers and dates contradicting the holder's other certificates | warn |
//!
//! `off_hours_repeated`, `volume_spike` and `burst` count the pharmacy (every account
//! together); once one fires, [`attribution`] names the operator behind it, if one issued at
//! least half of it.
//!
//! No I/O and no clock: times arrive with the events, history arrives as [`detector::Facts`].

pub mod action;
pub mod attribution;
pub mod detector;
pub mod event;
pub mod finding;
pub mod hours;
mod rules;
pub mod settings;
pub mod stream;
