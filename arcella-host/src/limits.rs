//! Per-call resource limits: the one place that knows their defaults.

use std::time::Duration;

use crate::services::keyvalue::KeyValueLimits;

/// Limits applied to every call into a component.
///
/// Every limit is finite: a component that names none still runs under
/// these defaults, so no guest can run unbounded by omission.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) one call may consume.
    pub fuel: u64,
    /// Bytes one instance may hold in all its linear memories and tables together.
    pub memory: u64,
    /// Wall-clock time one call may take.
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// Bounds on `wasi:keyvalue` calls: key and value sizes, open buckets, page size.
    #[serde(default)]
    pub keyvalue: KeyValueLimits,
}

impl Limits {
    /// Default fuel per call.
    pub const DEFAULT_FUEL: u64 = 100_000_000;
    /// Default memory per instance: 64 MiB.
    pub const DEFAULT_MEMORY: u64 = 64 * 1024 * 1024;
    /// Default time per call.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The most memory a manifest may ask for: 4 GiB, all a 32-bit memory can address.
    pub const MAX_MEMORY: u64 = 4 << 30;
    /// The longest time per call a manifest may ask for: one hour.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(60 * 60);
    /// The most fuel a call may be given: all a store's counter holds.
    pub const MAX_FUEL: u64 = u64::MAX;

    /// Checks a fuel amount, from the manifest or a flag: above 0 and at most [`Self::MAX_FUEL`].
    pub fn check_fuel(fuel: i128) -> Result<u64, OutOfRange> {
        if fuel <= 0 {
            return Err(OutOfRange::new("greater than 0"));
        }
        u64::try_from(fuel).map_err(|_| OutOfRange::new(format!("at most {}", Self::MAX_FUEL)))
    }

    /// Checks a memory size in bytes: above 0 and at most [`Self::MAX_MEMORY`].
    pub fn check_memory(bytes: i128) -> Result<u64, OutOfRange> {
        match u64::try_from(bytes) {
            Ok(bytes) if bytes > 0 && bytes <= Self::MAX_MEMORY => Ok(bytes),
            _ => Err(OutOfRange::new(format!(
                "above 0 and at most {}",
                format_size(Self::MAX_MEMORY)
            ))),
        }
    }

    /// Checks a time per call: above 0 and at most [`Self::MAX_TIMEOUT`].
    pub fn check_timeout(timeout: Duration) -> Result<Duration, OutOfRange> {
        if timeout.is_zero() || timeout > Self::MAX_TIMEOUT {
            return Err(OutOfRange::new(format!(
                "above 0 and at most {}",
                format_duration(Self::MAX_TIMEOUT)
            )));
        }
        Ok(timeout)
    }
}

/// A limit that parses but that the host will not run under: zero, or
/// beyond its maximum. Displays as the rule, e.g. `must be greater than 0`,
/// for the manifest reader and the flags to put after the limit's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be {rule}")]
pub struct OutOfRange {
    /// What the value must be, e.g. `above 0 and at most 4GiB`.
    rule: String,
}

impl OutOfRange {
    fn new(rule: impl Into<String>) -> Self {
        Self { rule: rule.into() }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: Self::DEFAULT_FUEL,
            memory: Self::DEFAULT_MEMORY,
            timeout: Self::DEFAULT_TIMEOUT,
            keyvalue: KeyValueLimits::default(),
        }
    }
}

/// Renders a byte count the way the manifest accepts it (`64MiB`, `512KiB`, `1000B`).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, scale) in UNITS {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{}{unit}", bytes / scale);
        }
    }
    format!("{bytes}B")
}

/// Parses a size such as `64MiB`, `512 KiB`, `1GB` or `4096` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("a size cannot be empty; write e.g. \"64MiB\"".into());
    }
    trimmed
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|_| {
            format!("`{trimmed}` is not a size; write e.g. \"64MiB\", \"512KiB\" or \"1GiB\"")
        })
}

