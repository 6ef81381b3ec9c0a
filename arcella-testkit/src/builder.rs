//! Where a harness's component comes from, and the settings a test puts
//! over its `arcella.toml`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arcella_host::capabilities::{DirGrant, EnvGrant};
use arcella_host::manifest::{self, MANIFEST_FILE};
use arcella_host::{Isolation, Limits, Manifest};

use crate::components::{self, Prepared};
use crate::error::Error;
use crate::harness::Harness;
use crate::mock::HttpMock;

/// The environment variable `cargo arcella test` sets to the component it built.
pub const COMPONENT_ENV: &str = "ARCELLA_COMPONENT";

/// The environment variable naming the worker executable (`cargo arcella test` sets it to itself).
pub const WORKER_EXE_ENV: &str = "ARCELLA_WORKER_EXE";

/// Output a command may write per stream before the rest is counted and dropped: 1 MiB.
pub const DEFAULT_CAPTURE_LIMIT: usize = 1 << 20;

/// Where the component comes from.
#[derive(Debug, Clone)]
enum Source {
    Crate(PathBuf),
    File(PathBuf),
    Wat(String),
    Bytes(Vec<u8>),
}

/// What a test sets over the manifest; `None` and empty lists keep the manifest's.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    name: Option<String>,
    fuel: Option<u64>,
    memory: Option<u64>,
    timeout: Option<Duration>,
    env: Vec<(String, String)>,
    dirs: Vec<String>,
    http: Vec<String>,
    config: Vec<(String, String)>,
    isolation: Option<Isolation>,
}

/// Settings of the harness itself, not of the module.
#[derive(Debug, Clone)]
pub(crate) struct HarnessSettings {
    pub real_clocks: bool,
    pub worker_exe: Option<PathBuf>,
    pub capture_limit: usize,
    pub fuel_in_trace: bool,
    pub mocks: Vec<HttpMock>,
}

