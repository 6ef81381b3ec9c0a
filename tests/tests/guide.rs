//! The guide's diagnostics reference documents every diagnostic code, and no other.
//!
//! Each code in [`Code::ALL`] must have one heading `## <code>: <title>` in a
//! chapter under `book/src/`, with the title from `diagnostic.rs`; a heading
//! that names a code the host does not have fails too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arcella_host::diagnostic::Code;

/// `book/src/` of this workspace.
fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .join("book/src")
}

/// Every Markdown file under `dir`, recursively.
fn chapters(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
    {
        let path = entry.expect("a readable folder entry").path();
        if path.is_dir() {
            files.extend(chapters(&path));
        } else if path.extension().is_some_and(|extension| extension == "md") {
            files.push(path);
        }
    }
    files
}

/// Whether `word` looks like a diagnostic code: `A` and four digits.
fn is_code(word: &str) -> bool {
    word.len() == 5 && word.starts_with('A') && word[1..].chars().all(|c| c.is_ascii_digit())
}

/// Each `## A0101: title` heading of the book: code → (title, where), in every chapter.
fn documented_codes() -> BTreeMap<String, Vec<(String, String)>> {
    let mut found: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for file in chapters(&book_src()) {
        let text = std::fs::read_to_string(&file).expect("a UTF-8 chapter");
        for (number, line) in text.lines().enumerate() {
            let Some(heading) = line.strip_prefix("## ") else {
                continue;
            };
            let Some((code, title)) = heading.split_once(':') else {
                continue;
            };
            if is_code(code.trim()) {
                let place = format!("{}:{}", file.display(), number + 1);
                found
                    .entry(code.trim().to_string())
                    .or_default()
                    .push((title.trim().to_string(), place));
            }
        }
    }
    found
}

#[test]
fn every_diagnostic_code_has_exactly_one_section_in_the_guide_with_its_title() {
    let documented = documented_codes();
    let mut problems = Vec::new();
    for code in Code::ALL {
        match documented.get(code.as_str()).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!(
                "{code} has no `## {code}: {}` heading in book/src/",
                code.title()
            )),
            Some([(title, place)]) => {
                if title != code.title() {
                    problems.push(format!(
                        "{place}: the heading of {code} says `{title}`, diagnostic.rs says `{}`",
                        code.title()
                    ));
                }
            }
            Some(many) => {
                let places: Vec<&str> = many.iter().map(|(_, place)| place.as_str()).collect();
                problems.push(format!(
                    "{code} has {} headings: {}",
                    many.len(),
                    places.join(", ")
                ));
            }
        }
    }
    for (code, headings) in &documented {
        if !Code::ALL.iter().any(|known| known.as_str() == code) {
            for (_, place) in headings {
                problems.push(format!(
                    "{place}: {code} is not a diagnostic code in diagnostic.rs"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the diagnostics reference is out of date:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_heading_scan_recognises_codes_and_only_codes() {
    assert!(is_code("A0101"));
    assert!(is_code("A0606"));
    assert!(!is_code("A010"));
    assert!(!is_code("B0101"));
    assert!(!is_code("Limits"));
}
