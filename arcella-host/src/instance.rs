//! Running guests in this process: a loaded component, its instances, and each call's limits.
//!
//! Every call sets fresh fuel, an epoch deadline and a wall-clock bound, and
//! turns whatever stopped the guest into a typed [`Error`] naming the limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, InstancePre};
use wasmtime::{Engine, Store, Trap};
use wasmtime_wasi::I32Exit;

use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::bindings::{Module as ModuleBindings, ModulePre};
use crate::cache::CompileCache;
use crate::engine::{EngineSettings, shared_engine};
use crate::error::{Error, Result};
use crate::kind::{ComponentKind, detect, export_names};
use crate::limits::Limits;
use crate::logging::LogRecord;
use crate::output::Captured;
use crate::sandbox::{GuestState, SandboxSettings, new_store, shared_linker};

/// Extra wall-clock time after the timeout before a call blocked in a host
/// call (where epochs cannot interrupt it) is abandoned.
const HOST_CALL_GRACE: Duration = Duration::from_millis(250);

/// What one call cost, beside its result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Call<T> {
    /// What the call returned.
    pub value: T,
    /// Fuel it consumed.
    pub fuel: u64,
    /// Log records the guest wrote during the call, up to a per-call bound.
    pub logs: Vec<LogRecord>,
    /// Records written past that bound: emitted as they came, not kept in `logs`.
    pub dropped_logs: u64,
    /// How long it took.
    pub duration: Duration,
}

/// The result of running a `wasi:cli/command`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommandOutput {
    /// The guest's exit code (0 when `run` returned `ok`, 1 for `err`).
    pub exit_code: i32,
    /// Captured stdout (empty unless capturing).
    pub stdout: Captured,
    /// Captured stderr (empty unless capturing).
    pub stderr: Captured,
}

/// A compiled component, linked and ready to instantiate many times.
pub struct Loaded {
    name: String,
    kind: ComponentKind,
    engine: Engine,
    pre: InstancePre<GuestState>,
    module_pre: Option<ModulePre<GuestState>>,
    command_pre: Option<CommandPre<GuestState>>,
    proxy_pre: Option<ProxyPre<GuestState>>,
    metered: bool,
    functions: Arc<Vec<ExportedFunc>>,
}

/// A function a component exports, inside an exported interface or at the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFunc {
    /// The exported interface (`arcella:component/handler@0.1.0`), or empty at the top level.
    pub interface: String,
    /// The function's name (`handle`).
    pub name: String,
}

impl std::fmt::Display for ExportedFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.interface.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}#{}", self.interface, self.name)
        }
    }
}

