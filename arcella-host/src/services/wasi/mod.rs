//! The WASI 0.2 context: arguments, environment, directories, stdio, clocks and random.
//!
//! Default-deny: no environment, no preopened directories and a closed
//! stdin unless `[capabilities]` grants them. The grants are resolved once
//! per installed component (`WasiPlan`); each store then gets a context
//! built from that plan without reading the environment or the filesystem again.

pub(crate) mod determinism;
pub(crate) mod dir_grants;
pub mod output;

use wasmtime::component::Linker;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::{Provided, Service};
use crate::capabilities::Capabilities;
use crate::store::GuestState;
use dir_grants::OpenedDirs;
use output::{OutputSink, Stdio, Stream};

/// Bytes of randomness one `get-random-bytes` call may ask for.
pub const MAX_RANDOM_BYTES: u64 = 1 << 20;

/// The WASI command world, without sockets (their own service) and HTTP.
pub(crate) const SERVICE: Service = Service {
    name: "wasi",
    grants: &["env", "dirs"],
    interfaces: &[
        Provided::free("wasi:cli/environment"),
        Provided::free("wasi:cli/exit"),
        Provided::declared("wasi:cli/run"),
        Provided::free("wasi:cli/stdin"),
        Provided::free("wasi:cli/stdout"),
        Provided::free("wasi:cli/stderr"),
        Provided::free("wasi:cli/terminal-input"),
        Provided::free("wasi:cli/terminal-output"),
        Provided::free("wasi:cli/terminal-stdin"),
        Provided::free("wasi:cli/terminal-stdout"),
        Provided::free("wasi:cli/terminal-stderr"),
        Provided::free("wasi:clocks/monotonic-clock"),
        Provided::free("wasi:clocks/wall-clock"),
        Provided::free("wasi:random/random"),
        Provided::free("wasi:random/insecure"),
        Provided::free("wasi:random/insecure-seed"),
        Provided::free("wasi:io/error"),
        Provided::free("wasi:io/poll"),
        Provided::free("wasi:io/streams"),
        Provided::free("wasi:filesystem/types"),
        Provided::free("wasi:filesystem/preopens"),
    ],
    add_to_linker,
};

/// All of WASI 0.2 (sockets included; the sockets service then guards their name lookups).
fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)
}

/// A component's WASI grants, resolved once: environment values read, directories opened.
#[derive(Clone, Debug)]
pub(crate) struct WasiPlan {
    env: Vec<(String, String)>,
    dirs: std::sync::Arc<[crate::capabilities::DirGrant]>,
    opened: OpenedDirs,
    stdin: bool,
    deterministic: bool,
}

impl WasiPlan {
    /// The plan for `capabilities`; `opened` holds the granted directories
    /// once the first store opened them (shared by clones).
    pub(crate) fn new(
        capabilities: &Capabilities,
        opened: OpenedDirs,
        deterministic: bool,
    ) -> Self {
        let env = capabilities
            .env
            .iter()
            .filter_map(|grant| {
                let value = grant
                    .value
                    .clone()
                    .or_else(|| std::env::var(&grant.name).ok())?;
                Some((grant.name.clone(), value))
            })
            .collect();
        Self {
            env,
            dirs: capabilities.dirs.as_slice().into(),
            opened,
            stdin: capabilities.stdin,
            deterministic,
        }
    }

    /// A context for one store: `args`, output to `stdio`, and sockets set up by `sockets`.
    pub(crate) fn build(
        &self,
        args: &[String],
        stdio: &Stdio,
        sockets: &super::sockets::SocketPolicy,
    ) -> Result<(WasiCtx, OutputSink, OutputSink), String> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.args(args).max_random_size(MAX_RANDOM_BYTES);
        sockets.configure(&mut wasi);
        for (name, value) in &self.env {
            wasi.env(name, value);
        }
        if !self.dirs.is_empty() {
            for (grant, opened) in self.dirs.iter().zip(self.opened.paths_for(&self.dirs)?) {
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
        }
        if self.stdin {
            wasi.inherit_stdin();
        }
        let stdout = OutputSink::new(Stream::Stdout, stdio);
        let stderr = OutputSink::new(Stream::Stderr, stdio);
        wasi.stdout(stdout.clone()).stderr(stderr.clone());
        if self.deterministic {
            determinism::apply(&mut wasi);
        }
        Ok((wasi.build(), stdout, stderr))
    }
}
