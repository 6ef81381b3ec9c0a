//! The one place that renders diagnostics: for people, for tools, and for GitHub Actions.
//!
//! `check` and `install` collect [`Diagnostic`]s from the host; this module
//! turns them into rustc-style text ([`Format::Human`]), a JSON array
//! ([`Format::Json`]) or workflow commands that annotate a pull request
//! ([`Format::Github`]).

use std::ops::Range;
use std::path::{Path, PathBuf};

use arcella_host::diagnostic::{Diagnostic, Severity, line_column};
use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as ReportSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::termcolor::{Buffer, WriteColor};
use codespan_reporting::term::{self, Chars, Config};

/// How diagnostics are written out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style text with the source line and a caret, for a terminal.
    #[default]
    Human,
    /// One JSON array of `{code, severity, message, file, line, column, help}`.
    Json,
    /// GitHub Actions workflow commands (`::error file=…`), to annotate pull requests.
    Github,
}

/// The text of each file the diagnostics point into, so spans can become lines and carets.
#[derive(Debug, Default)]
pub struct SourceMap {
    /// `(path, text)` in the order added.
    files: Vec<(PathBuf, String)>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the text of `path`; a later text for the same path replaces it.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) {
        let path = path.into();
        let text = text.into();
        match self.files.iter_mut().find(|(known, _)| *known == path) {
            Some(entry) => entry.1 = text,
            None => self.files.push((path, text)),
        }
    }

    /// The text of `path`, when it was added.
    pub fn text(&self, path: &Path) -> Option<&str> {
        self.files
            .iter()
            .find(|(known, _)| known == path)
            .map(|(_, text)| text.as_str())
    }

    /// 1-based line and column of `diagnostic`'s span start, when it has a span and its file is known.
    fn line_column(&self, diagnostic: &Diagnostic) -> Option<(usize, usize)> {
        let span = diagnostic.span.as_ref()?;
        let text = self.text(&diagnostic.file)?;
        Some(line_column(text, span.start))
    }
}

/// Renders `diagnostics` in `format`; `color` adds ANSI colours to [`Format::Human`] only.
pub fn render(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    format: Format,
    color: bool,
) -> String {
    match format {
        Format::Human => render_human(diagnostics, sources, color),
        Format::Json => render_json(diagnostics, sources),
        Format::Github => render_github(diagnostics, sources),
    }
}

/// Writes `diagnostics` where their format belongs: human text and its
/// summary line on stderr (coloured when stderr is a terminal), JSON and
/// GitHub commands on stdout. Reads the text of any file a diagnostic points
/// into that `sources` does not hold yet.
pub fn emit(diagnostics: &[Diagnostic], sources: &mut SourceMap, format: Format, subject: &str) {
    use std::io::{IsTerminal as _, Write as _};

    for diagnostic in diagnostics {
        if diagnostic.span.is_some()
            && sources.text(&diagnostic.file).is_none()
            && let Ok(text) = std::fs::read_to_string(&diagnostic.file)
        {
            sources.add(&diagnostic.file, text);
        }
    }
    match format {
        Format::Human => {
            // https://no-color.org: any non-empty NO_COLOR turns colours off.
            let color = std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(render_human(diagnostics, sources, color).as_bytes());
            if let Some(summary) = summary(subject, diagnostics) {
                let _ = writeln!(stderr, "{summary}");
            }
        }
        Format::Json | Format::Github => {
            let _ = std::io::stdout()
                .lock()
                .write_all(render(diagnostics, sources, format, false).as_bytes());
        }
    }
}

