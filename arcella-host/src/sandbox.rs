//! A guest's store: its WASI context built from capabilities, its limits and its records.
//!
//! Everything a guest can reach is decided here, default-deny: no
//! environment, no preopened directories, no network endpoints and a closed
//! stdin unless the capabilities grant them.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::sockets::WasiSocketsCtxView;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::arcella::component::{logging, types};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities::Capabilities;
use crate::dir_grants::OpenedDirs;
use crate::http::outbound::{MockNetwork, OutboundPolicy};
use crate::limits::Limits;
use crate::logging::{LogCallback, LogRecord, MAX_RECORDS_PER_CALL, emit, truncate_message};
use crate::output::{Captured, OutputSink, Stdio, Stream};
use crate::sockets::{GuardedLookup, SocketPolicy, shadow_name_lookup};
use crate::store_limiter::StoreLimiter;

/// Resource-table entries a guest may hold at once (streams, pollables, descriptors…).
pub const MAX_RESOURCES: usize = 10_000;

/// Bytes of log messages one call keeps in its result (and so in a worker's
/// reply frame); records past it are still emitted as they are written, and
/// counted as dropped from the result.
pub const MAX_LOG_BYTES_PER_CALL: usize = 1 << 20;

/// Bytes of randomness one `get-random-bytes` call may ask for.
pub const MAX_RANDOM_BYTES: u64 = 1 << 20;

/// Everything a store needs beyond the component: what the guest may reach and how it is watched.
#[derive(Clone, Default)]
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
    /// Receives log records as they come (besides `tracing`).
    pub on_log: Option<LogCallback>,
    /// Answers outbound HTTP instead of the network (tests); the allow-list still applies.
    pub mock_network: Option<Arc<dyn MockNetwork>>,
    /// The granted directories, opened by the first store and shared by the
    /// stores built from these settings (and their clones) after it.
    pub opened_dirs: OpenedDirs,
}

impl std::fmt::Debug for SandboxSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxSettings")
            .field("limits", &self.limits)
            .field("capabilities", &self.capabilities)
            .field("args", &self.args)
            .field("deterministic", &self.deterministic)
            .field("stdio", &self.stdio)
            .finish_non_exhaustive()
    }
}

/// The data a guest's store holds.
pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: StoreLimiter,
    module: String,
    logs: Vec<LogRecord>,
    log_bytes: usize,
    dropped_logs: u64,
    on_log: Option<LogCallback>,
    stdout: OutputSink,
    stderr: OutputSink,
    http: WasiHttpCtx,
    outbound: OutboundPolicy,
    sockets: SocketPolicy,
    /// When the current call must stop; set as each call is armed.
    pub(crate) call_deadline: Option<Instant>,
}

impl GuestState {
    /// Log records since the last [`GuestState::take_logs`].
    pub(crate) fn take_logs(&mut self) -> (Vec<LogRecord>, u64) {
        self.log_bytes = 0;
        (
            std::mem::take(&mut self.logs),
            std::mem::take(&mut self.dropped_logs),
        )
    }

    /// Output captured so far, per stream.
    pub(crate) fn take_output(&self) -> (Captured, Captured) {
        (self.stdout.take_captured(), self.stderr.take_captured())
    }

    /// The module's name.
    pub(crate) fn module(&self) -> &str {
        &self.module
    }

    /// Name lookups under this guest's socket grants.
    fn guarded_lookup(&mut self) -> GuardedLookup<'_> {
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
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl types::Host for GuestState {}

impl logging::Host for GuestState {
    fn log(&mut self, level: types::Level, message: String) {
        let record = LogRecord {
            module: self.module.clone(),
            level: level.into(),
            message: truncate_message(message),
        };
        emit(&record);
        if let Some(on_log) = &self.on_log {
            on_log(&record);
        }
        let bytes = record.message.len() + record.module.len();
        if self.logs.len() < MAX_RECORDS_PER_CALL
            && self.log_bytes + bytes <= MAX_LOG_BYTES_PER_CALL
        {
            self.log_bytes += bytes;
            self.logs.push(record);
        } else {
            self.dropped_logs += 1;
        }
    }
}

/// The linker every guest is instantiated with, built once per engine.
pub(crate) fn shared_linker(engine: &Engine) -> wasmtime::Result<Linker<GuestState>> {
    static LINKERS: std::sync::Mutex<Vec<(Engine, Linker<GuestState>)>> =
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
    let linker = linker(engine)?;
    linkers.push((engine.clone(), linker.clone()));
    Ok(linker)
}

/// WASI 0.2 (with `wasi:http`) and Arcella's logging.
fn linker(engine: &Engine) -> wasmtime::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    shadow_name_lookup(&mut linker, GuestState::guarded_lookup)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    logging::add_to_linker::<GuestState, HasSelf<GuestState>>(&mut linker, |state| state)?;
    types::add_to_linker::<GuestState, HasSelf<GuestState>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// A fresh store for `module` under `settings`.
pub(crate) fn new_store(
    engine: &Engine,
    module: &str,
    settings: &SandboxSettings,
) -> Result<Store<GuestState>, String> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.args(&settings.args).max_random_size(MAX_RANDOM_BYTES);
    let sockets = SocketPolicy::new(module, &settings.capabilities.sockets);
    sockets.configure(&mut wasi);
    for grant in &settings.capabilities.env {
        let value = grant
            .value
            .clone()
            .or_else(|| std::env::var(&grant.name).ok());
        if let Some(value) = value {
            wasi.env(&grant.name, value);
        }
    }
    let grants = &settings.capabilities.dirs;
    for (grant, opened) in grants.iter().zip(settings.opened_dirs.paths_for(grants)?) {
        let perms = if grant.read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        wasi.preopened_dir(&opened, &grant.guest, perms)
            .map_err(|error| {
                format!(
                    "cannot open granted directory {}: {error}",
                    grant.host.display()
                )
            })?;
    }
    if settings.capabilities.stdin {
        wasi.inherit_stdin();
    }
    let stdout = OutputSink::new(Stream::Stdout, &settings.stdio);
    let stderr = OutputSink::new(Stream::Stderr, &settings.stdio);
    wasi.stdout(stdout.clone()).stderr(stderr.clone());
    if settings.deterministic {
        crate::determinism::apply(&mut wasi);
    }
    let state = GuestState {
        wasi: wasi.build(),
        table: {
            let mut table = ResourceTable::new();
            table.set_max_capacity(MAX_RESOURCES);
            table
        },
        limiter: StoreLimiter::new(settings.limits.memory),
        module: module.to_string(),
        logs: Vec::new(),
        log_bytes: 0,
        dropped_logs: 0,
        on_log: settings.on_log.clone(),
        stdout,
        stderr,
        http: WasiHttpCtx::new(),
        outbound: OutboundPolicy {
            module: module.to_string(),
            allow: settings.capabilities.http.clone(),
            mock: settings.mock_network.clone(),
        },
        sockets,
        call_deadline: None,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    // At each epoch tick a running guest either reaches its call's deadline
    // and traps, or yields to the runtime: a guest that spins cannot hold a
    // runtime thread from other requests and tasks until its timeout.
    store.epoch_deadline_callback(|store| {
        let expired = store
            .data()
            .call_deadline
            .is_none_or(|deadline| Instant::now() >= deadline);
        Ok(if expired {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });
    Ok(store)
}
