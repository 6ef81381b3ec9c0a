//! The `[limits]` table: fuel, memory and time per call, and the bounds on
//! key-value calls, each with a finite default.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeInteger, DeValue};

use crate::diagnostic::Code;
use crate::limits::{
    Limits, format_duration, format_size, parse_duration, parse_size, parse_whole_number,
};

use crate::services::keyvalue::KeyValueLimits;

use super::table::{Findings, Section, expect_str, report_wrong_type};

/// The keys `[limits]` accepts.
const KEYS: &[&str] = &[
    "fuel",
    "memory",
    "timeout",
    "keyvalue-key-size",
    "keyvalue-value-size",
    "keyvalue-buckets",
    "keyvalue-page",
];

/// Reads `[limits]` over the defaults, reporting every problem; `None` when it cannot be used.
pub(super) fn read_limits(section: &Section<'_, '_>, findings: &mut Findings) -> Option<Limits> {
    section.reject_unknown_keys(KEYS, findings);
    let defaults = Limits::default();
    let fuel = section
        .get("fuel")
        .map_or(Some(defaults.fuel), |value| read_fuel(value, findings));
    let memory = section
        .get("memory")
        .map_or(Some(defaults.memory), |value| read_memory(value, findings));
    let timeout = section
        .get("timeout")
        .map_or(Some(defaults.timeout), |value| {
            read_timeout(value, findings)
        });
    let keyvalue = read_keyvalue_limits(section, findings);
    Some(Limits {
        fuel: fuel?,
        memory: memory?,
        timeout: timeout?,
        keyvalue: keyvalue?,
    })
}

/// `keyvalue-*`: the bounds on `wasi:keyvalue` calls, each above zero and
/// at most its maximum in [`KeyValueLimits`].
fn read_keyvalue_limits(
    section: &Section<'_, '_>,
    findings: &mut Findings,
) -> Option<KeyValueLimits> {
    let defaults = KeyValueLimits::default();
    let mut read = |key: &str, default: usize, max: usize, size: bool| {
        section.get(key).map_or(Some(default), |value| {
            read_bound(value, key, default, max, size, findings)
        })
    };
    let key = read(
        "keyvalue-key-size",
        defaults.key,
        KeyValueLimits::MAX_KEY,
        true,
    );
    let value = read(
        "keyvalue-value-size",
        defaults.value,
        KeyValueLimits::MAX_VALUE,
        true,
    );
    let buckets = read(
        "keyvalue-buckets",
        defaults.buckets,
        KeyValueLimits::MAX_BUCKETS,
        false,
    );
    let page = read(
        "keyvalue-page",
        defaults.page,
        KeyValueLimits::MAX_PAGE,
        false,
    );
    Some(KeyValueLimits {
        key: key?,
        value: value?,
        buckets: buckets?,
        page: page?,
    })
}

/// One bound: a size (string or bytes) when `size`, else a count; above
/// zero and at most `max`.
fn read_bound(
    value: &Spanned<DeValue<'_>>,
    key: &str,
    default: usize,
    max: usize,
    size: bool,
    findings: &mut Findings,
) -> Option<usize> {
    let show = |n: usize| {
        if size {
            format!("\"{}\"", format_size(n as u64))
        } else {
            n.to_string()
        }
    };
    let example = format!("{key} = {}", show(default));
    let number = if size {
        read_size(value, key, &example, findings)?
    } else {
        let Some(integer) = value.get_ref().as_integer() else {
            report_wrong_type(
                findings,
                &format!("limits.{key}"),
                "integer",
                value,
                &example,
            );
            return None;
        };
        read_whole_number(integer, value.span(), findings)?
    };
    match usize::try_from(number) {
        Ok(bound) if bound > 0 && bound <= max => Some(bound),
        _ => {
            let message = format!("`limits.{key}` must be above 0 and at most {}", show(max));
            report_out_of_range(findings, value.span(), &message, &example);
            None
        }
    }
}

