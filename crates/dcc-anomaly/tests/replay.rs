//! The replay test of issue #7: a generated month of realistic traffic for 200 pharmacies with
//! an injected insider pattern like the Munich case of 2021 (german-context.md §2.2), run
//! through the real rules with their default settings, and the automatic actions applied
//! (after `lock_pharmacy` nothing more of that pharmacy is issued; a throttled pharmacy gets
//! the throttle's burst limit).
//!
//! Traffic (deterministic, from a seeded SplitMix64 generator written below):
//! - 200 pharmacies of 20 to 150 certificates on an ordinary weekday (log-uniform), with
//!   their real opening hours: most Monday–Friday 08:00–18:30 and Saturday mornings, some with
//!   Wednesday afternoons off, some open 07:30 or until 20:00, and ten station pharmacies open
//!   07:00–22:00 every day (configured in `pharmacy_hours`, as the association would);
//! - a daily rhythm with a midday peak and an after-work bump, weekday variation, occasional
//!   Saturday peaks (×1.8), the odd vaccination-campaign day (×2.5), families at the counter
//!   (up to four certificates a visit), first and second dose certificates in one visit, second
//!   doses weeks after the first (sometimes at another pharmacy), reissues;
//! - 14 days of warm-up before the measured month (the baseline the service would have);
//! - three operator accounts per pharmacy taking turns at the counter;
//! - the insider: one operator of one pharmacy issues about 20 fakes a night between 22:00 and
//!   01:00 for two weeks, and about 20 more during Sundays, each for a new "holder" with
//!   plausible content, and works normal day shifts as well.
//!
//! The month is replayed twice: with the default settings (`off_hours_repeated` locks the
//! pharmacy), and with `off_hours_repeated` set to `lock_operator`, which locks the operator
//! the pattern is attributed to, so the colleagues keep issuing.
//!
//! Figures: fakes issued up to the first alert and up to containment, and false alarms on the
//! legitimate traffic per 1,000 pharmacy-days (distinct rule × pharmacy × subject × day).
//! Targets (issue #7): contained within the first night; fewer than 1 false alarm per 1,000
//! pharmacy-days.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss
)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use dcc_anomaly::action::Action;
use dcc_anomaly::detector::Detector;
use dcc_anomaly::event::{Content, Issuance};
use dcc_anomaly::hours::{OpeningHours, TimeRange};
use dcc_anomaly::settings::AnomalySettings;
use dcc_anomaly::stream::StreamDetector;
use dcc_calendar::berlin;
use dcc_calendar::holidays::holiday_on;
use time::macros::date;
use time::{Date, Duration, Weekday};

const PHARMACIES: usize = 200;
const WARMUP_DAYS: i64 = 14;
/// The measured month.
const FIRST_DAY: Date = date!(2021 - 05 - 01);
const DAYS: i64 = 31;
/// The insider's pharmacy and the first of the fourteen nights.
const INSIDER: usize = 17;
const ATTACK_START: Date = date!(2021 - 05 - 10);
const ATTACK_NIGHTS: i64 = 14;
const SEED: u64 = 0x2021_1022_dcc7;
/// The insider's own account: one of the three of pharmacy 17 (`{index:03}-staff-{n}`).
const INSIDER_OPERATOR: &str = "017-staff-1";