/// A component and its manifest, with every override applied.
pub(crate) struct Resolved {
    pub manifest: Manifest,
    pub wasm: Arc<Vec<u8>>,
    /// Absolute paths to hide in trace messages, and what to show instead.
    pub redactions: Vec<(String, &'static str)>,
}

/// Sets a harness up: made by [`Harness::for_crate`], [`Harness::from_file`],
/// [`Harness::from_wat`] or [`Harness::from_bytes`], finished by
/// [`start`](Self::start) or [`install`](Self::install).
///
/// Settings override the component's `arcella.toml` for this test only.
/// Problems (a missing component, bad text) are reported when the harness
/// is started, so that the chain reads in one line.
#[derive(Debug, Clone)]
#[must_use = "a harness builder does nothing until `.start()` or `.install()`"]
pub struct HarnessBuilder {
    source: Source,
    pub(crate) overrides: Overrides,
    pub(crate) settings: HarnessSettings,
}

impl HarnessBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            overrides: Overrides::default(),
            settings: HarnessSettings {
                real_clocks: false,
                worker_exe: None,
                capture_limit: DEFAULT_CAPTURE_LIMIT,
                fuel_in_trace: true,
                mocks: Vec::new(),
            },
        }
    }

    pub(crate) fn for_crate(dir: &Path) -> Self {
        Self::new(Source::Crate(dir.to_path_buf()))
    }

    pub(crate) fn from_file(path: &Path) -> Self {
        Self::new(Source::File(path.to_path_buf()))
    }

    pub(crate) fn from_wat(text: &str) -> Self {
        Self::new(Source::Wat(text.to_string()))
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Self {
        Self::new(Source::Bytes(bytes.to_vec()))
    }

    /// The module's name (defaults: `[module] name`, the file's stem, or `component`).
    pub fn name(mut self, name: &str) -> Self {
        self.overrides.name = Some(name.to_string());
        self
    }

    /// Fuel one call may consume.
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.overrides.fuel = Some(fuel);
        self
    }

    /// Bytes of memory the instance may hold.
    pub fn memory(mut self, bytes: u64) -> Self {
        self.overrides.memory = Some(bytes);
        self
    }

    /// Wall-clock time one call may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.overrides.timeout = Some(timeout);
        self
    }

    /// Sets the guest's environment variable `name` to `value`.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.overrides
            .env
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Grants a host directory, written as in `[capabilities] dirs`:
    /// `HOST[:GUEST][:ro]`, with `HOST` relative to the manifest's folder.
    pub fn dir(mut self, grant: &str) -> Self {
        self.overrides.dirs.push(grant.to_string());
        self
    }

    /// Allows outbound HTTP to `host`, written as in `[capabilities] http`
    /// (`api.example.com`, `*.example.org`, `*`). The requests are answered
    /// by [`mock_http`](Self::mock_http) mocks.
    pub fn allow_http(mut self, host: &str) -> Self {
        self.overrides.http.push(host.to_string());
        self
    }

    /// Sets `[config]` `key` to `value` (replacing the manifest's, else added last).
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.overrides
            .config
            .push((key.to_string(), value.to_string()));
        self
    }

    /// Runs the module in this process (`Isolation::Main`, which the test
    /// vouches for: `trusted` and `async` are set) or in a worker process.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.overrides.isolation = Some(isolation);
        self
    }

    /// Real wall and monotonic clocks and real random numbers, instead of the
    /// deterministic ones every test gets by default.
    pub fn real_clocks(mut self) -> Self {
        self.settings.real_clocks = true;
        self
    }

    /// The executable worker processes are started from (it must call
    /// `arcella_host::worker::run_if_worker()` first in `main`). By default:
    /// `ARCELLA_WORKER_EXE`, else `cargo-arcella` on `PATH`.
    pub fn worker_exe(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.worker_exe = Some(path.into());
        self
    }

    /// Bytes of a command's stdout and stderr kept (each); the rest is counted.
    pub fn capture_limit(mut self, bytes: usize) -> Self {
        self.settings.capture_limit = bytes;
        self
    }

    /// Answers the guest's outbound HTTP requests that match `mock` (the
    /// first matching mock wins). The harness never reaches the network:
    /// requests no mock matches are refused, and `[capabilities] http` still
    /// decides which hosts the guest may call. Each request is in the trace.
    pub fn mock_http(mut self, mock: HttpMock) -> Self {
        self.settings.mocks.push(mock);
        self
    }

    /// Leaves fuel out of the trace, for snapshots that should survive a
    /// rebuild of the guest (the same as [`Trace::without_fuel`](crate::Trace::without_fuel)).
    pub fn without_fuel(mut self) -> Self {
        self.settings.fuel_in_trace = false;
        self
    }

    /// Installs the component and, for a module, starts it (recorded as the
    /// trace's first step). Commands are only installed: [`Harness::run`] runs them.
    pub fn start(self) -> Result<Harness, Error> {
        let mut harness = Harness::install(self)?;
        if harness.kind() == arcella_host::ComponentKind::Module {
            harness.start().into_result()?;
        }
        Ok(harness)
    }

    /// Installs the component without starting it, e.g. to snapshot a start that fails.
    pub fn install(self) -> Result<Harness, Error> {
        Harness::install(self)
    }

    /// Reads the component and its manifest, and applies `base` then this builder's overrides.
    pub(crate) fn resolve(&self, base: Option<&Overrides>) -> Result<Resolved, Error> {
        let mut redactions = Vec::new();
        let (mut manifest, prepared) = match &self.source {
            Source::Crate(dir) => {
                let manifest = load_manifest(&dir.join(MANIFEST_FILE))?;
                let component = match std::env::var_os(COMPONENT_ENV) {
                    Some(path) => PathBuf::from(path),
                    None => dir
                        .join("target/arcella")
                        .join(format!("{}.wasm", manifest.module.name)),
                };
                if !component.is_file() {
                    return Err(Error::ComponentMissing { path: component });
                }
                if let Some(stale) = arcella_host::contract::check_component_fresh(&component, dir)
                {
                    return Err(Error::ComponentStale {
                        path: component,
                        changed: stale.message,
                    });
                }
                redactions.push((component.display().to_string(), "[component]"));
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
                    bare_manifest(&stem, &prepared)
                };
                redactions.push((path.display().to_string(), "[component]"));
                (manifest, prepared)
            }
            Source::Wat(text) => {
                let prepared = components::from_wat(text)?;
                (bare_manifest("component", &prepared), prepared)
            }
            Source::Bytes(bytes) => {
                let prepared = components::prepare(bytes.clone()).1;
                (bare_manifest("component", &prepared), prepared)
            }
        };
        if let Some(base) = base {
            apply(&mut manifest, base)?;
        }
        apply(&mut manifest, &self.overrides)?;
        let root = manifest.root.display().to_string();
        if manifest.root.is_absolute() && root.len() > 1 {
            redactions.push((root, "[root]"));
        }
        Ok(Resolved {
            manifest,
            wasm: prepared.wasm.clone(),
            redactions,
        })
    }
}

/// What a component without an `arcella.toml` runs under: the host's
/// manifest for it, rooted in the current folder (capabilities stay denied).
fn bare_manifest(name: &str, prepared: &Prepared) -> Manifest {
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match &prepared.info {
        Some(info) => Manifest::for_component(name, &root, info),
        None => Manifest::defaults(name, &root),
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
    let shared = manifest::Overrides {
        name: overrides.name.clone(),
        fuel,
        memory,
        timeout,
        env,
        dirs,
        http: overrides.http.clone(),
        config: overrides.config.clone(),
        isolation: overrides.isolation,
    };
    let root = manifest.root.clone();
    shared.apply(manifest, &root);
    Ok(())
}

/// The worker executable: `explicit`, else `ARCELLA_WORKER_EXE`, else `cargo-arcella` on `PATH`.
pub(crate) fn find_worker(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(WORKER_EXE_ENV) {
        return Some(path.into());
    }
    let program = format!("cargo-arcella{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&program))
        .find(|path| path.is_file())
}
