//! Reading `arcella.toml`: what a valid manifest becomes, and how each rule reports a problem.

use std::path::{Path, PathBuf};
use std::time::Duration;

use arcella_host::capabilities::{DirGrant, EnvGrant};
use arcella_host::contract::{self, ComponentInfo};
use arcella_host::diagnostic::{Code, Severity, line_column};
use arcella_host::limits::Limits;
use arcella_host::manifest::{
    self, ConfigValue, Isolation, MAX_MANIFEST_SIZE, Manifest, ManifestReport,
};
use arcella_host::services::keyvalue::KeyValueLimits;

/// A manifest path whose folder does not exist, for manifests without `dirs`.
const NOWHERE: &str = "/nonexistent/app/arcella.toml";

fn check(text: &str) -> ManifestReport {
    manifest::parse(text.as_bytes(), Path::new(NOWHERE))
}

/// `code line:col` of every diagnostic, for compact assertions.
fn places(report: &ManifestReport) -> Vec<(Code, Option<(usize, usize)>)> {
    report
        .diagnostics
        .iter()
        .map(|diagnostic| {
            (
                diagnostic.code,
                diagnostic
                    .span
                    .as_ref()
                    .map(|span| line_column(&report.source, span.start)),
            )
        })
        .collect()
}

/// Asserts the report holds exactly one diagnostic, with `code` at `line:column`, and returns its help.
fn single(report: &ManifestReport, code: Code, line: usize, column: usize) -> String {
    assert_eq!(
        places(report),
        vec![(code, Some((line, column)))],
        "{:#?}",
        report.diagnostics
    );
    report.diagnostics[0].help.clone().unwrap_or_default()
}

const MODULE: &str = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\n";

#[test]
fn a_full_manifest_parses_to_the_expected_manifest() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("data")).unwrap();
    let text = r#"
[module]
name = "hello"
version = "0.1.0"
isolation = "main"
trusted = true
async = true
exports = ["arcella:component/handler@0.1.0"]
imports = ["arcella:component/logging@0.1.0", "wasi:cli/environment"]

[limits]
fuel = 1_000
memory = "1MiB"
timeout = "250ms"

[capabilities]
env = ["RUST_LOG", "MODE=test"]
dirs = ["data:/data:ro"]
http = ["api.example.com", "*.example.org", "*", "127.0.0.1:8080", "[::1]:80"]

[config]
greeting = "hello"
count = 0x10
ratio = 1.5
enabled = true
"#;
    let report = manifest::parse(text.as_bytes(), &folder.path().join("arcella.toml"));
    assert_eq!(report.diagnostics, vec![]);
    let manifest = report.manifest.unwrap();

    assert_eq!(manifest.module.name, "hello");
    assert_eq!(manifest.module.version, semver::Version::new(0, 1, 0));
    assert_eq!(manifest.module.isolation, Isolation::Main);
    assert!(manifest.module.trusted && manifest.module.r#async);
    assert_eq!(manifest.module.group, "default");
    assert_eq!(manifest.module.exports, ["arcella:component/handler@0.1.0"]);
    assert_eq!(
        manifest.module.imports,
        ["arcella:component/logging@0.1.0", "wasi:cli/environment"]
    );
    assert_eq!(
        manifest.limits,
        Limits {
            fuel: 1_000,
            memory: 1 << 20,
            timeout: Duration::from_millis(250),
            keyvalue: KeyValueLimits::default(),
        }
    );
    assert_eq!(
        manifest.capabilities.env,
        [
            EnvGrant {
                name: "RUST_LOG".into(),
                value: None
            },
            EnvGrant {
                name: "MODE".into(),
                value: Some("test".into())
            }
        ]
    );
    assert_eq!(
        manifest.capabilities.dirs,
        [DirGrant {
            host: folder.path().join("data"),
            guest: "/data".into(),
            read_only: true
        }]
    );
    assert_eq!(
        manifest.capabilities.http,
        [
            "api.example.com",
            "*.example.org",
            "*",
            "127.0.0.1:8080",
            "[::1]:80"
        ]
    );
    assert!(!manifest.capabilities.stdin);
    let config: Vec<(&str, &str)> = manifest
        .config
        .iter()
        .map(|(k, v)| (k.as_str(), v.text().unwrap()))
        .collect();
    assert_eq!(
        config,
        [
            ("greeting", "hello"),
            ("count", "16"),
            ("ratio", "1.5"),
            ("enabled", "true")
        ]
    );
    assert_eq!(manifest.root, folder.path());
}

