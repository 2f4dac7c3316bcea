//! How the store page writes sizes and times for people: `732.3 MiB`, `2026-03-02 09:14 UTC`.
//! Shared by the page views ([`super::view`]) and the supply-chain rows ([`super::supply`]).
//! Input: numbers and RFC 3339 text from the index. Output: display text (never parsed back).

/// `1.5 GiB`-style size (binary units, one decimal from KiB on).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `2026-03-02 09:14 UTC` for berth's own `2026-03-02T09:14:05Z`; anything else unchanged.
pub fn time_text(rfc3339: &str) -> String {
    let b = rfc3339.as_bytes();
    if b.len() == 20 && b[10] == b'T' && b[19] == b'Z' {
        format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..16])
    } else {
        rfc3339.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(767_908_260), "732.3 MiB");
        assert_eq!(human_size(1_233_648_328), "1.1 GiB");
        assert_eq!(time_text("2026-03-02T09:14:05Z"), "2026-03-02 09:14 UTC");
        assert_eq!(
            time_text("2026-03-02T09:14:05+01:00"),
            "2026-03-02T09:14:05+01:00"
        );
    }
}
