//! Reading the manifest's TOML tables by hand, so that every problem is found.
//!
//! serde stops at the first error; walking the spanned document ourselves lets
//! `check` report unknown keys, wrong types and bad values all in one run,
//! each pointing at its place in the file.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::diagnostic::{Code, Diagnostic};

/// The diagnostics found so far in one manifest file.
pub(super) struct Findings {
    /// The manifest's path, as given by the caller.
    file: PathBuf,
    /// Every problem reported, in the order found.
    pub(super) diagnostics: Vec<Diagnostic>,
}

impl Findings {
    /// No findings yet for `file`.
    pub(super) fn new(file: &Path) -> Self {
        Self {
            file: file.to_path_buf(),
            diagnostics: Vec::new(),
        }
    }

    /// A diagnostic in this file pointing at `span`, ready for `.help(…)`.
    pub(super) fn at(
        &self,
        code: Code,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(code, &self.file, message).at(span)
    }

    /// A diagnostic about the file as a whole, with no place in it.
    pub(super) fn whole_file(&self, code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, &self.file, message)
    }

    /// Records a diagnostic.
    pub(super) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Whether any recorded diagnostic is an error.
    pub(super) fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// One table of the manifest (`[module]`, `[limits]`…) and the keys it accepts.
pub(super) struct Section<'t, 'i> {
    /// The table's name as written in the header, e.g. `module`.
    pub(super) name: &'static str,
    /// The table's entries.
    pub(super) table: &'t DeTable<'i>,
    /// Where the table is declared (its header, or its key for dotted/inline forms).
    pub(super) span: Range<usize>,
}

impl<'t, 'i> Section<'t, 'i> {
    /// Reports every key of the table that is not in `known`, suggesting the closest known key.
    pub(super) fn reject_unknown_keys(&self, known: &[&str], findings: &mut Findings) {
        for key in self.table.keys() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            let unknown = findings.at(
                Code::UnknownKey,
                key.span(),
                format!("unknown key `{}` in [{}]", key.get_ref(), self.name),
            );
            findings.report(unknown.help(suggestion(key.get_ref(), known, "")));
        }
    }

    /// The value of `key`, if the table has it.
    pub(super) fn get(&self, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.table.get(key)
    }

    /// Where `key` is written, if the table has it.
    pub(super) fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.table.get_key_value(key).map(|(key, _)| key.span())
    }

    /// The value of a required `key`; reports `MissingKey` at the table when it is absent.
    pub(super) fn require(
        &self,
        key: &str,
        example: &str,
        findings: &mut Findings,
    ) -> Option<&'t Spanned<DeValue<'i>>> {
        let value = self.get(key);
        if value.is_none() {
            let missing = findings.at(
                Code::MissingKey,
                self.span.clone(),
                format!("[{}] has no `{key}`", self.name),
            );
            findings.report(missing.help(format!("add `{example}` to [{}]", self.name)));
        }
        value
    }
}

/// Help for an unknown `word`: the closest of `known`, or the list of them.
///
/// `prefix` is prepended to each candidate as shown (e.g. `[` for table names).
pub(super) fn suggestion(word: &str, known: &[&str], prefix: &str) -> String {
    let suffix = if prefix == "[" { "]" } else { "" };
    if let Some(closest) = closest(word, known) {
        return format!("did you mean `{prefix}{closest}{suffix}`?");
    }
    let list: Vec<String> = known
        .iter()
        .map(|key| format!("`{prefix}{key}{suffix}`"))
        .collect();
    format!("remove it; the known ones are {}", list.join(", "))
}

/// The known word closest to `word`, when it is close enough to be a typo.
fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    if word.len() > 64 {
        return None;
    }
    let word = word.to_ascii_lowercase();
    known
        .iter()
        .map(|candidate| (strsim::osa_distance(&word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `a string`, `an integer`: a TOML type with its article, for messages.
fn with_article(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}

/// Reports that `value` (the value of `what`, e.g. `module.name`) should have been `expected`.
pub(super) fn report_wrong_type(
    findings: &mut Findings,
    what: &str,
    expected: &str,
    value: &Spanned<DeValue<'_>>,
    example: &str,
) {
    let wrong = findings.at(
        Code::WrongType,
        value.span(),
        format!(
            "`{what}` should be {}, not {}",
            with_article(expected),
            with_article(value.get_ref().type_str())
        ),
    );
    findings.report(wrong.help(format!("write it as e.g. `{example}`")));
}

/// The string in `value`, or a `WrongType` report.
pub(super) fn expect_str<'v>(
    findings: &mut Findings,
    what: &str,
    value: &'v Spanned<DeValue<'_>>,
    example: &str,
) -> Option<&'v str> {
    let text = value.get_ref().as_str();
    if text.is_none() {
        report_wrong_type(findings, what, "string", value, example);
    }
    text
}

/// The boolean in `value`, or a `WrongType` report.
pub(super) fn expect_bool(
    findings: &mut Findings,
    what: &str,
    value: &Spanned<DeValue<'_>>,
    example: &str,
) -> Option<bool> {
    let flag = value.get_ref().as_bool();
    if flag.is_none() {
        report_wrong_type(findings, what, "boolean", value, example);
    }
    flag
}

/// The table in `value` as a [`Section`] named `name`, or a `WrongType` report.
pub(super) fn expect_section<'t, 'i>(
    findings: &mut Findings,
    name: &'static str,
    value: &'t Spanned<DeValue<'i>>,
) -> Option<Section<'t, 'i>> {
    match value.get_ref() {
        DeValue::Table(table) => Some(Section {
            name,
            table,
            span: value.span(),
        }),
        _ => {
            report_wrong_type(findings, name, "table", value, &format!("[{name}]"));
            None
        }
    }
}

/// The strings of an array of strings, each with its span.
///
/// Reports a `WrongType` for the array or for each entry that is not a
/// string, and a `DuplicateEntry` warning for each repeated entry.
pub(super) fn expect_string_list<'v>(
    findings: &mut Findings,
    what: &str,
    value: &'v Spanned<DeValue<'_>>,
    example: &str,
) -> Vec<(&'v str, Range<usize>)> {
    let Some(array): Option<&DeArray<'_>> = value.get_ref().as_array() else {
        report_wrong_type(findings, what, "array", value, example);
        return Vec::new();
    };
    let mut seen: HashSet<&str> = HashSet::new();
    let mut entries = Vec::new();
    for entry in array {
        let Some(text) = entry.get_ref().as_str() else {
            report_wrong_type(findings, &format!("{what}[…]"), "string", entry, example);
            continue;
        };
        if !seen.insert(text) {
            let duplicate = findings.at(
                Code::DuplicateEntry,
                entry.span(),
                format!("`{text}` is listed twice in `{what}`"),
            );
            findings.report(duplicate.help("remove this entry"));
            continue;
        }
        entries.push((text, entry.span()));
    }
    entries
}
