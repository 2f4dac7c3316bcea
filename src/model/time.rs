//! The one clock and the one time format of berth.
//!
//! Recorded event times (index.json `recorded`, promotion times) are the only wall-clock values
//! berth writes. `BERTH_NOW` (RFC 3339) replaces the clock for reproducible runs and tests.
//! Output format: RFC 3339 UTC with whole seconds (`2026-11-26T10:00:00Z`).

use chrono::{DateTime, Utc};

/// The time of this run: `BERTH_NOW` when set and valid, else the clock.
pub fn now() -> DateTime<Utc> {
    match std::env::var("BERTH_NOW") {
        Ok(s) if !s.is_empty() => DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now()),
        _ => Utc::now(),
    }
}

/// [`now`] in index.json's format. A `BERTH_NOW` that is not RFC 3339 is kept as written, so a
/// test can pin any recorded string.
pub fn now_string() -> String {
    match std::env::var("BERTH_NOW") {
        Ok(s) if !s.is_empty() => s,
        _ => format(&Utc::now()),
    }
}

/// RFC 3339 UTC with seconds, the time format of index.json.
pub fn format(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_rfc3339_utc_seconds() {
        let t = DateTime::parse_from_rfc3339("2026-11-26T10:11:12.345+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(&t), "2026-11-26T08:11:12Z");
    }
}