/// rustc-style text: `error[A0101]: …`, the source line with a caret, `= help: …`.
///
/// A diagnostic without a span (or whose file text is unknown) gets its header
/// and the file it is about.
pub fn render_human(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let mut files = SimpleFiles::new();
    let ids: Vec<usize> = sources
        .files
        .iter()
        .map(|(path, text)| files.add(path.display().to_string(), text.as_str()))
        .collect();
    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    let mut buffer = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };

    for diagnostic in diagnostics {
        let file = sources
            .files
            .iter()
            .position(|(path, _)| *path == diagnostic.file)
            .map(|index| ids[index]);
        let located = file.zip(diagnostic.span.as_ref()).map(|(file, span)| {
            let text = files
                .get(file)
                .map(|file| *file.source())
                .unwrap_or_default();
            (file, clamp(span, text))
        });
        let mut report = Report::new(match diagnostic.severity {
            Severity::Error => ReportSeverity::Error,
            Severity::Warning => ReportSeverity::Warning,
        })
        .with_code(diagnostic.code.as_str())
        .with_message(&diagnostic.message);
        let mut notes = Vec::new();
        match located {
            Some((file, span)) => report = report.with_label(Label::primary(file, span)),
            None => notes.push(format!("in {}", diagnostic.file.display())),
        }
        if let Some(help) = &diagnostic.help {
            notes.push(format!("help: {help}"));
        }
        let report = report.with_notes(notes);
        if term::emit_to_write_style(&mut buffer, &config, &files, &report).is_err() {
            // Only reachable if a span does not fit its text; say what we can.
            let plain = Report::new(report.severity)
                .with_code(diagnostic.code.as_str())
                .with_message(&diagnostic.message)
                .with_notes(vec![format!("in {}", diagnostic.file.display())]);
            let _ = term::emit_to_write_style(&mut buffer, &config, &files, &plain);
        }
    }
    let _ = buffer.reset();
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

/// `span` cut to `text`'s length and moved onto character boundaries, so the renderer accepts it.
fn clamp(span: &Range<usize>, text: &str) -> Range<usize> {
    let floor = |offset: usize| {
        let offset = offset.min(text.len());
        (0..=offset)
            .rev()
            .find(|index| text.is_char_boundary(*index))
            .unwrap_or(0)
    };
    let start = floor(span.start);
    start..floor(span.end).max(start)
}

/// One diagnostic as a JSON object.
#[derive(serde::Serialize)]
struct JsonDiagnostic<'d> {
    /// The stable code, e.g. `A0101`.
    code: &'d str,
    /// `error` or `warning`.
    severity: Severity,
    /// What is wrong.
    message: &'d str,
    /// The file, as given to the host.
    file: String,
    /// 1-based line, `null` without a span.
    line: Option<usize>,
    /// 1-based column in characters, `null` without a span.
    column: Option<usize>,
    /// What to write instead, `null` when there is nothing to say.
    help: Option<&'d str>,
}

/// A pretty-printed JSON array with one object per diagnostic.
pub fn render_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let objects: Vec<JsonDiagnostic<'_>> = diagnostics
        .iter()
        .map(|diagnostic| {
            let place = sources.line_column(diagnostic);
            JsonDiagnostic {
                code: diagnostic.code.as_str(),
                severity: diagnostic.severity,
                message: &diagnostic.message,
                file: diagnostic.file.display().to_string(),
                line: place.map(|(line, _)| line),
                column: place.map(|(_, column)| column),
                help: diagnostic.help.as_deref(),
            }
        })
        .collect();
    let mut json = serde_json::to_string_pretty(&objects).unwrap_or_else(|_| "[]".to_string());
    json.push('\n');
    json
}

/// One GitHub Actions workflow command per diagnostic, e.g.
/// `::error file=arcella.toml,line=2,col=1,title=A0101::unknown key …`.
pub fn render_github(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let command = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut properties = vec![format!(
            "file={}",
            escape_property(&diagnostic.file.display().to_string())
        )];
        if let Some((line, column)) = sources.line_column(diagnostic) {
            properties.push(format!("line={line}"));
            properties.push(format!("col={column}"));
        }
        properties.push(format!(
            "title={}",
            escape_property(diagnostic.code.as_str())
        ));
        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            escape_data(&message)
        ));
    }
    out
}

