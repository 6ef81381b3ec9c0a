//! `cargo arcella build`: cargo builds the component, then it is checked against its manifest.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use arcella_host::contract::{ComponentInfo, Kind, check_component_file};
use arcella_host::diagnostic::Diagnostic;
use arcella_host::manifest::{self, MANIFEST_FILE, Manifest};
use cargo_metadata::{Message, MetadataCommand, Package};
use clap::Args;

use crate::diagnostics::{self, Format, SourceMap};
use crate::outcome::{Outcome, UserError};
use crate::project;

/// The target components are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Build the component with `cargo build --target wasm32-wasip2`, copy it to
/// `target/arcella/<name>.wasm` and check it against arcella.toml.
#[derive(Debug, Args)]
pub struct BuildCommand {
    /// Which crate, and how to build it.
    #[command(flatten)]
    pub build: BuildArgs,
}

/// What to build and how; shared by `build`, `run` and `test`.
#[derive(Debug, Clone, Default, Args)]
pub struct BuildArgs {
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
    /// The package to build [default: the crate with the nearest `arcella.toml`].
    #[arg(short, long, value_name = "PKG")]
    pub package: Option<String>,
    /// The crate's `Cargo.toml`, `arcella.toml` or folder [default: found from
    /// the current folder].
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

/// A component that was built and checked.
#[derive(Debug)]
pub struct Built {
    /// Its manifest.
    pub manifest: Manifest,
    /// `target/arcella/<name>.wasm`.
    pub component: PathBuf,
    /// The crate root.
    pub root: PathBuf,
}

impl BuildCommand {
    /// Builds; the [`Built`] is there when the outcome is success.
    pub async fn exec(self) -> anyhow::Result<(Outcome, Option<Built>)> {
        self.build.build(true)
    }
}

impl BuildArgs {
    /// Builds the component and checks it; diagnostics are reported here, and
    /// the component is described when `describe`.
    pub fn build(&self, describe: bool) -> anyhow::Result<(Outcome, Option<Built>)> {
        let (package, root) = self.locate()?;
        let manifest_file = project::shown(&root.join(MANIFEST_FILE));
        let report = manifest::load(&manifest_file)
            .with_context(|| format!("reading {}", manifest_file.display()))?;
        let mut sources = SourceMap::new();
        sources.add(&manifest_file, report.source.clone());
        let Some(manifest) = report.manifest else {
            diagnostics::emit(
                &report.diagnostics,
                &mut sources,
                Format::Human,
                &package.name,
            );
            return Ok((Outcome::Failed, None));
        };

        ensure_target(&root)?;
        let Some(artifact) = self.cargo_build(&package, &root)? else {
            return Ok((Outcome::Failed, None));
        };
        let component = project::component_path(&root, &manifest.module.name);
        if let Some(folder) = component.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating {}", folder.display()))?;
        }
        std::fs::copy(&artifact, &component).with_context(|| {
            format!("copying {} to {}", artifact.display(), component.display())
        })?;

        let shown = project::shown(&component);
        let (info, found) = check_component_file(&shown, &manifest, &manifest_file, &report.source)
            .with_context(|| format!("reading {}", shown.display()))?;
        let mut all = report.diagnostics;
        all.extend(found);
        diagnostics::emit(&all, &mut sources, Format::Human, &manifest.module.name);
        let Some(info) = info.filter(|_| !all.iter().any(Diagnostic::is_error)) else {
            return Ok((Outcome::Failed, None));
        };
        if describe {
            describe_component(&shown, &info);
        }
        Ok((
            Outcome::Success,
            Some(Built {
                manifest,
                component,
                root,
            }),
        ))
    }

