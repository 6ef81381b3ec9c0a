//! The one place that renders diagnostics: for people, for tools, and for GitHub Actions.
//!
//! `check` and `install` collect [`Diagnostic`]s from the host; this module
//! turns them into rustc-style text ([`Format::Human`]), a JSON array
//! ([`Format::Json`]) or workflow commands that annotate a pull request
//! ([`Format::Github`]).

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use arcella_host::diagnostic::{Diagnostic, Severity};
use arcella_host::escape;
use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as ReportSeverity};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::termcolor::{Buffer, WriteColor};
use codespan_reporting::term::{self, Chars, Config};

/// At most this many diagnostics of one file are rendered for people; the
/// rest are counted in one line. JSON and GitHub output keep them all.
const MAX_RENDERED_PER_FILE: usize = 50;
/// The most characters of a source line shown for people; a longer line is
/// cut around the caret, with `…` where it was cut.
const MAX_EXCERPT_CHARS: usize = 120;
/// How many characters before the span a cut line keeps.
const EXCERPT_CONTEXT_CHARS: usize = 40;
/// The most characters of a message or help line shown for people; a
/// longer one (it quotes what the file says) keeps its start and its end.
const MAX_MESSAGE_CHARS: usize = 400;

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

    /// Where each diagnostic's span starts, when it has a span and its file
    /// is known: found in one pass over each file, not one per diagnostic,
    /// so that thousands of diagnostics on one long line cost linear time.
    fn places(&self, diagnostics: &[Diagnostic]) -> Vec<Option<Place>> {
        let mut places = vec![None; diagnostics.len()];
        for (path, text) in &self.files {
            let mut offsets: Vec<(usize, usize)> = diagnostics
                .iter()
                .enumerate()
                .filter(|(_, diagnostic)| diagnostic.file == *path)
                .filter_map(|(index, diagnostic)| {
                    let span = diagnostic.span.as_ref()?;
                    Some((floor_char_boundary(text, span.start), index))
                })
                .collect();
            offsets.sort_unstable();
            let mut place = Place {
                line: 1,
                column: 1,
                line_start: 0,
            };
            let mut at = 0;
            for (offset, index) in offsets {
                let passed = &text[at..offset];
                match passed.rfind('\n') {
                    Some(last) => {
                        place.line += passed.bytes().filter(|byte| *byte == b'\n').count();
                        place.line_start = at + last + 1;
                        place.column = text[place.line_start..offset].chars().count() + 1;
                    }
                    None => place.column += passed.chars().count(),
                }
                at = offset;
                places[index] = Some(place);
            }
        }
        places
    }
}

/// Where a span starts in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    /// 1-based line.
    line: usize,
    /// 1-based column, in characters.
    column: usize,
    /// Byte offset of the line's first character.
    line_start: usize,
}

