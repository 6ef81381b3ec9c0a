//! The host: installed modules and their lifecycle. Where each one runs is
//! its [`Placement`]'s business; every operation goes through [`Host::call`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::cache::CompileCache;
use crate::call::{Call, CommandOutput};
use crate::contract::{self, DEFAULT_MAX_COMPONENT_SIZE};
use crate::diagnostic::Severity;
use crate::engine::EngineSettings;
use crate::error::{Error, Result, WireDiagnostic};
use crate::http::{HttpService, ServeOptions};
use crate::kind::ComponentKind;
use crate::lifecycle::ModuleState;
use crate::loaded::Loaded;
use crate::manifest::{Isolation, Manifest};
use crate::placement::{Done, Local, Op, Placement, Remote};
use crate::services::Backends;
use crate::services::config::ConfigValues;
use crate::services::keyvalue::KeyValue;
use crate::services::wasi::output::Stdio;
use crate::store::{Observers, SandboxSettings};
use crate::worker::WorkerCommand;
use crate::worker::pool::WorkerPool;
use crate::worker::protocol::{OutputMode, WireSettings};

/// How a [`Host`] is set up.
#[derive(Clone)]
pub struct HostOptions {
    /// Engine settings (fuel metering, pooling).
    pub engine: EngineSettings,
    /// The on-disk compile cache; `None` compiles every time.
    pub cache: Option<CompileCache>,
    /// Components larger than this are refused.
    pub max_component_size: u64,
    /// How worker processes are started.
    pub worker: WorkerCommand,
    /// Deterministic clocks and random numbers for every module.
    pub deterministic: bool,
    /// Where command output goes by default.
    pub stdio: Stdio,
    /// Who hears guest logs, outbound requests and service calls, from
    /// workers too.
    pub observers: Observers,
    /// The services' backends (e.g. a mocked network for tests), used
    /// wherever the guests run, in workers too.
    pub backends: Backends,
    /// The key-value store every in-process guest shares, opened once
    /// (an empty one in memory unless set, e.g. from
    /// [`KeyValue::open`](crate::services::keyvalue::KeyValue::open)).
    pub keyvalue: KeyValue,
}

impl HostOptions {
    /// Defaults: fuel metering and pooling on, the user's compile cache (if it
    /// can be opened), workers from `ARCELLA_WORKER_EXE` or this executable,
    /// real clocks, the real network, output discarded.
    pub fn new() -> Result<Self> {
        Ok(Self {
            engine: EngineSettings::default(),
            cache: CompileCache::from_env()
                .inspect_err(|error| tracing::warn!("compile cache disabled: {error}"))
                .ok(),
            max_component_size: DEFAULT_MAX_COMPONENT_SIZE,
            worker: WorkerCommand::from_env().map_err(|error| {
                Error::Host(format!("cannot find the worker executable: {error}"))
            })?,
            deterministic: false,
            stdio: Stdio::Discard,
            observers: Observers::default(),
            backends: Backends::default(),
            keyvalue: KeyValue::default(),
        })
    }

    /// What a store for `manifest`'s module needs, in this process; its
    /// `[config]` resolved now.
    ///
    /// # Errors
    ///
    /// [`Error::ConfigEnvMissing`] when a `[config]` value names an
    /// environment variable that is not set.
    pub(crate) fn sandbox(&self, manifest: &Manifest) -> Result<SandboxSettings> {
        Ok(SandboxSettings {
            limits: manifest.limits.clone(),
            capabilities: manifest.capabilities.clone(),
            args: Vec::new(),
            deterministic: self.deterministic,
            stdio: self.stdio.clone(),
            observers: self.observers.clone(),
            backends: self.backends.clone(),
            config: ConfigValues::resolve(&manifest.module.name, &manifest.config)?,
            keyvalue: Some(self.keyvalue.clone()),
        })
    }

    /// What a worker needs to compile and run `manifest`'s module, its
    /// `[config]` resolved here (the values cross the pipe, never a log).
    fn wire_settings(&self, manifest: &Manifest) -> Result<WireSettings> {
        Ok(WireSettings {
            engine: self.engine,
            limits: manifest.limits.clone(),
            capabilities: manifest.capabilities.clone(),
            deterministic: self.deterministic,
            cache_dir: self.cache.as_ref().map(|cache| cache.dir().to_path_buf()),
            backends: self.backends.clone(),
            config: ConfigValues::resolve(&manifest.module.name, &manifest.config)?,
            report_service_calls: self.observers.on_service_call.is_some(),
        })
    }
}

/// One installed version of a module.
struct Installed {
    manifest: Manifest,
    kind: ComponentKind,
    state: ModuleState,
    placement: Placement,
}

