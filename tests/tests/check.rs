//! `cargo arcella check`: every problem of the manifest, the WIT and the
//! built component in one run, rendered for people, tools and GitHub.

mod support;

use std::path::Path;

use support::{arcella, filters, module_guest, new_crate, outcome};

/// Writes `manifest` over the module template's `arcella.toml` and checks it.
fn check_manifest(manifest: &str, args: &[&str]) -> String {
    let (dir, root) = new_crate("module", "hello");
    std::fs::write(root.join("arcella.toml"), manifest).unwrap();
    check(&dir, &root, args)
}

fn check(dir: &tempfile::TempDir, root: &Path, args: &[&str]) -> String {
    let output = arcella(root).arg("check").args(args).output().unwrap();
    let _guard = filters(dir.path()).bind_to_scope();
    outcome(&output)
}

const HEADER: &str = "[module]\nname = \"hello\"\nversion = \"0.1.0\"\n";
const INTERFACES: &str = "exports = [\"arcella:component/lifecycle@0.1.0\", \"arcella:component/handler@0.1.0\"]\nimports = [\"arcella:component/logging@0.1.0\", \"arcella:component/types@0.1.0\"]\n";

#[test]
fn a_fresh_module_crate_passes() {
    let (dir, root) = new_crate("module", "hello");
    let text = check(&dir, &root, &[]);
    insta::assert_snapshot!(text);
}

#[test]
fn a_fresh_command_crate_passes() {
    let (dir, root) = new_crate("command", "hello");
    insta::assert_snapshot!(check(&dir, &root, &[]));
}

#[test]
fn a_fresh_http_crate_passes() {
    let (dir, root) = new_crate("http", "hello");
    insta::assert_snapshot!(check(&dir, &root, &[]));
}

#[test]
fn check_finds_the_crate_from_a_subfolder() {
    let (dir, root) = new_crate("module", "hello");
    let text = check(&dir, &root.join("src"), &[]);
    assert!(text.starts_with("exit code: 0"), "{text}");
}

#[test]
fn a_misspelt_key_is_an_error_with_a_suggestion() {
    insta::assert_snapshot!(check_manifest(
        "[module]\nnmae = \"hello\"\nname = \"hello\"\nversion = \"0.1.0\"\n",
        &[]
    ));
}

#[test]
fn invalid_toml_is_an_error_at_its_place() {
    insta::assert_snapshot!(check_manifest("[module\nname = \"hello\"\n", &[]));
}

#[test]
fn a_name_that_is_not_kebab_case_is_an_error() {
    insta::assert_snapshot!(check_manifest(
        "[module]\nname = \"Hello_World\"\nversion = \"0.1.0\"\n",
        &[]
    ));
}

#[test]
fn a_version_that_is_not_semver_is_an_error() {
    insta::assert_snapshot!(check_manifest(
        "[module]\nname = \"hello\"\nversion = \"one\"\n",
        &[]
    ));
}

#[test]
fn a_missing_name_is_an_error() {
    insta::assert_snapshot!(check_manifest("[module]\nversion = \"0.1.0\"\n", &[]));
}

#[test]
fn limits_of_the_wrong_shape_are_errors() {
    insta::assert_snapshot!(check_manifest(
        &format!("{HEADER}[limits]\nfuel = \"lots\"\nmemory = \"huge\"\ntimeout = \"soon\"\n"),
        &[]
    ));
}

#[test]
fn main_isolation_without_trust_is_an_error() {
    insta::assert_snapshot!(check_manifest(
        &format!("{HEADER}isolation = \"main\"\n"),
        &[]
    ));
}

#[test]
fn a_malformed_directory_grant_is_an_error() {
    insta::assert_snapshot!(check_manifest(
        &format!("{HEADER}[capabilities]\ndirs = [\"a:b:c:d\"]\n"),
        &[]
    ));
}

#[test]
fn an_export_missing_from_the_wit_is_an_error() {
    insta::assert_snapshot!(check_manifest(
        &format!("{HEADER}exports = [\"arcella:component/handlr@0.1.0\"]\n"),
        &[]
    ));
}

#[test]
fn a_wit_syntax_error_is_shown_in_the_wit_file() {
    let (dir, root) = new_crate("module", "hello");
    let wit = root.join("wit/arcella.wit");
    let text = std::fs::read_to_string(&wit).unwrap();
    std::fs::write(
        &wit,
        text.replacen("interface handler {", "interface handler {{", 1),
    )
    .unwrap();
    insta::assert_snapshot!(check(&dir, &root, &[]));
}

#[test]
fn a_missing_wit_folder_is_a_warning_that_fails_only_when_denied() {
    let (dir, root) = new_crate("module", "hello");
    std::fs::remove_dir_all(root.join("wit")).unwrap();
    let allowed = check(&dir, &root, &[]);
    let denied = check(&dir, &root, &["--deny-warnings"]);
    assert!(allowed.starts_with("exit code: 0"), "{allowed}");
    assert!(denied.starts_with("exit code: 1"), "{denied}");
    insta::assert_snapshot!(denied);
}

#[test]
fn a_duplicate_import_is_a_warning() {
    insta::assert_snapshot!(check_manifest(
        &format!(
            "{HEADER}imports = [\"arcella:component/logging@0.1.0\", \"arcella:component/logging@0.1.0\"]\n"
        ),
        &[]
    ));
}

#[test]
fn several_problems_are_all_reported_as_json() {
    insta::assert_snapshot!(check_manifest(
        "[module]\nnmae = \"x\"\nname = \"Bad Name\"\nversion = \"1\"\n[limits]\nfuel = -1\n",
        &["--format", "json"]
    ));
}

#[test]
fn problems_become_github_annotations() {
    insta::assert_snapshot!(check_manifest(
        &format!("{HEADER}isolation = \"main\"\n[limits]\nmemory = \"huge\"\n"),
        &["--format", "github"]
    ));
}

#[test]
fn a_built_component_whose_exports_disagree_with_the_manifest_is_an_error() {
    let (dir, root) = new_crate("module", "hello");
    let manifest = format!(
        "{HEADER}exports = [\"arcella:component/lifecycle@0.1.0\", \"arcella:component/handler@0.1.0\", \"wasi:cli/run@0.2.0\"]\nimports = []\n"
    );
    std::fs::write(root.join("arcella.toml"), manifest).unwrap();
    write_component(&root, &module_guest());
    insta::assert_snapshot!(check(&dir, &root, &[]));
}

#[test]
fn a_component_older_than_its_sources_is_a_warning() {
    let (dir, root) = new_crate("module", "hello");
    write_component(&root, &module_guest());
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(root.join("arcella.toml"), format!("{HEADER}{INTERFACES}")).unwrap();
    insta::assert_snapshot!(check(&dir, &root, &[]));
}

#[test]
fn a_fresh_matching_component_passes() {
    let (dir, root) = new_crate("module", "hello");
    std::fs::write(root.join("arcella.toml"), format!("{HEADER}{INTERFACES}")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_component(&root, &module_guest());
    let text = check(&dir, &root, &[]);
    assert!(text.starts_with("exit code: 0"), "{text}");
}

#[test]
fn a_folder_without_a_manifest_is_a_usage_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let output = arcella(dir.path()).arg("check").output().unwrap();
    let _guard = filters(dir.path()).bind_to_scope();
    insta::assert_snapshot!(outcome(&output));
}

/// Puts `wasm` where `build` would, at `target/arcella/hello.wasm`.
fn write_component(root: &Path, wasm: &[u8]) {
    let folder = root.join("target/arcella");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("hello.wasm"), wasm).unwrap();
}
