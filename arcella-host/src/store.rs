//! A guest's store: the state of the host services it uses, built from a
//! [`Sandbox`] that resolved the component's grants once, at install.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::sockets::WasiSocketsCtxView;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities::Capabilities;
use crate::enforce::{self, StoreLimiter};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::services::calls::{ServiceCall, ServiceCallCallback};
use crate::services::config::ConfigValues;
use crate::services::keyvalue::{KeyValue, KeyValueState};
use crate::services::logging::{CallLog, LogCallback};
use crate::services::outbound_http::{OutboundCallback, OutboundHooks, OutboundPolicy};
use crate::services::sockets::{GuardedLookup, SocketPolicy};
use crate::services::wasi::WasiPlan;
use crate::services::wasi::dir_grants::OpenedDirs;
use crate::services::wasi::output::{Captured, OutputSink, Stdio};
use crate::services::{Backends, Uses};

/// Resource-table entries a guest may hold at once (streams, pollables, descriptors…).
pub const MAX_RESOURCES: usize = 10_000;

/// Who hears what guests report as it happens: their log records, the
/// outbound requests the host decided on, and their calls to the keyvalue
/// and config services. Workers send all of them back to the host.
#[derive(Clone, Default)]
pub struct Observers {
    /// Receives each guest log record as it is written.
    pub on_log: Option<LogCallback>,
    /// Receives each outbound HTTP request that was denied or mocked.
    pub on_outbound: Option<OutboundCallback>,
    /// Receives each call to `wasi:keyvalue` and `wasi:config`, in order;
    /// when `None`, no record is made.
    pub on_service_call: Option<ServiceCallCallback>,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("on_log", &self.on_log.is_some())
            .field("on_outbound", &self.on_outbound.is_some())
            .field("on_service_call", &self.on_service_call.is_some())
            .finish()
    }
}

/// What a component's stores are built from, before its grants are resolved.
#[derive(Clone, Debug, Default)]
pub struct SandboxSettings {
    /// Per-call limits.
    pub limits: Limits,
    /// What the guest may reach.
    pub capabilities: Capabilities,
    /// Arguments (`wasi:cli/environment.get-arguments`), the program name first.
    pub args: Vec<String>,
    /// Clocks and random numbers that give the same values on every run.
    pub deterministic: bool,
    /// Where stdout and stderr go.
    pub stdio: Stdio,
    /// Who hears guest logs and outbound requests.
    pub observers: Observers,
    /// The services' backends.
    pub backends: Backends,
    /// The resolved `[config]`: what `lifecycle.start` and `wasi:config` get.
    pub config: ConfigValues,
    /// The host's key-value store (in a worker, its connection to it);
    /// `None` refuses every keyvalue call.
    pub keyvalue: Option<KeyValue>,
}

/// A component's grants resolved once (environment read, directories opened
/// on first use, policies shared), from which each store is built cheaply.
#[derive(Clone, Debug)]
pub struct Sandbox {
    module: Arc<str>,
    limits: Limits,
    wasi: WasiPlan,
    sockets: SocketPolicy,
    outbound: Option<Arc<OutboundPolicy>>,
    observers: Observers,
    stdio: Stdio,
    args: Vec<String>,
    config: ConfigValues,
    keyvalue: Option<KeyValue>,
    keyvalue_grants: Arc<[String]>,
}

impl Sandbox {
    /// The sandbox of `module` under `settings`, for a component that uses `uses`.
    pub(crate) fn new(module: &str, settings: &SandboxSettings, uses: Uses) -> Self {
        let module: Arc<str> = module.into();
        let outbound = uses.http.then(|| {
            Arc::new(OutboundPolicy {
                module: module.clone(),
                allow: settings.capabilities.http.as_slice().into(),
                network: Arc::new(settings.backends.network.clone()),
                on_outbound: settings.observers.on_outbound.clone(),
            })
        });
        Self {
            sockets: SocketPolicy::new(&module, &settings.capabilities.sockets),
            wasi: WasiPlan::new(
                &settings.capabilities,
                OpenedDirs::default(),
                settings.deterministic,
            ),
            module,
            limits: settings.limits.clone(),
            outbound,
            observers: settings.observers.clone(),
            stdio: settings.stdio.clone(),
            args: settings.args.clone(),
            config: settings.config.clone(),
            keyvalue: settings.keyvalue.clone(),
            keyvalue_grants: settings.capabilities.keyvalue.as_slice().into(),
        }
    }

