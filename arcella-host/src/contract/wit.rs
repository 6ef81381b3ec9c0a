//! Checks a crate's `wit/` folder, and the manifest's interface names against it.

use std::ops::Range;
use std::path::{Path, PathBuf};

use wit_parser::{ParseError, Resolve, ResolveError, Span};

use super::interface_name::InterfaceName;
use super::manifest_spans::{ListSpans, ManifestSpans};
use super::wasi;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifest::Manifest;

/// Parses the WIT package in `wit_dir` (with its `deps/`) and checks that
/// every interface the manifest exports or imports exists.
///
/// `wasi:` names are checked against the interfaces the host links, each at
/// the version it serves ([`provided`](crate::services::provided) by the
/// host services); every other name against the packages
/// the WIT folder defines. A WIT error is reported once (A0501) with its file
/// and span, and then only `wasi:` names are checked. A missing folder is a
/// warning (A0503), and only when the manifest names an interface that needs
/// one: a command that only exports `wasi:cli/run` needs no `wit/`.
pub fn check_wit(
    wit_dir: &Path,
    manifest: &Manifest,
    manifest_file: &Path,
    manifest_source: &str,
) -> Vec<Diagnostic> {
    let spans = ManifestSpans::locate(manifest_source);
    let entries: Vec<(&ListSpans, &str, InterfaceName)> = [
        (&spans.exports, &manifest.module.exports),
        (&spans.imports, &manifest.module.imports),
    ]
    .into_iter()
    .flat_map(|(list, entries)| {
        // Entries that are not interface names are the manifest parser's to report (A0110).
        entries
            .iter()
            .filter_map(move |entry| Some((list, entry.as_str(), InterfaceName::parse(entry)?)))
    })
    .collect();

    let mut diagnostics = Vec::new();
    let needs_wit = entries.iter().any(|(_, _, name)| !name.is_wasi());
    // The interfaces the WIT defines; `None` when there is no usable WIT to check against.
    let defined = if !needs_wit {
        Some(Vec::new())
    } else if !wit_dir.is_dir() {
        diagnostics.push(
            Diagnostic::new(
                Code::WitMissing,
                manifest_file,
                format!(
                    "there is no WIT folder at {}, so the manifest's interfaces cannot be checked",
                    wit_dir.display()
                ),
            )
            .help("put the WIT package the component is built against in `wit/` beside Cargo.toml"),
        );
        None
    } else {
        let mut resolve = Resolve::default();
        match resolve.push_dir(wit_dir) {
            Ok(_) => Some(defined_interfaces(&resolve)),
            Err(error) => {
                diagnostics.push(wit_error(&resolve, &error, wit_dir));
                None
            }
        }
    };

    for (list, entry, name) in entries {
        let known = match &defined {
            _ if name.is_wasi() => wasi::host_provides(&name),
            Some(defined) => defined.iter().any(|defined| defined.satisfies(&name)),
            None => continue,
        };
        if known {
            continue;
        }
        let span = spans.entry_or_list(list, entry);
        let defined = defined.as_deref().unwrap_or_default();
        diagnostics.push(unknown_interface(&name, defined, manifest_file, span));
    }
    diagnostics
}

/// Every named interface of every package in `resolve`.
fn defined_interfaces(resolve: &Resolve) -> Vec<InterfaceName> {
    resolve
        .interfaces
        .iter()
        .filter_map(|(id, _)| InterfaceName::parse(&resolve.id_of(id)?))
        .collect()
}

/// A0502 for `name`, which neither the WIT nor the host defines, with the
/// closest known name as the help.
fn unknown_interface(
    name: &InterfaceName,
    defined: &[InterfaceName],
    manifest_file: &Path,
    span: Option<Range<usize>>,
) -> Diagnostic {
    let served: Vec<&crate::services::Provided> = wasi::host_wasi_interfaces()
        .filter(|interface| name.is_wasi() && interface.name == name.unversioned())
        .collect();
    let on_wasi_0_2 = |interface: &&crate::services::Provided| {
        super::interface_name::versions_compatible(&interface.semver(), &wasi::HOST_WASI_VERSION)
    };
    let message = if !served.is_empty() && served.iter().all(on_wasi_0_2) {
        format!(
            "the host provides WASI {}.{}, not `{name}`",
            wasi::HOST_WASI_VERSION.major,
            wasi::HOST_WASI_VERSION.minor
        )
    } else if !served.is_empty() {
        let versions: Vec<String> = served
            .iter()
            .map(|interface| format!("`{}`", interface.versioned_name()))
            .collect();
        format!("the host provides {}, not `{name}`", versions.join(" and "))
    } else if name.is_wasi() {
        format!("the host does not provide `{name}`")
    } else if let Some(other) = defined
        .iter()
        .find(|d| d.unversioned() == name.unversioned())
    {
        format!("the WIT defines `{other}`, which is not compatible with `{name}`")
    } else {
        format!("`{name}` is not defined in the crate's WIT")
    };
    let mut diagnostic = Diagnostic::new(Code::UnknownInterface, manifest_file, message);
    if let Some(span) = span {
        diagnostic = diagnostic.at(span);
    }
    if let Some(suggestion) = closest_known(name, defined) {
        diagnostic = diagnostic.help(format!("did you mean \"{suggestion}\"?"));
    }
    diagnostic
}

/// The known interface closest to `name` in spelling, if one is close.
fn closest_known(name: &InterfaceName, defined: &[InterfaceName]) -> Option<String> {
    let wanted = name.to_string();
    let host = wasi::host_wasi_interfaces().map(|interface| {
        InterfaceName::parse(&interface.versioned_name())
            .expect("the host table holds interface names")
    });
    defined
        .iter()
        .cloned()
        .chain(host)
        .map(|known| known.to_string())
        .map(|known| (strsim::levenshtein(&wanted, &known), known))
        .filter(|(distance, _)| *distance > 0 && *distance <= (wanted.len() / 5).max(2))
        .min()
        .map(|(_, known)| known)
}

/// A0501 for a WIT error, located in its file when wit-parser says where.
///
/// wit-parser 0.254 returns typed [`ParseError`]s and [`ResolveError`]s
/// inside an `anyhow` chain of context ("failed to parse package: …"); their
/// spans are offsets into `resolve.source_map`, which turns them into a file
/// and a byte range in it. Other errors (unreadable files, no `package`
/// header) carry no span and are reported against the folder.
fn wit_error(resolve: &Resolve, error: &anyhow::Error, wit_dir: &Path) -> Diagnostic {
    let located = error.chain().find_map(|layer| {
        let (message, span): (String, Span) =
            if let Some(error) = layer.downcast_ref::<ParseError>() {
                (error.kind().to_string(), error.kind().span())
            } else if let Some(error) = layer.downcast_ref::<ResolveError>() {
                (error.kind().to_string(), error.kind().span())
            } else {
                return None;
            };
        let location = resolve.source_map.resolve_span(span)?;
        Some((message, PathBuf::from(location.path), location.range))
    });
    match located {
        Some((message, file, range)) => Diagnostic::new(Code::WitSyntax, file, message).at(range),
        None => Diagnostic::new(Code::WitSyntax, wit_dir, format!("{error:#}")),
    }
}
