//! The contract checks: components read from component-model text, WIT
//! folders written to temporary directories, manifests built in place.

use std::path::{Path, PathBuf};

use arcella_host::contract::{
    ComponentInfo, ContractError, DEFAULT_MAX_COMPONENT_SIZE, Kind, check_component,
    check_component_file, check_component_size, check_wit,
};
use arcella_host::diagnostic::{Code, Diagnostic, Severity};
use arcella_host::manifest::Manifest;
use arcella_host::services::CapabilityNeed;

const MANIFEST_FILE: &str = "arcella.toml";

/// A component that imports each of `imports` and exports each of `exports`
/// as an empty instance: enough for the contract, which only reads names.
fn component(imports: &[&str], exports: &[&str]) -> Vec<u8> {
    let mut text = String::from("(component\n");
    for name in imports {
        text += &format!("  (import \"{name}\" (instance))\n");
    }
    for (index, name) in exports.iter().enumerate() {
        text += &format!("  (instance $e{index})\n  (export \"{name}\" (instance $e{index}))\n");
    }
    text += ")\n";
    wat::parse_str(&text).expect("the test component is valid component text")
}

fn inspect(imports: &[&str], exports: &[&str]) -> ComponentInfo {
    ComponentInfo::inspect(&component(imports, exports)).expect("the test component inspects")
}

/// A manifest with these lists, and the `arcella.toml` text that says the same.
fn manifest(exports: &[&str], imports: &[&str], http: &[&str]) -> (Manifest, String) {
    let mut manifest = Manifest::defaults("hello", Path::new("."));
    manifest.module.exports = exports.iter().map(ToString::to_string).collect();
    manifest.module.imports = imports.iter().map(ToString::to_string).collect();
    manifest.capabilities.http = http.iter().map(ToString::to_string).collect();
    let array = |items: &[&str]| {
        let items: Vec<String> = items.iter().map(|item| format!("\"{item}\"")).collect();
        format!("[{}]", items.join(", "))
    };
    let source = format!(
        "[module]\nname = \"hello\"\nexports = {}\nimports = {}\n\n[capabilities]\nhttp = {}\n",
        array(exports),
        array(imports),
        array(http)
    );
    (manifest, source)
}

/// The manifest text a diagnostic points at.
fn pointed_at<'a>(source: &'a str, diagnostic: &Diagnostic) -> &'a str {
    &source[diagnostic.span.clone().expect("the diagnostic has a span")]
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<Code> {
    diagnostics
        .iter()
        .map(|diagnostic| diagnostic.code)
        .collect()
}

const HANDLER: &str = "arcella:component/handler@0.1.0";
const LIFECYCLE: &str = "arcella:component/lifecycle@0.1.0";
const LOGGING: &str = "arcella:component/logging@0.1.0";

// ---- ComponentInfo::inspect ----

#[test]
fn it_reads_the_imports_and_exports_of_an_arcella_module() {
    let bytes = wat::parse_str(
        r#"(component
            (import "arcella:component/logging@0.1.0" (instance))
            (import "wasi:io/streams@0.2.6" (instance))
            (core module $m)
            (instance $handler)
            (instance $lifecycle)
            (export "arcella:component/handler@0.1.0" (instance $handler))
            (export "arcella:component/lifecycle@0.1.0" (instance $lifecycle))
        )"#,
    )
    .unwrap();
    let info = ComponentInfo::inspect(&bytes).unwrap();
    assert_eq!(info.kind, Kind::Module);
    assert_eq!(info.imports, [LOGGING, "wasi:io/streams@0.2.6"]);
    assert_eq!(info.exports, [HANDLER, LIFECYCLE]);
    assert_eq!(info.size, bytes.len() as u64);
}

#[test]
fn it_tells_commands_http_handlers_and_libraries_apart() {
    assert_eq!(inspect(&[], &["wasi:cli/run@0.2.6"]).kind, Kind::Command);
    assert_eq!(
        inspect(&[], &["wasi:http/incoming-handler@0.2.6"]).kind,
        Kind::Http
    );
    assert_eq!(inspect(&[], &[HANDLER]).kind, Kind::Library);
    assert_eq!(inspect(&[], &[]).kind, Kind::Library);
}

