//! Where an installed module runs, behind one set of operations.
//!
//! An operation ([`Op`]) is written once, in [`Local::call`]: the host runs
//! it on a [`Local`] for modules in this process, and a worker runs the very
//! same code on its own `Local` for modules in a worker ([`Remote`] only
//! carries the operation across the pipe).

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::call::{Call, CommandOutput};
use crate::error::{Error, Result};
use crate::http::ServeOptions;
use crate::instance::Instance;
use crate::kind::ComponentKind;
use crate::limits::Limits;
use crate::loaded::Loaded;
use crate::services::wasi::output::{OutputCallback, Stdio};
use crate::store::{Sandbox, SandboxSettings};
use crate::worker::WorkerProcess;
use crate::worker::pool::WorkerPool;
use crate::worker::protocol::{OutputMode, Reply, Request, WireSettings};

/// Time a worker gets beyond a call's own bound to answer, before it is killed.
const WORKER_GRACE: Duration = Duration::from_secs(2);

/// How long a worker may take to compile a component before it is deemed hung.
const INSTALL_DEADLINE: Duration = Duration::from_secs(300);

/// Time a worker has to compile an HTTP component and bind its address.
const WORKER_START: Duration = Duration::from_secs(120);

/// One operation on an installed module. It borrows its arguments from the
/// caller in this process; read from a worker's channel it owns them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Op<'a> {
    /// Instantiate afresh and call `lifecycle.start` with the `[config]`
    /// table, as the sandbox resolved it at install.
    Start,
    /// Call `handler.handle`.
    Handle {
        /// The event's topic.
        topic: Cow<'a, str>,
        /// The event's payload.
        #[serde(with = "owned_bytes")]
        payload: Cow<'a, [u8]>,
    },
    /// Call any exported function, written as a WAVE call.
    Invoke {
        /// The call, e.g. `handle("greet", [104])`.
        call: Cow<'a, str>,
    },
    /// Call `lifecycle.stop` and drop the instance.
    Stop,
    /// Run a command in a fresh instance.
    Run {
        /// Arguments, the program name first.
        args: Vec<String>,
        /// Where its stdout and stderr go.
        output: OutputMode,
    },
}

/// Bytes sent as bytes (not a sequence of numbers), and always read owned:
/// a worker's frame buffer does not outlive the request.
mod owned_bytes {
    use std::borrow::Cow;

    // Serde's `with` hands over the field as it is declared.
    #[allow(clippy::ptr_arg)]
    pub(super) fn serialize<S: serde::Serializer>(
        bytes: &Cow<'_, [u8]>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serde_bytes::serialize(bytes.as_ref(), serializer)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Cow<'static, [u8]>, D::Error> {
        let bytes: serde_bytes::ByteBuf = serde::Deserialize::deserialize(deserializer)?;
        Ok(Cow::Owned(bytes.into_vec()))
    }
}

impl Op<'_> {
    /// How long the guest calls of this operation may take in all.
    fn bound(&self, limits: &Limits) -> Duration {
        // Starting is two calls: instantiation, then `start`.
        let calls = if matches!(self, Self::Start) { 2 } else { 1 };
        crate::enforce::call_bound(limits).saturating_mul(calls)
    }
}

/// What an operation returned.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Done {
    /// Started.
    Started(Call<()>),
    /// Handled.
    Handled(Call<Result<Vec<u8>, String>>),
    /// Invoked; the results in WAVE syntax.
    Invoked(Call<String>),
    /// Stopped.
    Stopped(Call<()>),
    /// The command ran.
    Ran(Call<CommandOutput>),
}

impl Done {
    pub(crate) fn started(self) -> Result<Call<()>> {
        match self {
            Self::Started(call) => Ok(call),
            other => Err(other.unexpected()),
        }
    }

    pub(crate) fn handled(self) -> Result<Call<Result<Vec<u8>, String>>> {
        match self {
            Self::Handled(call) => Ok(call),
            other => Err(other.unexpected()),
        }
    }

    pub(crate) fn invoked(self) -> Result<Call<String>> {
        match self {
            Self::Invoked(call) => Ok(call),
            other => Err(other.unexpected()),
        }
    }

    pub(crate) fn stopped(self) -> Result<Call<()>> {
        match self {
            Self::Stopped(call) => Ok(call),
            other => Err(other.unexpected()),
        }
    }

    pub(crate) fn ran(self) -> Result<Call<CommandOutput>> {
        match self {
            Self::Ran(call) => Ok(call),
            other => Err(other.unexpected()),
        }
    }

    fn unexpected(&self) -> Error {
        Error::WorkerProtocol {
            message: format!("answered with the wrong result: {self:?}"),
        }
    }
}

/// A module in this process (the host's, or a worker's): its compiled
/// component, its sandbox, and its instance while it runs.
pub(crate) struct Local {
    loaded: Arc<Loaded>,
    sandbox: Sandbox,
    /// Where a command's output goes when the caller asks for it forwarded.
    forward: Option<OutputCallback>,
    instance: Option<Instance>,
}

