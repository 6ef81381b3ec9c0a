//! Where a component crate is: its root folder, its manifest, its built
//! component, and the file `run` keeps its key-value data in.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use arcella_host::manifest::MANIFEST_FILE;

use crate::outcome::UserError;

/// The crate root: the folder of `manifest_path` (an `arcella.toml`, a
/// `Cargo.toml` or a folder), else the nearest folder at or above the current
/// one that holds an `arcella.toml`.
pub fn find_root(manifest_path: Option<&Path>) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current folder")?;
    if let Some(path) = manifest_path {
        let path = cwd.join(path);
        let root = if path.is_dir() {
            path
        } else if path.is_file() {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            return Err(UserError::new(format!(
                "the manifest path {} does not exist",
                path.display()
            ))
            .into());
        };
        return Ok(root);
    }
    cwd.ancestors()
        .find(|dir| dir.join(MANIFEST_FILE).is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            UserError::new(format!(
                "could not find `{MANIFEST_FILE}` in {} or any folder above it",
                cwd.display()
            ))
            .help("run this in a component crate, pass --manifest-path, or create one with `cargo arcella new <path>`")
            .into()
        })
}

/// Where `build` puts the component named `name` of the crate at `root`.
///
/// It is the crate's own `target/arcella/`, whatever cargo's target folder is,
/// so that `check` and `run` find it without asking cargo.
pub fn component_path(root: &Path, name: &str) -> PathBuf {
    root.join("target")
        .join("arcella")
        .join(format!("{name}.wasm"))
}

/// Where `run` keeps `wasi:keyvalue` data unless told otherwise, relative to
/// the folder of `arcella.toml`. Not under `target/`, so that `cargo clean`
/// does not wipe a developer's data; in a dot-folder of Arcella's own, which
/// the templates' `.gitignore` leaves out of version control.
pub const KEYVALUE_FILE: &str = ".arcella/keyvalue.redb";

/// [`KEYVALUE_FILE`] of the crate (or the folder of a `.wasm`) at `root`.
pub fn keyvalue_file(root: &Path) -> PathBuf {
    root.join(KEYVALUE_FILE)
}

/// `path` relative to the current folder when it lies below it, for shorter messages.
pub fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .map(|relative| {
            if relative.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                relative
            }
        })
        .unwrap_or_else(|| path.to_path_buf())
}