/// `offset` cut to `text`'s length and moved back onto a character boundary.
fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    (0..=offset)
        .rev()
        .find(|index| text.is_char_boundary(*index))
        .unwrap_or(0)
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
/// and the file it is about. Output stays bounded whatever the file: the
/// first [`MAX_RENDERED_PER_FILE`] diagnostics of a file are rendered and the
/// rest counted, and each shows at most [`MAX_EXCERPT_CHARS`] of its line.
pub fn render_human(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    use std::io::Write as _;

    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    let mut buffer = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    let places = sources.places(diagnostics);
    // Per file, in the order first seen: how many were rendered and how many left out.
    let mut counts: Vec<(&Path, usize, usize)> = Vec::new();
    for (diagnostic, place) in diagnostics.iter().zip(places) {
        let count = match counts
            .iter()
            .position(|(file, ..)| *file == diagnostic.file)
        {
            Some(index) => &mut counts[index],
            None => {
                counts.push((&diagnostic.file, 0, 0));
                counts.last_mut().expect("just pushed")
            }
        };
        if count.1 == MAX_RENDERED_PER_FILE {
            count.2 += 1;
            continue;
        }
        count.1 += 1;
        render_one(&mut buffer, &config, diagnostic, place, sources);
    }
    for (file, _, left_out) in counts {
        if left_out > 0 {
            let noun = if left_out == 1 {
                "diagnostic"
            } else {
                "diagnostics"
            };
            let _ = writeln!(
                buffer,
                "… and {left_out} more {noun} in {} (use --format json for all)",
                file.display()
            );
        }
    }
    let _ = buffer.reset();
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

/// Renders one diagnostic into `buffer`, with an excerpt of its line when it has a place.
fn render_one(
    buffer: &mut Buffer,
    config: &Config,
    diagnostic: &Diagnostic,
    place: Option<Place>,
    sources: &SourceMap,
) {
    let name = diagnostic.file.display().to_string();
    let located = place
        .zip(diagnostic.span.as_ref())
        .and_then(|(place, span)| {
            let text = sources.text(&diagnostic.file)?;
            Some(Excerpt::cut(&name, text, span, place))
        });
    let mut report = Report::new(match diagnostic.severity {
        Severity::Error => ReportSeverity::Error,
        Severity::Warning => ReportSeverity::Warning,
    })
    .with_code(diagnostic.code.as_str())
    .with_message(for_people(&diagnostic.message));
    let mut notes = Vec::new();
    let excerpt = match located {
        Some((excerpt, label)) => {
            report = report.with_label(Label::primary((), label));
            excerpt
        }
        None => {
            notes.push(format!("in {}", for_people(&name)));
            Excerpt::empty(&name)
        }
    };
    if let Some(help) = &diagnostic.help {
        notes.push(format!("help: {}", for_people(help)));
    }
    let report = report.with_notes(notes);
    if term::emit_to_write_style(buffer, config, &excerpt, &report).is_err() {
        // Only reachable if a label does not fit its excerpt; say what we can.
        let plain = Report::new(report.severity)
            .with_code(diagnostic.code.as_str())
            .with_message(for_people(&diagnostic.message))
            .with_notes(vec![format!("in {}", for_people(&name))]);
        let _ = term::emit_to_write_style(buffer, config, &Excerpt::empty(&name), &plain);
    }
}

/// `text` as shown to people: each line escaped as guest text is (so that
/// a file cannot drive the terminal), and cut in the middle past
/// [`MAX_MESSAGE_CHARS`].
fn for_people(text: &str) -> String {
    let count = text.chars().count();
    let cut;
    let text = if count <= MAX_MESSAGE_CHARS {
        text
    } else {
        let tail = MAX_MESSAGE_CHARS / 4;
        let head: String = text.chars().take(MAX_MESSAGE_CHARS - tail).collect();
        let end: String = text.chars().skip(count - tail).collect();
        cut = format!("{head}…{end}");
        &cut
    };
    text.split('\n')
        .map(|line| escape(line).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one line a diagnostic points at, as codespan sees it: cut to at most
/// [`MAX_EXCERPT_CHARS`] around the span, yet numbered with the file's own
/// line and column. Rendering from an excerpt instead of the whole file
/// keeps each diagnostic's cost to its excerpt.
struct Excerpt<'n> {
    /// The file's name, as shown in `--> name:line:column`.
    name: &'n str,
    /// The shown part of the line, `…` where it was cut, control characters but tabs escaped.
    text: String,
    /// The line's 1-based number in the file.
    line: usize,
    /// The span start's 1-based column in the file, in characters.
    column: usize,
}

impl<'n> Excerpt<'n> {
    /// An excerpt with no line, for a diagnostic without a place.
    fn empty(name: &'n str) -> Self {
        Self {
            name,
            text: String::new(),
            line: 1,
            column: 1,
        }
    }

    /// The excerpt of the line of `text` where `span` starts, and the span's
    /// range in the excerpt: a span running onto later lines is shown to
    /// the end of its first line.
    fn cut(name: &'n str, text: &str, span: &Range<usize>, place: Place) -> (Self, Range<usize>) {
        let line_end = text[place.line_start..]
            .find('\n')
            .map_or(text.len(), |index| place.line_start + index);
        let line = text[place.line_start..line_end].trim_end_matches('\r');
        let start = floor_char_boundary(text, span.start) - place.line_start;
        let start = start.min(line.len());
        let end = (floor_char_boundary(text, span.end).max(span.start) - place.line_start)
            .clamp(start, line.len());
        let end = floor_char_boundary(line, end);

        // The window: some context before the span, then as much as fits.
        let mut window_start = line[..start]
            .char_indices()
            .rev()
            .nth(EXCERPT_CONTEXT_CHARS - 1)
            .map_or(0, |(index, _)| index);
        let window_end = line[window_start..]
            .char_indices()
            .nth(MAX_EXCERPT_CHARS)
            .map_or(line.len(), |(index, _)| window_start + index);
        if window_end == line.len() {
            window_start = line[..window_end]
                .char_indices()
                .rev()
                .nth(MAX_EXCERPT_CHARS - 1)
                .map_or(0, |(index, _)| index);
        }

        let mut shown = String::new();
        if window_start > 0 {
            shown.push('…');
        }
        let (mut label_start, mut label_end) = (None, None);
        for (index, c) in line[window_start..window_end].char_indices() {
            let index = window_start + index;
            if index == start {
                label_start = Some(shown.len());
            }
            if index == end {
                label_end = Some(shown.len());
            }
            // Tabs are left to codespan, which lays them out; the rest is escaped as guest text is.
            if c == '\t' {
                shown.push(c);
            } else {
                let _ = write!(shown, "{}", escape(c.encode_utf8(&mut [0; 4])));
            }
        }
        let label_start = label_start.unwrap_or(shown.len());
        let label_end = label_end.unwrap_or(shown.len()).max(label_start);
        if window_end < line.len() {
            shown.push('…');
        }
        let excerpt = Self {
            name,
            text: shown,
            line: place.line,
            column: place.column,
        };
        (excerpt, label_start..label_end)
    }
}

impl<'a> Files<'a> for Excerpt<'_> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, FilesError> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> Result<&'a str, FilesError> {
        Ok(&self.text)
    }

    fn line_index(&'a self, (): (), _byte_index: usize) -> Result<usize, FilesError> {
        Ok(0)
    }

    fn line_number(&'a self, (): (), _line_index: usize) -> Result<usize, FilesError> {
        Ok(self.line)
    }

    fn column_number(
        &'a self,
        (): (),
        _line_index: usize,
        _byte_index: usize,
    ) -> Result<usize, FilesError> {
        // Asked only for the span's start, for the `--> name:line:column` locus.
        Ok(self.column)
    }

    fn line_range(&'a self, (): (), line_index: usize) -> Result<Range<usize>, FilesError> {
        match line_index {
            0 => Ok(0..self.text.len()),
            given => Err(FilesError::LineTooLarge { given, max: 0 }),
        }
    }
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
        .zip(sources.places(diagnostics))
        .map(|(diagnostic, place)| JsonDiagnostic {
            code: diagnostic.code.as_str(),
            severity: diagnostic.severity,
            message: &diagnostic.message,
            file: diagnostic.file.display().to_string(),
            line: place.map(|place| place.line),
            column: place.map(|place| place.column),
            help: diagnostic.help.as_deref(),
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
    for (diagnostic, place) in diagnostics.iter().zip(sources.places(diagnostics)) {
        let command = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut properties = vec![format!(
            "file={}",
            escape_property(&diagnostic.file.display().to_string())
        )];
        if let Some(place) = place {
            properties.push(format!("line={}", place.line));
            properties.push(format!("col={}", place.column));
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

    /// `text` as the only file, at `path`.
    fn one_file(path: &str, text: &str) -> SourceMap {
        let mut sources = SourceMap::new();
        sources.add(path, text);
        sources
    }

    #[test]
    fn places_agree_with_the_hosts_line_column_in_one_pass() {
        let text = "a = 1\nné = \"ü\"\n\n  x = [1, 2]\nlast";
        let diagnostics: Vec<Diagnostic> = (0..=text.len() + 2)
            .rev()
            .map(|offset| Diagnostic::new(Code::WrongType, "f.toml", "m").at(offset..offset + 1))
            .collect();
        let places = one_file("f.toml", text).places(&diagnostics);
        for (diagnostic, place) in diagnostics.iter().zip(places) {
            let start = diagnostic.span.as_ref().unwrap().start;
            let place = place.unwrap();
            assert_eq!(
                (place.line, place.column),
                arcella_host::diagnostic::line_column(text, start),
                "offset {start}"
            );
        }
    }

    #[test]
    fn a_long_line_is_cut_around_the_caret_with_its_true_place() {
        let line = format!(
            "exports = [{}\"bad\"{}]",
            "x".repeat(5000),
            "y".repeat(5000)
        );
        let start = line.find("\"bad\"").unwrap();
        let diagnostic =
            Diagnostic::new(Code::InvalidInterfaceName, "f.toml", "bad").at(start..start + 5);
        let text = render_human(&[diagnostic], &one_file("f.toml", &line), false);
        assert!(
            text.contains(&format!("--> f.toml:1:{}", start + 1)),
            "{text}"
        );
        let source = text.lines().find(|row| row.starts_with("1 | ")).unwrap();
        let caret = text.lines().find(|row| row.contains('^')).unwrap();
        assert!(source.chars().count() < MAX_EXCERPT_CHARS + 10, "{source}");
        assert!(
            source.starts_with("1 | …") && source.ends_with('…'),
            "{source}"
        );
        let caret_at = caret.find('^').unwrap();
        assert_eq!(
            source.chars().skip(caret_at).take(5).collect::<String>(),
            "\"bad\"",
            "{text}"
        );
    }

    #[test]
    fn a_span_at_the_end_of_a_long_line_keeps_a_full_window() {
        let line = format!("{}!", "x".repeat(1000));
        let diagnostic = Diagnostic::new(Code::WrongType, "f.toml", "m").at(1000..1001);
        let text = render_human(&[diagnostic], &one_file("f.toml", &line), false);
        let source = text.lines().find(|row| row.starts_with("1 | ")).unwrap();
        assert_eq!(
            source,
            format!("1 | …{}!", "x".repeat(MAX_EXCERPT_CHARS - 1))
        );
    }

    #[test]
    fn a_span_over_several_lines_is_shown_on_its_first() {
        let text = "a = [\n  1,\n]\n";
        let diagnostic = Diagnostic::new(Code::WrongType, "f.toml", "m").at(4..text.len() - 1);
        let shown = render_human(&[diagnostic], &one_file("f.toml", text), false);
        assert!(shown.contains("1 | a = [\n  |     ^\n"), "{shown}");
    }

    #[test]
    fn only_the_first_diagnostics_of_a_file_are_rendered_for_people() {
        let text = "x".repeat(100);
        let diagnostics: Vec<Diagnostic> = (0..MAX_RENDERED_PER_FILE + 7)
            .map(|offset| Diagnostic::new(Code::WrongType, "f.toml", "m").at(offset..offset + 1))
            .chain([Diagnostic::new(Code::WitMissing, "wit", "no wit")])
            .collect();
        let shown = render_human(&diagnostics, &one_file("f.toml", &text), false);
        assert_eq!(shown.matches("error[A0103]").count(), MAX_RENDERED_PER_FILE);
        assert!(shown.contains("warning[A0503]: no wit"), "{shown}");
        assert!(
            shown.ends_with("… and 7 more diagnostics in f.toml (use --format json for all)\n")
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&diagnostics, &one_file("f.toml", &text))).unwrap();
        assert_eq!(json.as_array().unwrap().len(), diagnostics.len());
    }

    #[test]
    fn text_from_the_file_cannot_drive_the_terminal() {
        let text = "name = \"\u{1b}[2J\"\n";
        let diagnostic = Diagnostic::new(Code::InvalidName, "f.toml", "`\u{1b}[2J` is bad")
            .at(7..13)
            .help("not \u{7}");
        let shown = render_human(&[diagnostic], &one_file("f.toml", text), false);
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{shown:?}"
        );
        assert!(shown.contains("\\u{1b}[2J"), "{shown}");
    }

    #[test]
    fn a_long_message_keeps_its_start_and_end() {
        let message = format!("start {} end", "m".repeat(10_000));
        let diagnostic = Diagnostic::new(Code::WrongType, "f.toml", message);
        let shown = render_human(&[diagnostic], &SourceMap::new(), false);
        assert!(shown.len() < 2 * MAX_MESSAGE_CHARS, "{shown}");
        assert!(
            shown.contains("start ") && shown.contains("m end"),
            "{shown}"
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