#[test]
fn it_ignores_the_imports_of_nested_modules_and_components() {
    let bytes = wat::parse_str(
        r#"(component
            (core module $inner (import "env" "f" (func)))
            (component $nested (import "wasi:sockets/tcp@0.2.6" (instance)))
        )"#,
    )
    .unwrap();
    let info = ComponentInfo::inspect(&bytes).unwrap();
    assert!(info.imports.is_empty(), "{:?}", info.imports);
}

#[test]
fn it_tells_which_imports_need_a_grant() {
    let keyvalue = inspect(
        &["wasi:io/streams@0.2.6", "wasi:keyvalue/atomics@0.2.0-draft"],
        &[],
    );
    assert!(keyvalue.imports_needing(CapabilityNeed::KeyValue));
    assert!(!keyvalue.imports_needing(CapabilityNeed::OutgoingHttp));
    let config = inspect(&["wasi:config/store@0.2.0-rc.1", LOGGING], &[]);
    assert!(!config.imports_needing(CapabilityNeed::KeyValue));
}

#[test]
fn its_report_serializes_with_a_lowercase_kind() {
    let info = inspect(&[LOGGING], &[HANDLER, LIFECYCLE]);
    let text = toml::to_string(&info).unwrap();
    assert!(text.contains("kind = \"module\""), "{text}");
    assert!(text.contains(LOGGING), "{text}");
}

#[test]
fn empty_bytes_garbage_and_core_modules_are_not_components() {
    assert_eq!(ComponentInfo::inspect(&[]), Err(ContractError::Empty));
    assert_eq!(
        ComponentInfo::inspect(b"hello, world"),
        Err(ContractError::NotWasm)
    );
    let core = wat::parse_str("(module)").unwrap();
    assert_eq!(
        ComponentInfo::inspect(&core),
        Err(ContractError::CoreModule)
    );
    let error = ComponentInfo::inspect(&core).unwrap_err();
    let diagnostic = error.diagnostic(Path::new("hello.wasm"));
    assert_eq!(
        (diagnostic.code, diagnostic.severity),
        (Code::NotAComponent, Severity::Error)
    );
    assert!(
        diagnostic.message.contains("wasm32-wasip2"),
        "{}",
        diagnostic.message
    );
}

#[test]
fn every_truncation_of_a_component_is_read_without_panicking() {
    let bytes = component(&[LOGGING, "wasi:io/streams@0.2.6"], &[HANDLER, LIFECYCLE]);
    let full = ComponentInfo::inspect(&bytes).unwrap();
    for length in 0..bytes.len() {
        // A cut between sections leaves a smaller valid component; any other cut is an error.
        if let Ok(info) = ComponentInfo::inspect(&bytes[..length]) {
            assert!(
                full.imports.starts_with(&info.imports),
                "cut at {length}: {info:?}"
            );
            assert!(
                full.exports.starts_with(&info.exports),
                "cut at {length}: {info:?}"
            );
        }
    }
    let cut = ComponentInfo::inspect(&bytes[..bytes.len() - 1]);
    assert!(matches!(cut, Err(ContractError::Invalid { .. })), "{cut:?}");
    let mut corrupted = bytes.clone();
    corrupted[9] = 0xff;
    assert!(matches!(
        ComponentInfo::inspect(&corrupted),
        Err(ContractError::Invalid { .. })
    ));
}

// ---- check_component ----

#[test]
fn a_module_that_matches_its_manifest_has_no_diagnostics() {
    let info = inspect(
        &[LOGGING, "wasi:io/streams@0.2.6", "wasi:cli/stdout@0.2.6"],
        &[HANDLER, LIFECYCLE],
    );
    let (manifest, source) = manifest(&[HANDLER, LIFECYCLE], &[LOGGING], &[]);
    assert_eq!(
        check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source),
        []
    );
}