#[test]
fn a_minimal_manifest_gets_the_defaults() {
    let report = check(MODULE);
    assert_eq!(report.diagnostics, vec![]);
    let manifest = report.manifest.unwrap();
    let mut expected = manifest::Manifest::defaults("hello", Path::new("/nonexistent/app"));
    expected.module.version = semver::Version::new(0, 1, 0);
    assert_eq!(manifest, expected);
    assert_eq!(manifest.module.isolation, Isolation::Worker);
    assert_eq!(manifest.limits, Limits::default());
}

#[test]
fn a_relative_manifest_path_gets_an_absolute_root() {
    let report = manifest::parse(MODULE.as_bytes(), Path::new("arcella.toml"));
    let root = report.manifest.unwrap().root;
    assert!(root.is_absolute());
    assert_eq!(root, std::env::current_dir().unwrap());
}

#[test]
fn load_reads_the_file_and_returns_io_errors() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("arcella.toml");
    let error = manifest::load(&path).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    std::fs::write(&path, MODULE).unwrap();
    assert_eq!(
        manifest::load(&path).unwrap().manifest.unwrap().module.name,
        "hello"
    );
}

#[test]
fn an_unknown_key_is_an_error_suggesting_the_closest_known_key() {
    let report = check("[module]\nnmae = \"hello\"\nname = \"hello\"\nversion = \"0.1.0\"\n");
    let help = single(&report, Code::UnknownKey, 2, 1);
    assert_eq!(
        report.diagnostics[0].message,
        "unknown key `nmae` in [module]"
    );
    assert_eq!(help, "did you mean `name`?");
    assert!(report.manifest.is_none());
}

#[test]
fn an_unknown_key_far_from_any_known_one_lists_the_known_keys() {
    let report = check(&format!("{MODULE}[limits]\nbananas = 3\n"));
    let help = single(&report, Code::UnknownKey, 5, 1);
    assert_eq!(
        help,
        "remove it; the known ones are `fuel`, `memory`, `timeout`, `keyvalue-key-size`, \
         `keyvalue-value-size`, `keyvalue-buckets`, `keyvalue-page`"
    );
}

#[test]
fn an_unknown_table_is_an_error_suggesting_the_closest_table() {
    let report = check(&format!("{MODULE}[limit]\nfuel = 3\n"));
    let help = single(&report, Code::UnknownKey, 4, 2);
    assert_eq!(help, "did you mean `[limits]`?");
}

#[test]
fn a_missing_module_table_is_reported_without_a_place() {
    let report = check("[limits]\nfuel = 10\n");
    assert_eq!(places(&report), vec![(Code::MissingKey, None)]);
}

#[test]
fn a_missing_name_and_version_are_reported_at_the_module_header() {
    let report = check("\n[module]\nisolation = \"worker\"\n");
    assert_eq!(
        places(&report),
        vec![
            (Code::MissingKey, Some((2, 1))),
            (Code::MissingKey, Some((2, 1)))
        ]
    );
    assert_eq!(
        report.diagnostics[0].help.as_deref(),
        Some("add `name = \"my-module\"` to [module]")
    );
    assert_eq!(
        report.diagnostics[1].help.as_deref(),
        Some("add `version = \"0.1.0\"` to [module]")
    );
}

