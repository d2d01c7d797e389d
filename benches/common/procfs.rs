//! What the benches read of a running process from Linux's /proc: a `/proc/PID/status` field
//! (resident memory, its peak, threads) and the CPU seconds it has used. Which process, and
//! what a figure means for a bench, is the bench's.

/// A number field of /proc/PID/status (`"VmRSS:"`, `"VmHWM:"` in kB, `"Threads:"`); 0 when
/// the process is gone.
pub(crate) fn status_field(pid: u32, name: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    (status.lines().find_map(|l| l.strip_prefix(name)))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) a running process has used so far, from /proc/PID/stat.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // Linux reports CPU in clock ticks of 1/100 s on every common configuration.
    ticks as f64 / 100.0
}