#[test]
fn a_declared_export_the_component_lacks_is_a0602_at_the_entry() {
    let info = inspect(&[], &[LIFECYCLE]);
    let (manifest, source) = manifest(&[HANDLER, LIFECYCLE], &[], &[]);
    let diagnostics = check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source);
    assert_eq!(codes(&diagnostics), [Code::MissingExport]);
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.severity, Severity::Error);
    assert_eq!(diagnostic.file, PathBuf::from(MANIFEST_FILE));
    assert_eq!(
        diagnostic.message,
        format!("the component does not export `{HANDLER}`")
    );
    assert_eq!(pointed_at(&source, diagnostic), format!("\"{HANDLER}\""));
    assert_eq!(
        diagnostic.help.as_deref(),
        Some(
            "implement and export `arcella:component/handler@0.1.0` in the component, or remove it from `exports`"
        )
    );
}

#[test]
fn exports_match_compatible_versions_and_entries_without_a_version_match_any() {
    let info = inspect(
        &[],
        &["arcella:component/handler@0.1.3", "wasi:cli/run@0.2.6"],
    );
    let (manifest, source) = manifest(&[HANDLER, "wasi:cli/run"], &[], &[]);
    assert_eq!(
        check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source),
        []
    );
}

#[test]
fn an_export_of_an_incompatible_version_says_which_version_is_there() {
    let info = inspect(&[], &["arcella:component/handler@0.2.0"]);
    let (manifest, source) = manifest(&[HANDLER], &[], &[]);
    let diagnostics = check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source);
    assert_eq!(codes(&diagnostics), [Code::MissingExport]);
    assert_eq!(
        diagnostics[0].message,
        "the component exports `arcella:component/handler@0.2.0`, which is not compatible with `arcella:component/handler@0.1.0`"
    );
}

#[test]
fn an_undeclared_import_is_a0603_with_the_imports_line_to_write() {
    let info = inspect(&[LOGGING, "acme:kv/store@1.0.0"], &[]);
    let (manifest, source) = manifest(&[], &[LOGGING], &[]);
    let diagnostics = check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source);
    assert_eq!(codes(&diagnostics), [Code::UndeclaredImport]);
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.severity, Severity::Error);
    assert_eq!(
        diagnostic.message,
        "the component imports `acme:kv/store@1.0.0`, which `imports` does not declare"
    );
    assert_eq!(pointed_at(&source, diagnostic), "imports");
    assert_eq!(
        diagnostic.help.as_deref(),
        Some(r#"imports = ["arcella:component/logging@0.1.0", "acme:kv/store@1.0.0"]"#)
    );
}

#[test]
fn without_an_imports_key_an_undeclared_import_points_at_the_module_table() {
    let info = inspect(&[LOGGING], &[]);
    let manifest = Manifest::defaults("hello", Path::new("."));
    let source = "[module]\nname = \"hello\"\n";
    let diagnostics = check_component(&info, &manifest, Path::new(MANIFEST_FILE), source);
    assert_eq!(codes(&diagnostics), [Code::UndeclaredImport]);
    assert_eq!(pointed_at(source, &diagnostics[0]), "module");
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some(r#"imports = ["arcella:component/logging@0.1.0"]"#)
    );
}

#[test]
fn the_wasi_interfaces_every_rust_program_imports_need_no_declaration() {
    let std_imports = [
        "wasi:cli/environment@0.2.3",
        "wasi:cli/exit@0.2.3",
        "wasi:io/error@0.2.3",
        "wasi:io/poll@0.2.3",
        "wasi:io/streams@0.2.3",
        "wasi:cli/stdin@0.2.3",
        "wasi:cli/stdout@0.2.3",
        "wasi:cli/stderr@0.2.3",
        "wasi:cli/terminal-input@0.2.3",
        "wasi:cli/terminal-output@0.2.3",
        "wasi:cli/terminal-stdin@0.2.3",
        "wasi:cli/terminal-stdout@0.2.3",
        "wasi:cli/terminal-stderr@0.2.3",
        "wasi:clocks/monotonic-clock@0.2.3",
        "wasi:clocks/wall-clock@0.2.3",
        "wasi:random/random@0.2.3",
        "wasi:filesystem/types@0.2.3",
        "wasi:filesystem/preopens@0.2.3",
    ];
    let info = inspect(&std_imports, &["wasi:cli/run@0.2.3"]);
    let (manifest, source) = manifest(&["wasi:cli/run@0.2.0"], &[], &[]);
    assert_eq!(
        check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source),
        []
    );
}