#[test]
fn a_value_of_the_wrong_type_names_the_expected_and_found_types() {
    let report = check("[module]\nname = 7\nversion = \"0.1.0\"\n");
    single(&report, Code::WrongType, 2, 8);
    assert_eq!(
        report.diagnostics[0].message,
        "`module.name` should be a string, not an integer"
    );
}

#[test]
fn a_section_that_is_not_a_table_is_a_wrong_type() {
    let report = check(&format!("limits = 5\n{MODULE}"));
    single(&report, Code::WrongType, 1, 10);
}

#[test]
fn a_name_that_is_not_kebab_case_suggests_one_that_is() {
    let report = check("[module]\nname = \"Hello_World\"\nversion = \"0.1.0\"\n");
    let help = single(&report, Code::InvalidName, 2, 8);
    assert!(help.starts_with("write `\"hello-world\"`"), "{help}");
}

#[test]
fn module_names_follow_the_kebab_case_rules() {
    for name in ["a", "hello", "hello-world", "h2o", "a-1"] {
        let report = check(&format!(
            "[module]\nname = \"{name}\"\nversion = \"0.1.0\"\n"
        ));
        assert!(
            report.diagnostics.is_empty(),
            "{name}: {:?}",
            report.diagnostics
        );
    }
    for name in [
        "", "1abc", "-a", "a-", "a--b", "Hello", "a_b", "héllo", "a b",
    ] {
        let report = check(&format!(
            "[module]\nname = \"{name}\"\nversion = \"0.1.0\"\n"
        ));
        assert_eq!(
            places(&report),
            vec![(Code::InvalidName, Some((2, 8)))],
            "{name}"
        );
    }
}

#[test]
fn a_version_that_is_not_semver_is_reported() {
    let report = check("[module]\nname = \"hello\"\nversion = \"1.0\"\n");
    single(&report, Code::InvalidVersion, 3, 11);
}

#[test]
fn an_unknown_isolation_is_reported() {
    let report = check(&format!("{MODULE}isolation = \"thread\"\n"));
    single(&report, Code::InvalidIsolation, 4, 13);
}

#[test]
fn main_isolation_without_trusted_asks_for_trusted_true() {
    let report = check(&format!("{MODULE}isolation = \"main\"\nasync = true\n"));
    let help = single(&report, Code::MainRequiresTrusted, 4, 13);
    assert_eq!(help, "add `trusted = true` to [module]");
}

#[test]
fn main_isolation_with_async_false_points_at_the_flag() {
    let report = check(&format!(
        "{MODULE}isolation = \"main\"\ntrusted = true\nasync = false\n"
    ));
    let help = single(&report, Code::MainRequiresAsync, 6, 9);
    assert_eq!(
        help,
        "write `async = true`, or use `isolation = \"worker\"`"
    );
}

#[test]
fn a_group_on_a_main_module_is_reported_at_the_group_key() {
    let report = check(&format!(
        "{MODULE}isolation = \"main\"\ntrusted = true\nasync = true\ngroup = \"db\"\n"
    ));
    single(&report, Code::GroupWithoutWorker, 7, 1);
}

#[test]
fn a_worker_group_gets_its_name_and_must_be_kebab_case() {
    let report = check(&format!("{MODULE}group = \"db-pool\"\n"));
    assert_eq!(report.manifest.unwrap().module.group, "db-pool");
    let report = check(&format!("{MODULE}group = \"DB\"\n"));
    single(&report, Code::InvalidGroupName, 4, 9);
}

#[test]
fn an_interface_name_without_namespace_or_with_a_bad_version_is_reported() {
    let report = check(&format!(
        "{MODULE}exports = [\"handler\", \"a:b/c@x\", \"a:b/c\"]\n"
    ));
    assert_eq!(
        places(&report),
        vec![
            (Code::InvalidInterfaceName, Some((4, 12))),
            (Code::InvalidInterfaceName, Some((4, 23)))
        ]
    );
}