impl Installed {
    /// Refuses `action` unless the module is running.
    fn running(&self, action: &str) -> Result<()> {
        if self.state != ModuleState::Running {
            return Err(Error::WrongState {
                module: self.manifest.module.name.clone(),
                action: action.into(),
                state: self.state,
            });
        }
        Ok(())
    }
}

/// Runs components: installs them, starts and stops them, and delivers calls,
/// each under its manifest's limits and capabilities.
pub struct Host {
    options: HostOptions,
    modules: BTreeMap<String, Installed>,
    workers: WorkerPool,
    next_key: u64,
}

impl Host {
    /// A host with `options`.
    pub fn new(options: HostOptions) -> Self {
        Self {
            workers: WorkerPool::new(
                options.worker.clone(),
                options.stdio.clone(),
                options.observers.clone(),
                options.keyvalue.clone(),
            ),
            options,
            modules: BTreeMap::new(),
            next_key: 0,
        }
    }

    /// The options the host was made with.
    pub fn options(&self) -> &HostOptions {
        &self.options
    }

    /// The state of `name`, if installed.
    pub fn state(&self, name: &str) -> Option<ModuleState> {
        self.modules.get(name).map(|module| module.state)
    }

    /// The kind of `name`, if installed.
    pub fn kind(&self, name: &str) -> Option<ComponentKind> {
        self.modules.get(name).map(|module| module.kind)
    }

    /// The manifest `name` was installed with.
    pub fn manifest(&self, name: &str) -> Option<&Manifest> {
        self.modules.get(name).map(|module| &module.manifest)
    }