/// A size: a string (`"64MiB"`) or a number of bytes, not yet bounded.
fn read_size(
    value: &Spanned<DeValue<'_>>,
    key: &str,
    example: &str,
    findings: &mut Findings,
) -> Option<i128> {
    match value.get_ref() {
        DeValue::Integer(integer) => read_whole_number(integer, value.span(), findings),
        DeValue::String(_) => {
            let text = expect_str(findings, &format!("limits.{key}"), value, example)?;
            match parse_size(text) {
                Ok(bytes) => Some(i128::from(bytes)),
                Err(problem) => {
                    report_invalid(findings, value.span(), &problem);
                    None
                }
            }
        }
        _ => {
            report_wrong_type(findings, &format!("limits.{key}"), "string", value, example);
            None
        }
    }
}

/// `fuel`: an integer above zero that a store's fuel counter holds.
fn read_fuel(value: &Spanned<DeValue<'_>>, findings: &mut Findings) -> Option<u64> {
    let example = format!("fuel = {}", Limits::DEFAULT_FUEL);
    let Some(integer) = value.get_ref().as_integer() else {
        report_wrong_type(findings, "limits.fuel", "integer", value, &example);
        return None;
    };
    let fuel = read_whole_number(integer, value.span(), findings)?;
    match Limits::check_fuel(fuel) {
        Ok(fuel) => Some(fuel),
        Err(out_of_range) => {
            let message = format!("`limits.fuel` {out_of_range}");
            report_out_of_range(findings, value.span(), &message, &example);
            None
        }
    }
}

/// `memory`: a size string or a number of bytes, above zero and at most [`Limits::MAX_MEMORY`].
fn read_memory(value: &Spanned<DeValue<'_>>, findings: &mut Findings) -> Option<u64> {
    let example = format!("memory = \"{}\"", format_size(Limits::DEFAULT_MEMORY));
    let bytes = read_size(value, "memory", &example, findings)?;
    match Limits::check_memory(bytes) {
        Ok(bytes) => Some(bytes),
        Err(out_of_range) => {
            let message = format!("`limits.memory` {out_of_range}");
            report_out_of_range(findings, value.span(), &message, &example);
            None
        }
    }
}

/// `timeout`: a duration string, above zero and at most [`Limits::MAX_TIMEOUT`].
fn read_timeout(value: &Spanned<DeValue<'_>>, findings: &mut Findings) -> Option<Duration> {
    let example = format!("timeout = \"{}\"", format_duration(Limits::DEFAULT_TIMEOUT));
    let text = expect_str(findings, "limits.timeout", value, &example)?;
    let timeout = match parse_duration(text) {
        Ok(timeout) => timeout,
        Err(problem) => {
            report_invalid(findings, value.span(), &problem);
            return None;
        }
    };
    match Limits::check_timeout(timeout) {
        Ok(timeout) => Some(timeout),
        Err(out_of_range) => {
            let message = format!("`limits.timeout` {out_of_range}");
            report_out_of_range(findings, value.span(), &message, &example);
            None
        }
    }
}

/// The value of a TOML integer, saturated beyond `i128` so that the range
/// check reports it; digits TOML let through but Rust cannot read are reported here.
fn read_whole_number(
    integer: &DeInteger<'_>,
    span: Range<usize>,
    findings: &mut Findings,
) -> Option<i128> {
    match parse_whole_number(integer.as_str(), integer.radix()) {
        Ok(number) => Some(number),
        Err(_) => {
            let problem = format!("`{integer}` is not a whole number; write e.g. 100000000");
            report_invalid(findings, span, &problem);
            None
        }
    }
}

/// Reports a limit that does not parse; `problem` is `what is wrong; what to write`.
fn report_invalid(findings: &mut Findings, span: Range<usize>, problem: &str) {
    let (message, help) = problem
        .split_once("; ")
        .unwrap_or((problem, "see the defaults in the guide"));
    let invalid = findings.at(Code::InvalidLimit, span, message);
    findings.report(invalid.help(help));
}

/// Reports a limit that parses but is zero or too large.
fn report_out_of_range(findings: &mut Findings, span: Range<usize>, message: &str, example: &str) {
    let out_of_range = findings.at(Code::LimitOutOfRange, span, message);
    findings.report(out_of_range.help(format!("write e.g. `{example}` (the default)")));
}