#[test]
fn duplicate_list_entries_are_warnings_and_the_manifest_is_kept() {
    let report = check(&format!("{MODULE}imports = [\"a:b/c\", \"a:b/c\"]\n"));
    single(&report, Code::DuplicateEntry, 4, 21);
    assert_eq!(report.diagnostics[0].severity, Severity::Warning);
    assert_eq!(report.manifest.unwrap().module.imports, ["a:b/c"]);
}

#[test]
fn fuel_must_be_a_positive_integer() {
    single(
        &check(&format!("{MODULE}[limits]\nfuel = 0\n")),
        Code::LimitOutOfRange,
        5,
        8,
    );
    single(
        &check(&format!("{MODULE}[limits]\nfuel = -3\n")),
        Code::LimitOutOfRange,
        5,
        8,
    );
    single(
        &check(&format!("{MODULE}[limits]\nfuel = \"lots\"\n")),
        Code::WrongType,
        5,
        8,
    );
}

#[test]
fn memory_accepts_sizes_and_bytes_up_to_four_gibibytes() {
    let memory = |value: &str| check(&format!("{MODULE}[limits]\nmemory = {value}\n"));
    assert_eq!(memory("\"4GiB\"").manifest.unwrap().limits.memory, 4 << 30);
    assert_eq!(memory("65536").manifest.unwrap().limits.memory, 65536);
    single(&memory("\"5GiB\""), Code::LimitOutOfRange, 5, 10);
    single(&memory("0"), Code::LimitOutOfRange, 5, 10);
    let help = single(&memory("\"lots\""), Code::InvalidLimit, 5, 10);
    assert!(help.contains("64MiB"), "{help}");
    single(&memory("1.5"), Code::WrongType, 5, 10);
}

#[test]
fn timeout_is_a_duration_up_to_an_hour() {
    let timeout = |value: &str| check(&format!("{MODULE}[limits]\ntimeout = {value}\n"));
    assert_eq!(
        timeout("\"1h\"").manifest.unwrap().limits.timeout,
        Duration::from_secs(3600)
    );
    single(&timeout("\"2h\""), Code::LimitOutOfRange, 5, 11);
    single(&timeout("\"0s\""), Code::LimitOutOfRange, 5, 11);
    single(&timeout("\"soon\""), Code::InvalidLimit, 5, 11);
    single(&timeout("5"), Code::WrongType, 5, 11);
}

#[test]
fn keyvalue_bounds_are_sizes_and_counts_within_their_maxima() {
    let limits = |lines: &str| check(&format!("{MODULE}[limits]\n{lines}\n"));
    let read = limits(
        "keyvalue-key-size = \"256B\"\nkeyvalue-value-size = \"4MiB\"\n\
         keyvalue-buckets = 2\nkeyvalue-page = 50",
    );
    assert_eq!(read.diagnostics, vec![]);
    assert_eq!(
        read.manifest.unwrap().limits.keyvalue,
        KeyValueLimits {
            key: 256,
            value: 4 << 20,
            buckets: 2,
            page: 50
        }
    );
    assert_eq!(
        limits("keyvalue-value-size = 1024")
            .manifest
            .unwrap()
            .limits
            .keyvalue
            .value,
        1024
    );
    let help = single(
        &limits("keyvalue-value-size = \"1GiB\""),
        Code::LimitOutOfRange,
        5,
        23,
    );
    assert!(help.contains("1MiB"), "{help}");
    single(
        &limits("keyvalue-buckets = 0"),
        Code::LimitOutOfRange,
        5,
        20,
    );
    single(&limits("keyvalue-page = \"10\""), Code::WrongType, 5, 17);
    single(
        &limits("keyvalue-key-size = \"big\""),
        Code::InvalidLimit,
        5,
        21,
    );
}

#[test]
fn an_env_entry_that_is_not_a_variable_name_is_reported() {
    let report = check(&format!(
        "{MODULE}[capabilities]\nenv = [\"OK\", \"1BAD\"]\n"
    ));
    single(&report, Code::InvalidEnvName, 5, 14);
}

