//! From bytes to a [`ManifestReport`]: size, encoding and TOML syntax first, then each table.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use toml::de::DeTable;

use crate::capabilities::Capabilities;
use crate::diagnostic::Code;
use crate::limits::{Limits, format_size};

use super::capabilities::read_capabilities;
use super::config::read_config;
use super::limits::read_limits;
use super::module::read_module;
use super::table::{Findings, Section, expect_section, suggestion};
use super::{Manifest, ManifestReport};

/// The largest manifest Arcella reads: 1 MiB. Real manifests are a few hundred bytes.
pub const MAX_MANIFEST_SIZE: usize = 1 << 20;

/// The most TOML syntax errors reported for one file; past this the rest is noise.
const MAX_SYNTAX_ERRORS: usize = 20;

/// The top-level tables of a manifest.
const TABLES: &[&str] = &["module", "limits", "capabilities", "config"];

/// Reads and validates the manifest at `path`.
///
/// I/O problems (not found, permission denied) are returned as `Err` for the
/// caller to report with its own context; everything about the contents is
/// in the report's diagnostics.
pub fn load(path: &Path) -> std::io::Result<ManifestReport> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    // One byte past the limit is enough to know the file is too large.
    file.take(MAX_MANIFEST_SIZE as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(parse(&bytes, path))
}

/// Validates manifest `bytes` that were read from `path`, reporting every problem at once.
///
/// `path` names the file in diagnostics, and its folder is the manifest's
/// root: directory grants are resolved (and checked) against it. Never
/// panics, whatever the bytes.
pub fn parse(bytes: &[u8], path: &Path) -> ManifestReport {
    let mut findings = Findings::new(path);
    if bytes.len() > MAX_MANIFEST_SIZE {
        let too_large = findings.whole_file(
            Code::ManifestTooLarge,
            format!(
                "the manifest is larger than {}",
                format_size(MAX_MANIFEST_SIZE as u64)
            ),
        );
        findings.report(
            too_large.help("a manifest needs only [module], [limits], [capabilities] and [config]"),
        );
        return ManifestReport {
            manifest: None,
            diagnostics: findings.diagnostics,
            source: String::new(),
        };
    }
    let source = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(error) => {
            // The lossy text keeps every byte before the first bad one, so the span stays true.
            let source = String::from_utf8_lossy(bytes).into_owned();
            let at = error.valid_up_to();
            let not_utf8 = findings.at(
                Code::ManifestNotUtf8,
                at..at + char::REPLACEMENT_CHARACTER.len_utf8(),
                format!("the manifest is not UTF-8: byte {at} is not valid here"),
            );
            findings.report(not_utf8.help("save the file as UTF-8"));
            return ManifestReport {
                manifest: None,
                diagnostics: findings.diagnostics,
                source,
            };
        }
    };
    let manifest = read_document(&source, &manifest_root(path), &mut findings);
    let manifest = manifest.filter(|_| !findings.has_errors());
    let mut diagnostics = findings.diagnostics;
    diagnostics.sort_by_key(|diagnostic| diagnostic.span.as_ref().map(|span| span.start));
    ManifestReport {
        manifest,
        diagnostics,
        source,
    }
}

/// Parses the TOML and reads each table; `None` when something is unusable.
fn read_document(source: &str, root: &Path, findings: &mut Findings) -> Option<Manifest> {
    let (document, errors) = DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        for error in errors.iter().take(MAX_SYNTAX_ERRORS) {
            let message = error.message().trim_end().to_string();
            let syntax = match error.span() {
                Some(span) => findings.at(Code::ManifestSyntax, span, message),
                None => findings.whole_file(Code::ManifestSyntax, message),
            };
            findings.report(syntax);
        }
        return None;
    }
    let document = document.get_ref();

    for (key, value) in document {
        let name: &str = key.get_ref();
        if TABLES.contains(&name) {
            continue;
        }
        let (message, prefix) = if value.get_ref().is_table() {
            (format!("unknown table `[{}]`", key.get_ref()), "[")
        } else {
            (format!("unknown top-level key `{}`", key.get_ref()), "")
        };
        let unknown = findings.at(Code::UnknownKey, key.span(), message);
        findings.report(unknown.help(suggestion(key.get_ref(), TABLES, prefix)));
    }

    let module = match section(document, "module", findings) {
        Some(Some(module)) => read_module(&module, findings),
        Some(None) => {
            let missing =
                findings.whole_file(Code::MissingKey, "the manifest has no [module] table");
            findings.report(
                missing
                    .help("add `[module]` with `name = \"my-module\"` and `version = \"0.1.0\"`"),
            );
            None
        }
        None => None,
    };
    let limits = match section(document, "limits", findings) {
        Some(Some(limits)) => read_limits(&limits, findings),
        Some(None) => Some(Limits::default()),
        None => None,
    };
    let capabilities = match section(document, "capabilities", findings) {
        Some(Some(capabilities)) => read_capabilities(&capabilities, root, findings),
        Some(None) => Some(Capabilities::default()),
        None => None,
    };
    let config = match section(document, "config", findings) {
        Some(Some(config)) => read_config(&config, findings),
        Some(None) => Some(Vec::new()),
        None => None,
    };

    Some(Manifest {
        module: module?,
        limits: limits?,
        capabilities: capabilities?,
        config: config?,
        root: root.to_path_buf(),
    })
}

/// The top-level table `name`: `Some(None)` when absent, `None` when it is not a table.
fn section<'t, 'i>(
    document: &'t DeTable<'i>,
    name: &'static str,
    findings: &mut Findings,
) -> Option<Option<Section<'t, 'i>>> {
    match document.get(name) {
        None => Some(None),
        Some(value) => expect_section(findings, name, value).map(Some),
    }
}

/// The folder of the manifest at `path`, absolute (against the current directory when `path` is relative).
fn manifest_root(path: &Path) -> PathBuf {
    let parent: PathBuf = path
        .parent()
        .unwrap_or(Path::new(""))
        .components()
        .filter(|part| *part != Component::CurDir)
        .collect();
    if parent.is_absolute() {
        return parent;
    }
    match std::env::current_dir() {
        Ok(current) => current.join(parent),
        Err(_) => parent,
    }
}
