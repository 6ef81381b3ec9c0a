//! Where a guest's stdout and stderr go: inherited, captured (bounded) or forwarded.
//!
//! Output is never buffered without bound: captured output stops growing at
//! its cap, and inherited or forwarded output is passed on as it is written,
//! so a guest that writes gigabytes does not grow the host's memory.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Which of the guest's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives output chunks as the guest writes them.
pub type OutputCallback = Arc<dyn Fn(Stream, &[u8]) + Send + Sync>;

/// How a call treats the guest's output.
#[derive(Clone, Default)]
pub enum Stdio {
    /// Dropped.
    #[default]
    Discard,
    /// Written straight to the host's own stdout and stderr.
    Inherit,
    /// Kept in memory, up to `limit` bytes per stream; the rest is counted and dropped.
    Capture {
        /// Bytes kept per stream.
        limit: usize,
    },
    /// Handed to a callback chunk by chunk.
    Forward(OutputCallback),
}

impl std::fmt::Debug for Stdio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Discard => f.write_str("Discard"),
            Self::Inherit => f.write_str("Inherit"),
            Self::Capture { limit } => f.debug_struct("Capture").field("limit", limit).finish(),
            Self::Forward(_) => f.write_str("Forward(..)"),
        }
    }
}

/// Output a call captured.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Captured {
    /// What the guest wrote, up to the cap.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
    /// Bytes written past the cap and dropped.
    pub dropped: u64,
}

/// One stream's destination, shared by every handle the guest opens to it.
#[derive(Clone)]
pub(crate) struct OutputSink {
    stream: Stream,
    target: Target,
}

#[derive(Clone)]
enum Target {
    Discard,
    Inherit,
    Capture(Arc<Mutex<Captured>>, usize),
    Forward(OutputCallback),
}

impl OutputSink {
    pub(crate) fn new(stream: Stream, stdio: &Stdio) -> Self {
        let target = match stdio {
            Stdio::Discard => Target::Discard,
            Stdio::Inherit => Target::Inherit,
            Stdio::Capture { limit } => Target::Capture(Arc::default(), *limit),
            Stdio::Forward(callback) => Target::Forward(callback.clone()),
        };
        Self { stream, target }
    }

    /// What was captured so far (empty unless capturing).
    pub(crate) fn take_captured(&self) -> Captured {
        match &self.target {
            Target::Capture(buffer, _) => std::mem::take(
                &mut *buffer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ),
            _ => Captured::default(),
        }
    }

    /// Passes on a chunk that arrived from elsewhere (a worker's output).
    pub(crate) fn write_chunk(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_bytes(bytes)
    }

    fn write_bytes(&self, bytes: &[u8]) -> std::io::Result<()> {
        match &self.target {
            Target::Discard => Ok(()),
            Target::Inherit => match self.stream {
                Stream::Stdout => std::io::stdout().lock().write_all(bytes),
                Stream::Stderr => std::io::stderr().lock().write_all(bytes),
            },
            Target::Capture(buffer, limit) => {
                let mut captured = buffer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let room = limit.saturating_sub(captured.bytes.len());
                let kept = room.min(bytes.len());
                captured.bytes.extend_from_slice(&bytes[..kept]);
                captured.dropped += (bytes.len() - kept) as u64;
                Ok(())
            }
            Target::Forward(callback) => {
                callback(self.stream, bytes);
                Ok(())
            }
        }
    }

    fn flush(&self) -> std::io::Result<()> {
        match (&self.target, self.stream) {
            (Target::Inherit, Stream::Stdout) => std::io::stdout().flush(),
            (Target::Inherit, Stream::Stderr) => std::io::stderr().flush(),
            _ => Ok(()),
        }
    }
}

/// Largest write the guest is offered at once, so the host never holds more.
const WRITE_BUDGET: usize = 64 * 1024;

impl IsTerminal for OutputSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for OutputSink {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes)
            .map_err(|error| StreamError::LastOperationFailed(error.into()))
    }

    fn flush(&mut self) -> StreamResult<()> {
        OutputSink::flush(self).map_err(|error| StreamError::LastOperationFailed(error.into()))
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for OutputSink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for OutputSink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(self.write_bytes(buf).map(|()| buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(OutputSink::flush(&self))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_up_to_its_limit_and_counts_the_rest() {
        let sink = OutputSink::new(Stream::Stdout, &Stdio::Capture { limit: 4 });
        sink.write_bytes(b"abc").unwrap();
        sink.write_bytes(b"defg").unwrap();
        let captured = sink.take_captured();
        assert_eq!(captured.bytes, b"abcd");
        assert_eq!(captured.dropped, 3);
    }
}