#[test]
fn a_dir_grant_with_dot_dot_escapes_the_manifest() {
    let report = check(&format!(
        "{MODULE}[capabilities]\ndirs = [\"../secrets:/s\"]\n"
    ));
    single(&report, Code::DirEscapesManifest, 5, 9);
}

#[test]
fn a_dir_grant_with_an_absolute_path_escapes_the_manifest() {
    let report = check(&format!(
        "{MODULE}[capabilities]\ndirs = [\"/etc:/etc:ro\"]\n"
    ));
    single(&report, Code::DirEscapesManifest, 5, 9);
}

#[cfg(unix)]
#[test]
fn a_dir_grant_through_a_symlink_out_of_the_folder_escapes_the_manifest() {
    let outside = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), folder.path().join("link")).unwrap();
    let text = format!("{MODULE}[capabilities]\ndirs = [\"link:/data\"]\n");
    let report = manifest::parse(text.as_bytes(), &folder.path().join("arcella.toml"));
    single(&report, Code::DirEscapesManifest, 5, 9);
}

#[test]
fn a_missing_dir_is_a_warning_and_the_grant_is_kept_absolute() {
    let report = check(&format!("{MODULE}[capabilities]\ndirs = [\"./cache\"]\n"));
    single(&report, Code::DirMissing, 5, 9);
    let grants = report.manifest.unwrap().capabilities.dirs;
    assert_eq!(grants[0].host, PathBuf::from("/nonexistent/app/cache"));
}

#[test]
fn a_malformed_dir_grant_is_reported() {
    let report = check(&format!("{MODULE}[capabilities]\ndirs = [\"a:b:c:d\"]\n"));
    single(&report, Code::InvalidDirGrant, 5, 9);
}

#[test]
fn http_patterns_are_checked_for_syntax() {
    for pattern in [
        "api.example.com",
        "*.example.org",
        "*",
        "127.0.0.1:8080",
        "[::1]",
        "[::1]:8080",
        "::1",
        "*:443",
        "Example.COM.",
    ] {
        let report = check(&format!("{MODULE}[capabilities]\nhttp = [\"{pattern}\"]\n"));
        assert!(
            report.diagnostics.is_empty(),
            "{pattern}: {:?}",
            report.diagnostics
        );
    }
    let bad = [
        "https://api.example.com",
        "api.example.com/v1",
        "a.*.com",
        "**",
        "-a.com",
        "host:0",
        "host:99999",
        "::1:",
        "[::1",
        "[::g]",
        "",
        "a..b",
    ];
    for pattern in bad {
        let report = check(&format!("{MODULE}[capabilities]\nhttp = [\"{pattern}\"]\n"));
        assert_eq!(
            places(&report),
            vec![(Code::InvalidHostPattern, Some((5, 9)))],
            "{pattern}"
        );
    }
}

#[test]
fn config_values_become_strings_in_file_order() {
    let report = check(&format!(
        "{MODULE}[config]\nzeta = \"z\"\nalpha = 1_000\nbig = 1e3\n"
    ));
    let config = report.manifest.unwrap().config;
    let config: Vec<(&str, &str)> = config
        .iter()
        .map(|(k, v)| (k.as_str(), v.text().unwrap()))
        .collect();
    assert_eq!(config, [("zeta", "z"), ("alpha", "1000"), ("big", "1000")]);
}

#[test]
fn a_config_value_may_name_an_environment_variable() {
    let report = check(&format!(
        "{MODULE}[config]\ngreeting = \"hi\"\napi_key = {{ env = \"API_KEY\" }}\n"
    ));
    assert_eq!(places(&report), []);
    assert_eq!(
        report.manifest.unwrap().config,
        [
            ("greeting".to_string(), ConfigValue::Text("hi".into())),
            ("api_key".to_string(), ConfigValue::Env("API_KEY".into())),
        ]
    );
}

