//! Checks a built component against its manifest: what it exports, what it
//! imports, whether the imports are granted, and its size.

use std::ops::Range;
use std::path::Path;

use super::component::ComponentInfo;
use super::interface_name::InterfaceName;
use super::manifest_spans::ManifestSpans;
use super::wasi::{self, CapabilityNeed};
use crate::diagnostic::{Code, Diagnostic};
use crate::manifest::Manifest;

/// The largest component the host accepts by default: 64 MiB.
pub const DEFAULT_MAX_COMPONENT_SIZE: u64 = 64 * 1024 * 1024;

/// The host written in the help of a missing `http` grant; the author knows the real one.
const EXAMPLE_HTTP_HOST: &str = "api.example.com";

/// The endpoint written in the help of a missing `sockets` grant.
const EXAMPLE_SOCKET_ENDPOINT: &str = "db.example.com:5432";

/// Checks `info` against `manifest`, pointing every diagnostic into the manifest.
///
/// - each `exports` entry the component does not export is A0602;
/// - each import that `imports` does not declare is A0603, except the WASI
///   interfaces every program may use (see [`provided`](crate::services::provided));
/// - `wasi:sockets` imports with an empty `[capabilities] sockets` are an
///   A0607 warning: they link, and every use will be denied;
/// - `wasi:http/outgoing-handler` with an empty `[capabilities] http` is A0604.
///
/// Help lines are the manifest line to write.
pub fn check_component(
    info: &ComponentInfo,
    manifest: &Manifest,
    manifest_file: &Path,
    manifest_source: &str,
) -> Vec<Diagnostic> {
    let spans = ManifestSpans::locate(manifest_source);
    let at = |diagnostic: Diagnostic, span: Option<Range<usize>>| match span {
        Some(span) => diagnostic.at(span),
        None => diagnostic,
    };
    let mut diagnostics = Vec::new();

    for entry in &manifest.module.exports {
        let Some(wanted) = InterfaceName::parse(entry) else {
            continue;
        };
        if info
            .exported_interfaces()
            .any(|(_, export)| export.satisfies(&wanted))
        {
            continue;
        }
        let other = info
            .exported_interfaces()
            .find(|(_, export)| export.unversioned() == wanted.unversioned());
        let (message, help) = match other {
            Some((other, _)) => (
                format!("the component exports `{other}`, which is not compatible with `{wanted}`"),
                format!(
                    "build the component against `{wanted}`, or declare \"{other}\" in `exports`"
                ),
            ),
            None => (
                format!("the component does not export `{wanted}`"),
                format!(
                    "implement and export `{wanted}` in the component, or remove it from `exports`"
                ),
            ),
        };
        let diagnostic = Diagnostic::new(Code::MissingExport, manifest_file, message).help(help);
        diagnostics.push(at(diagnostic, spans.entry_or_list(&spans.exports, entry)));
    }

    let declared: Vec<InterfaceName> = manifest
        .module
        .imports
        .iter()
        .filter_map(|entry| InterfaceName::parse(entry))
        .collect();
    let is_declared = |name: &str| match InterfaceName::parse(name) {
        Some(name) => declared.iter().any(|wanted| name.satisfies(wanted)),
        None => manifest.module.imports.iter().any(|entry| entry == name),
    };
    let needs = |name: &str| {
        InterfaceName::parse(name)
            .map_or(CapabilityNeed::Nothing, |name| wasi::capability_need(&name))
    };
    let undeclared: Vec<&str> = info
        .imports
        .iter()
        .map(String::as_str)
        .filter(|name| needs(name) != CapabilityNeed::Network)
        .filter(|name| {
            !InterfaceName::parse(name).is_some_and(|name| wasi::is_always_allowed(&name))
        })
        .filter(|name| !is_declared(name))
        .collect();
    if !undeclared.is_empty() {
        let imports_line = toml_array_line(
            "imports",
            manifest
                .module
                .imports
                .iter()
                .map(String::as_str)
                .chain(undeclared.iter().copied()),
        );
        for name in &undeclared {
            let diagnostic = Diagnostic::new(
                Code::UndeclaredImport,
                manifest_file,
                format!("the component imports `{name}`, which `imports` does not declare"),
            )
            .help(imports_line.clone());
            diagnostics.push(at(diagnostic, spans.list(&spans.imports)));
        }
    }

    let sockets: Vec<&str> = info
        .imports
        .iter()
        .map(String::as_str)
        .filter(|name| needs(name) == CapabilityNeed::Network)
        .collect();
    if manifest.capabilities.sockets.is_empty()
        && let Some(first) = sockets.first()
    {
        let listed = sockets
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let diagnostic = Diagnostic::new(
            Code::SocketsNotGranted,
            manifest_file,
            format!(
                "the component imports {listed}, but `[capabilities] sockets` grants no endpoint: every connection will be denied"
            ),
        )
        .help(format!(
            "if it connects somewhere, grant it under [capabilities], e.g. `sockets = [\"tcp://{EXAMPLE_SOCKET_ENDPOINT}\"]`"
        ));
        diagnostics.push(at(diagnostic, spans.entry_or_list(&spans.imports, first)));
    }

    if manifest.capabilities.http.is_empty()
        && let Some(outgoing) = info
            .imports
            .iter()
            .find(|name| needs(name) == CapabilityNeed::OutgoingHttp)
    {
        let span = spans
            .http
            .clone()
            .or_else(|| spans.capabilities.clone())
            .or_else(|| spans.entry_or_list(&spans.imports, outgoing));
        let diagnostic = Diagnostic::new(
            Code::CapabilityNotGranted,
            manifest_file,
            format!("the component imports `{outgoing}`, but `[capabilities] http` grants no host to call"),
        )
        .help(toml_array_line("http", [EXAMPLE_HTTP_HOST]));
        diagnostics.push(at(diagnostic, span));
    }

    if manifest.capabilities.keyvalue.is_empty()
        && let Some(keyvalue) = info
            .imports
            .iter()
            .find(|name| needs(name) == CapabilityNeed::KeyValue)
    {
        let span = spans
            .keyvalue
            .clone()
            .or_else(|| spans.capabilities.clone())
            .or_else(|| spans.entry_or_list(&spans.imports, keyvalue));
        let diagnostic = Diagnostic::new(
            Code::KeyValueNotGranted,
            manifest_file,
            format!(
                "the component imports `{keyvalue}`, but `[capabilities] keyvalue` grants no bucket: every `open` will be denied"
            ),
        )
        .help(toml_array_line("keyvalue", ["default"]));
        diagnostics.push(at(diagnostic, span));
    }

    diagnostics
}

/// A0605 when a component of `size` bytes is larger than `max`.
pub fn check_component_size(size: u64, max: u64, component_file: &Path) -> Option<Diagnostic> {
    (size > max).then(|| {
        Diagnostic::new(
            Code::ComponentTooLarge,
            component_file,
            format!(
                "the component is {size} bytes ({}), more than the {} the host accepts",
                bytesize::ByteSize::b(size),
                bytesize::ByteSize::b(max)
            ),
        )
        .help(
            "build with `--release`, and set `strip = true` under [profile.release] in Cargo.toml",
        )
    })
}

/// `key = ["a", "b"]`, the TOML line that sets `key` to `values`.
fn toml_array_line<'a>(key: &str, values: impl IntoIterator<Item = &'a str>) -> String {
    let values: Vec<String> = values.into_iter().map(toml_string).collect();
    format!("{key} = [{}]", values.join(", "))
}

/// `value` as a TOML basic string.
fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}
