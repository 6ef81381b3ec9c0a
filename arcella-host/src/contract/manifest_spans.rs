//! Where the contract's keys are in `arcella.toml`, so diagnostics can point at them.
//!
//! The contract checks receive a [`Manifest`](crate::manifest::Manifest)
//! that has lost its spans. Rather than reach into the manifest parser, this
//! re-reads the source with `toml::de::DeTable`, the span-keeping document
//! tree `toml` itself deserializes from: it gives byte ranges for every key
//! and value, handles every way of writing a table (`[module]`, dotted keys,
//! inline tables) and never confuses a string inside a comment for an entry,
//! which a textual search would. A source that does not parse yields no
//! spans, and diagnostics are then reported without a place.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// Byte ranges of the parts of `arcella.toml` the contract checks talk about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestSpans {
    /// The `module` key of `[module]`.
    pub module: Option<Range<usize>>,
    /// `module.exports`.
    pub exports: ListSpans,
    /// `module.imports`.
    pub imports: ListSpans,
    /// The `capabilities` key of `[capabilities]`.
    pub capabilities: Option<Range<usize>>,
    /// The `http` key of `[capabilities]`.
    pub http: Option<Range<usize>>,
    /// The `keyvalue` key of `[capabilities]`.
    pub keyvalue: Option<Range<usize>>,
}

/// Spans of one array of strings: its key and each string literal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSpans {
    /// The key (`exports`, `imports`).
    pub key: Option<Range<usize>>,
    /// Each string entry with the span of its literal, quotes included.
    pub entries: Vec<(String, Range<usize>)>,
}

impl ManifestSpans {
    /// Finds the spans in `source`; everything is `None` when it does not parse.
    pub fn locate(source: &str) -> Self {
        let Ok(root) = DeTable::parse(source) else {
            return Self::default();
        };
        let root = root.get_ref();
        let mut spans = Self::default();
        if let Some((key, module)) = table_entry(root, "module") {
            spans.module = Some(key);
            spans.exports = list_spans(module, "exports");
            spans.imports = list_spans(module, "imports");
        }
        if let Some((key, capabilities)) = table_entry(root, "capabilities") {
            spans.capabilities = Some(key);
            spans.http = key_span(capabilities, "http");
            spans.keyvalue = key_span(capabilities, "keyvalue");
        }
        spans
    }

    /// The best place for a problem with `entry` of `list`: the entry's
    /// literal, else the list's key, else the `[module]` header.
    pub fn entry_or_list(&self, list: &ListSpans, entry: &str) -> Option<Range<usize>> {
        list.entries
            .iter()
            .find(|(text, _)| text == entry)
            .map(|(_, span)| span.clone())
            .or_else(|| self.list(list))
    }

    /// The list's key, else the `[module]` header.
    pub fn list(&self, list: &ListSpans) -> Option<Range<usize>> {
        list.key.clone().or_else(|| self.module.clone())
    }
}

/// The key span and the table value of `root[name]`, when it is a table.
fn table_entry<'a, 'i>(
    root: &'a DeTable<'i>,
    name: &str,
) -> Option<(Range<usize>, &'a DeTable<'i>)> {
    let (key, value) = root
        .iter()
        .find(|(key, _)| key.get_ref().as_ref() == name)?;
    match value.get_ref() {
        DeValue::Table(table) => Some((key.span(), table)),
        _ => None,
    }
}

/// The span of the key `name` in `table`.
fn key_span(table: &DeTable<'_>, name: &str) -> Option<Range<usize>> {
    table
        .iter()
        .find(|(key, _)| key.get_ref().as_ref() == name)
        .map(|(key, _)| key.span())
}

/// The spans of the array of strings `table[name]`.
fn list_spans(table: &DeTable<'_>, name: &str) -> ListSpans {
    let Some((key, value)) = table.iter().find(|(key, _)| key.get_ref().as_ref() == name) else {
        return ListSpans::default();
    };
    let entries = match value.get_ref() {
        DeValue::Array(items) => items
            .iter()
            .filter_map(|item| match item.get_ref() {
                DeValue::String(text) => Some((text.to_string(), item.span())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    ListSpans {
        key: Some(key.span()),
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"# exports = ["not:this/one"]
[module]
name = "hello"
exports = ["arcella:component/handler@0.1.0", "arcella:component/lifecycle@0.1.0"]
imports = [
  "arcella:component/logging@0.1.0",
]

[capabilities]
http = []
"#;

    fn text(span: Option<Range<usize>>) -> &'static str {
        &SOURCE[span.expect("a span")]
    }

    #[test]
    fn it_finds_keys_and_entry_literals() {
        let spans = ManifestSpans::locate(SOURCE);
        assert_eq!(text(spans.module.clone()), "module");
        assert_eq!(text(spans.exports.key.clone()), "exports");
        assert_eq!(text(spans.imports.key.clone()), "imports");
        assert_eq!(text(spans.capabilities.clone()), "capabilities");
        assert_eq!(text(spans.http.clone()), "http");
        let handler = spans.entry_or_list(&spans.exports, "arcella:component/handler@0.1.0");
        assert_eq!(text(handler), "\"arcella:component/handler@0.1.0\"");
        let logging = spans.entry_or_list(&spans.imports, "arcella:component/logging@0.1.0");
        assert_eq!(text(logging), "\"arcella:component/logging@0.1.0\"");
    }

    #[test]
    fn a_missing_entry_points_at_its_list_and_a_missing_list_at_the_module() {
        let spans = ManifestSpans::locate(SOURCE);
        assert_eq!(
            text(spans.entry_or_list(&spans.exports, "x:y/z")),
            "exports"
        );
        let spans = ManifestSpans::locate("[module]\nname = \"a\"\n");
        assert_eq!(spans.entry_or_list(&spans.imports, "x:y/z"), Some(1..7));
    }

    #[test]
    fn a_source_that_does_not_parse_has_no_spans() {
        assert_eq!(
            ManifestSpans::locate("[module\nexports = ["),
            ManifestSpans::default()
        );
    }
}