#[test]
fn a_malformed_environment_reference_is_a0403_at_its_place() {
    let report = check(&format!(
        "{MODULE}[config]\na = {{ env = \"1X\" }}\nb = {{ env = 3 }}\nc = {{ env = \"C\", default = \"x\" }}\n"
    ));
    assert!(report.manifest.is_none());
    assert_eq!(
        places(&report),
        vec![
            (Code::InvalidConfigReference, Some((5, 13))),
            (Code::InvalidConfigReference, Some((6, 13))),
            (Code::InvalidConfigReference, Some((7, 18))),
        ]
    );
    assert_eq!(
        report.diagnostics[0].help.as_deref(),
        Some("write `a = { env = \"NAME\" }`, NAME a variable of the host's environment")
    );
    assert!(report.diagnostics[2].message.contains("`default`"));
}

#[test]
fn a_table_without_env_is_still_a0401() {
    let report = check(&format!("{MODULE}[config]\nt = {{ value = \"x\" }}\n"));
    assert_eq!(
        places(&report),
        vec![(Code::InvalidConfigValue, Some((5, 5)))]
    );
}

#[test]
fn a_config_value_that_is_an_array_or_a_date_is_reported() {
    let report = check(&format!(
        "{MODULE}[config]\nlist = [1]\nwhen = 1979-05-27\n"
    ));
    assert_eq!(
        places(&report),
        vec![
            (Code::InvalidConfigValue, Some((5, 8))),
            (Code::InvalidConfigValue, Some((6, 8)))
        ]
    );
}

#[test]
fn invalid_toml_is_a_syntax_error_at_the_place_toml_gives() {
    let report = check("[module]\nname = \"hello\nversion = \"0.1.0\"\n");
    assert!(report.manifest.is_none());
    assert!(!report.diagnostics.is_empty());
    assert!(
        report
            .diagnostics
            .iter()
            .all(|diagnostic| diagnostic.code == Code::ManifestSyntax)
    );
    assert_eq!(places(&report)[0].1.map(|(line, _)| line), Some(2));
}

#[test]
fn a_duplicate_key_is_a_syntax_error() {
    let report = check("[module]\nname = \"a\"\nname = \"b\"\nversion = \"0.1.0\"\n");
    assert_eq!(places(&report), vec![(Code::ManifestSyntax, Some((3, 1)))]);
}

#[test]
fn bytes_that_are_not_utf8_are_reported_at_the_first_bad_byte() {
    let mut bytes = b"[module]\nname = \"h".to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(b"\"\n");
    let report = manifest::parse(&bytes, Path::new(NOWHERE));
    single(&report, Code::ManifestNotUtf8, 2, 10);
    assert_eq!(report.diagnostics[0].span, Some(18..21));
}

#[test]
fn a_manifest_over_one_mebibyte_is_rejected_without_parsing() {
    let report = manifest::parse(&vec![b'#'; MAX_MANIFEST_SIZE + 1], Path::new(NOWHERE));
    assert_eq!(places(&report), vec![(Code::ManifestTooLarge, None)]);
    assert!(report.source.is_empty());
}

#[test]
fn a_manifest_with_several_problems_reports_all_of_them() {
    let text = r#"[module]
nmae = "x"
version = "one"
isolation = "main"
async = false

[limits]
memory = "5GiB"
timeout = 30

[capabilities]
dirs = ["../up"]
http = ["http://x"]

[config]
list = []

[extra]
"#;
    let report = check(text);
    assert!(report.manifest.is_none());
    let listing: Vec<String> = report
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let place = diagnostic
                .span
                .as_ref()
                .map(|span| line_column(text, span.start));
            format!(
                "{} {:?} {:?}: {} (help: {})",
                diagnostic.code,
                diagnostic.severity,
                place,
                diagnostic.message,
                diagnostic.help.as_deref().unwrap_or("-")
            )
        })
        .collect();
    insta::assert_snapshot!(listing.join("\n"));
}

