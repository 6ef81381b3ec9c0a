//! The framed request/response protocol between the host and a worker process.
//!
//! A frame is a little-endian `u32` length and that many bytes of `postcard`.
//! The host sends one [`Request`] at a time; the worker answers with any
//! number of [`Event::Log`], [`Event::Output`], [`Event::Outbound`] and
//! [`Event::ServiceCall`] frames, then one [`Event::Reply`].

use std::io::{Read, Write};
use std::path::PathBuf;

use crate::capabilities::Capabilities;
use crate::engine::EngineSettings;
use crate::error::Error;
use crate::http::ServeOptions;
use crate::kind::ComponentKind;
use crate::limits::Limits;
pub use crate::placement::{Done, Op};
use crate::services::Backends;
use crate::services::calls::ServiceCall;
use crate::services::config::ConfigValues;
use crate::services::logging::LogRecord;
use crate::services::outbound_http::OutboundRecord;
use crate::services::wasi::output::Stream;

/// Largest frame either side accepts: a maximal component plus room for its envelope.
pub const MAX_FRAME: usize = 128 << 20;

/// Where a command run in a worker sends its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OutputMode {
    /// Dropped in the worker.
    Discard,
    /// Written by the worker straight to its stdout and stderr, which are the host's.
    Inherit,
    /// Kept in the worker up to `limit` bytes per stream, returned with the reply.
    Capture {
        /// Bytes kept per stream.
        limit: usize,
    },
    /// Sent back to the host as output events, chunk by chunk.
    Forward,
}

/// What the host asks a worker to do. `key` names one installed version of a module.
/// The host sends an operation's arguments borrowed; the worker reads them owned.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Request<'a> {
    /// Compile (or load from cache) and link a component.
    Install {
        /// The version's key.
        key: String,
        /// The module's name, for errors and logs.
        name: String,
        /// `blake3` of the component's bytes.
        hash: [u8; 32],
        /// The component's bytes; empty to load it by `hash` from the compile
        /// cache, which saves sending a large component to every new worker.
        /// A worker without a compiled copy answers [`Reply::NeedsComponent`].
        #[serde(with = "serde_bytes")]
        wasm: Vec<u8>,
        /// How it runs.
        settings: WireSettings,
    },
    /// Run one operation on an installed version.
    Call {
        /// The version's key.
        key: String,
        /// The operation.
        op: Op<'a>,
    },
    /// Forget a version.
    Remove {
        /// The version's key.
        key: String,
    },
    /// Compile an HTTP component and serve it (one fresh instance per
    /// request), from a thread of its own, until [`Request::StopServing`]
    /// or the end of the channel. Guest logs come back as events meanwhile.
    ServeHttp {
        /// The module's name.
        name: String,
        /// The component's bytes.
        #[serde(with = "serde_bytes")]
        wasm: Vec<u8>,
        /// How it runs.
        settings: WireSettings,
        /// Where and how to serve.
        options: ServeOptions,
    },
    /// Stop serving: stop accepting, let requests in flight finish, then reply.
    StopServing,
}

/// What a worker sends back.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Event {
    /// A guest log record, as it happens.
    Log(LogRecord),
    /// A chunk of guest output, as it happens.
    Output(Stream, #[serde(with = "serde_bytes")] Vec<u8>),
    /// An outbound request the host denied or mocked, as it happens.
    Outbound(OutboundRecord),
    /// A guest's call to `wasi:keyvalue` or `wasi:config`, as it happens
    /// (only when [`WireSettings::report_service_calls`] asks for them).
    ServiceCall(ServiceCall),
    /// The answer to the current request.
    Reply(Result<Reply, Error>),
}

/// The successful answers.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Reply {
    /// Installed; this is its kind.
    Installed(ComponentKind),
    /// Asked to install by hash, the worker has no compiled copy: send the bytes.
    NeedsComponent,
    /// The operation's result.
    Done(Done),
    /// Removed.
    Removed,
    /// Serving HTTP on this address.
    Listening(std::net::SocketAddr),
    /// Stopped serving HTTP.
    StoppedServing,
}

/// The settings of a module that a worker needs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WireSettings {
    /// The engine to compile for.
    pub engine: EngineSettings,
    /// Per-call limits.
    pub limits: Limits,
    /// Grants.
    pub capabilities: Capabilities,
    /// Deterministic clocks and random numbers.
    pub deterministic: bool,
    /// The compile cache to use, if any.
    pub cache_dir: Option<PathBuf>,
    /// The services' backends, built in the worker.
    pub backends: Backends,
    /// The resolved `[config]` (its `Debug` shows keys only).
    pub config: ConfigValues,
    /// Whether to send the guests' service calls back as events: only when
    /// the host has someone to tell, since each is a frame.
    pub report_service_calls: bool,
}

