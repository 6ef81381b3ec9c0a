//! The `[limits]` table: fuel, memory and time per call, each with a finite default.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostic::Code;
use crate::limits::{Limits, format_duration, format_size, parse_duration, parse_size};

use super::table::{Findings, Section, expect_str, report_wrong_type};

/// The keys `[limits]` accepts.
const KEYS: &[&str] = &["fuel", "memory", "timeout"];

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
    Some(Limits {
        fuel: fuel?,
        memory: memory?,
        timeout: timeout?,
    })
}

/// `fuel`: an integer greater than zero.
fn read_fuel(value: &Spanned<DeValue<'_>>, findings: &mut Findings) -> Option<u64> {
    let example = format!("fuel = {}", Limits::DEFAULT_FUEL);
    let Some(integer) = value.get_ref().as_integer() else {
        report_wrong_type(findings, "limits.fuel", "integer", value, &example);
        return None;
    };
    match i128::from_str_radix(integer.as_str(), integer.radix()) {
        Ok(fuel) if fuel > 0 => u64::try_from(fuel).ok(),
        _ => {
            report_out_of_range(
                findings,
                value.span(),
                "`limits.fuel` must be greater than 0",
                &example,
            );
            None
        }
    }
}

/// `memory`: a size string or a number of bytes, above zero and at most [`Limits::MAX_MEMORY`].
fn read_memory(value: &Spanned<DeValue<'_>>, findings: &mut Findings) -> Option<u64> {
    let example = format!("memory = \"{}\"", format_size(Limits::DEFAULT_MEMORY));
    let bytes = match value.get_ref() {
        DeValue::Integer(integer) => {
            i128::from_str_radix(integer.as_str(), integer.radix()).ok()?
        }
        DeValue::String(_) => {
            let text = expect_str(findings, "limits.memory", value, &example)?;
            match parse_size(text) {
                Ok(bytes) => i128::from(bytes),
                Err(problem) => {
                    report_invalid(findings, value.span(), &problem);
                    return None;
                }
            }
        }
        _ => {
            report_wrong_type(findings, "limits.memory", "string", value, &example);
            return None;
        }
    };
    let max = Limits::MAX_MEMORY;
    if bytes <= 0 || bytes > i128::from(max) {
        let message = format!(
            "`limits.memory` must be above 0 and at most {}",
            format_size(max)
        );
        report_out_of_range(findings, value.span(), &message, &example);
        return None;
    }
    u64::try_from(bytes).ok()
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
    if timeout.is_zero() || timeout > Limits::MAX_TIMEOUT {
        let message = format!(
            "`limits.timeout` must be above 0 and at most {}",
            format_duration(Limits::MAX_TIMEOUT)
        );
        report_out_of_range(findings, value.span(), &message, &example);
        return None;
    }
    Some(timeout)
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
