//! Memory measurements for streaming tests: incompressible test data and the process's peak
//! resident set (Linux `/proc/self/status` `VmHWM`, reset through `/proc/self/clear_refs`).
//! The peak is process-wide: a test binary measuring it runs its tests one at a time.

/// Deterministic incompressible bytes (xorshift64*).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A `kB` value of /proc/self/status (`VmHWM`, `VmRSS`).
pub fn status_kb(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim_start_matches(':').trim().split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/self/status"))
}

/// Reset the peak (Linux `clear_refs` 5) and return it, in kB.
pub fn reset_peak_kb() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM via /proc/self/clear_refs");
    status_kb("VmHWM")
}

/// Growth of the peak since `before` (from [`reset_peak_kb`]), in MiB.
pub fn peak_growth_mib(before: u64) -> u64 {
    status_kb("VmHWM").saturating_sub(before) / 1024
}
