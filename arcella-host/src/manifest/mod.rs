//! `arcella.toml`: what a component is, the limits it runs under and what it may reach.
//!
//! Parsing keeps every span so that each problem is reported with its place,
//! and validation reports all problems at once rather than the first.
//!
//! [`load`] reads a file and [`parse`] checks bytes already in memory; both
//! return a [`ManifestReport`] holding the [`Manifest`] (when there is no
//! error) and every diagnostic:
//!
//! ```
//! use std::path::Path;
//! use arcella_host::manifest;
//!
//! let text = b"[module]\nname = \"hello\"\nversion = \"0.1.0\"\n";
//! let report = manifest::parse(text, Path::new("/app/arcella.toml"));
//! assert_eq!(report.manifest.unwrap().module.name, "hello");
//! ```

use std::path::{Path, PathBuf};

use crate::capabilities::Capabilities;
use crate::contract;
use crate::diagnostic::Diagnostic;
use crate::limits::Limits;

mod capabilities;
mod config;
mod limits;
mod module;
mod overrides;
mod read;
mod table;

pub use config::ConfigValue;
pub use overrides::Overrides;
pub use read::{MAX_MANIFEST_SIZE, load, parse};

/// The file name Arcella looks for beside a component or at a crate's root.
pub const MANIFEST_FILE: &str = "arcella.toml";

/// A validated `arcella.toml`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Manifest {
    /// The `[module]` table.
    pub module: ModuleInfo,
    /// The `[limits]` table, with defaults for what it leaves out.
    pub limits: Limits,
    /// The `[capabilities]` table; `dirs` hosts are absolute, resolved against `root`.
    pub capabilities: Capabilities,
    /// The `[config]` table, in file order: handed to `lifecycle.start`
    /// and served by `wasi:config/store`, once resolved
    /// ([`ConfigValues::resolve`](crate::services::config::ConfigValues::resolve)).
    pub config: Vec<(String, ConfigValue)>,
    /// The folder the manifest is in; relative paths are resolved against it.
    pub root: PathBuf,
}

/// The `[module]` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModuleInfo {
    /// Lowercase kebab-case name, unique within a host.
    pub name: String,
    /// Semver version.
    pub version: semver::Version,
    /// Where the module runs.
    pub isolation: Isolation,
    /// Whether the author vouches for the module (required for `main` isolation).
    pub trusted: bool,
    /// Whether the module is run with async wasmtime (required for `main` isolation).
    pub r#async: bool,
    /// Worker group: modules of one group share one worker process.
    pub group: String,
    /// Interfaces the component must export, e.g. `arcella:component/handler@0.1.0`.
    pub exports: Vec<String>,
    /// Interfaces the component may import.
    pub imports: Vec<String>,
}

pub use arcella_types::Isolation;

/// The default worker group.
pub const DEFAULT_GROUP: &str = "default";

/// The outcome of reading a manifest: the manifest when there were no errors,
/// and every diagnostic (warnings included) either way.
#[derive(Debug, Clone)]
pub struct ManifestReport {
    /// The manifest, present when no diagnostic is an error.
    pub manifest: Option<Manifest>,
    /// All problems found, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The text that was parsed (empty when it could not be read), for rendering.
    pub source: String,
}

impl ManifestReport {
    /// Whether any diagnostic is an error (then `manifest` is `None`).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

impl Manifest {
    /// A manifest with defaults for everything but the name, declaring and
    /// granting nothing; [`Manifest::for_component`] fills it in for a component.
    pub fn defaults(name: &str, root: &Path) -> Self {
        Self {
            module: ModuleInfo {
                name: name.to_string(),
                version: semver::Version::new(0, 0, 0),
                isolation: Isolation::default(),
                trusted: false,
                r#async: false,
                group: DEFAULT_GROUP.to_string(),
                exports: Vec::new(),
                imports: Vec::new(),
            },
            limits: Limits::default(),
            capabilities: Capabilities::default(),
            config: Vec::new(),
            root: root.to_path_buf(),
        }
    }

    /// What a bare `.wasm` without an `arcella.toml` runs under: the defaults,
    /// declaring what `info` says the component imports and exports.
    ///
    /// A manifest declares, and [`contract::check_component`] requires, every
    /// import that is not [always allowed](crate::services::Provided::always_allowed),
    /// WASI ones such as `wasi:http/outgoing-handler` included; declaring them
    /// here lets `install` accept the component as it is. Declaring grants
    /// nothing: every capability stays denied until the caller grants it
    /// (`cargo arcella run --dir`, the testkit's builder), and an import that
    /// needs one is still refused without it.
    pub fn for_component(name: &str, root: &Path, info: &contract::ComponentInfo) -> Self {
        let mut manifest = Self::defaults(name, root);
        manifest.module.imports = info
            .imports
            .iter()
            .filter(|import| {
                !contract::InterfaceName::parse(import)
                    .is_some_and(|name| contract::wasi::is_always_allowed(&name))
            })
            .cloned()
            .collect();
        manifest.module.exports = info
            .exported_interfaces()
            .map(|(export, _)| export.to_string())
            .collect();
        manifest
    }
}
