//! `cargo arcella check`: the manifest, the WIT and the built component, in one pass, without building.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use arcella_host::contract;
use arcella_host::diagnostic::{Diagnostic, Severity};
use arcella_host::manifest::{self, MANIFEST_FILE};
use clap::Args;

use crate::diagnostics::{self, Format, SourceMap};
use crate::outcome::Outcome;
use crate::project;

/// Check arcella.toml, the crate's `wit/`, and the built component when it is
/// newer than its sources. Reports every problem found in one run; never
/// invokes cargo or compiles anything.
#[derive(Debug, Args)]
pub struct CheckCommand {
    /// The crate to check: its `arcella.toml`, `Cargo.toml` or folder
    /// [default: the nearest folder at or above the current one with an
    /// `arcella.toml`].
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// How to write the diagnostics: `human` on stderr, `json` and `github` on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Fail on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// What checking a crate found.
pub struct Checked {
    /// Every problem, manifest first, then WIT, then component.
    pub diagnostics: Vec<Diagnostic>,
    /// The texts the diagnostics point into.
    pub sources: SourceMap,
    /// The name to report under: the module's, or the folder's when the manifest is broken.
    pub subject: String,
}

impl Checked {
    /// Whether the check failed: any error, or any warning when warnings are denied.
    pub fn failed(&self, deny_warnings: bool) -> bool {
        self.diagnostics
            .iter()
            .any(|diagnostic| deny_warnings || diagnostic.severity == Severity::Error)
    }
}

impl CheckCommand {
    /// Runs the check and reports.
    pub fn exec(self) -> anyhow::Result<Outcome> {
        let root = project::find_root(self.manifest_path.as_deref())?;
        let mut checked = check_crate(&root)?;
        let failed = checked.failed(self.deny_warnings);
        diagnostics::emit(
            &checked.diagnostics,
            &mut checked.sources,
            self.format,
            &checked.subject,
        );
        if self.format == Format::Human && !failed {
            eprintln!("    Checked `{}`", checked.subject);
        }
        Ok(if failed {
            Outcome::Failed
        } else {
            Outcome::Success
        })
    }
}

/// Checks the crate at `root`: manifest, WIT, and the built component if it is fresh.
///
/// Only an unreadable manifest is an error; every other problem is a diagnostic.
pub fn check_crate(root: &Path) -> anyhow::Result<Checked> {
    let manifest_file = project::shown(&root.join(MANIFEST_FILE));
    let report = manifest::load(&manifest_file)
        .with_context(|| format!("reading {}", manifest_file.display()))?;
    let mut sources = SourceMap::new();
    sources.add(&manifest_file, report.source.clone());
    let mut diagnostics = report.diagnostics;
    let subject = match &report.manifest {
        Some(manifest) => manifest.module.name.clone(),
        None => root
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if let Some(manifest) = &report.manifest {
        let wit_dir = project::shown(&root.join("wit"));
        diagnostics.extend(contract::check_wit(
            &wit_dir,
            manifest,
            &manifest_file,
            &report.source,
        ));
        let component = project::shown(&project::component_path(root, &manifest.module.name));
        if component.is_file() {
            match contract::check_component_fresh(&component, root) {
                Some(stale) => diagnostics.push(stale),
                None => {
                    let (_, found) = contract::check_component_file(
                        &component,
                        manifest,
                        &manifest_file,
                        &report.source,
                    )
                    .with_context(|| format!("reading {}", component.display()))?;
                    diagnostics.extend(found);
                }
            }
        }
    }
    Ok(Checked {
        diagnostics,
        sources,
        subject,
    })
}