#[test]
fn wasi_interfaces_of_another_version_are_not_allowed_by_default() {
    let info = inspect(&["wasi:io/streams@0.3.0"], &[]);
    let (manifest, source) = manifest(&[], &[], &[]);
    let diagnostics = check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source);
    assert_eq!(codes(&diagnostics), [Code::UndeclaredImport]);
}

#[test]
fn outgoing_http_without_granted_hosts_is_a0604_with_the_http_line_to_write() {
    let outgoing = "wasi:http/outgoing-handler@0.2.6";
    let info = inspect(&["wasi:http/types@0.2.6", outgoing], &[]);
    let (manifest, source) = manifest(&[], &[outgoing], &[]);
    let diagnostics = check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source);
    assert_eq!(codes(&diagnostics), [Code::CapabilityNotGranted]);
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.severity, Severity::Error);
    assert_eq!(
        diagnostic.message,
        "the component imports `wasi:http/outgoing-handler@0.2.6`, but `[capabilities] http` grants no host to call"
    );
    assert_eq!(pointed_at(&source, diagnostic), "http");
    assert_eq!(
        diagnostic.help.as_deref(),
        Some(r#"http = ["api.example.com"]"#)
    );
}

#[test]
fn undeclared_and_ungranted_outgoing_http_gets_both_lines_to_write() {
    let outgoing = "wasi:http/outgoing-handler@0.2.6";
    let info = inspect(&[outgoing], &[]);
    let mut manifest = Manifest::defaults("hello", Path::new("."));
    manifest.module.imports = vec![LOGGING.to_string()];
    let source = format!("[module]\nname = \"hello\"\nimports = [\"{LOGGING}\"]\n");
    let diagnostics = check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source);
    assert_eq!(
        codes(&diagnostics),
        [Code::UndeclaredImport, Code::CapabilityNotGranted]
    );
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some(
            r#"imports = ["arcella:component/logging@0.1.0", "wasi:http/outgoing-handler@0.2.6"]"#
        )
    );
    assert_eq!(
        diagnostics[1].help.as_deref(),
        Some(r#"http = ["api.example.com"]"#)
    );
    assert_eq!(pointed_at(&source, &diagnostics[1]), "imports");
}

#[test]
fn declared_and_granted_outgoing_http_passes() {
    let info = inspect(
        &["wasi:http/types@0.2.6", "wasi:http/outgoing-handler@0.2.6"],
        &[],
    );
    let (manifest, source) = manifest(
        &[],
        &["wasi:http/outgoing-handler@0.2.0"],
        &["api.example.com"],
    );
    assert_eq!(
        check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source),
        []
    );
}

#[test]
fn socket_imports_without_a_grant_are_one_a0607_warning() {
    let tcp = "wasi:sockets/tcp@0.2.6";
    let info = inspect(&["wasi:sockets/network@0.2.6", tcp], &[]);
    let (manifest, source) = manifest(&[], &[], &[]);
    let diagnostics = check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source);
    assert_eq!(codes(&diagnostics), [Code::SocketsNotGranted]);
    assert!(
        !diagnostics[0].is_error(),
        "sockets link; their use is denied"
    );
    assert_eq!(
        diagnostics[0].message,
        "the component imports `wasi:sockets/network@0.2.6`, `wasi:sockets/tcp@0.2.6`, but `[capabilities] sockets` grants no endpoint: every connection will be denied"
    );
    assert!(
        diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("sockets = [\"tcp://db.example.com:5432\"]")
    );
}

#[test]
fn socket_imports_with_a_grant_need_nothing_more() {
    let info = inspect(
        &["wasi:sockets/network@0.2.6", "wasi:sockets/tcp@0.2.6"],
        &[],
    );
    let (mut manifest, source) = manifest(&[], &[], &[]);
    manifest.capabilities.sockets =
        vec![arcella_host::capabilities::SocketGrant::parse("tcp://db.example.com:5432").unwrap()];
    assert_eq!(
        check_component(&info, &manifest, Path::new(MANIFEST_FILE), &source),
        []
    );
}

