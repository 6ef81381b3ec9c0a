//! `cargo arcella new`: crates from the templates, and the mistakes it refuses.

mod support;

use support::{arcella, filters, new_crate, outcome};

/// Every file under `root`, relative and sorted.
fn files(root: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn it_creates_a_module_crate_and_says_what_to_do_next() {
    let dir = tempfile::TempDir::new().unwrap();
    let output = arcella(dir.path())
        .args(["new", "hello-world"])
        .output()
        .unwrap();
    let _guard = filters(dir.path()).bind_to_scope();
    insta::assert_snapshot!(outcome(&output));
    let root = dir.path().join("hello-world");
    insta::assert_debug_snapshot!(files(&root));
    let manifest = std::fs::read_to_string(root.join("arcella.toml")).unwrap();
    assert!(manifest.contains("name = \"hello-world\""));
    let wit = std::fs::read_to_string(root.join("wit/arcella.wit")).unwrap();
    let workspace_wit =
        std::fs::read_to_string(support::workspace().join("wit/arcella.wit")).unwrap();
    assert_eq!(wit, workspace_wit);
}

#[test]
fn generated_crates_depend_on_this_workspaces_testkit() {
    let (_dir, root) = new_crate("command", "greeter");
    let cargo_toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let testkit = std::fs::canonicalize(support::workspace().join("arcella-testkit")).unwrap();
    assert!(
        cargo_toml.contains(&format!(
            "arcella-testkit = {{ path = \"{}\" }}",
            testkit.display()
        )),
        "{cargo_toml}"
    );
    assert!(!cargo_toml.contains("{{"));
}

#[test]
fn it_creates_a_command_crate_without_wit() {
    let (_dir, root) = new_crate("command", "greeter");
    insta::assert_debug_snapshot!(files(&root));
}

#[test]
fn it_creates_an_http_crate_with_wit() {
    let (_dir, root) = new_crate("http", "web");
    assert!(root.join("wit/arcella.wit").is_file());
    assert!(root.join("src/lib.rs").is_file());
}

#[test]
fn it_takes_the_name_from_the_flag() {
    let dir = tempfile::TempDir::new().unwrap();
    arcella(dir.path())
        .args(["new", "some/folder", "--name", "named"])
        .assert()
        .success();
    let manifest = std::fs::read_to_string(dir.path().join("some/folder/arcella.toml")).unwrap();
    assert!(manifest.contains("name = \"named\""));
}

#[test]
fn it_fills_an_empty_folder() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    arcella(dir.path())
        .args(["new", "empty"])
        .assert()
        .success();
    assert!(dir.path().join("empty/Cargo.toml").is_file());
}

#[test]
fn a_name_cargo_would_reject_is_refused_in_one_line() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut text = String::new();
    for name in ["1bad", "test", "fn", "my app", "Hello", "snake_case"] {
        let output = arcella(dir.path()).args(["new", name]).output().unwrap();
        text.push_str(&format!(
            "$ cargo arcella new {name:?}\n{}\n",
            outcome(&output)
        ));
        assert!(!dir.path().join(name).exists(), "{name} left files behind");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn a_non_empty_folder_is_left_untouched() {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path().join("taken");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("notes.txt"), "mine").unwrap();
    let output = arcella(dir.path()).args(["new", "taken"]).output().unwrap();
    let _guard = filters(dir.path()).bind_to_scope();
    insta::assert_snapshot!(outcome(&output));
    assert_eq!(files(&root), ["notes.txt"]);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary folder is left behind");
}

#[test]
fn an_existing_file_is_not_overwritten() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("file"), "mine").unwrap();
    arcella(dir.path())
        .args(["new", "file", "--name", "x"])
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("file")).unwrap(),
        "mine"
    );
}

#[test]
fn an_unknown_template_is_a_usage_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let output = arcella(dir.path())
        .args(["new", "x", "--template", "library"])
        .output()
        .unwrap();
    insta::assert_snapshot!(outcome(&output));
}
