//! The bench process's memory, from `/proc/self/status` (Linux; 0 elsewhere). Shared by the
//! `issue_load` and `soak` benches.

/// Resident set size, KiB.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// Peak resident set size since the process started (`VmHWM`), KiB.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// RSS split into heap and other anonymous memory, mapped files, and shared memory (SQLite's
/// WAL index is a shared mapping).
pub fn rss_parts() -> String {
    format!(
        "anon {} MiB, file {} MiB, shmem {} MiB",
        status_kib("RssAnon:") / 1024,
        status_kib("RssFile:") / 1024,
        status_kib("RssShmem:") / 1024
    )
}

/// One `/proc/self/status` memory line, KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}