#[test]
fn components_over_the_size_cap_are_a0605() {
    assert_eq!(DEFAULT_MAX_COMPONENT_SIZE, 64 * 1024 * 1024);
    let file = Path::new("hello.wasm");
    assert_eq!(
        check_component_size(DEFAULT_MAX_COMPONENT_SIZE, DEFAULT_MAX_COMPONENT_SIZE, file),
        None
    );
    let diagnostic = check_component_size(
        DEFAULT_MAX_COMPONENT_SIZE + 1,
        DEFAULT_MAX_COMPONENT_SIZE,
        file,
    )
    .unwrap();
    assert_eq!(
        (diagnostic.code, diagnostic.severity),
        (Code::ComponentTooLarge, Severity::Error)
    );
    assert_eq!(diagnostic.file, file);
    assert!(diagnostic.message.contains("64"), "{}", diagnostic.message);
}

#[test]
fn a_component_file_is_inspected_and_checked_against_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hello.wasm");
    std::fs::write(&file, component(&[LOGGING], &[HANDLER])).unwrap();
    let (manifest, source) = manifest(&[HANDLER, LIFECYCLE], &[], &[]);
    let (info, diagnostics) =
        check_component_file(&file, &manifest, Path::new(MANIFEST_FILE), &source).unwrap();
    assert_eq!(info.unwrap().exports, [HANDLER]);
    assert_eq!(
        codes(&diagnostics),
        [Code::MissingExport, Code::UndeclaredImport]
    );
}

#[test]
fn a_file_that_is_not_a_component_is_a0601_and_a_missing_file_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hello.wasm");
    std::fs::write(&file, wat::parse_str("(module)").unwrap()).unwrap();
    let (manifest, source) = manifest(&[], &[], &[]);
    let (info, diagnostics) =
        check_component_file(&file, &manifest, Path::new(MANIFEST_FILE), &source).unwrap();
    assert_eq!(info, None);
    assert_eq!(codes(&diagnostics), [Code::NotAComponent]);
    assert_eq!(diagnostics[0].file, file);

    let missing = dir.path().join("missing.wasm");
    let error =
        check_component_file(&missing, &manifest, Path::new(MANIFEST_FILE), &source).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
}

// ---- check_wit ----

/// The repository's own `wit/`, the one source of the Arcella contract.
fn repository_wit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
}

fn wit_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn a_manifest_of_the_module_world_passes_against_the_repository_wit() {
    let (manifest, source) = manifest(
        &[HANDLER, LIFECYCLE],
        &[LOGGING, "wasi:cli/stdout@0.2.0"],
        &[],
    );
    assert_eq!(
        check_wit(
            &repository_wit(),
            &manifest,
            Path::new(MANIFEST_FILE),
            &source
        ),
        []
    );
}

#[test]
fn a_wit_syntax_error_is_a0501_at_its_file_and_place() {
    let source =
        "package acme:demo@0.1.0;\n\ninterface api {\n  greet: func(name: string) -> ;\n}\n";
    let dir = wit_dir(&[("demo.wit", source)]);
    let (manifest, manifest_source) = manifest(&["acme:demo/api@0.1.0"], &[], &[]);
    let diagnostics = check_wit(
        dir.path(),
        &manifest,
        Path::new(MANIFEST_FILE),
        &manifest_source,
    );
    assert_eq!(codes(&diagnostics), [Code::WitSyntax]);
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.severity, Severity::Error);
    assert_eq!(diagnostic.file, dir.path().join("demo.wit"));
    assert_eq!(pointed_at(source, diagnostic), ";");
    assert!(
        !diagnostic.message.contains("failed to parse"),
        "{}",
        diagnostic.message
    );
}

