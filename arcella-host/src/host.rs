//! The host: installed modules, their lifecycle, and where each one runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::cache::CompileCache;
use crate::contract::{self, DEFAULT_MAX_COMPONENT_SIZE};
use crate::dir_grants::OpenedDirs;
use crate::engine::EngineSettings;
use crate::error::{Error, Result, WireDiagnostic};
use crate::http::outbound::MockNetwork;
use crate::http::{HttpService, ServeOptions};
use crate::instance::{Call, CommandOutput, Instance, Loaded};
use crate::kind::ComponentKind;
use crate::lifecycle::ModuleState;
use crate::logging::LogCallback;
use crate::manifest::{Isolation, Manifest};
use crate::output::Stdio;
use crate::sandbox::SandboxSettings;
use crate::worker::protocol::{OutputMode, Reply, Request, WireSettings};
use crate::worker::{WorkerCommand, WorkerGroup};

/// How long a worker may take to compile a component before it is deemed hung.
const INSTALL_DEADLINE: Duration = Duration::from_secs(300);

/// Time a worker gets beyond a call's own timeout to answer, before it is killed.
const WORKER_GRACE: Duration = Duration::from_secs(2);

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
    /// Receives each guest log record as it is written.
    pub on_log: Option<LogCallback>,
    /// Answers the outbound HTTP of modules in this process instead of the
    /// network (tests); modules in workers always use the network.
    pub mock_network: Option<Arc<dyn MockNetwork>>,
}

impl HostOptions {
    /// Defaults: fuel metering and pooling on, the user's compile cache (if it
    /// can be opened), workers from `ARCELLA_WORKER_EXE` or this executable,
    /// real clocks, output discarded.
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
            on_log: None,
            mock_network: None,
        })
    }

    /// What a store for `manifest`'s module needs, in this process, with `args`.
    pub fn sandbox(&self, manifest: &Manifest, args: Vec<String>) -> SandboxSettings {
        SandboxSettings {
            limits: manifest.limits.clone(),
            capabilities: manifest.capabilities.clone(),
            args,
            deterministic: self.deterministic,
            stdio: self.stdio.clone(),
            on_log: self.on_log.clone(),
            mock_network: self.mock_network.clone(),
            opened_dirs: OpenedDirs::default(),
        }
    }

    /// What a worker needs to compile and run `manifest`'s module.
    pub fn wire_settings(&self, manifest: &Manifest) -> WireSettings {
        WireSettings {
            engine: self.engine,
            limits: manifest.limits.clone(),
            capabilities: manifest.capabilities.clone(),
            deterministic: self.deterministic,
            cache_dir: self.cache.as_ref().map(|cache| cache.dir().to_path_buf()),
        }
    }
}

/// One installed version of a module.
struct Installed {
    manifest: Manifest,
    kind: ComponentKind,
    state: ModuleState,
    placement: Placement,
}

enum Placement {
    Main {
        loaded: Arc<Loaded>,
        instance: Option<Instance>,
    },
    Worker {
        key: String,
        group: String,
        wasm: Arc<Vec<u8>>,
        installed_in: Option<u64>,
    },
}

struct Worker {
    process: WorkerGroup,
    generation: u64,
}

/// Runs components: installs them, starts and stops them, and delivers calls,
/// each under its manifest's limits and capabilities.
pub struct Host {
    options: HostOptions,
    modules: BTreeMap<String, Installed>,
    workers: HashMap<String, Worker>,
    next_key: u64,
    next_generation: u64,
}