/// A small deterministic generator, so garbage tests are reproducible without a dependency.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn ten_megabytes_of_garbage_give_a_diagnostic_not_a_panic() {
    let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
    let garbage: Vec<u8> = (0..10 << 20).map(|_| random.next() as u8).collect();
    let report = manifest::parse(&garbage, Path::new(NOWHERE));
    assert!(report.has_errors());
    // Under the size limit the same garbage reaches the UTF-8 check and the TOML parser.
    for chunk in garbage.chunks(64 << 10).take(16) {
        assert!(manifest::parse(chunk, Path::new(NOWHERE)).has_errors());
    }
}

#[test]
fn garbage_made_of_toml_punctuation_gives_diagnostics_not_a_panic() {
    let alphabet = b"[]{}=\"'.,#\n \\abc019-_:*tfe+";
    let mut random = Xorshift(42);
    for length in [1, 7, 64, 512, 4096, 65536, MAX_MANIFEST_SIZE] {
        let text: Vec<u8> = (0..length)
            .map(|_| alphabet[random.next() as usize % alphabet.len()])
            .collect();
        let _ = manifest::parse(&text, Path::new(NOWHERE));
    }
}

#[test]
fn a_valid_manifest_with_random_bytes_changed_never_panics() {
    let base = format!(
        "{MODULE}isolation = \"main\"\ntrusted = true\n[limits]\nmemory = \"1MiB\"\n[capabilities]\ndirs = [\"a:/a\"]\nhttp = [\"*:80\"]\n[config]\nx = 1.5\n"
    );
    let mut random = Xorshift(7);
    for _ in 0..2000 {
        let mut bytes = base.clone().into_bytes();
        for _ in 0..=(random.next() % 4) {
            let at = random.next() as usize % bytes.len();
            bytes[at] = random.next() as u8;
        }
        let _ = manifest::parse(&bytes, Path::new(NOWHERE));
    }
}

#[test]
fn deeply_nested_arrays_and_tables_give_diagnostics_not_a_stack_overflow() {
    let depth = 200_000;
    let arrays = format!("x = {}{}", "[".repeat(depth), "]".repeat(depth));
    let tables = format!("x = {}{}", "{a=".repeat(depth), "}".repeat(depth));
    let dotted = format!("{} = 1", vec!["a"; depth].join("."));
    let header = format!("[{}]", vec!["a"; depth].join("."));
    let unclosed = "[".repeat(MAX_MANIFEST_SIZE - 4);
    for text in [arrays, tables, dotted, header, unclosed] {
        let report = check(&text);
        assert!(
            report.has_errors(),
            "{:?}",
            &report.diagnostics[..report.diagnostics.len().min(3)]
        );
    }
}

#[test]
fn a_grant_of_the_manifests_own_folder_is_a_warning() {
    let folder = tempfile::tempdir().unwrap();
    let text = format!("{MODULE}[capabilities]\ndirs = [\".:/app\"]\n");
    let report = manifest::parse(text.as_bytes(), &folder.path().join("arcella.toml"));
    let help = single(&report, Code::DirGrantsManifest, 5, 9);
    assert!(help.contains("subfolder"), "{help}");
    assert!(report.manifest.is_some(), "a warning keeps the manifest");
}

#[test]
fn socket_grants_are_read_and_malformed_ones_reported() {
    let report = check(&format!(
        "{MODULE}[capabilities]\nsockets = [\"tcp://db.example.com:5432\", \"udp://[::1]:53\"]\n"
    ));
    let sockets = report.manifest.unwrap().capabilities.sockets;
    let written: Vec<String> = sockets.iter().map(ToString::to_string).collect();
    assert_eq!(written, ["tcp://db.example.com:5432", "udp://[::1]:53"]);

    let report = check(&format!(
        "{MODULE}[capabilities]\nsockets = [\"db.example.com:5432\"]\n"
    ));
    let help = single(&report, Code::InvalidSocketGrant, 5, 12);
    assert!(help.contains("tcp://db.example.com:5432"), "{help}");
    assert_eq!(
        report.diagnostics[0].message,
        "`db.example.com:5432` has no `tcp://` or `udp://`"
    );
}

