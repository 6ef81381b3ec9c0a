//! Reading what a harness asked for: the component and its manifest, with
//! every override a test put over them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arcella_host::capabilities::{DirGrant, EnvGrant};
use arcella_host::manifest::{self, MANIFEST_FILE};
use arcella_host::services::keyvalue::check_bucket_name;
use arcella_host::{Limits, Manifest};

use super::components::{self, Prepared};
use crate::error::Error;
use crate::protocol::{Overrides, Setup, Source};

/// A component and its manifest, with every override applied.
pub(crate) struct Resolved {
    pub manifest: Manifest,
    pub wasm: Arc<Vec<u8>>,
    /// Absolute paths to hide in trace messages, and what to show instead.
    pub redactions: Vec<(String, String)>,
}

/// Reads the component and its manifest, and applies the setup's base then its overrides.
pub(crate) fn resolve(setup: &Setup) -> Result<Resolved, Error> {
    let mut redactions = Vec::new();
    let (mut manifest, prepared) = match &setup.source {
        Source::Crate { dir, component } => {
            let manifest = load_manifest(&dir.join(MANIFEST_FILE))?;
            let component = component.clone().unwrap_or_else(|| {
                dir.join("target/arcella")
                    .join(format!("{}.wasm", manifest.module.name))
            });
            if !component.is_file() {
                return Err(Error::ComponentMissing { path: component });
            }
            if let Some(stale) = arcella_host::contract::check_component_fresh(&component, dir) {
                return Err(Error::ComponentStale {
                    path: component,
                    changed: stale.message,
                });
            }
            redactions.push((component.display().to_string(), "[component]".to_string()));
            (manifest, components::from_file(&component)?)
        }
        Source::File(path) => {
            let prepared = components::from_file(path)?;
            let sibling = path.parent().unwrap_or(Path::new(".")).join(MANIFEST_FILE);
            let manifest = if sibling.is_file() {
                load_manifest(&sibling)?
            } else {
                let stem = path
                    .file_stem()
                    .map_or("component".into(), |stem| stem.to_string_lossy());
                bare_manifest(&stem, &setup.cwd, &prepared)
            };
            redactions.push((path.display().to_string(), "[component]".to_string()));
            (manifest, prepared)
        }
        Source::Wat(text) => {
            let prepared = components::from_wat(text)?;
            (bare_manifest("component", &setup.cwd, &prepared), prepared)
        }
        Source::Bytes(bytes) => {
            let prepared = components::prepare(bytes.clone()).1;
            (bare_manifest("component", &setup.cwd, &prepared), prepared)
        }
    };
    if let Some(base) = &setup.base {
        apply(&mut manifest, base)?;
    }
    apply(&mut manifest, &setup.overrides)?;
    let root = manifest.root.display().to_string();
    if manifest.root.is_absolute() && root.len() > 1 {
        redactions.push((root, "[root]".to_string()));
    }
    Ok(Resolved {
        manifest,
        wasm: prepared.wasm.clone(),
        redactions,
    })
}

/// What a component without an `arcella.toml` runs under: the host's
/// manifest for it, rooted in the test's folder (capabilities stay denied).
fn bare_manifest(name: &str, cwd: &Path, prepared: &Prepared) -> Manifest {
    match &prepared.info {
        Some(info) => Manifest::for_component(name, cwd, info),
        None => Manifest::defaults(name, cwd),
    }
}

/// Reads and validates the manifest at `path`.
fn load_manifest(path: &Path) -> Result<Manifest, Error> {
    let failed = |message: String| Error::Manifest {
        path: path.to_path_buf(),
        message,
    };
    let report = manifest::load(path).map_err(|error| {
        failed(if error.kind() == std::io::ErrorKind::NotFound {
            "there is no manifest here\n  help: a component crate has an arcella.toml at its root (`cargo arcella new` writes one); for a bare component use `Harness::from_file`".to_string()
        } else {
            error.to_string()
        })
    })?;
    let problems: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .map(|diagnostic| format!("[{}] {}", diagnostic.code, diagnostic.message))
        .collect();
    report.manifest.ok_or_else(|| {
        failed(format!(
            "it is not valid:\n  {}\n  help: `cargo arcella check` shows each problem in place",
            problems.join("\n  ")
        ))
    })
}

/// Puts `overrides` over `manifest`; directory grants are relative to the manifest's folder.
fn apply(manifest: &mut Manifest, overrides: &Overrides) -> Result<(), Error> {
    let env = overrides
        .env
        .iter()
        .map(|(name, value)| EnvGrant::parse(&format!("{name}={value}")))
        .collect::<Result<_, _>>()
        .map_err(Error::Setting)?;
    let dirs = overrides
        .dirs
        .iter()
        .map(|text| DirGrant::parse(text))
        .collect::<Result<_, _>>()
        .map_err(Error::Setting)?;
    // The same ranges as the manifest and `run`'s flags.
    let out_of_range = |what: &str, error: arcella_host::limits::OutOfRange| {
        Error::Setting(format!("`{what}` {error}"))
    };
    let fuel = overrides
        .fuel
        .map(|fuel| Limits::check_fuel(i128::from(fuel)).map_err(|e| out_of_range("fuel", e)))
        .transpose()?;
    let memory = overrides
        .memory
        .map(|bytes| Limits::check_memory(i128::from(bytes)).map_err(|e| out_of_range("memory", e)))
        .transpose()?;
    let timeout = overrides
        .timeout
        .map(|timeout| Limits::check_timeout(timeout).map_err(|e| out_of_range("timeout", e)))
        .transpose()?;
    for bucket in overrides.keyvalue.iter().filter(|bucket| *bucket != "*") {
        check_bucket_name(bucket).map_err(|problem| {
            Error::Setting(format!("`allow_keyvalue({bucket:?})`: {problem}"))
        })?;
    }
    let shared = manifest::Overrides {
        name: overrides.name.clone(),
        fuel,
        memory,
        timeout,
        env,
        dirs,
        http: overrides.http.clone(),
        keyvalue: overrides.keyvalue.clone(),
        config: overrides.config.clone(),
        isolation: overrides.isolation,
    };
    let root = manifest.root.clone();
    shared.apply(manifest, &root);
    Ok(())
}

/// The worker executable: `explicit`, else `ARCELLA_WORKER_EXE`, else
/// `own` (the host process is a worker executable), else `cargo-arcella` on `PATH`.
pub(crate) fn find_worker(explicit: Option<&Path>, own: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(crate::WORKER_EXE_ENV) {
        return Some(path.into());
    }
    if let Some(path) = own {
        return Some(path.to_path_buf());
    }
    crate::client::on_path("cargo-arcella")
}
