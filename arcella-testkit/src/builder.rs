//! Where a harness's component comes from, and the settings a test puts
//! over its `arcella.toml`: plain data, read by the host that runs the
//! component (see [`protocol::Setup`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use arcella_types::Isolation;

use crate::error::Error;
use crate::harness::Harness;
use crate::mock::HttpMock;
use crate::protocol::{self, Overrides, Settings, Setup, Source};

/// The environment variable `cargo arcella test` sets to the component it built.
pub const COMPONENT_ENV: &str = "ARCELLA_COMPONENT";

/// The environment variable naming the worker executable (`cargo arcella test` sets it to itself).
pub const WORKER_EXE_ENV: &str = "ARCELLA_WORKER_EXE";

/// The environment variable naming the host executable components run in
/// (`cargo arcella test` sets it to itself; else `cargo-arcella` on `PATH`).
pub const HOST_ENV: &str = "ARCELLA_HOST";

/// Output a command may write per stream before the rest is counted and dropped: 1 MiB.
pub const DEFAULT_CAPTURE_LIMIT: usize = 1 << 20;

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
    settings: Settings,
    pub(crate) fuel_in_trace: bool,
    pub(crate) host: Option<PathBuf>,
}

impl HarnessBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            overrides: Overrides::default(),
            settings: Settings {
                real_clocks: false,
                worker_exe: None,
                capture_limit: DEFAULT_CAPTURE_LIMIT as u64,
                mocks: Vec::new(),
                keyvalue: Vec::new(),
            },
            fuel_in_trace: true,
            host: None,
        }
    }

    pub(crate) fn for_crate(dir: &Path) -> Self {
        Self::new(Source::Crate {
            dir: absolute(dir),
            component: None,
        })
    }

    pub(crate) fn from_file(path: &Path) -> Self {
        Self::new(Source::File(absolute(path)))
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

    /// Grants the key-value bucket `bucket`, written as in `[capabilities]
    /// keyvalue` (`default` is the bucket of `open("")`; `*` grants any),
    /// besides those the manifest grants.
    pub fn allow_keyvalue(mut self, bucket: &str) -> Self {
        self.overrides.keyvalue.push(bucket.to_string());
        self
    }

    /// Sets `[config]` `key` to `value` (replacing the manifest's, else added
    /// last): the module's `start` receives it, and `wasi:config` serves it.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.overrides
            .config
            .push((key.to_string(), value.to_string()));
        self
    }

    /// Fills the key-value bucket `bucket` with `pairs` before the component
    /// is installed (each harness has a fresh store in memory, which the
    /// guest reaches in either isolation; read it back with
    /// [`Harness::keyvalue`](crate::Harness::keyvalue)). Seeding grants
    /// nothing: the manifest's `[capabilities] keyvalue` (or
    /// [`allow_keyvalue`](Self::allow_keyvalue)) decides what the guest may open.
    pub fn keyvalue<K, V>(mut self, bucket: &str, pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: AsRef<[u8]>,
    {
        let pairs = pairs
            .into_iter()
            .map(|(key, value)| (key.into(), value.as_ref().to_vec()));
        match self
            .settings
            .keyvalue
            .iter_mut()
            .find(|(name, _)| name == bucket)
        {
            Some((_, seeded)) => seeded.extend(pairs),
            None => self
                .settings
                .keyvalue
                .push((bucket.to_string(), pairs.collect())),
        }
        self
    }

    /// Runs the module in the host process (`Isolation::Main`, which the test
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
    /// `arcella_host::worker::run_if_worker()` first in `main`). By default
    /// the host's own: `cargo-arcella` is one.
    pub fn worker_exe(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.worker_exe = Some(absolute(&path.into()));
        self
    }

    /// The host executable the component runs in (a `cargo-arcella`), in
    /// place of `ARCELLA_HOST` or `cargo-arcella` on `PATH`. With the
    /// `embedded` feature, it also chooses that process over this one.
    pub fn host(mut self, path: impl Into<PathBuf>) -> Self {
        self.host = Some(absolute(&path.into()));
        self
    }

    /// Bytes of a command's stdout and stderr kept (each); the rest is counted.
    pub fn capture_limit(mut self, bytes: usize) -> Self {
        self.settings.capture_limit = bytes as u64;
        self
    }

    /// Answers the guest's outbound HTTP requests that match `mock` (the
    /// first matching mock wins). The harness never reaches the network:
    /// requests no mock matches are refused, and `[capabilities] http` still
    /// decides which hosts the guest may call. Each request is in the trace.
    pub fn mock_http(mut self, mock: HttpMock) -> Self {
        self.settings.mocks.push(mock.into_wire());
        self
    }

    /// Leaves fuel out of the trace, for snapshots that should survive a
    /// rebuild of the guest (the same as [`Trace::without_fuel`](crate::Trace::without_fuel)).
    pub fn without_fuel(mut self) -> Self {
        self.fuel_in_trace = false;
        self
    }

    /// Installs the component and, for a module, starts it (recorded as the
    /// trace's first step). Commands are only installed: [`Harness::run`] runs them.
    pub fn start(self) -> Result<Harness, Error> {
        let mut harness = Harness::install(self)?;
        if harness.kind() == arcella_types::ComponentKind::Module {
            harness.start().into_result()?;
        }
        Ok(harness)
    }

    /// Installs the component without starting it, e.g. to snapshot a start that fails.
    pub fn install(self) -> Result<Harness, Error> {
        Harness::install(self)
    }

    /// What the host is asked to install: this builder's component and
    /// settings, over `base` (an update's first install).
    pub(crate) fn setup(&self, base: Option<&Overrides>) -> Setup {
        let source = match &self.source {
            Source::Crate { dir, .. } => Source::Crate {
                dir: dir.clone(),
                component: std::env::var_os(COMPONENT_ENV).map(|path| absolute(Path::new(&path))),
            },
            other => other.clone(),
        };
        protocol::Setup {
            source,
            base: base.cloned(),
            overrides: self.overrides.clone(),
            settings: self.settings.clone(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }
}

/// `path` made absolute against the current folder: the host that reads it
/// may run in another.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