impl Local {
    /// `loaded` under `settings`, its grants resolved now.
    pub(crate) fn new(
        loaded: Arc<Loaded>,
        settings: &SandboxSettings,
        forward: Option<OutputCallback>,
    ) -> Self {
        Self {
            sandbox: loaded.sandbox(settings),
            loaded,
            forward,
            instance: None,
        }
    }

    pub(crate) fn kind(&self) -> ComponentKind {
        self.loaded.kind()
    }

    pub(crate) fn loaded(&self) -> &Arc<Loaded> {
        &self.loaded
    }

    pub(crate) fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Drops the instance, whose store may be poisoned after a failure.
    pub(crate) fn drop_instance(&mut self) {
        self.instance = None;
    }

    /// Runs `op`. A failure other than a misfit `invoke` drops the instance.
    pub(crate) async fn call(&mut self, op: Op<'_>) -> Result<Done> {
        let result = self.run(op).await;
        if matches!(&result, Err(error) if !matches!(error, Error::Invoke { .. })) {
            self.instance = None;
        }
        result
    }

    async fn run(&mut self, op: Op<'_>) -> Result<Done> {
        match op {
            Op::Start => self.start().await,
            Op::Handle { topic, payload } => self
                .running()?
                .handle(&topic, &payload)
                .await
                .map(Done::Handled),
            Op::Invoke { call } => self.running()?.invoke(&call).await.map(Done::Invoked),
            Op::Stop => {
                let mut instance = self
                    .instance
                    .take()
                    .ok_or_else(|| not_running(self.loaded.name()))?;
                instance.stop().await.map(Done::Stopped)
            }
            Op::Run { args, output } => {
                let stdio = output.stdio(self.forward.as_ref());
                let sandbox = self.sandbox.for_run(args, stdio);
                self.loaded.run_command(&sandbox).await.map(Done::Ran)
            }
        }
    }

    async fn start(&mut self) -> Result<Done> {
        self.instance = None;
        let mut instance = self.loaded.instantiate(&self.sandbox).await?;
        let call = instance.start(self.sandbox.config().pairs()).await?;
        self.instance = Some(instance);
        Ok(Done::Started(call))
    }

    fn running(&mut self) -> Result<&mut Instance> {
        let name = self.loaded.name();
        self.instance.as_mut().ok_or_else(|| not_running(name))
    }
}

fn not_running(module: &str) -> Error {
    Error::Host(format!("module '{module}' has no running instance"))
}

/// A module in a worker process of its group: the operations cross the pipe.
pub(crate) struct Remote {
    /// Names this version inside the worker.
    key: String,
    pub(crate) group: String,
    name: String,
    pub(crate) wasm: Arc<Vec<u8>>,
    pub(crate) settings: WireSettings,
    /// The generation of the worker it is installed in, if it is.
    installed_in: Option<u64>,
}

impl Remote {
    /// Installs `wasm` in a worker of `group`; returns its kind.
    pub(crate) async fn install(
        key: String,
        group: String,
        name: String,
        wasm: Arc<Vec<u8>>,
        settings: WireSettings,
        pool: &mut WorkerPool,
    ) -> Result<(Self, ComponentKind)> {
        let mut remote = Self::for_serving(key, group, name, wasm, settings);
        let kind = remote.install_in_worker(pool).await?;
        Ok((remote, kind))
    }

    /// An HTTP component for worker isolation: it is served from a worker of
    /// its own ([`Remote::serve_http`]), so its group's worker never holds it.
    pub(crate) fn for_serving(
        key: String,
        group: String,
        name: String,
        wasm: Arc<Vec<u8>>,
        settings: WireSettings,
    ) -> Self {
        Self {
            key,
            group,
            name,
            wasm,
            settings,
            installed_in: None,
        }
    }

    /// Makes sure this version is installed in the live worker of its group.
    async fn install_in_worker(&mut self, pool: &mut WorkerPool) -> Result<ComponentKind> {
        // With a compile cache, ask for the compiled copy by hash first: a
        // warm start then sends no component bytes to the worker.
        let by_hash = self.settings.cache_dir.is_some();
        let mut request = Request::Install {
            key: self.key.clone(),
            name: self.name.clone(),
            hash: *blake3::hash(&self.wasm).as_bytes(),
            wasm: if by_hash {
                Vec::new()
            } else {
                self.wasm.as_ref().clone()
            },
            settings: self.settings.clone(),
        };
        let generation = pool.ensure(&self.group)?;
        loop {
            match pool.call(&self.group, &request, INSTALL_DEADLINE).await? {
                Reply::Installed(kind) => {
                    self.installed_in = Some(generation);
                    return Ok(kind);
                }
                Reply::NeedsComponent => match &mut request {
                    Request::Install { wasm: sent, .. } if sent.is_empty() => {
                        *sent = self.wasm.as_ref().clone();
                    }
                    _ => return Err(unexpected(&Reply::NeedsComponent)),
                },
                other => return Err(unexpected(&other)),
            }
        }
    }