#[test]
fn a_wit_reference_to_a_missing_type_is_a0501_at_the_reference() {
    let source = "package acme:demo@0.1.0;\n\ninterface api {\n  greet: func(name: nmae);\n}\n";
    let dir = wit_dir(&[("demo.wit", source)]);
    let (manifest, manifest_source) = manifest(&["acme:demo/api@0.1.0"], &[], &[]);
    let diagnostics = check_wit(
        dir.path(),
        &manifest,
        Path::new(MANIFEST_FILE),
        &manifest_source,
    );
    assert_eq!(codes(&diagnostics), [Code::WitSyntax]);
    assert_eq!(pointed_at(source, &diagnostics[0]), "nmae");
    assert!(
        diagnostics[0].message.contains("nmae"),
        "{}",
        diagnostics[0].message
    );
}

#[test]
fn a_manifest_interface_the_wit_does_not_define_is_a0502_at_the_entry() {
    let dir = wit_dir(&[(
        "demo.wit",
        "package acme:demo@0.1.0;\n\ninterface api {\n  ping: func();\n}\n",
    )]);
    let (manifest, source) = manifest(&["acme:demo/apj@0.1.0"], &["acme:demo/api@0.1.0"], &[]);
    let diagnostics = check_wit(dir.path(), &manifest, Path::new(MANIFEST_FILE), &source);
    assert_eq!(codes(&diagnostics), [Code::UnknownInterface]);
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.severity, Severity::Error);
    assert_eq!(
        diagnostic.message,
        "`acme:demo/apj@0.1.0` is not defined in the crate's WIT"
    );
    assert_eq!(pointed_at(&source, diagnostic), "\"acme:demo/apj@0.1.0\"");
    assert_eq!(
        diagnostic.help.as_deref(),
        Some("did you mean \"acme:demo/api@0.1.0\"?")
    );
}

#[test]
fn a_manifest_interface_of_another_version_than_the_wit_is_a0502() {
    let (manifest, source) = manifest(&["arcella:component/handler@0.2.0"], &[], &[]);
    let diagnostics = check_wit(
        &repository_wit(),
        &manifest,
        Path::new(MANIFEST_FILE),
        &source,
    );
    assert_eq!(codes(&diagnostics), [Code::UnknownInterface]);
    assert_eq!(
        diagnostics[0].message,
        "the WIT defines `arcella:component/handler@0.1.0`, which is not compatible with `arcella:component/handler@0.2.0`"
    );
}

#[test]
fn wasi_names_are_checked_against_the_host_and_not_the_wit() {
    let (manifest, source) = manifest(
        &["wasi:cli/run@0.2.0"],
        &[
            "wasi:cli/stdoot@0.2.0",
            "wasi:io/streams@0.3.0",
            "wasi:http/outgoing-handler@0.2.6",
        ],
        &[],
    );
    let diagnostics = check_wit(
        Path::new("/nonexistent/wit"),
        &manifest,
        Path::new(MANIFEST_FILE),
        &source,
    );
    assert_eq!(
        codes(&diagnostics),
        [Code::UnknownInterface, Code::UnknownInterface]
    );
    assert_eq!(
        diagnostics[0].message,
        "the host does not provide `wasi:cli/stdoot@0.2.0`"
    );
    assert_eq!(
        diagnostics[0].help.as_deref(),
        Some("did you mean \"wasi:cli/stdout@0.2.12\"?")
    );
    assert_eq!(
        pointed_at(&source, &diagnostics[0]),
        "\"wasi:cli/stdoot@0.2.0\""
    );
    assert_eq!(
        diagnostics[1].message,
        "the host provides WASI 0.2, not `wasi:io/streams@0.3.0`"
    );
}

#[test]
fn a_missing_wit_folder_is_an_a0503_warning_when_there_is_something_to_check() {
    let (manifest, source) = manifest(&[HANDLER], &[], &[]);
    let diagnostics = check_wit(
        Path::new("/nonexistent/wit"),
        &manifest,
        Path::new(MANIFEST_FILE),
        &source,
    );
    assert_eq!(codes(&diagnostics), [Code::WitMissing]);
    assert_eq!(diagnostics[0].severity, Severity::Warning);
    assert!(
        diagnostics[0].message.contains("/nonexistent/wit"),
        "{}",
        diagnostics[0].message
    );
}