/// Parses a whole number written in `radix` with an optional sign, as TOML
/// hands it over. Numbers beyond `i128` saturate rather than fail: they are
/// out of every limit's range, and a range check says so more usefully than
/// a parse error.
pub fn parse_whole_number(digits: &str, radix: u32) -> Result<i128, std::num::ParseIntError> {
    use std::num::IntErrorKind;
    match i128::from_str_radix(digits, radix) {
        Err(error) if *error.kind() == IntErrorKind::PosOverflow => Ok(i128::MAX),
        Err(error) if *error.kind() == IntErrorKind::NegOverflow => Ok(i128::MIN),
        parsed => parsed,
    }
}

/// `--fuel`'s value: a decimal number, checked like the manifest's `fuel`.
pub fn parse_fuel(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed.replace('_', "");
    let fuel = parse_whole_number(&digits, 10)
        .map_err(|_| format!("`{trimmed}` is not a whole number; write e.g. 100000000"))?;
    Limits::check_fuel(fuel).map_err(|error| error.to_string())
}

/// `--max-memory`'s value: a size, checked like the manifest's `memory`.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    Limits::check_memory(i128::from(bytes)).map_err(|error| error.to_string())
}

/// `--timeout`'s value: a duration, checked like the manifest's `timeout`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = parse_duration(text)?;
    Limits::check_timeout(timeout).map_err(|error| error.to_string())
}

/// Parses a duration such as `5s`, `500ms` or `1m 30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|_| {
        format!(
            "`{}` is not a duration; write e.g. \"5s\" or \"500ms\"",
            text.trim()
        )
    })
}

/// Renders a duration the way the manifest accepts it (`5s`, `500ms`).
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Serializes durations as humantime strings so they read as they are written.
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_trip_through_their_rendering() {
        for text in ["64MiB", "512KiB", "1GiB", "1000B"] {
            assert_eq!(format_size(parse_size(text).unwrap()), text);
        }
    }

    #[test]
    fn sizes_accept_spaces_and_plain_bytes() {
        assert_eq!(parse_size("64 MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn whole_numbers_beyond_i128_saturate() {
        assert_eq!(parse_whole_number("ff", 16), Ok(255));
        assert_eq!(parse_whole_number(&"9".repeat(43), 10), Ok(i128::MAX));
        assert_eq!(
            parse_whole_number(&format!("-{}", "9".repeat(43)), 10),
            Ok(i128::MIN)
        );
        assert!(parse_whole_number("12a", 10).is_err());
    }

    #[test]
    fn limits_are_checked_against_their_range() {
        assert_eq!(Limits::check_fuel(1), Ok(1));
        assert_eq!(Limits::check_fuel(i128::from(u64::MAX)), Ok(u64::MAX));
        assert!(Limits::check_fuel(0).is_err());
        assert!(Limits::check_fuel(i128::from(u64::MAX) + 1).is_err());
        assert_eq!(Limits::check_memory(4 << 30), Ok(4 << 30));
        assert!(Limits::check_memory((4 << 30) + 1).is_err());
        assert!(Limits::check_memory(0).is_err());
        assert!(Limits::check_timeout(Duration::from_secs(3601)).is_err());
        assert!(Limits::check_timeout(Duration::ZERO).is_err());
    }

    #[test]
    fn flags_say_the_rule_they_break() {
        assert_eq!(parse_fuel("0").unwrap_err(), "must be greater than 0");
        assert_eq!(parse_fuel("1_000"), Ok(1000));
        assert_eq!(
            parse_fuel("99999999999999999999999").unwrap_err(),
            "must be at most 18446744073709551615"
        );
        assert_eq!(
            parse_memory("100GiB").unwrap_err(),
            "must be above 0 and at most 4GiB"
        );
        assert_eq!(
            parse_timeout("500000000000y").unwrap_err(),
            "must be above 0 and at most 1h"
        );
    }

    #[test]
    fn durations_parse_common_forms() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("soon").is_err());
    }
}
