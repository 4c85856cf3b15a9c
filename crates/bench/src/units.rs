//! Units of the command line and of the report: byte sizes ("4KiB", "16MiB", "1GB", "4096") and durations
//! ("10s", "1m30s", "500ms"), parsed into `ByteSize` / `DurationArg`, and the human formatting of sizes,
//! rates and latencies.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a size or a duration given on the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("empty value")]
    Empty,
    #[error("{0:?} is not a number followed by a unit")]
    Number(String),
    #[error("unknown unit {unit:?} in {input:?} (use {expected})")]
    Unit {
        unit: String,
        input: String,
        expected: &'static str,
    },
    #[error("{0:?} is too large")]
    Overflow(String),
}

const SIZE_UNITS: &str = "B, KiB, MiB, GiB, TiB, KB, MB, GB, TB or K, M, G";
const DURATION_UNITS: &str = "ms, s, m, h";

/// Splits "12.5MiB" into ("12.5", "MiB"), after trimming blanks between them.
fn split_number(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    (&s[..end], s[end..].trim())
}

fn size_multiplier(unit: &str) -> Option<u64> {
    const KI: u64 = 1 << 10;
    Some(match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        // Like dd: a bare K/M/G is binary, "KB" is decimal, "KiB" is binary.
        "k" | "ki" | "kib" => KI,
        "m" | "mi" | "mib" => KI * KI,
        "g" | "gi" | "gib" => KI * KI * KI,
        "t" | "ti" | "tib" => KI * KI * KI * KI,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return None,
    })
}

/// Parses a byte size: a plain number of bytes, or a number (decimals allowed) with a unit.
pub fn parse_size(input: &str) -> Result<u64, UnitError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(UnitError::Empty);
    }
    let (num, unit) = split_number(s);
    if num.is_empty() {
        return Err(UnitError::Number(input.to_string()));
    }
    let mult = size_multiplier(unit).ok_or_else(|| UnitError::Unit {
        unit: unit.to_string(),
        input: input.to_string(),
        expected: SIZE_UNITS,
    })?;
    if let Ok(whole) = num.parse::<u64>() {
        return whole
            .checked_mul(mult)
            .ok_or_else(|| UnitError::Overflow(input.to_string()));
    }
    let value: f64 = num.parse().map_err(|_| UnitError::Number(input.to_string()))?;
    let bytes = (value * mult as f64).round();
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(UnitError::Overflow(input.to_string()));
    }
    Ok(bytes as u64)
}

/// Parses a duration: "10s", "1m", "1m30s", "250ms", "2h"; a plain number is seconds.
pub fn parse_duration(input: &str) -> Result<Duration, UnitError> {
    let mut rest = input.trim();
    if rest.is_empty() {
        return Err(UnitError::Empty);
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let (num, after) = split_number(rest);
        if num.is_empty() {
            return Err(UnitError::Number(input.to_string()));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let unit = after[..unit_len].trim();
        let secs_per_unit = match unit.to_ascii_lowercase().as_str() {
            "" | "s" | "sec" | "secs" => 1.0,
            "ms" => 0.001,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            _ => {
                return Err(UnitError::Unit {
                    unit: unit.to_string(),
                    input: input.to_string(),
                    expected: DURATION_UNITS,
                })
            }
        };
        let value: f64 = num.parse().map_err(|_| UnitError::Number(input.to_string()))?;
        let part =
            Duration::try_from_secs_f64(value * secs_per_unit).map_err(|_| UnitError::Overflow(input.to_string()))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| UnitError::Overflow(input.to_string()))?;
        rest = after[unit_len..].trim_start();
    }
    Ok(total)
}

/// A byte size given on the command line (`--size 4KiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_size(s).map(ByteSize)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_bytes(self.0))
    }
}

/// A duration given on the command line (`--duration 10s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg(pub Duration);

impl FromStr for DurationArg {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(DurationArg)
    }
}

impl fmt::Display for DurationArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// "4 KiB", "1.5 MiB", "512 B": binary units, at most one decimal, none when whole.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{} {}", value as u64, UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A latency given in milliseconds, printed with a unit that keeps 3 significant digits: "850µs", "1.20ms",
/// "15.3ms", "1.25s".
pub fn format_latency_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 10.0 {
        format!("{ms:.2}ms")
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// A wall-clock duration: "850ms", "12.3s", "2m05s".
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{}ms", d.as_millis())
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_binary_decimal_and_plain() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("4 KiB"), Ok(4096));
        assert_eq!(parse_size("4kib"), Ok(4096));
        assert_eq!(parse_size("16MiB"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2KB"), Ok(2000));
        assert_eq!(parse_size("3MB"), Ok(3_000_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1.5MiB"), Ok(1_572_864));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn sizes_refused() {
        assert_eq!(parse_size(""), Err(UnitError::Empty));
        assert!(matches!(parse_size("KiB"), Err(UnitError::Number(_))));
        assert!(matches!(parse_size("4XB"), Err(UnitError::Unit { .. })));
        assert!(matches!(parse_size("1.2.3MB"), Err(UnitError::Number(_))));
        assert!(matches!(parse_size("99999999999TiB"), Err(UnitError::Overflow(_))));
        assert!("4 parsecs".parse::<ByteSize>().is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration(" 1m 5s "), Ok(Duration::from_secs(65)));
        assert_eq!(parse_duration(""), Err(UnitError::Empty));
        assert!(matches!(parse_duration("5 days"), Err(UnitError::Unit { .. })));
        assert!(matches!(parse_duration("s"), Err(UnitError::Number(_))));
    }

    #[test]
    fn formatting() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(4096), "4 KiB");
        assert_eq!(format_bytes(1_572_864), "1.5 MiB");
        assert_eq!(format_bytes(256 << 20), "256 MiB");
        assert_eq!(format_latency_ms(0.85), "850µs");
        assert_eq!(format_latency_ms(1.2), "1.20ms");
        assert_eq!(format_latency_ms(15.34), "15.3ms");
        assert_eq!(format_latency_ms(1250.0), "1.25s");
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(ByteSize(16 << 20).to_string(), "16 MiB");
    }
}
