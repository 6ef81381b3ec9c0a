//! Per-call resource limits: the one place that knows their defaults.

use std::time::Duration;

/// Limits applied to every call into a component.
///
/// Every limit is finite: a component that names none still runs under
/// these defaults, so no guest can run unbounded by omission.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) one call may consume.
    pub fuel: u64,
    /// Bytes of linear memory (and table space) one instance may hold.
    pub memory: u64,
    /// Wall-clock time one call may take.
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: Self::DEFAULT_FUEL,
            memory: Self::DEFAULT_MEMORY,
            timeout: Self::DEFAULT_TIMEOUT,
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
    fn durations_parse_common_forms() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("soon").is_err());
    }
}
