//! A compiled component, linked against the host's services and ready to
//! instantiate many times; and the in-memory table of compiled components.

use std::sync::Arc;

use wasmtime::component::{Component, InstancePre};
use wasmtime::{Engine, Store};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::bindings::ModuleIndices;
use crate::cache::CompileCache;
use crate::call::{Call, CommandOutput};
use crate::enforce::{Budget, guarded};
use crate::engine::{EngineSettings, shared_engine};
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::kind::{ComponentKind, detect, export_names};
use crate::services::{self, Uses};
use crate::store::{GuestState, Sandbox, SandboxSettings};

/// A compiled component, linked and ready to instantiate many times.
pub struct Loaded {
    name: String,
    kind: ComponentKind,
    engine: Engine,
    pre: InstancePre<GuestState>,
    uses: Uses,
    /// Where a module's exports are, found once: instantiation then needs no name lookups.
    module_indices: Option<ModuleIndices>,
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
        let uses = Uses::of(engine, component);
        let pre = linker
            .instantiate_pre(component)
            .map_err(|error| load_error(format!("{error:#}")))?;
        let module_indices = match kind {
            ComponentKind::Module => {
                Some(ModuleIndices::new(&pre).map_err(|error| load_error(format!("{error:#}")))?)
            }
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
            uses,
            module_indices,
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

    /// Whether calls are metered with fuel.
    pub(crate) fn metered(&self) -> bool {
        self.metered
    }

    /// The pre-instantiated `wasi:http/proxy`, for HTTP components.
    pub(crate) fn proxy_pre(&self) -> Option<&ProxyPre<GuestState>> {
        self.proxy_pre.as_ref()
    }

    /// The sandbox its stores are built from under `settings`: its grants
    /// resolved once, with state for only the services it imports.
    pub fn sandbox(&self, settings: &SandboxSettings) -> Sandbox {
        Sandbox::new(&self.name, settings, self.uses)
    }

    /// Instantiates a module-world component in a fresh store of `sandbox` (it is not started yet).
    pub async fn instantiate(&self, sandbox: &Sandbox) -> Result<Instance> {
        let Some(indices) = &self.module_indices else {
            return Err(self.wrong_kind("be started"));
        };
        let mut store = sandbox.store(&self.engine)?;
        let limits = sandbox.limits().clone();
        let budget = Budget {
            limits: &limits,
            metered: self.metered,
        };
        let (pre, indices) = (self.pre.clone(), indices.clone());
        let (instance, bindings) = guarded(&mut store, budget, async move |store| {
            let instance = pre.instantiate_async(&mut *store).await?;
            let bindings = indices.load(&mut *store, &instance)?;
            Ok((instance, bindings))
        })
        .await?
        .value;
        Ok(Instance::new(
            store,
            instance,
            bindings,
            limits,
            self.metered,
            self.functions.clone(),
        ))
    }

    /// Runs a `wasi:cli/command` to completion in a fresh store of `sandbox`.
    pub async fn run_command(&self, sandbox: &Sandbox) -> Result<Call<CommandOutput>> {
        let Some(command_pre) = &self.command_pre else {
            return Err(self.wrong_kind("be run as a command"));
        };
        let mut store: Store<GuestState> = sandbox.store(&self.engine)?;
        let budget = Budget {
            limits: sandbox.limits(),
            metered: self.metered,
        };
        let pre = command_pre.clone();
        let call = guarded(&mut store, budget, async move |store| {
            let command = pre.instantiate_async(&mut *store).await?;
            match command.wasi_cli_run().call_run(&mut *store).await {
                Ok(result) => Ok(i32::from(result.is_err())),
                // `exit(code)` ends the run with that code; it is not a trap.
                Err(error) => match error.downcast_ref::<I32Exit>() {
                    Some(exit) => Ok(exit.0),
                    None => Err(error),
                },
            }
        })
        .await?;
        let (stdout, stderr) = store.data().take_output();
        Ok(call.map(|exit_code| CommandOutput {
            exit_code,
            stdout,
            stderr,
        }))
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

/// The linker every guest is instantiated with, built once per engine.
fn shared_linker(engine: &Engine) -> wasmtime::Result<wasmtime::component::Linker<GuestState>> {
    static LINKERS: std::sync::Mutex<Vec<(Engine, wasmtime::component::Linker<GuestState>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut linkers = LINKERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, linker)) = linkers
        .iter()
        .find(|(known, _)| Engine::same(known, engine))
    {
        return Ok(linker.clone());
    }
    let linker = services::linker(engine)?;
    linkers.push((engine.clone(), linker.clone()));
    Ok(linker)
}