#[test]
fn a_month_of_200_pharmacies_with_an_insider_is_contained_in_the_first_night() {
    let world = World::generate(SEED);
    let mut settings = AnomalySettings::default();
    for (telematik_id, hours) in &world.configured_hours {
        settings
            .pharmacy_hours
            .insert(telematik_id.clone(), hours.clone());
    }
    let mut detector = StreamDetector::new(Detector::new(settings.clone()).unwrap());
    let report = replay(&mut detector, &world, &settings);
    report.print(
        &world,
        "default settings: off_hours_repeated = lock_pharmacy",
    );
    assert_eq!(
        report.contained_by.as_deref(),
        Some(INSIDER_OPERATOR),
        "the night pattern is attributed to the insider"
    );

    let contained = report.contained_at.expect("the insider must be locked");
    let first_night_end = berlin::start_of_day(ATTACK_START.next_day().unwrap()) + 3600;
    assert!(
        contained <= first_night_end,
        "contained at {}, after the first night",
        berlin::local_datetime(contained)
    );
    assert!(report.fakes_until_first_alert >= 1);
    assert!(report.fakes_until_containment <= 20, "{report:?}");
    assert_eq!(
        report.fakes_issued, report.fakes_until_containment,
        "nothing is issued after the lock"
    );
    let per_thousand = report.false_alarms_per_thousand_pharmacy_days();
    assert!(
        per_thousand < 1.0,
        "{per_thousand} false alarms per 1,000 pharmacy-days"
    );
    // The generated traffic is the month it claims to be.
    assert!(report.legitimate_in_month > 300_000, "{report:?}");
    assert!(report.fakes_attempted > 300, "{report:?}");

    // The same month with the operator locked instead of the pharmacy.
    settings.off_hours_repeated.action = Action::LockOperator;
    let mut detector = StreamDetector::new(Detector::new(settings.clone()).unwrap());
    let by_operator = replay(&mut detector, &world, &settings);
    by_operator.print(&world, "off_hours_repeated = lock_operator");
    assert_eq!(by_operator.contained_by.as_deref(), Some(INSIDER_OPERATOR));
    assert_eq!(by_operator.contained_at, report.contained_at);
    assert_eq!(
        by_operator.fakes_issued, by_operator.fakes_until_containment,
        "nothing of the insider is issued after the lock"
    );
    assert!(
        by_operator.colleagues_refused_after_containment == 0
            && report.colleagues_refused_after_containment > 0,
        "locking the operator spares the colleagues: {} vs {} refused",
        by_operator.colleagues_refused_after_containment,
        report.colleagues_refused_after_containment
    );
}

#[derive(Debug, Default)]
struct Report {
    legitimate_in_month: u64,
    legitimate_refused: u64,
    fakes_attempted: u64,
    fakes_issued: u64,
    fakes_until_first_alert: u64,
    fakes_until_containment: u64,
    first_alert_at: Option<i64>,
    first_alert_rule: Option<&'static str>,
    contained_at: Option<i64>,
    /// The operator the containing alert named.
    contained_by: Option<String>,
    /// Legitimate certificates of the insider's colleagues refused after containment.
    colleagues_refused_after_containment: u64,
    /// Distinct (rule, pharmacy, subject, local day) raised by legitimate certificates.
    false_alarms: BTreeSet<(&'static str, String, String, Date)>,
}

impl Report {
    fn false_alarms_per_thousand_pharmacy_days(&self) -> f64 {
        self.false_alarms.len() as f64 * 1000.0 / (PHARMACIES as f64 * DAYS as f64)
    }