fn exported_functions(engine: &Engine, component: &Component) -> Vec<ExportedFunc> {
    use wasmtime::component::types::ComponentItem;
    let mut functions = Vec::new();
    for (name, item) in component.component_type().exports(engine) {
        match item.ty {
            ComponentItem::ComponentFunc(_) => functions.push(ExportedFunc {
                interface: String::new(),
                name: name.to_string(),
            }),
            ComponentItem::ComponentInstance(instance) => {
                for (func, item) in instance.exports(engine) {
                    if matches!(item.ty, ComponentItem::ComponentFunc(_)) {
                        functions.push(ExportedFunc {
                            interface: name.to_string(),
                            name: func.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    functions
}

impl Loaded {
    /// Links `component` against WASI and Arcella's interfaces.
    pub fn new(name: &str, engine: &Engine, component: &Component, metered: bool) -> Result<Self> {
        let load_error = |message: String| Error::Load {
            module: name.to_string(),
            message,
        };
        let kind = detect(engine, component).ok_or_else(|| {
            load_error(format!(
                "it exports none of arcella:component/handler, wasi:cli/run or wasi:http/incoming-handler (it exports: {})",
                export_names(engine, component).join(", ")
            ))
        })?;
        let linker = shared_linker(engine).map_err(|error| load_error(format!("{error:#}")))?;
        let pre = linker
            .instantiate_pre(component)
            .map_err(|error| load_error(format!("{error:#}")))?;
        let module_pre = match kind {
            ComponentKind::Module => Some(
                ModulePre::new(pre.clone()).map_err(|error| load_error(format!("{error:#}")))?,
            ),
            _ => None,
        };
        let command_pre = match kind {
            ComponentKind::Command => Some(
                CommandPre::new(pre.clone()).map_err(|error| load_error(format!("{error:#}")))?,
            ),
            _ => None,
        };
        let proxy_pre = match kind {
            ComponentKind::Http => {
                Some(ProxyPre::new(pre.clone()).map_err(|error| load_error(format!("{error:#}")))?)
            }
            _ => None,
        };
        Ok(Self {
            name: name.to_string(),
            kind,
            engine: engine.clone(),
            pre,
            module_pre,
            command_pre,
            proxy_pre,
            metered,
            functions: Arc::new(exported_functions(engine, component)),
        })
    }

    /// Checks the size cap, then compiles `wasm` (through `cache` when given) and links it.
    pub fn compile(
        name: &str,
        wasm: &[u8],
        settings: EngineSettings,
        cache: Option<&CompileCache>,
    ) -> Result<Self> {
        let metered = settings.fuel_metering;
        let load_error = |message: String| Error::Load {
            module: name.to_string(),
            message,
        };
        let engine = shared_engine(settings).map_err(|error| load_error(format!("{error:#}")))?;
        let component = compiled(&engine, settings, wasm, cache)
            .map_err(|error| load_error(format!("{error:#}")))?;
        Self::new(name, &engine, &component, metered)
    }

    /// [`compile`](Self::compile) by the `blake3` hash of the component's
    /// bytes alone: `None` when neither this process nor `cache` has it compiled.
    pub fn cached(
        name: &str,
        hash: &[u8; 32],
        settings: EngineSettings,
        cache: Option<&CompileCache>,
    ) -> Result<Option<Self>> {
        let engine = shared_engine(settings).map_err(|error| Error::Load {
            module: name.to_string(),
            message: format!("{error:#}"),
        })?;
        match compiled_by_hash(&engine, settings, hash, cache) {
            Some(component) => {
                Self::new(name, &engine, &component, settings.fuel_metering).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind of component.
    pub fn kind(&self) -> ComponentKind {
        self.kind
    }

    /// The engine it was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linked component, for callers that instantiate it themselves.
    pub fn instance_pre(&self) -> &InstancePre<GuestState> {
        &self.pre
    }

    fn store(&self, settings: &SandboxSettings) -> Result<Store<GuestState>> {
        new_store(&self.engine, &self.name, settings).map_err(Error::Host)
    }

    /// The pre-instantiated `wasi:http/proxy`, for HTTP components.
    pub(crate) fn proxy_pre(&self) -> Option<&ProxyPre<GuestState>> {
        self.proxy_pre.as_ref()
    }

    /// Whether calls are metered with fuel.
    pub(crate) fn metered(&self) -> bool {
        self.metered
    }

    /// A fresh store under `settings`, for callers that drive the guest themselves.
    pub(crate) fn new_store(&self, settings: &SandboxSettings) -> Result<Store<GuestState>> {
        self.store(settings)
    }

    /// Instantiates a module-world component (it is not started yet).
    pub async fn instantiate(&self, settings: &SandboxSettings) -> Result<Instance> {
        let Some(module_pre) = &self.module_pre else {
            return Err(self.wrong_kind("be started"));
        };
        let mut store = self.store(settings)?;
        let limits = settings.limits.clone();
        let started = arm(&mut store, &limits, self.metered)?;
        let outcome = bounded(&limits, async {
            let instance = module_pre
                .instance_pre()
                .instantiate_async(&mut store)
                .await?;
            let bindings = ModuleBindings::new(&mut store, &instance)?;
            Ok((instance, bindings))
        })
        .await;
        let (instance, bindings) =
            settle(&mut store, &limits, self.metered, started, outcome)?.value;
        Ok(Instance {
            store,
            instance,
            bindings,
            limits,
            metered: self.metered,
            functions: self.functions.clone(),
        })
    }

    /// Runs a `wasi:cli/command` to completion, with `settings.args` as its arguments.
    pub async fn run_command(&self, settings: &SandboxSettings) -> Result<Call<CommandOutput>> {
        let Some(command_pre) = &self.command_pre else {
            return Err(self.wrong_kind("be run as a command"));
        };
        let mut store = self.store(settings)?;
        let limits = settings.limits.clone();
        let started = arm(&mut store, &limits, self.metered)?;
        let outcome = bounded(&limits, async {
            let command = command_pre.instantiate_async(&mut store).await?;
            command.wasi_cli_run().call_run(&mut store).await
        })
        .await;
        let call = settle(&mut store, &limits, self.metered, started, outcome);
        let exit_code = match call {
            Ok(ref call) => i32::from(call.value.is_err()),
            Err(Error::Trap { ref message, .. }) if message.starts_with(EXIT_PREFIX) => {
                message[EXIT_PREFIX.len()..].parse().unwrap_or(1)
            }
            Err(error) => return Err(error),
        };
        let (stdout, stderr) = store.data().take_output();
        let (fuel, logs, dropped_logs, duration) = match call {
            Ok(call) => (call.fuel, call.logs, call.dropped_logs, call.duration),
            Err(_) => {
                let (logs, dropped) = store.data_mut().take_logs();
                (
                    fuel_used(&store, &limits, self.metered),
                    logs,
                    dropped,
                    Duration::ZERO,
                )
            }
        };
        Ok(Call {
            value: CommandOutput {
                exit_code,
                stdout,
                stderr,
            },
            fuel,
            logs,
            dropped_logs,
            duration,
        })
    }

    fn wrong_kind(&self, action: &str) -> Error {
        Error::WrongKind {
            module: self.name.clone(),
            kind: self.kind.to_string(),
            action: action.to_string(),
        }
    }
}

/// Compiled components kept in memory per process.
const MAX_COMPILED_IN_MEMORY: usize = 64;

/// Components compiled in this process, by engine settings and `blake3` of their bytes.
type Compiled = std::collections::HashMap<(EngineSettings, [u8; 32]), Component>;

fn compiled_in_memory() -> std::sync::MutexGuard<'static, Option<Compiled>> {
    static COMPILED: std::sync::Mutex<Option<Compiled>> = std::sync::Mutex::new(None);
    COMPILED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn remember(key: (EngineSettings, [u8; 32]), component: &Component) {
    let mut guard = compiled_in_memory();
    let compiled = guard.get_or_insert_with(Default::default);
    // A long-lived host that sees many versions keeps only the recent ones.
    if compiled.len() >= MAX_COMPILED_IN_MEMORY {
        compiled.clear();
    }
    compiled.insert(key, component.clone());
}

/// The compiled form of `wasm`: from this process's memory when it was
/// compiled here before, else from the disk cache, else compiled now.
fn compiled(
    engine: &Engine,
    settings: EngineSettings,
    wasm: &[u8],
    cache: Option<&CompileCache>,
) -> wasmtime::Result<Component> {
    let hash = blake3::hash(wasm);
    let key = (settings, *hash.as_bytes());
    if let Some(component) = compiled_in_memory()
        .as_ref()
        .and_then(|compiled| compiled.get(&key))
    {
        return Ok(component.clone());
    }
    let component = match cache {
        Some(cache) => cache
            .load_hashed(engine, wasm, &hash)
            .map(|(component, _)| component)?,
        None => Component::new(engine, wasm)?,
    };
    remember(key, &component);
    Ok(component)
}

/// The compiled form of the component whose bytes hash to `hash`, from
/// this process's memory or the disk cache, without its bytes.
fn compiled_by_hash(
    engine: &Engine,
    settings: EngineSettings,
    hash: &[u8; 32],
    cache: Option<&CompileCache>,
) -> Option<Component> {
    let key = (settings, *hash);
    if let Some(component) = compiled_in_memory()
        .as_ref()
        .and_then(|compiled| compiled.get(&key))
    {
        return Some(component.clone());
    }
    let component = cache?.lookup(engine, &blake3::Hash::from_bytes(*hash))?;
    remember(key, &component);
    Some(component)
}

/// How an `exit(code)` travels through the trap path to `run_command`.
const EXIT_PREFIX: &str = "exit with code ";

/// A running instance of a module-world component.
pub struct Instance {
    store: Store<GuestState>,
    instance: wasmtime::component::Instance,
    bindings: ModuleBindings,
    limits: Limits,
    metered: bool,
    functions: Arc<Vec<ExportedFunc>>,
}

impl Instance {
    /// Calls `lifecycle.start` with `config`.
    pub async fn start(&mut self, config: &Vec<(String, String)>) -> Result<Call<()>> {
        let started = arm(&mut self.store, &self.limits, self.metered)?;
        let outcome = bounded(
            &self.limits,
            self.bindings
                .arcella_component_lifecycle()
                .call_start(&mut self.store, config),
        )
        .await;
        let call = settle(
            &mut self.store,
            &self.limits,
            self.metered,
            started,
            outcome,
        )?;
        self.guest_result(call, "start")
    }

    /// Calls `lifecycle.stop`.
    pub async fn stop(&mut self) -> Result<Call<()>> {
        let started = arm(&mut self.store, &self.limits, self.metered)?;
        let outcome = bounded(
            &self.limits,
            self.bindings
                .arcella_component_lifecycle()
                .call_stop(&mut self.store),
        )
        .await;
        let call = settle(
            &mut self.store,
            &self.limits,
            self.metered,
            started,
            outcome,
        )?;
        self.guest_result(call, "stop")
    }

    /// Calls `handler.handle`; the guest's own `Err` is part of the value, not an [`Error`].
    pub async fn handle(
        &mut self,
        topic: &str,
        payload: &[u8],
    ) -> Result<Call<Result<Vec<u8>, String>>> {
        let started = arm(&mut self.store, &self.limits, self.metered)?;
        let outcome = bounded(
            &self.limits,
            self.bindings
                .arcella_component_handler()
                .call_handle(&mut self.store, topic, payload),
        )
        .await;
        settle(
            &mut self.store,
            &self.limits,
            self.metered,
            started,
            outcome,
        )
    }

    /// Calls any exported function, written as a WAVE call: `handle("greet", [104, 105])`.
    ///
    /// The function may be named bare (`handle`) when only one interface
    /// exports that name, or in full (`arcella:component/handler@0.1.0#handle`).
    /// The results come back in WAVE syntax, one value per result, joined by `, `.
    pub async fn invoke(&mut self, call: &str) -> Result<Call<String>> {
        use wasmtime::component::wasm_wave::untyped::UntypedFuncCall;
        use wasmtime::component::{Type, Val};
        let module = self.store.data().module().to_string();
        let invalid = |message: String| Error::Invoke {
            module: module.clone(),
            message,
        };
        // WAVE names cannot hold `#`, so a qualified `interface#func(…)` is split first.
        let (interface, bare_call) = match call
            .split_once('(')
            .map(|(head, _)| head)
            .and_then(|head| head.rsplit_once('#'))
        {
            Some((interface, _)) => (Some(interface.trim()), &call[interface.len() + 1..]),
            None => (None, call),
        };
        let parsed = UntypedFuncCall::parse(bare_call)
            .map_err(|error| invalid(format!("`{call}` is not a WAVE call: {error}")))?;
        let wanted = parsed.name();
        let matches: Vec<&ExportedFunc> = self
            .functions
            .iter()
            .filter(|func| {
                func.name == wanted && interface.is_none_or(|interface| func.interface == interface)
            })
            .collect();
        let target = match matches.as_slice() {
            [one] => (*one).clone(),
            [] => {
                let known: Vec<String> = self.functions.iter().map(ToString::to_string).collect();
                return Err(invalid(format!(
                    "no exported function `{wanted}`; the component exports: {}",
                    known.join(", ")
                )));
            }
            many => {
                let names: Vec<String> = many.iter().map(ToString::to_string).collect();
                return Err(invalid(format!(
                    "`{wanted}` is ambiguous; name one of: {}",
                    names.join(", ")
                )));
            }
        };
        let parent = if target.interface.is_empty() {
            None
        } else {
            self.instance
                .get_export_index(&mut self.store, None, &target.interface)
        };
        let func = self
            .instance
            .get_export_index(&mut self.store, parent.as_ref(), &target.name)
            .and_then(|index| self.instance.get_func(&mut self.store, index))
            .ok_or_else(|| invalid(format!("`{target}` is not a function")))?;
        let param_types: Vec<Type> = func.ty(&self.store).params().map(|(_, ty)| ty).collect();
        let params: Vec<Val> = parsed
            .to_wasm_params(param_types.iter())
            .map_err(|error| invalid(format!("bad arguments for `{target}`: {error}")))?;
        let mut results = vec![Val::Bool(false); func.ty(&self.store).results().len()];
        let started = arm(&mut self.store, &self.limits, self.metered)?;
        let outcome = bounded(
            &self.limits,
            func.call_async(&mut self.store, &params, &mut results),
        )
        .await;
        let call = settle(
            &mut self.store,
            &self.limits,
            self.metered,
            started,
            outcome,
        )?;
        let rendered: Vec<String> = results
            .iter()
            .map(|value| {
                wasmtime::component::wasm_wave::to_string(value)
                    .unwrap_or_else(|error| format!("<{error}>"))
            })
            .collect();
        Ok(Call {
            value: rendered.join(", "),
            fuel: call.fuel,
            logs: call.logs,
            dropped_logs: call.dropped_logs,
            duration: call.duration,
        })
    }

    fn guest_result(&self, call: Call<Result<(), String>>, action: &str) -> Result<Call<()>> {
        match call.value {
            Ok(()) => Ok(Call {
                value: (),
                fuel: call.fuel,
                logs: call.logs,
                dropped_logs: call.dropped_logs,
                duration: call.duration,
            }),
            Err(message) => Err(Error::Guest {
                module: self.store.data().module().to_string(),
                action: action.to_string(),
                message,
            }),
        }
    }
}

/// Prepares a store for one call: fresh fuel, a deadline checked at every
/// epoch tick, a clear limiter.
pub(crate) fn arm(
    store: &mut Store<GuestState>,
    limits: &Limits,
    metered: bool,
) -> Result<Instant> {
    if metered {
        store
            .set_fuel(limits.fuel)
            .map_err(|error| Error::Host(error.to_string()))?;
    }
    let started = Instant::now();
    store.data_mut().call_deadline = Some(
        started
            .checked_add(limits.timeout)
            .unwrap_or_else(|| started + Limits::MAX_TIMEOUT),
    );
    store.set_epoch_deadline(1);
    store.data_mut().limiter.refused = false;
    Ok(started)
}

/// Bounds a call's wall-clock time, including time blocked in host calls
/// where epochs cannot interrupt it. `None` when the bound was reached.
async fn bounded<T>(
    limits: &Limits,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> Option<wasmtime::Result<T>> {
    tokio::time::timeout(limits.timeout.saturating_add(HOST_CALL_GRACE), call)
        .await
        .ok()
}

/// Turns a call's outcome into a [`Call`] or the typed error that names what stopped it.
fn settle<T>(
    store: &mut Store<GuestState>,
    limits: &Limits,
    metered: bool,
    started: Instant,
    outcome: Option<wasmtime::Result<T>>,
) -> Result<Call<T>> {
    let duration = started.elapsed();
    let fuel = fuel_used(store, limits, metered);
    let (logs, dropped_logs) = store.data_mut().take_logs();
    match outcome {
        Some(Ok(value)) => Ok(Call {
            value,
            fuel,
            logs,
            dropped_logs,
            duration,
        }),
        Some(Err(error)) => Err(classify(&error, store, limits)),
        None => Err(Error::Timeout {
            module: store.data().module().to_string(),
            after: limits.timeout,
        }),
    }
}

pub(crate) fn fuel_used(store: &Store<GuestState>, limits: &Limits, metered: bool) -> u64 {
    if !metered {
        return 0;
    }
    store
        .get_fuel()
        .map_or(0, |left| limits.fuel.saturating_sub(left))
}

/// Names what stopped the guest.
pub(crate) fn classify(
    error: &wasmtime::Error,
    store: &Store<GuestState>,
    limits: &Limits,
) -> Error {
    let module = store.data().module().to_string();
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Error::Trap {
            module,
            message: format!("{EXIT_PREFIX}{}", exit.0),
            backtrace: None,
        };
    }
    let backtrace = error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(crate::backtrace::render);
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => {
            return Error::FuelExhausted {
                module,
                limit: limits.fuel,
            };
        }
        Some(Trap::Interrupt) => {
            return Error::Timeout {
                module,
                after: limits.timeout,
            };
        }
        Some(Trap::StackOverflow) => return Error::StackOverflow { module, backtrace },
        _ => {}
    }
    if store.data().limiter.refused {
        return Error::MemoryLimit {
            module,
            limit: limits.memory,
        };
    }
    let message = match error.downcast_ref::<Trap>() {
        Some(trap) => trap
            .to_string()
            .trim_start_matches("wasm trap: ")
            .to_string(),
        None => format!("{error}"),
    };
    Error::Trap {
        module,
        message,
        backtrace,
    }
}