/// Writes one frame.
pub fn write_frame(
    writer: &mut impl Write,
    message: &impl serde::Serialize,
) -> std::io::Result<()> {
    // One write per frame: a frame is one message on the socket, not two.
    writer.write_all(&encode_frame(message)?)?;
    writer.flush()
}

/// How long either side watches its channel for the next frame before it
/// sleeps in `read` (or in the runtime): a call's answer, or the next call of
/// a busy host, usually comes within this, and waking a sleeping process
/// costs more than the call itself.
const SPIN_BEFORE_SLEEP: std::time::Duration = std::time::Duration::from_micros(50);

/// Watches `channel` for input for up to [`SPIN_BEFORE_SLEEP`]; `true` when some came.
pub(crate) fn await_input_briefly(channel: impl std::os::fd::AsFd) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let started = std::time::Instant::now();
    loop {
        let mut fds = [PollFd::new(&channel, PollFlags::IN)];
        if matches!(poll(&mut fds, Some(&now)), Ok(ready) if ready > 0) {
            return true;
        }
        if started.elapsed() >= SPIN_BEFORE_SLEEP {
            return false;
        }
        std::hint::spin_loop();
    }
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame<T: serde::de::DeserializeOwned>(
    reader: &mut impl Read,
) -> std::io::Result<Option<T>> {
    let mut header = [0u8; 4];
    if !at_frame(reader.read_exact(&mut header))? {
        return Ok(None);
    }
    let mut bytes = vec![0; frame_len(header)?];
    reader.read_exact(&mut bytes)?;
    decode(&bytes).map(Some)
}

/// Reads one frame from an async reader; `Ok(None)` at a clean end of stream.
pub async fn read_frame_async<T: serde::de::DeserializeOwned>(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
) -> std::io::Result<Option<T>> {
    use tokio::io::AsyncReadExt;
    let mut header = [0u8; 4];
    if !at_frame(reader.read_exact(&mut header).await.map(drop))? {
        return Ok(None);
    }
    let mut bytes = vec![0; frame_len(header)?];
    reader.read_exact(&mut bytes).await?;
    decode(&bytes).map(Some)
}

/// Whether a header was read: `false` at a clean end of stream.
fn at_frame(read: std::io::Result<()>) -> std::io::Result<bool> {
    match read {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(error),
    }
}

/// The length a frame header announces, refused past [`MAX_FRAME`].
fn frame_len(header: [u8; 4]) -> std::io::Result<usize> {
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!(
            "frame of {len} bytes is over the {MAX_FRAME}-byte limit"
        )));
    }
    Ok(len)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> std::io::Result<T> {
    postcard::from_bytes(bytes).map_err(std::io::Error::other)
}

/// Encodes a frame for an async writer.
pub fn encode_frame(message: &impl serde::Serialize) -> std::io::Result<Vec<u8>> {
    // The message is encoded after room for its length, then the length filled in.
    let mut frame = postcard::to_extend(message, vec![0u8; 4]).map_err(std::io::Error::other)?;
    let body = frame.len() - 4;
    let len = u32::try_from(body)
        .ok()
        .filter(|len| (*len as usize) <= MAX_FRAME)
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "frame of {body} bytes is over the {MAX_FRAME}-byte limit"
            ))
        })?;
    frame[..4].copy_from_slice(&len.to_le_bytes());
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buffer = Vec::new();
        write_frame(&mut buffer, &Request::Remove { key: "a#1".into() }).unwrap();
        let request: Request<'static> = read_frame(&mut buffer.as_slice()).unwrap().unwrap();
        assert!(matches!(request, Request::Remove { key } if key == "a#1"));
        assert!(
            read_frame::<Request<'static>>(&mut [].as_slice())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn oversized_and_garbled_frames_are_errors_not_panics() {
        let huge = (u32::MAX).to_le_bytes();
        assert!(read_frame::<Request<'static>>(&mut huge.as_slice()).is_err());
        let garbled = [3, 0, 0, 0, 0xff, 0xff, 0xff];
        assert!(read_frame::<Request<'static>>(&mut garbled.as_slice()).is_err());
    }
}
