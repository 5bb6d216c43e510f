//! The configuration the load benches run with. Shared by `issue_load` and `soak`.

use dcc_anomaly::action::Action;
use dcc_issuance::limits::RateLimits;
use dcc_server::config::Config;

/// The development configuration in `dir`, with no rate limits (load from 32 clients is far
/// beyond any pharmacy's ceilings; the limits are not measured) and anomaly detection running
/// as in service (every batch evaluated, alerts stored) but with every action only warning:
/// 32 clients on 32 pharmacies are a burst by any measure, and at night off-hours issuing, so
/// locks and throttles would measure refusals instead of issuing.
pub fn load_config(dir: &std::path::Path) -> Config {
    let mut config = Config::development(dir);
    config.limits = RateLimits::unlimited();
    let anomaly = &mut config.anomaly;
    for action in [
        &mut anomaly.off_hours.action,
        &mut anomaly.off_hours_repeated.action,
        &mut anomaly.volume_spike.action,
        &mut anomaly.burst.action,
        &mut anomaly.holder_repeated.action,
        &mut anomaly.holder_pharmacies.action,
        &mut anomaly.implausible_content.action,
        &mut anomaly.dose_sequence.action,
    ] {
        *action = Action::Warn;
    }
    config
}