    fn print(&self, world: &World, variant: &str) {
        let local = |at: Option<i64>| at.map(|t| berlin::local_datetime(t).to_string());
        println!(
            "replay ({variant}): {PHARMACIES} pharmacies, {DAYS} days measured after {WARMUP_DAYS} warm-up days"
        );
        println!(
            "  legitimate certificates in the month: {} (refused by actions: {})",
            self.legitimate_in_month, self.legitimate_refused
        );
        println!(
            "  insider {}: {} fakes attempted over {ATTACK_NIGHTS} nights and Sundays",
            world.telematik_ids[INSIDER], self.fakes_attempted
        );
        println!(
            "  first alert: {} at {:?}, after {} fake(s)",
            self.first_alert_rule.unwrap_or("-"),
            local(self.first_alert_at),
            self.fakes_until_first_alert
        );
        println!(
            "  contained at {:?}, after {} fake(s); fakes issued in all: {}; alert names operator {:?}",
            local(self.contained_at),
            self.fakes_until_containment,
            self.fakes_issued,
            self.contained_by.as_deref().unwrap_or("-")
        );
        println!(
            "  the insider's colleagues refused after containment: {}",
            self.colleagues_refused_after_containment
        );
        let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for (rule, ..) in &self.false_alarms {
            *by_rule.entry(rule).or_default() += 1;
        }
        println!(
            "  false alarms on legitimate traffic: {} = {:.2} per 1,000 pharmacy-days {by_rule:?}",
            self.false_alarms.len(),
            self.false_alarms_per_thousand_pharmacy_days()
        );
    }
}

fn replay(detector: &mut StreamDetector, world: &World, settings: &AnomalySettings) -> Report {
    let mut report = Report::default();
    let month_start = berlin::start_of_day(FIRST_DAY);
    let mut locked: HashSet<String> = HashSet::new();
    let mut throttled: HashMap<String, (i64, VecDeque<i64>)> = HashMap::new();
    for planned in &world.events {
        let event = &planned.issuance;
        let pharmacy = &event.telematik_id;
        if planned.fake {
            report.fakes_attempted += 1;
        }
        let operator = event.operator.clone().unwrap_or_default();
        let mut refused = locked.contains(pharmacy) || locked.contains(&operator);
        if let Some((until, recent)) = throttled.get_mut(pharmacy)
            && event.at < *until
        {
            // The throttle's burst ceiling over the configured burst window of `[limits]`.
            while recent.front().is_some_and(|&t| t <= event.at - 600) {
                recent.pop_front();
            }
            refused |= recent.len() as u64 >= settings.throttle.pharmacy_burst;
            if !refused {
                recent.push_back(event.at);
            }
        }
        if refused {
            if !planned.fake && event.at >= month_start {
                report.legitimate_refused += 1;
            }
            if *pharmacy == world.telematik_ids[INSIDER] && operator != INSIDER_OPERATOR {
                report.colleagues_refused_after_containment += 1;
            }
            continue;
        }
        if planned.fake {
            report.fakes_issued += 1;
        } else if event.at >= month_start {
            report.legitimate_in_month += 1;
        }
        for finding in detector.record(event) {
            if planned.fake {
                if report.first_alert_at.is_none() {
                    report.first_alert_at = Some(event.at);
                    report.first_alert_rule = Some(finding.rule.code());
                    report.fakes_until_first_alert = report.fakes_issued;
                }
            } else if event.at >= month_start {
                report.false_alarms.insert((
                    finding.rule.code(),
                    finding.telematik_id.clone(),
                    finding.subject.clone(),
                    berlin::local_date(event.at),
                ));
            }
            // As the service does: `lock_operator` locks the named operator, else the pharmacy.
            let locks = match (finding.action, finding.responsible_operator()) {
                (Action::LockOperator, Some(operator)) => Some(operator.to_owned()),
                (Action::LockOperator | Action::LockPharmacy, _) => {
                    Some(finding.telematik_id.clone())
                }
                _ => None,
            };
            match finding.action {
                Action::LockPharmacy | Action::LockOperator => {
                    if locks.is_some_and(|scope| locked.insert(scope))
                        && finding.telematik_id == world.telematik_ids[INSIDER]
                        && report.contained_at.is_none()
                    {
                        report.contained_at = Some(event.at);
                        report.contained_by = finding.responsible_operator().map(str::to_owned);
                        report.fakes_until_containment = report.fakes_issued;
                    }
                }
                Action::Throttle => {
                    let until = event.at + settings.throttle.minutes * 60;
                    throttled
                        .entry(finding.telematik_id.clone())
                        .or_insert_with(|| (until, VecDeque::new()))
                        .0 = until;
                }
                Action::Warn => {}
            }
        }
    }
    report
}

/// One generated certificate, in time order.
struct Planned {
    issuance: Issuance,
    fake: bool,
}

struct World {
    telematik_ids: Vec<String>,
    configured_hours: Vec<(String, OpeningHours)>,
    events: Vec<Planned>,
}

/// A pharmacy's real week: `(weekday index Monday = 0, open minute, close minute)`.
struct Pharmacy {
    weekday_mean: f64,
    week: [Vec<(u32, u32)>; 7],
    open_on_holidays: bool,
}

/// A holder waiting for the second dose's certificate.
struct DueHolder {
    key: String,
    product: &'static str,
    due: Date,
}

impl World {
    fn generate(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let telematik_ids: Vec<String> = (0..PHARMACIES)
            .map(|i| format!("3-SMC-B-Testkarte-88311{i:010}"))
            .collect();
        let pharmacies: Vec<Pharmacy> = (0..PHARMACIES).map(|i| pharmacy(i, &mut rng)).collect();
        let configured_hours = pharmacies
            .iter()
            .zip(&telematik_ids)
            .filter(|(pharmacy, _)| pharmacy.open_on_holidays)
            .map(|(pharmacy, id)| (id.clone(), configured(pharmacy)))
            .collect();
        let mut events = Vec::new();
        let mut holders = 0u64;
        let mut due: Vec<VecDeque<DueHolder>> = (0..PHARMACIES).map(|_| VecDeque::new()).collect();
        let mut uvci = 0u64;
        let first = FIRST_DAY - Duration::days(WARMUP_DAYS);
        for day_index in 0..WARMUP_DAYS + DAYS {
            let day = first + Duration::days(day_index);
            for (index, pharmacy) in pharmacies.iter().enumerate() {
                let certificates = day_traffic(pharmacy, day, &mut rng);
                for (at, content, holder) in visits(
                    certificates,
                    pharmacy,
                    day,
                    index,
                    &mut due,
                    &mut holders,
                    &mut rng,
                ) {
                    uvci += 1;
                    events.push(Planned {
                        issuance: Issuance {
                            at,
                            telematik_id: telematik_ids[index].clone(),
                            // Three accounts taking turns (not from the generator: the traffic
                            // stays what it was before operators were recorded).
                            operator: Some(format!("{index:03}-staff-{}", uvci % 3)),
                            uvci: format!("URN:UVCI:01:DE:P{index:03}/{uvci:010}"),
                            holder_key: Some(holder),
                            content,
                        },
                        fake: false,
                    });
                }
            }
        }
        for night in 0..ATTACK_NIGHTS {
            let day = ATTACK_START + Duration::days(night);
            let mut spans = vec![(22 * 60, 25 * 60)];
            if day.weekday() == Weekday::Sunday {
                spans.push((10 * 60, 18 * 60));
            }
            for (from, to) in spans {
                for _ in 0..rng.poisson(20.0) {
                    let minute = from + rng.below(u64::from(to - from)) as u32;
                    let at =
                        berlin::start_of_day(day) + i64::from(minute) * 60 + rng.below(60) as i64;
                    uvci += 1;
                    holders += 1;
                    events.push(Planned {
                        issuance: Issuance {
                            at,
                            telematik_id: telematik_ids[INSIDER].clone(),
                            operator: Some(INSIDER_OPERATOR.into()),
                            uvci: format!("URN:UVCI:01:DE:P{INSIDER:03}/{uvci:010}"),
                            holder_key: Some(format!("h{holders}")),
                            content: Content::Vaccination {
                                product: "EU/1/20/1528".into(),
                                dose_number: 2,
                                total_doses: 2,
                                date: Some(day - Duration::days(20 + rng.below(60) as i64)),
                            },
                        },
                        fake: true,
                    });
                }
            }
        }
        events.sort_by_key(|planned| planned.issuance.at);
        Self {
            telematik_ids,
            configured_hours,
            events,
        }
    }
}

fn pharmacy(index: usize, rng: &mut Rng) -> Pharmacy {
    let weekday_mean = (20f64.ln() + rng.unit() * (150f64.ln() - 20f64.ln())).exp();
    let hm = |h: u32, m: u32| h * 60 + m;
    let kind = if index == INSIDER { 0.0 } else { rng.unit() };
    let weekdays = |day: Vec<(u32, u32)>, wednesday: Vec<(u32, u32)>, saturday: Vec<(u32, u32)>| {
        [
            day.clone(),
            day.clone(),
            wednesday,
            day.clone(),
            day,
            saturday,
            Vec::new(),
        ]
    };
    let (week, open_on_holidays) = if index % 20 == 3 {
        // A station pharmacy: every day 07:00–22:00, holidays included.
        let day = vec![(hm(7, 0), hm(22, 0))];
        (
            [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
            ],
            true,
        )
    } else if kind < 0.6 {
        let day = vec![(hm(8, 0), hm(18, 30))];
        (
            weekdays(day.clone(), day, vec![(hm(8, 0), hm(13, 0))]),
            false,
        )
    } else if kind < 0.8 {
        let day = vec![(hm(8, 0), hm(20, 0))];
        (weekdays(day.clone(), day.clone(), day), false)
    } else if kind < 0.92 {
        let day = vec![(hm(8, 30), hm(13, 0)), (hm(14, 30), hm(18, 30))];
        (
            weekdays(
                day,
                vec![(hm(8, 30), hm(13, 0))],
                vec![(hm(9, 0), hm(13, 0))],
            ),
            false,
        )
    } else {
        let day = vec![(hm(7, 30), hm(19, 0))];
        (
            weekdays(
                day,
                vec![(hm(7, 30), hm(19, 0))],
                vec![(hm(7, 30), hm(14, 0))],
            ),
            false,
        )
    };
    Pharmacy {
        weekday_mean,
        week,
        open_on_holidays,
    }
}

/// The hours configured for a pharmacy open on Sundays and holidays.
fn configured(pharmacy: &Pharmacy) -> OpeningHours {
    let ranges = |day: &Vec<(u32, u32)>| {
        day.iter()
            .map(|&(start, end)| TimeRange::new(start, end).unwrap())
            .collect::<Vec<_>>()
    };
    OpeningHours {
        monday: ranges(&pharmacy.week[0]),
        tuesday: ranges(&pharmacy.week[1]),
        wednesday: ranges(&pharmacy.week[2]),
        thursday: ranges(&pharmacy.week[3]),
        friday: ranges(&pharmacy.week[4]),
        saturday: ranges(&pharmacy.week[5]),
        sunday: ranges(&pharmacy.week[6]),
        closed_on_holidays: false,
    }
}

/// How many certificates a pharmacy issues on a day.
fn day_traffic(pharmacy: &Pharmacy, day: Date, rng: &mut Rng) -> u64 {
    if holiday_on(day).is_some() && !pharmacy.open_on_holidays {
        return 0;
    }
    let weekday = match day.weekday() {
        Weekday::Monday => 1.1,
        Weekday::Tuesday => 1.0,
        Weekday::Wednesday => 0.9,
        Weekday::Thursday => 1.0,
        Weekday::Friday => 1.05,
        Weekday::Saturday if rng.unit() < 0.1 => 0.7 * 1.8,
        Weekday::Saturday => 0.7,
        Weekday::Sunday => 0.5,
    };
    let campaign = if rng.unit() < 0.004 { 2.5 } else { 1.0 };
    let holiday = if holiday_on(day).is_some() { 0.5 } else { 1.0 };
    rng.poisson(pharmacy.weekday_mean * weekday * campaign * holiday)
}

/// The day's visits: times from the daily rhythm within the opening hours, and for each visit
/// one to four certificates with their content and holder.
fn visits(
    certificates: u64,
    pharmacy: &Pharmacy,
    day: Date,
    index: usize,
    due: &mut [VecDeque<DueHolder>],
    holders: &mut u64,
    rng: &mut Rng,
) -> Vec<(i64, Content, String)> {
    let ranges = &pharmacy.week[day.weekday().number_days_from_monday() as usize];
    let open_minutes: u32 = ranges.iter().map(|(start, end)| end - start).sum();
    let mut out = Vec::new();
    if open_minutes == 0 {
        return out;
    }
    let midnight = berlin::start_of_day(day);
    while (out.len() as u64) < certificates {
        // A minute of the opening hours, accepted by the daily rhythm.
        let minute = loop {
            let mut pick = rng.below(u64::from(open_minutes)) as u32;
            let mut chosen = 0;
            for &(start, end) in ranges {
                if pick < end - start {
                    chosen = start + pick;
                    break;
                }
                pick -= end - start;
            }
            if rng.unit() * 2.3 < rhythm(chosen) {
                break chosen;
            }
        };
        let mut at = midnight + i64::from(minute) * 60 + rng.below(60) as i64;
        let family = match rng.unit() {
            u if u < 0.80 => 1,
            u if u < 0.92 => 2,
            u if u < 0.97 => 3,
            _ => 4,
        };
        for _ in 0..family {
            for (content, holder) in visit_certificates(day, index, due, holders, rng) {
                out.push((at, content, holder));
                // Entering a certificate takes a minute or two.
                at += 60 + rng.below(90) as i64;
            }
        }
    }
    out
}

/// The daily rhythm at a local minute: a midday peak and an after-work bump.
fn rhythm(minute: u32) -> f64 {
    let hour = f64::from(minute) / 60.0;
    let bump = |centre: f64, width: f64, height: f64| {
        height * (-((hour - centre) / width).powi(2) / 2.0).exp()
    };
    1.0 + bump(11.5, 1.5, 1.2) + bump(17.5, 1.0, 0.6)
}

/// One person's certificates at the counter.
fn visit_certificates(
    day: Date,
    index: usize,
    due: &mut [VecDeque<DueHolder>],
    holders: &mut u64,
    rng: &mut Rng,
) -> Vec<(Content, String)> {
    let mut new_holder = || {
        *holders += 1;
        format!("h{}", *holders)
    };
    let kind = rng.unit();
    if kind < 0.04 {
        let sampled = Some(day);
        return vec![(Content::Test { sampled }, new_holder())];
    }
    if kind < 0.12 {
        let first_positive = Some(day - Duration::days(30 + rng.below(140) as i64));
        return vec![(Content::Recovery { first_positive }, new_holder())];
    }
    // A second dose of someone who had the first dose's certificate here (or, now and then,
    // at another pharmacy).
    let queue = if rng.unit() < 0.1 {
        (index + 1 + rng.below(PHARMACIES as u64 - 1) as usize) % PHARMACIES
    } else {
        index
    };
    if rng.unit() < 0.4
        && due[queue].front().is_some_and(|holder| holder.due <= day)
        && let Some(holder) = due[queue].pop_front()
    {
        let second = vaccination(holder.product, 2, 2, holder.due.min(day));
        let mut certificates = vec![(second.clone(), holder.key.clone())];
        if rng.unit() < 0.01 {
            // A reissue (lost printout) of the same certificate.
            certificates.push((second, holder.key));
        }
        return certificates;
    }
    let key = new_holder();
    let product = match rng.unit() {
        u if u < 0.70 => "EU/1/20/1528",
        u if u < 0.85 => "EU/1/20/1507",
        u if u < 0.95 => "EU/1/21/1529",
        _ => "EU/1/20/1525",
    };
    if product == "EU/1/20/1525" {
        let date = day - Duration::days(1 + rng.below(40) as i64);
        return vec![(vaccination(product, 1, 1, date), key)];
    }
    let interval = if product == "EU/1/21/1529" { 63 } else { 35 };
    match rng.unit() {
        // First dose only; the second dose's certificate comes later.
        u if u < 0.45 => {
            let first_dose = day - Duration::days(rng.below(7) as i64);
            due[index].push_back(DueHolder {
                key: key.clone(),
                product,
                due: first_dose + Duration::days(interval),
            });
            vec![(vaccination(product, 1, 2, first_dose), key)]
        }
        // Both doses done: both certificates in one visit.
        u if u < 0.80 => {
            let second = day - Duration::days(1 + rng.below(30) as i64);
            let first = second - Duration::days(interval);
            vec![
                (vaccination(product, 1, 2, first), key.clone()),
                (vaccination(product, 2, 2, second), key),
            ]
        }
        _ => {
            let second = day - Duration::days(1 + rng.below(30) as i64);
            vec![(vaccination(product, 2, 2, second), key)]
        }
    }
}

fn vaccination(product: &str, dose_number: u32, total_doses: u32, date: Date) -> Content {
    // Legitimate records are never dated before the product's authorisation.
    let earliest = dcc_core::plausibility::authorisation_date(product).unwrap_or(date);
    Content::Vaccination {
        product: product.to_owned(),
        dose_number,
        total_doses,
        date: Some(date.max(earliest)),
    }
}

/// SplitMix64: small, fast and good enough for traffic; seeded, so every run is the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..bound.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    /// Poisson-distributed with `mean` (Knuth's product of uniforms, in steps of at most 50
    /// so that `exp(-step)` stays representable).
    fn poisson(&mut self, mean: f64) -> u64 {
        let mut remaining = mean;
        let mut count = 0;
        while remaining > 0.0 {
            let step = remaining.min(50.0);
            remaining -= step;
            let limit = (-step).exp();
            let mut product = self.unit();
            while product > limit {
                count += 1;
                product *= self.unit();
            }
        }
        count
    }
}