#[test]
fn keyvalue_grants_are_read_and_malformed_bucket_names_reported() {
    let report = check(&format!(
        "{MODULE}[capabilities]\nkeyvalue = [\"default\", \"sessions\", \"*\"]\n"
    ));
    let keyvalue = report.manifest.unwrap().capabilities.keyvalue;
    assert_eq!(keyvalue, ["default", "sessions", "*"]);

    let report = check(&format!("{MODULE}[capabilities]\nkeyvalue = [\"\"]\n"));
    let help = single(&report, Code::InvalidBucketName, 5, 13);
    assert!(help.contains("\"default\""), "{help}");
    assert!(report.manifest.is_none());

    let long = "b".repeat(256);
    let report = check(&format!(
        "{MODULE}[capabilities]\nkeyvalue = [\"ok\", \"{long}\"]\n"
    ));
    single(&report, Code::InvalidBucketName, 5, 19);
    assert!(report.diagnostics[0].message.contains("256 bytes"));

    let report = check(&format!("{MODULE}[capabilities]\nkeyvalue = [\"a\\tb\"]\n"));
    single(&report, Code::InvalidBucketName, 5, 13);
    assert!(report.diagnostics[0].message.contains("control character"));
}

// ---- Manifest::for_component ----

/// A component importing and exporting these names as empty instances.
fn component(imports: &[&str], exports: &[&str]) -> Vec<u8> {
    let mut text = String::from("(component\n");
    for name in imports {
        text += &format!("  (import \"{name}\" (instance))\n");
    }
    for (index, name) in exports.iter().enumerate() {
        text += &format!("  (instance $e{index})\n  (export \"{name}\" (instance $e{index}))\n");
    }
    wat::parse_str(text + ")").expect("the test component is valid component text")
}

#[test]
fn a_bare_component_declares_what_it_imports_and_exports_and_is_granted_nothing() {
    let wasm = component(
        &[
            "arcella:component/types@0.1.0",
            "arcella:component/logging@0.1.0",
            "wasi:cli/stdout@0.2.12",
            "wasi:http/outgoing-handler@0.2.12",
        ],
        &["arcella:component/handler@0.1.0", "wasi:cli/run@0.2.12"],
    );
    let info = ComponentInfo::inspect(&wasm).unwrap();
    let manifest = Manifest::for_component("hello", Path::new("/app"), &info);

    // What is always allowed is left out; WASI imports that must be declared are in.
    assert_eq!(
        manifest.module.imports,
        [
            "arcella:component/logging@0.1.0",
            "wasi:http/outgoing-handler@0.2.12"
        ]
    );
    assert_eq!(
        manifest.module.exports,
        ["arcella:component/handler@0.1.0", "wasi:cli/run@0.2.12"]
    );
    let defaults = Manifest::defaults("hello", Path::new("/app"));
    assert_eq!(manifest.capabilities, defaults.capabilities);
    assert_eq!(
        (&manifest.limits, &manifest.root),
        (&defaults.limits, &defaults.root)
    );

    // Declared is not granted: outbound HTTP is still refused at install.
    let codes: Vec<Code> = contract::check_bytes(&wasm, &manifest)
        .iter()
        .map(|diagnostic| diagnostic.code)
        .collect();
    assert_eq!(codes, [Code::CapabilityNotGranted]);
}

#[test]
fn a_bare_component_that_needs_no_capability_passes_the_install_check() {
    let wasm = component(
        &["arcella:component/logging@0.1.0", "wasi:cli/stdout@0.2.12"],
        &[
            "arcella:component/lifecycle@0.1.0",
            "arcella:component/handler@0.1.0",
        ],
    );
    let info = ComponentInfo::inspect(&wasm).unwrap();
    let manifest = Manifest::for_component("hello", Path::new("."), &info);
    assert_eq!(contract::check_bytes(&wasm, &manifest), []);
}
