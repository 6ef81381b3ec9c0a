//! Integers in `[limits]` beyond what the host can hold: each must be a
//! located `LimitOutOfRange`, never a manifest silently refused without a word.

use std::path::Path;

use arcella_host::diagnostic::{Code, line_column};
use arcella_host::manifest::{self, ManifestReport};

const MODULE: &str = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\n[limits]\n";

fn check(limits: &str) -> ManifestReport {
    let text = format!("{MODULE}{limits}\n");
    manifest::parse(text.as_bytes(), Path::new("/nonexistent/app/arcella.toml"))
}

/// Asserts `limits` gives exactly one `LimitOutOfRange` at line 5, `column`, with a help line.
fn assert_out_of_range(limits: &str, column: usize) {
    let report = check(limits);
    let places: Vec<_> = report
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let place = diagnostic
                .span
                .as_ref()
                .map(|span| line_column(&report.source, span.start));
            (diagnostic.code, place)
        })
        .collect();
    assert_eq!(
        places,
        vec![(Code::LimitOutOfRange, Some((5, column)))],
        "{limits}: {:#?}",
        report.diagnostics
    );
    assert!(report.manifest.is_none(), "{limits}");
    let diagnostic = &report.diagnostics[0];
    assert!(
        diagnostic
            .help
            .as_deref()
            .is_some_and(|help| !help.is_empty()),
        "{limits}: {diagnostic:?}"
    );
}

#[test]
fn fuel_beyond_u64_is_out_of_range() {
    for fuel in [
        "99999999999999999999999",
        "18446744073709551616",
        "0xffffffffffffffffff",
        "0o7777777777777777777777777",
        "0b11111111111111111111111111111111111111111111111111111111111111111",
    ] {
        assert_out_of_range(&format!("fuel = {fuel}"), 8);
    }
}

#[test]
fn fuel_beyond_i128_is_out_of_range() {
    assert_out_of_range(&format!("fuel = {}", "9".repeat(43)), 8);
    assert_out_of_range(&format!("fuel = -{}", "9".repeat(43)), 8);
    assert_out_of_range(&format!("fuel = 0x{}", "f".repeat(40)), 8);
}

#[test]
fn memory_beyond_i128_is_out_of_range() {
    assert_out_of_range(&format!("memory = {}", "9".repeat(43)), 10);
    assert_out_of_range(&format!("memory = -{}", "9".repeat(43)), 10);
    assert_out_of_range("memory = 0xffffffffffffffffffffffffffffffffff", 10);
    assert_out_of_range("memory = 18446744073709551616", 10);
}

#[test]
fn the_largest_fuel_a_store_holds_is_accepted() {
    let report = check("fuel = 18446744073709551615");
    assert_eq!(report.diagnostics, vec![]);
    assert_eq!(report.manifest.unwrap().limits.fuel, u64::MAX);
}

#[test]
fn a_size_string_beyond_u64_is_reported() {
    let report = check(&format!("memory = \"{}GiB\"", "9".repeat(30)));
    assert_eq!(report.diagnostics.len(), 1, "{:#?}", report.diagnostics);
    assert!(
        matches!(
            report.diagnostics[0].code,
            Code::InvalidLimit | Code::LimitOutOfRange
        ),
        "{:?}",
        report.diagnostics
    );
}

#[test]
fn a_duration_string_beyond_what_a_duration_holds_is_reported() {
    for timeout in ["500000000000y", "99999999999999999999999999s"] {
        let report = check(&format!("timeout = \"{timeout}\""));
        assert_eq!(report.diagnostics.len(), 1, "{:#?}", report.diagnostics);
        assert!(
            matches!(
                report.diagnostics[0].code,
                Code::InvalidLimit | Code::LimitOutOfRange
            ),
            "{:?}",
            report.diagnostics
        );
    }
}