/// Escapes a workflow command's message: `%`, `\r` and `\n`.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as a message, plus `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The closing line after the diagnostics of `subject`, e.g.
/// ``error: `hello` has 2 errors and 1 warning``; `None` when there are none.
pub fn summary(subject: &str, diagnostics: &[Diagnostic]) -> Option<String> {
    let errors = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .count();
    let warnings = diagnostics.len() - errors;
    let count = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => None,
        (0, warnings) => Some(format!(
            "warning: `{subject}` has {}",
            count(warnings, "warning")
        )),
        (errors, 0) => Some(format!("error: `{subject}` has {}", count(errors, "error"))),
        (errors, warnings) => Some(format!(
            "error: `{subject}` has {} and {}",
            count(errors, "error"),
            count(warnings, "warning")
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use arcella_host::diagnostic::Code;
    use arcella_host::manifest;

    use super::*;

    /// A small manifest with an unknown key and a duplicate import (an error and a warning).
    const MANIFEST: &str = "[module]\nnmae = \"hello\"\nname = \"hello\"\nversion = \"0.1.0\"\nimports = [\"a:b/c\", \"a:b/c\"]\n";

    fn two_problems() -> (Vec<Diagnostic>, SourceMap) {
        let path = Path::new("hello/arcella.toml");
        let report = manifest::parse(MANIFEST.as_bytes(), path);
        let mut sources = SourceMap::new();
        sources.add(path, report.source);
        (report.diagnostics, sources)
    }

    #[test]
    fn the_example_manifest_has_one_error_and_one_warning() {
        let (diagnostics, _) = two_problems();
        let codes: Vec<Code> = diagnostics
            .iter()
            .map(|diagnostic| diagnostic.code)
            .collect();
        assert_eq!(codes, [Code::UnknownKey, Code::DuplicateEntry]);
    }

    #[test]
    fn human_output_shows_the_line_a_caret_and_the_help() {
        let (diagnostics, sources) = two_problems();
        insta::assert_snapshot!(render(&diagnostics, &sources, Format::Human, false));
    }

    #[test]
    fn human_output_is_coloured_only_when_asked() {
        let (diagnostics, sources) = two_problems();
        assert!(render_human(&diagnostics, &sources, true).contains("\u{1b}["));
        assert!(!render_human(&diagnostics, &sources, false).contains('\u{1b}'));
    }

    #[test]
    fn human_output_without_a_span_names_the_file() {
        let diagnostic = Diagnostic::new(
            Code::ManifestTooLarge,
            "big/arcella.toml",
            "the manifest is larger than 1MiB",
        );
        insta::assert_snapshot!(render_human(&[diagnostic], &SourceMap::new(), false));
    }

    #[test]
    fn json_output_is_one_array_with_one_based_places() {
        let (diagnostics, sources) = two_problems();
        insta::assert_snapshot!(render(&diagnostics, &sources, Format::Json, false));
    }

    #[test]
    fn json_output_has_null_places_without_a_span() {
        let diagnostic = Diagnostic::new(Code::ManifestTooLarge, "arcella.toml", "too large");
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&[diagnostic], &SourceMap::new())).unwrap();
        assert_eq!(json[0]["line"], serde_json::Value::Null);
        assert_eq!(json[0]["column"], serde_json::Value::Null);
        assert_eq!(json[0]["severity"], "error");
    }

    #[test]
    fn github_output_is_one_workflow_command_per_diagnostic() {
        let (diagnostics, sources) = two_problems();
        insta::assert_snapshot!(render(&diagnostics, &sources, Format::Github, false));
    }

    #[test]
    fn github_output_escapes_messages_and_properties() {
        let diagnostic = Diagnostic::new(
            Code::WrongType,
            "dir,with:colons/arcella.toml",
            "100% wrong\r\nreally",
        )
        .help("a, b: c");
        assert_eq!(
            render_github(&[diagnostic], &SourceMap::new()),
            "::error file=dir%2Cwith%3Acolons/arcella.toml,title=A0103::100%25 wrong%0D%0Areally%0Ahelp: a, b: c\n"
        );
    }

    #[test]
    fn the_summary_counts_errors_and_warnings() {
        let (diagnostics, _) = two_problems();
        assert_eq!(
            summary("hello", &diagnostics).unwrap(),
            "error: `hello` has 1 error and 1 warning"
        );
        assert_eq!(
            summary("hello", &diagnostics[1..]).unwrap(),
            "warning: `hello` has 1 warning"
        );
        assert_eq!(summary("hello", &[]), None);
    }
}