    /// The same sandbox for one command run: its arguments, its output.
    pub(crate) fn for_run(&self, args: Vec<String>, stdio: Stdio) -> Self {
        Self {
            args,
            stdio,
            ..self.clone()
        }
    }

    /// The per-call limits.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The resolved `[config]`.
    pub(crate) fn config(&self) -> &ConfigValues {
        &self.config
    }

    /// A fresh store, its limits enforced.
    pub(crate) fn store(&self, engine: &Engine) -> Result<Store<GuestState>> {
        let (wasi, stdout, stderr) = self
            .wasi
            .build(&self.args, &self.stdio, &self.sockets)
            .map_err(|message| Error::Load {
                module: self.module.to_string(),
                message,
            })?;
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let state = GuestState {
            module: self.module.clone(),
            table,
            wasi,
            stdout,
            stderr,
            sockets: self.sockets.clone(),
            http: self.outbound.clone().map(HttpState::new),
            log: CallLog::default(),
            config: self.config.clone(),
            keyvalue: KeyValueState::new(
                self.keyvalue.clone().unwrap_or_default(),
                self.keyvalue_grants.clone(),
                self.limits.keyvalue,
                self.keyvalue
                    .is_none()
                    .then_some("no key-value store is configured for this sandbox"),
            ),
            observers: self.observers.clone(),
            limiter: StoreLimiter::new(self.limits.memory),
            call_deadline: None,
        };
        let mut store = Store::new(engine, state);
        enforce::watch(&mut store);
        Ok(store)
    }
}

/// The `wasi:http` state of a store whose component imports it.
struct HttpState {
    ctx: WasiHttpCtx,
    hooks: OutboundHooks,
}

impl HttpState {
    fn new(policy: Arc<OutboundPolicy>) -> Self {
        Self {
            ctx: WasiHttpCtx::new(),
            hooks: OutboundHooks(policy),
        }
    }
}

/// The data a guest's store holds: one part per host service, and its watch.
pub struct GuestState {
    pub(crate) module: Arc<str>,
    table: ResourceTable,
    wasi: WasiCtx,
    stdout: OutputSink,
    stderr: OutputSink,
    sockets: SocketPolicy,
    http: Option<HttpState>,
    pub(crate) log: CallLog,
    /// What `wasi:config/store` serves (shared with the sandbox).
    pub(crate) config: ConfigValues,
    /// What `wasi:keyvalue` reaches.
    pub(crate) keyvalue: KeyValueState,
    pub(crate) observers: Observers,
    pub(crate) limiter: StoreLimiter,
    /// When the current call must stop; set as each call is armed.
    pub(crate) call_deadline: Option<Instant>,
}

impl GuestState {
    /// Output captured so far, per stream.
    pub(crate) fn take_output(&self) -> (Captured, Captured) {
        (self.stdout.take_captured(), self.stderr.take_captured())
    }

    /// The resource table.
    pub(crate) fn table(&self) -> &ResourceTable {
        &self.table
    }

    /// The resource table, to change.
    pub(crate) fn table_mut(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// The module's name.
    pub(crate) fn module(&self) -> &str {
        &self.module
    }

    /// Tells the embedder of a service call if it listens; `call` makes the
    /// record only then, so that an unobserved call builds nothing.
    pub(crate) fn report(&self, call: impl FnOnce() -> ServiceCall) {
        if let Some(on_service_call) = &self.observers.on_service_call {
            on_service_call(&call());
        }
    }

    /// Name lookups under this guest's socket grants.
    pub(crate) fn guarded_lookup(&mut self) -> GuardedLookup<'_> {
        GuardedLookup {
            sockets: WasiSocketsCtxView {
                ctx: self.wasi.sockets(),
                table: &mut self.table,
            },
            policy: &self.sockets,
        }
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        // Only components that import `wasi:http` reach this; any other gets
        // a policy that allows nothing.
        let module = self.module.clone();
        let http = self.http.get_or_insert_with(|| {
            HttpState::new(Arc::new(OutboundPolicy {
                module,
                ..OutboundPolicy::default()
            }))
        });
        WasiHttpCtxView {
            ctx: &mut http.ctx,
            table: &mut self.table,
            hooks: &mut http.hooks,
        }
    }
}
