//! Whether a built component is older than the sources it was built from.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::diagnostic::{Code, Diagnostic};

/// The files and folders of a crate that a component is built from.
const SOURCES: &[&str] = &["Cargo.toml", "arcella.toml", "src", "wit"];

/// A0606 when a source of the crate at `crate_root` (`Cargo.toml`,
/// `arcella.toml`, `src/`, `wit/`) was modified after `component_file`.
///
/// Nothing is reported when the component does not exist or times cannot be
/// read: that is for the caller to say, not a staleness problem.
pub fn check_component_fresh(component_file: &Path, crate_root: &Path) -> Option<Diagnostic> {
    let built = modified(component_file)?;
    let (newest, changed) = SOURCES
        .iter()
        .flat_map(|source| files_under(&crate_root.join(source)))
        .filter_map(|file| Some((modified(&file)?, file)))
        .max()?;
    (newest > built).then(|| {
        let shown = changed.strip_prefix(crate_root).unwrap_or(&changed);
        Diagnostic::new(
            Code::ComponentStale,
            component_file,
            format!(
                "`{}` changed after the component was built",
                shown.display()
            ),
        )
        .help("cargo arcella build")
    })
}

/// `path` itself when it is a file, every file below it when it is a folder.
///
/// Symbolic links are not followed into, so a link cycle cannot recurse forever.
fn files_under(path: &Path) -> Vec<PathBuf> {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return Vec::new();
    };
    if !metadata.is_dir() {
        return vec![path.to_path_buf()];
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .flat_map(|entry| files_under(&entry.path()))
        .collect()
}

/// When `path` was last modified, if that can be read.
fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .ok()
}

#[cfg(test)]
mod tests {
    use std::fs::{File, FileTimes};
    use std::time::Duration;

    use super::*;

    fn touch(path: &Path, at: SystemTime) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
        let file = File::options().write(true).open(path).unwrap();
        file.set_times(FileTimes::new().set_modified(at)).unwrap();
    }

    #[test]
    fn a_component_built_after_its_sources_is_fresh_and_one_built_before_is_stale() {
        let root = tempfile::tempdir().unwrap();
        let component = root.path().join("target/hello.wasm");
        let then = SystemTime::now() - Duration::from_secs(3600);
        touch(&root.path().join("src/lib.rs"), then);
        touch(&root.path().join("Cargo.toml"), then);
        touch(&component, then + Duration::from_secs(60));
        assert_eq!(check_component_fresh(&component, root.path()), None);

        touch(
            &root.path().join("wit/world.wit"),
            then + Duration::from_secs(120),
        );
        let diagnostic = check_component_fresh(&component, root.path()).expect("stale");
        assert_eq!(
            (diagnostic.code, diagnostic.is_error()),
            (Code::ComponentStale, false)
        );
        assert_eq!(
            diagnostic.message,
            "`wit/world.wit` changed after the component was built"
        );
    }

    #[test]
    fn a_component_that_does_not_exist_is_not_reported_as_stale() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(
            check_component_fresh(&root.path().join("missing.wasm"), root.path()),
            None
        );
    }
}