    /// The package to build and its root folder, from one `cargo metadata --no-deps`.
    fn locate(&self) -> anyhow::Result<(Package, PathBuf)> {
        let mut command = MetadataCommand::new();
        command.no_deps();
        if let Some(cargo) = std::env::var_os("CARGO") {
            command.cargo_path(cargo);
        }
        let wanted_root = match (&self.package, &self.manifest_path) {
            (Some(_), None) => None,
            _ => Some(project::find_root(self.manifest_path.as_deref())?),
        };
        if let Some(root) = &wanted_root {
            command.manifest_path(root.join("Cargo.toml"));
        }
        let metadata = command
            .exec()
            .map_err(|error| match error {
                cargo_metadata::Error::CargoMetadata { stderr } => {
                    anyhow::anyhow!("{}", stderr.trim().trim_start_matches("error: "))
                }
                other => other.into(),
            })
            .context("reading the crate's Cargo.toml")?;
        let packages = metadata.workspace_packages();
        let package = match (&self.package, &wanted_root) {
            (Some(name), _) => packages
                .into_iter()
                .find(|package| package.name.as_str() == name)
                .ok_or_else(|| {
                    UserError::new(format!("no package named `{name}` in the workspace"))
                })?,
            (None, Some(root)) => packages
                .into_iter()
                .find(|package| {
                    same_file(
                        package.manifest_path.as_std_path(),
                        &root.join("Cargo.toml"),
                    )
                })
                .or_else(|| metadata.root_package())
                .ok_or_else(|| {
                    UserError::new(format!(
                        "no package has its Cargo.toml in {}",
                        root.display()
                    ))
                })?,
            (None, None) => unreachable!("a root is found when no package is named"),
        }
        .clone();
        let root = package
            .manifest_path
            .parent()
            .map(|dir| dir.as_std_path().to_path_buf())
            .unwrap_or_default();
        Ok((package, root))
    }

    /// Runs `cargo build --target wasm32-wasip2`, its output streamed, and
    /// returns the `.wasm` it made; `None` when cargo failed (it said why).
    fn cargo_build(&self, package: &Package, root: &Path) -> anyhow::Result<Option<PathBuf>> {
        let mut command = cargo();
        command
            .current_dir(root)
            .args(["build", "--message-format", "json-render-diagnostics"])
            .args(["--target", WASM_TARGET])
            .arg("--manifest-path")
            .arg(package.manifest_path.as_std_path())
            .args(["--package", package.name.as_str()]);
        if self.release {
            command.arg("--release");
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("running cargo build")?;
        let stdout = child.stdout.take().context("reading cargo's output")?;
        let mut wasm = None;
        for message in Message::parse_stream(BufReader::new(stdout)) {
            if let Message::CompilerArtifact(artifact) =
                message.context("reading cargo's output")?
                && artifact.package_id == package.id
                && let Some(file) = artifact
                    .filenames
                    .iter()
                    .find(|file| file.extension() == Some("wasm"))
            {
                wasm = Some(file.as_std_path().to_path_buf());
            }
        }
        let status = child.wait().context("waiting for cargo build")?;
        if !status.success() {
            return Ok(None);
        }
        wasm.map(Some).ok_or_else(|| {
            UserError::new(format!("cargo built no `.wasm` for `{}`", package.name))
                .help("a component crate has a `cdylib` library or a binary")
                .into()
        })
    }
}

/// Whether `a` and `b` name the same file, however they are spelt.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The cargo that runs us (`$CARGO`), else the one on the `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Installs the wasm32-wasip2 standard library with rustup when the toolchain lacks it.
fn ensure_target(root: &Path) -> anyhow::Result<()> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .current_dir(root)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .context("running rustc to find the wasm32-wasip2 target")?;
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let installed = output.status.success()
        && std::fs::read_dir(&libdir).is_ok_and(|mut entries| entries.next().is_some());
    if installed {
        return Ok(());
    }
    eprintln!("  Installing the {WASM_TARGET} target with `rustup target add {WASM_TARGET}`");
    let status = Command::new("rustup")
        .current_dir(root)
        .args(["target", "add", WASM_TARGET])
        .status();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(_) => {
            Err(UserError::new(format!("rustup could not add the {WASM_TARGET} target")).into())
        }
        Err(_) => Err(UserError::new(format!(
            "the {WASM_TARGET} target is not installed, and rustup is not there to add it"
        ))
        .help(format!(
            "install the {WASM_TARGET} standard library for your Rust toolchain"
        ))
        .into()),
    }
}

/// Says where the component is and what it is.
fn describe_component(component: &Path, info: &ComponentInfo) {
    let kind = match info.kind {
        Kind::Module => "module",
        Kind::Command => "command",
        Kind::Http => "http",
        Kind::Library => "library",
    };
    eprintln!(
        "   Component {} ({}, {kind})",
        component.display(),
        human_size(info.size)
    );
    eprintln!("     exports {}", list(&info.exports));
    eprintln!("     imports {}", list(&info.imports));
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(", ")
    }
}

/// `1234567` → `1.2 MiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