    /// Names of installed modules, in order.
    pub fn modules(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// The process id of `group`'s worker, if one is running.
    pub fn worker_pid(&self, group: &str) -> Option<u32> {
        self.workers.pid(group)
    }

    /// Checks `wasm` against `manifest`, compiles it and makes it ready to start.
    pub async fn install(&mut self, manifest: Manifest, wasm: Vec<u8>) -> Result<ComponentKind> {
        let name = manifest.module.name.clone();
        if self.modules.contains_key(&name) {
            return Err(Error::AlreadyInstalled { module: name });
        }
        let installed = self.prepare(manifest, wasm).await?;
        let kind = installed.kind;
        self.modules.insert(name, installed);
        Ok(kind)
    }

    /// Checks, compiles and places one version, without registering it.
    async fn prepare(&mut self, manifest: Manifest, wasm: Vec<u8>) -> Result<Installed> {
        let name = manifest.module.name.clone();
        let size = wasm.len() as u64;
        if size > self.options.max_component_size {
            return Err(Error::TooLarge {
                size,
                limit: self.options.max_component_size,
            });
        }
        let (info, problems) = contract::inspect_and_check(&wasm, &manifest);
        let (errors, warnings): (Vec<_>, Vec<_>) = problems
            .into_iter()
            .partition(|diagnostic| diagnostic.severity == Severity::Error);
        if !errors.is_empty() {
            return Err(Error::Contract {
                module: name,
                diagnostics: errors.iter().map(WireDiagnostic::from).collect(),
            });
        }
        // A warning (e.g. sockets imported, none granted) does not stop a
        // component, as it does not stop `check`; it is said once, here.
        for warning in &warnings {
            tracing::warn!(
                module = crate::escape(&name).to_string(),
                "[{}] {}",
                warning.code,
                crate::escape(&warning.message)
            );
        }
        let (placement, kind) = match manifest.module.isolation {
            Isolation::Main => {
                let loaded = self.compile(&name, &wasm)?;
                let forward = match &self.options.stdio {
                    Stdio::Forward(forward) => Some(forward.clone()),
                    _ => None,
                };
                let local =
                    Local::new(Arc::new(loaded), &self.options.sandbox(&manifest)?, forward);
                let kind = local.kind();
                (Placement::Here(local), kind)
            }
            Isolation::Worker => {
                self.next_key += 1;
                let key = format!("{name}#{}", self.next_key);
                let group = manifest.module.group.clone();
                let settings = self.options.wire_settings(&manifest)?;
                let wasm = Arc::new(wasm);
                if info.is_some_and(|info| info.kind == contract::Kind::Http) {
                    // Compiled here only to be checked (and cached for the
                    // worker that will serve it); it never runs here.
                    let loaded = self.compile(&name, &wasm)?;
                    let remote = Remote::for_serving(key, group, name, wasm, settings);
                    (Placement::Worker(remote), loaded.kind())
                } else {
                    let (remote, kind) =
                        Remote::install(key, group, name, wasm, settings, &mut self.workers)
                            .await?;
                    (Placement::Worker(remote), kind)
                }
            }
        };
        Ok(Installed {
            manifest,
            kind,
            state: ModuleState::Installed,
            placement,
        })
    }

    /// Compiles `wasm` for this host's engine, through its compile cache.
    fn compile(&self, name: &str, wasm: &[u8]) -> Result<Loaded> {
        Loaded::compile(name, wasm, self.options.engine, self.options.cache.as_ref())
    }

    fn module(&self, name: &str) -> Result<&Installed> {
        self.modules.get(name).ok_or_else(|| Error::NotInstalled {
            module: name.to_string(),
        })
    }

    /// Runs `op` on `name` wherever it runs, if `allowed` says the module may
    /// take it. If its worker died, every module of that group has failed.
    async fn call(
        &mut self,
        name: &str,
        op: Op<'_>,
        allowed: impl FnOnce(&Installed) -> Result<()>,
    ) -> Result<Done> {
        let module = self
            .modules
            .get_mut(name)
            .ok_or_else(|| Error::NotInstalled {
                module: name.to_string(),
            })?;
        allowed(module)?;
        let result = module.placement.call(op, &mut self.workers).await;
        if let Err(Error::WorkerDied { group, .. }) = &result {
            self.worker_died(group);
        }
        result
    }

    /// Marks every module of `group` failed after its worker died.
    fn worker_died(&mut self, group: &str) {
        for module in self.modules.values_mut() {
            if let Placement::Worker(remote) = &mut module.placement
                && remote.group == group
            {
                module.state = ModuleState::Failed;
                remote.lost_worker();
            }
        }
    }

    /// Refuses `action` unless `name` is of `kind`.
    fn expect_kind(&self, name: &str, kind: ComponentKind, action: &str) -> Result<()> {
        let module = self.module(name)?;
        if module.kind != kind {
            return Err(Error::WrongKind {
                module: name.into(),
                kind: module.kind.to_string(),
                action: action.into(),
            });
        }
        Ok(())
    }

    fn set_state(&mut self, name: &str, state: ModuleState) {
        if let Some(module) = self.modules.get_mut(name) {
            module.state = state;
            if state == ModuleState::Failed {
                // Its store may be poisoned.
                module.placement.drop_instance();
            }
        }
    }

    /// Instantiates `name` and calls its `lifecycle.start` with the
    /// manifest's `[config]`, as resolved at install.
    pub async fn start(&mut self, name: &str) -> Result<Call<()>> {
        self.expect_kind(name, ComponentKind::Module, "be started")?;
        let module = self.module(name)?;
        if !module.state.can_start() {
            return Err(Error::WrongState {
                module: name.into(),
                action: "start".into(),
                state: module.state,
            });
        }
        let result = self
            .call(name, Op::Start, |_| Ok(()))
            .await
            .and_then(Done::started);
        self.set_state(
            name,
            if result.is_ok() {
                ModuleState::Running
            } else {
                ModuleState::Failed
            },
        );
        result
    }

    /// Delivers one event to a running module. The guest's own `Err` is in the value;
    /// a trap or a limit fails the module.
    pub async fn handle(
        &mut self,
        name: &str,
        topic: &str,
        payload: &[u8],
    ) -> Result<Call<Result<Vec<u8>, String>>> {
        let op = Op::Handle {
            topic: topic.into(),
            payload: payload.into(),
        };
        let result = self
            .call(name, op, |module| module.running("handle an event for"))
            .await
            .and_then(Done::handled);
        if result.is_err() {
            self.set_state(name, ModuleState::Failed);
        }
        result
    }

    /// Calls any function a running module exports, written as a WAVE call
    /// such as `handle("greet", [104, 105])`; the results come back in WAVE syntax.
    ///
    /// A call that does not fit (unknown function, bad arguments) leaves the
    /// module running; a trap or a limit fails it, as with [`Host::handle`].
    pub async fn invoke(&mut self, name: &str, call: &str) -> Result<Call<String>> {
        let op = Op::Invoke { call: call.into() };
        let result = self
            .call(name, op, |module| module.running("invoke a function of"))
            .await
            .and_then(Done::invoked);
        if matches!(&result, Err(error) if !matches!(error, Error::Invoke { .. })) {
            self.set_state(name, ModuleState::Failed);
        }
        result
    }

    /// Calls `lifecycle.stop` (bounded by the timeout) and tears the instance down.
    ///
    /// The instance is gone afterwards whatever `stop` returned; an error from
    /// the guest is reported, and the module is `Stopped` (or `Failed` on a trap).
    pub async fn stop(&mut self, name: &str) -> Result<Call<()>> {
        let result = self
            .call(name, Op::Stop, |module| module.running("stop"))
            .await
            .and_then(Done::stopped);
        let state = match &result {
            Ok(_) | Err(Error::Guest { .. }) => ModuleState::Stopped,
            Err(_) => ModuleState::Failed,
        };
        self.set_state(name, state);
        result
    }

    /// Runs a `wasi:cli/command` module with `args` (the program name is added first).
    ///
    /// Output goes where the host's [`HostOptions::stdio`] says; each run is a fresh instance.
    pub async fn run(&mut self, name: &str, args: &[String]) -> Result<Call<CommandOutput>> {
        self.expect_kind(name, ComponentKind::Command, "be run as a command")?;
        let mut argv = vec![name.to_string()];
        argv.extend(args.iter().cloned());
        let op = Op::Run {
            args: argv,
            output: OutputMode::for_stdio(&self.options.stdio),
        };
        let result = self.call(name, op, |_| Ok(())).await.and_then(Done::ran);
        self.set_state(
            name,
            if result.is_ok() {
                ModuleState::Installed
            } else {
                ModuleState::Failed
            },
        );
        result
    }

    /// Serves `name`, an installed HTTP component, on `options.listen`: a
    /// fresh instance per request, under its manifest, in this process or
    /// (with `isolation = "worker"`) in a worker process of its own, which
    /// is restarted if it dies. `on_listening` is told the bound address;
    /// serving ends when `shutdown` resolves and requests in flight are done.
    pub async fn serve(
        &mut self,
        name: &str,
        options: ServeOptions,
        on_listening: impl FnOnce(SocketAddr),
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        self.expect_kind(name, ComponentKind::Http, "serve HTTP")?;
        let module = self.module(name)?;
        match &module.placement {
            Placement::Here(local) => {
                let service = HttpService::with_sandbox(
                    local.loaded().clone(),
                    local.sandbox().clone(),
                    options,
                )?;
                crate::http::bind_and_serve(service, on_listening, shutdown).await
            }
            Placement::Worker(remote) => {
                remote
                    .serve_http(&self.options, options, on_listening, shutdown)
                    .await
            }
        }
    }

    /// A service that answers HTTP requests with `name`, an installed HTTP
    /// component, in this process whatever its isolation (for tests, which
    /// send it requests directly); [`Host::serve`] honours the isolation.
    pub fn http_service(&self, name: &str, options: ServeOptions) -> Result<HttpService> {
        self.expect_kind(name, ComponentKind::Http, "serve HTTP")?;
        let module = self.module(name)?;
        match &module.placement {
            Placement::Here(local) => {
                HttpService::with_sandbox(local.loaded().clone(), local.sandbox().clone(), options)
            }
            Placement::Worker(remote) => {
                let loaded = self.compile(name, &remote.wasm)?;
                HttpService::new(
                    Arc::new(loaded),
                    &self.options.sandbox(&module.manifest)?,
                    options,
                )
            }
        }
    }

    /// Replaces `manifest.module.name` with a new version: installs it, starts
    /// it, and only then stops and retires the old one. If the new version
    /// fails to install or start, the old one keeps running and the error says so.
    pub async fn update(&mut self, manifest: Manifest, wasm: Vec<u8>) -> Result<Call<()>> {
        let name = manifest.module.name.clone();
        let old = self.module(&name)?;
        let running = old.manifest.module.version.to_string();
        let was_running = old.state == ModuleState::Running;
        let failed = |cause: Error| Error::UpdateFailed {
            module: name.clone(),
            running: running.clone(),
            cause: Box::new(cause),
        };
        let mut fresh = self.prepare(manifest, wasm).await.map_err(&failed)?;
        let call = if fresh.kind == ComponentKind::Module {
            let started = fresh
                .placement
                .call(Op::Start, &mut self.workers)
                .await
                .and_then(Done::started);
            match started {
                Ok(call) => Some(call),
                Err(error) => {
                    if let Error::WorkerDied { group, .. } = &error {
                        self.worker_died(group);
                    }
                    fresh.placement.discard(&mut self.workers).await;
                    return Err(failed(error));
                }
            }
        } else {
            None
        };
        fresh.state = if call.is_some() {
            ModuleState::Running
        } else {
            ModuleState::Installed
        };
        if was_running && let Err(error) = self.stop(&name).await {
            tracing::warn!("old version of '{name}' did not stop cleanly: {error}");
        }
        if let Some(old) = self.modules.insert(name.clone(), fresh) {
            old.placement.discard(&mut self.workers).await;
        }
        Ok(call.unwrap_or(Call {
            value: (),
            fuel: 0,
            logs: Vec::new(),
            dropped_logs: 0,
            duration: Duration::ZERO,
        }))
    }

    /// Stops `name` if it is running, then forgets it.
    pub async fn remove(&mut self, name: &str) -> Result<()> {
        if self.module(name)?.state == ModuleState::Running
            && let Err(error) = self.stop(name).await
        {
            tracing::warn!("'{name}' did not stop cleanly before removal: {error}");
        }
        if let Some(module) = self.modules.remove(name) {
            module.placement.discard(&mut self.workers).await;
        }
        Ok(())
    }
}
