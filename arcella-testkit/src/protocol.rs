//! What a harness and the host that runs its component say to each other.
//!
//! The same messages serve both ways of running: in the host process
//! (`cargo-arcella`, over a Unix socket: a little-endian `u32` length, then
//! `postcard`) and in this process with the `embedded` feature (the same
//! values, handed over by a function call). A harness is one session: it
//! sends [`Request`]s, one at a time, and reads one [`Reply`] each.
//!
//! Before any frame, a host process prints one line that names the
//! [`PROTOCOL`] it speaks (see [`READY`]), so that a testkit and a host of
//! different releases find out before anything else is read.

use std::io::{Read, Write};
use std::path::PathBuf;

use crate::error::{Error, HostError};
use arcella_types::{ComponentKind, Isolation, Level, ModuleState, ServiceCall};

/// The protocol version; both sides must speak the same one.
pub const PROTOCOL: u32 = 1;

/// The environment variable that makes `cargo-arcella` the testkit's host.
pub const HOST_MODE_ENV: &str = "ARCELLA_TESTKIT_HOST";

/// The first word of the line the host prints when it is ready:
/// `arcella-testkit-host PROTOCOL VERSION SOCKET`. Never change it: it is
/// how a testkit recognises a host of another release.
pub(crate) const READY: &str = "arcella-testkit-host";

/// The largest frame either side reads: a component, an HTTP body or a
/// command's output fit with room to spare.
pub(crate) const MAX_FRAME: usize = 256 << 20;

/// Where a harness's component comes from.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Source {
    /// A crate's built component, with its `arcella.toml`: the crate's
    /// folder, and the component `ARCELLA_COMPONENT` names in the test's
    /// environment, if it does.
    Crate {
        dir: PathBuf,
        component: Option<PathBuf>,
    },
    /// A component file, with the `arcella.toml` beside it if there is one.
    File(PathBuf),
    /// Component text.
    Wat(String),
    /// A component binary.
    Bytes(Vec<u8>),
}

/// What a test sets over the manifest; `None` and empty lists keep the manifest's.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Overrides {
    pub name: Option<String>,
    pub fuel: Option<u64>,
    pub memory: Option<u64>,
    pub timeout: Option<std::time::Duration>,
    pub env: Vec<(String, String)>,
    pub dirs: Vec<String>,
    pub http: Vec<String>,
    pub keyvalue: Vec<String>,
    pub config: Vec<(String, String)>,
    pub isolation: Option<Isolation>,
}

/// One canned answer to outbound HTTP requests.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Mock {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A key-value bucket and the pairs it holds before install.
pub(crate) type Seed = (String, Vec<(String, Vec<u8>)>);

/// Settings of the harness itself, not of the module.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Settings {
    pub real_clocks: bool,
    /// The worker executable; `None`: the host's own choice.
    pub worker_exe: Option<PathBuf>,
    pub capture_limit: u64,
    pub mocks: Vec<Mock>,
    /// Buckets filled before the component is installed.
    pub keyvalue: Vec<Seed>,
}

/// A component to install, and everything a test put over it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Setup {
    pub source: Source,
    /// Applied before `overrides`: an update's base is the first install's.
    pub base: Option<Overrides>,
    pub overrides: Overrides,
    pub settings: Settings,
    /// The test's current folder: a bare component's manifest is rooted there.
    pub cwd: PathBuf,
}

/// What a harness asks for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Request {
    /// Installs the session's component; answered by [`Reply::Installed`].
    Install(Box<Setup>),
    /// `lifecycle.start` with the module's `[config]`.
    Start,
    /// `handler.handle`.
    Send { topic: String, payload: Vec<u8> },
    /// `lifecycle.stop`.
    Stop,
    /// `wasi:cli/run` with these arguments.
    Run { args: Vec<String> },
    /// A new version in place of the running one.
    Update(Box<Setup>),
    /// An HTTP request to a `wasi:http/proxy` component.
    Http {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Where the module is in its lifecycle.
    State,
    /// Every pair of a bucket, in key order.
    ReadBucket { bucket: String },
}