    /// Runs `op` in the worker, installing this version again first if its
    /// worker died since (only for operations that make a fresh instance).
    pub(crate) async fn call(&mut self, op: Op<'_>, pool: &mut WorkerPool) -> Result<Done> {
        let fresh_instance = matches!(op, Op::Start | Op::Run { .. });
        if fresh_instance
            && (self.installed_in.is_none() || self.installed_in != pool.generation(&self.group))
        {
            self.install_in_worker(pool).await?;
        }
        let deadline = op.bound(&self.settings.limits).saturating_add(WORKER_GRACE);
        let request = Request::Call {
            key: self.key.clone(),
            op,
        };
        match pool.call(&self.group, &request, deadline).await? {
            Reply::Done(done) => Ok(done),
            other => Err(unexpected(&other)),
        }
    }

    /// Serves this HTTP component from a worker process of its own (not its
    /// group's: a server outlives calls), started again if it dies.
    pub(crate) async fn serve_http(
        &self,
        host: &crate::HostOptions,
        options: ServeOptions,
        on_listening: impl FnOnce(SocketAddr),
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let name = &self.name;
        let grace = crate::enforce::call_bound(&self.settings.limits);
        let mut request = Request::ServeHttp {
            name: name.clone(),
            wasm: self.wasm.as_ref().clone(),
            settings: self.settings.clone(),
            options,
        };
        let mut on_listening = Some(on_listening);
        let mut restarts: u32 = 0;
        tokio::pin!(shutdown);
        loop {
            let mut worker =
                WorkerProcess::spawn(&format!("http:{name}"), &host.worker, &host.keyvalue)?;
            let reply = worker
                .call(&request, WORKER_START, &host.stdio, &host.observers)
                .await?;
            let Reply::Listening(bound) = reply else {
                return Err(unexpected(&reply));
            };
            if let Some(on_listening) = on_listening.take() {
                on_listening(bound);
            }
            // A new worker serves on the same address, even when port 0 was asked for.
            if let Request::ServeHttp { options, .. } = &mut request {
                options.listen = bound;
            }
            match worker
                .relay_until(&mut shutdown, grace, &host.stdio, &host.observers)
                .await
            {
                Ok(()) => return Ok(()),
                Err(died) => {
                    restarts += 1;
                    tracing::error!(target: "arcella::http", module = name.as_str(), "{died}; starting a new worker");
                    // A worker that keeps dying is restarted ever more slowly, up to 5 s apart.
                    let backoff = Duration::from_millis(100) * 2u32.pow(restarts.min(6));
                    tokio::select! {
                        () = tokio::time::sleep(backoff.min(Duration::from_secs(5))) => {}
                        () = &mut shutdown => return Ok(()),
                    }
                }
            }
        }
    }

    /// The worker it was installed in died.
    pub(crate) fn lost_worker(&mut self) {
        self.installed_in = None;
    }

    /// Frees its place in its worker, if that worker still lives.
    pub(crate) async fn discard(&self, pool: &mut WorkerPool) {
        if self.installed_in.is_some() && self.installed_in == pool.generation(&self.group) {
            let request = Request::Remove {
                key: self.key.clone(),
            };
            let _ = pool.call(&self.group, &request, WORKER_GRACE).await;
        }
    }
}

fn unexpected(reply: &Reply) -> Error {
    Error::WorkerProtocol {
        message: format!("sent an unexpected reply: {reply:?}"),
    }
}

/// Where one installed version runs.
pub(crate) enum Placement {
    /// In this process.
    Here(Local),
    /// In a worker process.
    Worker(Remote),
}

impl Placement {
    /// Runs `op` wherever the module is.
    pub(crate) async fn call(&mut self, op: Op<'_>, pool: &mut WorkerPool) -> Result<Done> {
        match self {
            Self::Here(local) => local.call(op).await,
            Self::Worker(remote) => remote.call(op, pool).await,
        }
    }

    /// Drops an in-process instance after a failure (a worker drops its own).
    pub(crate) fn drop_instance(&mut self) {
        if let Self::Here(local) = self {
            local.drop_instance();
        }
    }

    /// Frees what it holds outside this process.
    pub(crate) async fn discard(&self, pool: &mut WorkerPool) {
        if let Self::Worker(remote) = self {
            remote.discard(pool).await;
        }
    }
}

impl OutputMode {
    /// The output mode that gives `stdio` what it asks for with the fewest bytes sent.
    pub(crate) fn for_stdio(stdio: &Stdio) -> Self {
        match stdio {
            Stdio::Discard => Self::Discard,
            Stdio::Inherit => Self::Inherit,
            Stdio::Capture { limit } => Self::Capture { limit: *limit },
            Stdio::Forward(_) => Self::Forward,
        }
    }

    /// Where output goes in the process that runs the guest; `forward` takes forwarded chunks.
    fn stdio(self, forward: Option<&OutputCallback>) -> Stdio {
        match self {
            Self::Discard => Stdio::Discard,
            Self::Inherit => Stdio::Inherit,
            Self::Capture { limit } => Stdio::Capture { limit },
            Self::Forward => {
                forward.map_or(Stdio::Discard, |forward| Stdio::Forward(forward.clone()))
            }
        }
    }
}