impl Host {
    /// A host with `options`.
    pub fn new(options: HostOptions) -> Self {
        Self {
            options,
            modules: BTreeMap::new(),
            workers: HashMap::new(),
            next_key: 0,
            next_generation: 0,
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

    /// A service that answers HTTP requests with `name`, an installed HTTP
    /// component: a fresh instance per request, under its manifest.
    ///
    /// The requests run in this process whatever the module's isolation
    /// (this is what tests use); [`serve_component`](crate::http::serve_component)
    /// serves from a worker process when the manifest asks for one.
    pub fn http_service(&self, name: &str, options: ServeOptions) -> Result<HttpService> {
        let module = self.modules.get(name).ok_or_else(|| Error::NotInstalled {
            module: name.to_string(),
        })?;
        let loaded = match &module.placement {
            Placement::Main { loaded, .. } => loaded.clone(),
            Placement::Worker { wasm, .. } => Arc::new(Loaded::compile(
                name,
                wasm,
                self.options.engine,
                self.options.cache.as_ref(),
            )?),
        };
        HttpService::new(
            loaded,
            self.options.sandbox(&module.manifest, Vec::new()),
            options,
        )
    }

    /// Names of installed modules, in order.
    pub fn modules(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// The process id of `group`'s worker, if one is running.
    pub fn worker_pid(&self, group: &str) -> Option<u32> {
        self.workers
            .get(group)
            .and_then(|worker| worker.process.pid())
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

    /// Validates, compiles and (for workers) installs one version, without registering it.
    async fn prepare(&mut self, manifest: Manifest, wasm: Vec<u8>) -> Result<Installed> {
        let name = manifest.module.name.clone();
        let size = wasm.len() as u64;
        if size > self.options.max_component_size {
            return Err(Error::TooLarge {
                size,
                limit: self.options.max_component_size,
            });
        }
        let problems = contract::check_bytes(&wasm, &manifest);
        if !problems.is_empty() {
            return Err(Error::Contract {
                module: name,
                diagnostics: problems.iter().map(WireDiagnostic::from).collect(),
            });
        }
        match manifest.module.isolation {
            Isolation::Main => {
                let loaded = Loaded::compile(
                    &name,
                    &wasm,
                    self.options.engine,
                    self.options.cache.as_ref(),
                )?;
                let kind = loaded.kind();
                Ok(Installed {
                    manifest,
                    kind,
                    state: ModuleState::Installed,
                    placement: Placement::Main {
                        loaded: Arc::new(loaded),
                        instance: None,
                    },
                })
            }
            Isolation::Worker => {
                self.next_key += 1;
                let key = format!("{name}#{}", self.next_key);
                let group = manifest.module.group.clone();
                let mut placement = Placement::Worker {
                    key,
                    group,
                    wasm: Arc::new(wasm),
                    installed_in: None,
                };
                let kind = self.install_in_worker(&manifest, &mut placement).await?;
                Ok(Installed {
                    manifest,
                    kind,
                    state: ModuleState::Installed,
                    placement,
                })
            }
        }
    }

    /// Makes sure the module's version is installed in a live worker of its group.
    async fn install_in_worker(
        &mut self,
        manifest: &Manifest,
        placement: &mut Placement,
    ) -> Result<ComponentKind> {
        let Placement::Worker {
            key,
            group,
            wasm,
            installed_in,
        } = placement
        else {
            unreachable!("only worker placements are installed in workers");
        };
        let settings = self.options.wire_settings(manifest);
        // With a compile cache, ask for the compiled copy by hash first: a
        // warm start then sends no component bytes to the worker.
        let by_hash = settings.cache_dir.is_some();
        let mut request = Request::Install {
            key: key.clone(),
            name: manifest.module.name.clone(),
            hash: *blake3::hash(wasm).as_bytes(),
            wasm: if by_hash {
                Vec::new()
            } else {
                wasm.as_ref().clone()
            },
            settings,
        };
        let generation = self.ensure_worker(group)?;
        loop {
            match self.worker_call(group, &request, INSTALL_DEADLINE).await? {
                Reply::Installed(kind) => {
                    *installed_in = Some(generation);
                    return Ok(kind);
                }
                Reply::NeedsComponent => match &mut request {
                    Request::Install { wasm: sent, .. } if sent.is_empty() => {
                        *sent = wasm.as_ref().clone();
                    }
                    _ => return Err(unexpected(&Reply::NeedsComponent)),
                },
                other => return Err(unexpected(&other)),
            }
        }
    }

    fn ensure_worker(&mut self, group: &str) -> Result<u64> {
        if let Some(worker) = self.workers.get(group) {
            return Ok(worker.generation);
        }
        let process = WorkerGroup::spawn(group, &self.options.worker)?;
        self.next_generation += 1;
        let generation = self.next_generation;
        self.workers.insert(
            group.to_string(),
            Worker {
                process,
                generation,
            },
        );
        Ok(generation)
    }

    /// One request to `group`'s worker; if the worker dies, every module of the group fails.
    async fn worker_call(
        &mut self,
        group: &str,
        request: &Request,
        deadline: Duration,
    ) -> Result<Reply> {
        let worker = self
            .workers
            .get_mut(group)
            .ok_or_else(|| Error::Host(format!("no worker for group '{group}'")))?;
        let result = worker
            .process
            .call(
                request,
                deadline,
                &self.options.stdio,
                self.options.on_log.as_ref(),
            )
            .await;
        if let Err(Error::WorkerDied { .. }) = &result {
            self.workers.remove(group);
            for module in self.modules.values_mut() {
                if matches!(&module.placement, Placement::Worker { group: g, .. } if g == group) {
                    module.state = ModuleState::Failed;
                    if let Placement::Worker { installed_in, .. } = &mut module.placement {
                        *installed_in = None;
                    }
                }
            }
        }
        result
    }

    fn module_mut(&mut self, name: &str) -> Result<&mut Installed> {
        self.modules
            .get_mut(name)
            .ok_or_else(|| Error::NotInstalled {
                module: name.to_string(),
            })
    }

    /// Instantiates `name` and calls its `lifecycle.start` with the manifest's `[config]`.
    pub async fn start(&mut self, name: &str) -> Result<Call<()>> {
        let module = self.module_mut(name)?;
        if module.kind != ComponentKind::Module {
            return Err(Error::WrongKind {
                module: name.into(),
                kind: module.kind.to_string(),
                action: "be started".into(),
            });
        }
        if !module.state.can_start() {
            return Err(Error::WrongState {
                module: name.into(),
                action: "start".into(),
                state: module.state,
            });
        }
        let mut installed = self
            .modules
            .remove(name)
            .ok_or_else(|| Error::NotInstalled {
                module: name.into(),
            })?;
        let result = self.start_installed(&mut installed).await;
        installed.state = if result.is_ok() {
            ModuleState::Running
        } else {
            ModuleState::Failed
        };
        // A worker that died during the call marked nothing (the module was out of the map).
        self.modules.insert(name.to_string(), installed);
        result
    }

    async fn start_installed(&mut self, installed: &mut Installed) -> Result<Call<()>> {
        let config = installed.manifest.config.clone();
        match &mut installed.placement {
            Placement::Main { loaded, instance } => {
                *instance = None;
                let mut fresh = loaded
                    .instantiate(&self.options.sandbox(&installed.manifest, Vec::new()))
                    .await?;
                let call = fresh.start(&config).await?;
                *instance = Some(fresh);
                Ok(call)
            }
            Placement::Worker { .. } => {
                let (key, group) = self.reinstall_if_needed(installed).await?;
                let deadline = installed
                    .manifest
                    .limits
                    .timeout
                    .saturating_mul(2)
                    .saturating_add(WORKER_GRACE);
                match self
                    .worker_call(&group, &Request::Start { key, config }, deadline)
                    .await?
                {
                    Reply::Started(call) => Ok(call),
                    other => Err(unexpected(&other)),
                }
            }
        }
    }

    /// A worker placement whose worker died (or never had it) gets installed again.
    async fn reinstall_if_needed(&mut self, installed: &mut Installed) -> Result<(String, String)> {
        let Placement::Worker {
            key,
            group,
            installed_in,
            ..
        } = &installed.placement
        else {
            unreachable!("only worker placements are reinstalled");
        };
        let (key, group) = (key.clone(), group.clone());
        let live = self.workers.get(&group).map(|worker| worker.generation);
        if installed_in.is_none() || *installed_in != live {
            let manifest = installed.manifest.clone();
            self.install_in_worker(&manifest, &mut installed.placement)
                .await?;
        }
        Ok((key, group))
    }

    /// Delivers one event to a running module. The guest's own `Err` is in the value;
    /// a trap or a limit fails the module.
    pub async fn handle(
        &mut self,
        name: &str,
        topic: &str,
        payload: &[u8],
    ) -> Result<Call<Result<Vec<u8>, String>>> {
        let module = self.module_mut(name)?;
        if module.state != ModuleState::Running {
            return Err(Error::WrongState {
                module: name.into(),
                action: "handle an event for".into(),
                state: module.state,
            });
        }
        let result = match &mut module.placement {
            Placement::Main { instance, .. } => match instance.as_mut() {
                Some(running) => running.handle(topic, payload).await,
                None => Err(Error::Host(format!("module '{name}' has no instance"))),
            },
            Placement::Worker { key, group, .. } => {
                let request = Request::Handle {
                    key: key.clone(),
                    topic: topic.to_string(),
                    payload: payload.to_vec(),
                };
                let (group, deadline) = (
                    group.clone(),
                    module.manifest.limits.timeout.saturating_add(WORKER_GRACE),
                );
                match self.worker_call(&group, &request, deadline).await {
                    Ok(Reply::Handled(call)) => Ok(call),
                    Ok(other) => Err(unexpected(&other)),
                    Err(error) => Err(error),
                }
            }
        };
        if result.is_err() {
            self.fail(name);
        }
        result
    }

    /// Calls any function a running module exports, written as a WAVE call
    /// such as `handle("greet", [104, 105])`; the results come back in WAVE syntax.
    ///
    /// A call that does not fit (unknown function, bad arguments) leaves the
    /// module running; a trap or a limit fails it, as with [`Host::handle`].
    pub async fn invoke(&mut self, name: &str, call: &str) -> Result<Call<String>> {
        let module = self.module_mut(name)?;
        if module.state != ModuleState::Running {
            return Err(Error::WrongState {
                module: name.into(),
                action: "invoke a function of".into(),
                state: module.state,
            });
        }
        let result = match &mut module.placement {
            Placement::Main { instance, .. } => match instance.as_mut() {
                Some(running) => running.invoke(call).await,
                None => Err(Error::Host(format!("module '{name}' has no instance"))),
            },
            Placement::Worker { key, group, .. } => {
                let request = Request::Invoke {
                    key: key.clone(),
                    call: call.to_string(),
                };
                let (group, deadline) = (
                    group.clone(),
                    module.manifest.limits.timeout.saturating_add(WORKER_GRACE),
                );
                match self.worker_call(&group, &request, deadline).await {
                    Ok(Reply::Invoked(call)) => Ok(call),
                    Ok(other) => Err(unexpected(&other)),
                    Err(error) => Err(error),
                }
            }
        };
        if matches!(&result, Err(error) if !matches!(error, Error::Invoke { .. })) {
            self.fail(name);
        }
        result
    }

    /// Marks `name` failed and drops its instance (its store may be poisoned).
    fn fail(&mut self, name: &str) {
        if let Some(module) = self.modules.get_mut(name) {
            module.state = ModuleState::Failed;
            if let Placement::Main { instance, .. } = &mut module.placement {
                *instance = None;
            }
        }
    }

    /// Calls `lifecycle.stop` (bounded by the timeout) and tears the instance down.
    ///
    /// The instance is gone afterwards whatever `stop` returned; an error from
    /// the guest is reported, and the module is `Stopped` (or `Failed` on a trap).
    pub async fn stop(&mut self, name: &str) -> Result<Call<()>> {
        let module = self.module_mut(name)?;
        if module.state != ModuleState::Running {
            return Err(Error::WrongState {
                module: name.into(),
                action: "stop".into(),
                state: module.state,
            });
        }
        let result = match &mut module.placement {
            Placement::Main { instance, .. } => match instance.take() {
                Some(mut running) => running.stop().await,
                None => Err(Error::Host(format!("module '{name}' has no instance"))),
            },
            Placement::Worker { key, group, .. } => {
                let request = Request::Stop { key: key.clone() };
                let (group, deadline) = (
                    group.clone(),
                    module.manifest.limits.timeout.saturating_add(WORKER_GRACE),
                );
                match self.worker_call(&group, &request, deadline).await {
                    Ok(Reply::Stopped(call)) => Ok(call),
                    Ok(other) => Err(unexpected(&other)),
                    Err(error) => Err(error),
                }
            }
        };
        if let Some(module) = self.modules.get_mut(name) {
            module.state = match &result {
                Ok(_) | Err(Error::Guest { .. }) => ModuleState::Stopped,
                Err(_) => ModuleState::Failed,
            };
        }
        result
    }

    /// Runs a `wasi:cli/command` module with `args` (the program name is added first).
    ///
    /// Output goes where the host's [`HostOptions::stdio`] says; each run is a fresh instance.
    pub async fn run(&mut self, name: &str, args: &[String]) -> Result<Call<CommandOutput>> {
        let module = self.module_mut(name)?;
        if module.kind != ComponentKind::Command {
            return Err(Error::WrongKind {
                module: name.into(),
                kind: module.kind.to_string(),
                action: "be run as a command".into(),
            });
        }
        let mut argv = vec![name.to_string()];
        argv.extend(args.iter().cloned());
        let mut installed = self
            .modules
            .remove(name)
            .ok_or_else(|| Error::NotInstalled {
                module: name.into(),
            })?;
        let result = match &installed.placement {
            Placement::Main { loaded, .. } => {
                let loaded = loaded.clone();
                loaded
                    .run_command(&self.options.sandbox(&installed.manifest, argv))
                    .await
            }
            Placement::Worker { .. } => match self.reinstall_if_needed(&mut installed).await {
                Ok((key, group)) => {
                    let output = OutputMode::for_stdio(&self.options.stdio);
                    let deadline = installed
                        .manifest
                        .limits
                        .timeout
                        .saturating_add(WORKER_GRACE);
                    match self
                        .worker_call(
                            &group,
                            &Request::Run {
                                key,
                                args: argv,
                                output,
                            },
                            deadline,
                        )
                        .await
                    {
                        Ok(Reply::Ran(call)) => Ok(call),
                        Ok(other) => Err(unexpected(&other)),
                        Err(error) => Err(error),
                    }
                }
                Err(error) => Err(error),
            },
        };
        installed.state = if result.is_ok() {
            ModuleState::Installed
        } else {
            ModuleState::Failed
        };
        self.modules.insert(name.to_string(), installed);
        result
    }

    /// Replaces `manifest.module.name` with a new version: installs it, starts
    /// it, and only then stops and retires the old one. If the new version
    /// fails to install or start, the old one keeps running and the error says so.
    pub async fn update(&mut self, manifest: Manifest, wasm: Vec<u8>) -> Result<Call<()>> {
        let name = manifest.module.name.clone();
        let old = self.modules.get(&name).ok_or_else(|| Error::NotInstalled {
            module: name.clone(),
        })?;
        let running = old.manifest.module.version.to_string();
        let was_running = old.state == ModuleState::Running;
        let failed = |cause: Error| Error::UpdateFailed {
            module: name.clone(),
            running: running.clone(),
            cause: Box::new(cause),
        };
        let mut fresh = self.prepare(manifest, wasm).await.map_err(&failed)?;
        let call = if fresh.kind == ComponentKind::Module {
            match self.start_installed(&mut fresh).await {
                Ok(call) => Some(call),
                Err(error) => {
                    self.discard(&fresh).await;
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
            self.discard(&old).await;
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
        let module = self.modules.get(name).ok_or_else(|| Error::NotInstalled {
            module: name.to_string(),
        })?;
        if module.state == ModuleState::Running
            && let Err(error) = self.stop(name).await
        {
            tracing::warn!("'{name}' did not stop cleanly before removal: {error}");
        }
        if let Some(module) = self.modules.remove(name) {
            self.discard(&module).await;
        }
        Ok(())
    }

    /// Frees a version's place in its worker, if it has one.
    async fn discard(&mut self, installed: &Installed) {
        if let Placement::Worker {
            key,
            group,
            installed_in: Some(generation),
            ..
        } = &installed.placement
        {
            let live = self.workers.get(group).map(|worker| worker.generation);
            if live == Some(*generation) {
                let _ = self
                    .worker_call(group, &Request::Remove { key: key.clone() }, WORKER_GRACE)
                    .await;
            }
        }
    }
}

fn unexpected(reply: &Reply) -> Error {
    Error::Host(format!("worker sent an unexpected reply: {reply:?}"))
}