/// The answer to one [`Request`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Reply {
    /// The component is installed.
    Installed(Installed),
    /// A step ran (or failed); what it did.
    Step(Box<StepReport>),
    /// The module's state.
    State(ModuleState),
    /// A bucket's pairs.
    Bucket(Vec<(String, Vec<u8>)>),
    /// The request could not be served (a setup problem, a host failure).
    Failed(Error),
}

/// A component installed for a session.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Installed {
    pub name: String,
    pub kind: ComponentKind,
    /// Absolute paths to hide in trace messages, and what to show instead.
    pub redactions: Vec<(String, String)>,
    /// `[config]` as written, for the trace of `start`.
    pub config: Vec<(String, String)>,
}

/// What one step did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct StepReport {
    /// What the guest logged during the step, in order.
    pub logs: Vec<(Level, String)>,
    /// Its outbound HTTP requests, in order.
    pub outbound: Vec<OutboundCall>,
    /// Its calls to `wasi:keyvalue` and `wasi:config`, in order.
    pub services: Vec<ServiceCall>,
    /// What came back.
    pub result: Result<StepValue, Cause>,
    /// Fuel the call consumed, when the host measured it.
    pub fuel: Option<u64>,
    /// The component's kind after the step (an update may change it).
    pub kind: Option<ComponentKind>,
    /// `[config]` after the step (an update may change it).
    pub config: Option<Vec<(String, String)>>,
    /// The new version's `[module] version`, for an update whose manifest was read.
    pub version: Option<String>,
}

/// One outbound request and what it got.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct OutboundCall {
    pub method: String,
    pub url: String,
    pub answer: OutboundAnswer,
}

/// What an outbound request got.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum OutboundAnswer {
    Status(u16),
    NoMock,
    Denied,
}

/// What a step returned when it succeeded.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum StepValue {
    Done,
    Reply(Vec<u8>),
    Ran {
        exit_code: i32,
        stdout: Vec<u8>,
        stdout_dropped: u64,
        stderr: Vec<u8>,
        stderr_dropped: u64,
    },
    Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

/// Who said no.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Cause {
    /// The guest's own `Err`.
    Guest(String),
    /// The host stopped the call, or refused it.
    Host(HostError),
    /// The step could not be set up.
    Setup(Box<Error>),
}

/// Writes one frame: its length, then `message`.
pub(crate) fn write_frame(
    writer: &mut impl Write,
    message: &impl serde::Serialize,
) -> std::io::Result<()> {
    let mut frame = postcard::to_extend(message, vec![0u8; 4]).map_err(std::io::Error::other)?;
    let len = frame.len() - 4;
    let header = u32::try_from(len)
        .ok()
        .filter(|_| len <= MAX_FRAME)
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "a frame of {len} bytes is over the {MAX_FRAME}-byte limit"
            ))
        })?;
    frame[..4].copy_from_slice(&header.to_le_bytes());
    writer.write_all(&frame)?;
    writer.flush()
}

/// Reads one frame; `Ok(None)` when the other side closed cleanly before it.
pub(crate) fn read_frame<T: serde::de::DeserializeOwned>(
    reader: &mut impl Read,
) -> std::io::Result<Option<T>> {
    let mut header = [0u8; 4];
    match reader.read_exact(&mut header) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!(
            "a frame of {len} bytes is announced; at most {MAX_FRAME} are read"
        )));
    }
    let mut bytes = vec![0; len];
    reader.read_exact(&mut bytes)?;
    postcard::from_bytes(&bytes).map(Some).map_err(|error| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("an unreadable frame: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_an_error() {
        let mut frame = Vec::new();
        write_frame(
            &mut frame,
            &Request::Send {
                topic: "t".into(),
                payload: vec![1, 2],
            },
        )
        .unwrap();
        let read: Request = read_frame(&mut frame.as_slice()).unwrap().unwrap();
        assert!(
            matches!(read, Request::Send { topic, payload } if topic == "t" && payload == [1, 2])
        );
        assert!(read_frame::<Request>(&mut &b""[..]).unwrap().is_none());
        assert!(read_frame::<Request>(&mut &b"\x02\x00\x00\x00\xff\xff"[..]).is_err());
        assert!(read_frame::<Request>(&mut &b"\xff\xff\xff\xff"[..]).is_err());
    }
}
