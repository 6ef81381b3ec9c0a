//! `arcella.toml` from untrusted bytes: the parser and validator
//! (`manifest::parse`), then the checks `cargo arcella check` runs on a valid
//! manifest (`check_wit` against a WIT folder holding `arcella:component` and
//! one other package, `check_component` against a fixed component), and the
//! span lookup both use.
//!
//! Beyond "no panic": every diagnostic's span must lie inside the text on
//! character boundaries (the renderer slices the text with it), and a report
//! with a manifest has no error.
#![no_main]

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arcella_host::contract::manifest_spans::ManifestSpans;
use arcella_host::contract::{ComponentInfo, Kind, check_component, check_wit};
use arcella_host::diagnostic::{Diagnostic, line_column};
use arcella_host::manifest;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    /// The manifest's folder, with a `data/` folder and a `file.txt` for `dirs` grants.
    _root: tempfile::TempDir,
    manifest_file: PathBuf,
    wit_dir: PathBuf,
    component: ComponentInfo,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = arcella_fuzz::scratch_dir();
        std::fs::create_dir(root.path().join("data")).expect("data dir");
        std::fs::write(root.path().join("file.txt"), "x").expect("file");
        let manifest_file = root.path().join("arcella.toml");
        // A small WIT folder: the repository's own package, and one dependency.
        // (With all of `wit/deps`, parsing the WASI packages would be most of each run.)
        let wit_dir = root.path().join("wit");
        std::fs::create_dir_all(wit_dir.join("deps")).expect("wit dir");
        std::fs::copy(
            arcella_fuzz::wit_dir().join("arcella.wit"),
            wit_dir.join("arcella.wit"),
        )
        .expect("arcella.wit");
        std::fs::write(
            wit_dir.join("deps/acme.wit"),
            "package acme:store@1.2.0;\ninterface kv { get: func(key: string) -> option<string>; }\ninterface api {}\n",
        )
        .expect("acme.wit");
        let names = |names: &[&str]| names.iter().map(|name| name.to_string()).collect();
        Fixture {
            manifest_file,
            _root: root,
            wit_dir,
            component: ComponentInfo {
                kind: Kind::Module,
                imports: names(&[
                    "arcella:component/logging@0.1.0",
                    "wasi:io/streams@0.2.6",
                    "wasi:sockets/tcp@0.2.0",
                    "wasi:http/outgoing-handler@0.2.12",
                    "wasi:filesystem/preopens@0.2.0",
                    "acme:store/kv@1.2.0-rc.1",
                    "plain-name",
                ]),
                exports: names(&[
                    "arcella:component/handler@0.1.0",
                    "arcella:component/lifecycle@0.1.0",
                    "wasi:cli/run@0.2.3",
                    "acme:store/api@2.0.0",
                ]),
                size: 1024,
            },
        }
    })
}

fn check_spans(source: &str, diagnostics: &[Diagnostic]) {
    for diagnostic in diagnostics {
        if let Some(span) = &diagnostic.span {
            check_span(source, span, &diagnostic.message);
            let _ = line_column(source, span.start);
            let _ = line_column(source, span.end);
        }
    }
}

fn check_span(source: &str, span: &Range<usize>, what: &str) {
    assert!(
        span.start <= span.end && source.get(span.clone()).is_some(),
        "span {span:?} of `{what}` is not inside the {}-byte text on character boundaries",
        source.len()
    );
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let report = manifest::parse(data, &fixture.manifest_file);
    assert!(
        report.manifest.is_none() || !report.has_errors(),
        "a manifest came back with errors"
    );
    check_spans(&report.source, &report.diagnostics);

    let spans = ManifestSpans::locate(&report.source);
    for span in [&spans.module, &spans.capabilities, &spans.http]
        .into_iter()
        .flatten()
    {
        check_span(&report.source, span, "a manifest key");
    }
    for list in [&spans.exports, &spans.imports] {
        for span in list
            .key
            .iter()
            .chain(list.entries.iter().map(|(_, span)| span))
        {
            check_span(&report.source, span, "a list entry");
        }
    }

    if let Some(manifest) = &report.manifest {
        let checked = check_component(
            &fixture.component,
            manifest,
            &fixture.manifest_file,
            &report.source,
        );
        check_spans(&report.source, &checked);
        // Only manifests that name interfaces get past the WIT folder's parse.
        if !manifest.module.exports.is_empty() || !manifest.module.imports.is_empty() {
            let checked = check_wit(
                &fixture.wit_dir,
                manifest,
                Path::new(&fixture.manifest_file),
                &report.source,
            );
            check_spans(&report.source, &checked);
        }
    }
});
