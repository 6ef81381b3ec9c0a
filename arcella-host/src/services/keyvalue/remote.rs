//! How a guest in a worker process reaches its host's key-value store.
//!
//! One process owns the store (a redb file takes a lock; a memory store
//! lives in one address space), so a worker never opens one: at spawn the
//! host makes a second socket pair for keyvalue alone and passes the
//! worker's end over the worker's channel, as the ancillary data
//! (`SCM_RIGHTS`) of a one-byte message sent before any request
//! ([`hand_over`]); the worker takes it first thing ([`take_over`]).
//!
//! The host serves that connection from a thread of its own
//! ([`serve_worker`]), one request at a time, against the shared store; the
//! frames are the worker protocol's (a little-endian `u32` length, then
//! `postcard`). In the worker, [`Remote`] is a backend like the others: a
//! guest's call, from whichever thread runs it (the worker's main thread
//! or an HTTP server thread), locks the connection, writes one request
//! and reads its answer, independent of the worker's request loop.
//! Grants and limits are checked in the worker before a request crosses,
//! by the same code as in the host; and the host checks the bucket again
//! against the grants of the modules it installed in that worker
//! ([`WorkerGrants`]), so that a worker subverted by its guest reaches no
//! bucket that none of its modules was granted.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, recvmsg, sendmsg,
};

use super::{Backend, Failure, KeyValue};
use crate::worker::protocol::{read_frame, write_frame};

/// The byte that carries the keyvalue socket.
const HANDOVER: u8 = 0x6b;

/// One call, as it crosses from a worker to its host.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Request {
    Get {
        bucket: String,
        key: String,
    },
    SetMany {
        bucket: String,
        pairs: Vec<(String, Vec<u8>)>,
    },
    DeleteMany {
        bucket: String,
        keys: Vec<String>,
    },
    Keys {
        bucket: String,
        skip: u64,
        take: u64,
    },
    Increment {
        bucket: String,
        key: String,
        delta: u64,
    },
}

impl Request {
    fn bucket(&self) -> &str {
        match self {
            Self::Get { bucket, .. }
            | Self::SetMany { bucket, .. }
            | Self::DeleteMany { bucket, .. }
            | Self::Keys { bucket, .. }
            | Self::Increment { bucket, .. } => bucket,
        }
    }
}

/// Its answer.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Answer {
    Value(Option<Vec<u8>>),
    Done,
    Keys(Vec<String>, bool),
    Counter(u64),
}

/// The buckets the modules installed in one worker were granted: all the
/// host serves that worker, whatever it asks.
#[derive(Clone, Default)]
pub(crate) struct WorkerGrants(Arc<Mutex<Vec<String>>>);

impl WorkerGrants {
    /// Adds the grants of a module installed in the worker.
    pub(crate) fn add(&self, grants: &[String]) {
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for grant in grants {
            if !all.contains(grant) {
                all.push(grant.clone());
            }
        }
    }

    fn allow(&self, bucket: &str) -> Result<(), Failure> {
        let all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if all.iter().any(|grant| grant == "*" || grant == bucket) {
            Ok(())
        } else {
            tracing::warn!(
                "a worker asked for the keyvalue bucket `{bucket}`, which none of its modules is granted; refused"
            );
            Err(Failure::Refused(format!(
                "the bucket `{bucket}` is not granted to this worker"
            )))
        }
    }
}

/// Makes the keyvalue connection of a worker being started: sends the
/// worker's end over `channel` (before any request), and serves the host's
/// end against `store` from a thread that ends when the worker does,
/// within the grants returned (filled as modules are installed there).
///
/// # Errors
///
/// The socket could not be made or sent.
pub(crate) fn hand_over(channel: &UnixStream, store: &KeyValue) -> std::io::Result<WorkerGrants> {
    let (host_end, worker_end) = UnixStream::pair()?;
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = [worker_end.as_fd()];
    control.push(SendAncillaryMessage::ScmRights(&fds));
    sendmsg(
        channel,
        &[IoSlice::new(&[HANDOVER])],
        &mut control,
        SendFlags::empty(),
    )?;
    drop(worker_end);
    let store = store.clone();
    let grants = WorkerGrants::default();
    let allowed = grants.clone();
    std::thread::Builder::new()
        .name("arcella-keyvalue".into())
        .spawn(move || serve_worker(host_end, &store, &allowed))?;
    Ok(grants)
}

/// Takes the keyvalue connection the host sent over `channel`: called by
/// the worker before it reads its first request.
///
/// # Errors
///
/// The first message was not the handover, or carried no socket.
pub(crate) fn take_over(channel: &UnixStream) -> std::io::Result<Remote> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    let received = recvmsg(
        channel,
        &mut [IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut socket: Option<OwnedFd> = None;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            for fd in fds {
                socket.get_or_insert(fd);
            }
        }
    }
    match socket {
        Some(socket) if received.bytes == 1 && byte[0] == HANDOVER => {
            Ok(Remote(Arc::new(Mutex::new(UnixStream::from(socket)))))
        }
        _ => Err(std::io::Error::other(
            "the host did not hand over the keyvalue connection first",
        )),
    }
}

/// Serves one worker's keyvalue requests, within `grants`, until it
/// closes its end. The store's failures reach the worker named as the
/// host names them (`redis at …: …`), and are reported by the host.
fn serve_worker(mut connection: UnixStream, store: &KeyValue, grants: &WorkerGrants) {
    while let Ok(Some(request)) = read_frame::<Request>(&mut connection) {
        let answer = grants
            .allow(request.bucket())
            .and_then(|()| store.call(|backend| answer(backend, request)));
        if write_frame(&mut connection, &answer).is_err() {
            break;
        }
    }
}

fn answer(backend: &dyn Backend, request: Request) -> Result<Answer, Failure> {
    let clamp = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    match request {
        Request::Get { bucket, key } => backend.get(&bucket, &key).map(Answer::Value),
        Request::SetMany { bucket, pairs } => {
            backend.set_many(&bucket, &pairs).map(|()| Answer::Done)
        }
        Request::DeleteMany { bucket, keys } => {
            backend.delete_many(&bucket, &keys).map(|()| Answer::Done)
        }
        Request::Keys { bucket, skip, take } => backend
            .keys(&bucket, clamp(skip), clamp(take))
            .map(|(keys, more)| Answer::Keys(keys, more)),
        Request::Increment { bucket, key, delta } => {
            backend.increment(&bucket, &key, delta).map(Answer::Counter)
        }
    }
}

/// The host's store, seen from a worker.
#[derive(Clone)]
pub(crate) struct Remote(Arc<Mutex<UnixStream>>);

impl Remote {
    fn ask(&self, request: &Request) -> Result<Answer, Failure> {
        let mut connection = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lost = |error: std::io::Error| {
            Failure::Store(format!(
                "the connection to the host's key-value store is lost: {error}"
            ))
        };
        write_frame(&mut *connection, request).map_err(lost)?;
        read_frame::<Result<Answer, Failure>>(&mut *connection)
            .map_err(lost)?
            .ok_or_else(|| {
                Failure::Store("the host closed the key-value store's connection".to_string())
            })?
    }
}

fn unexpected(answer: &Answer) -> Failure {
    Failure::Store(format!("the host's key-value store answered {answer:?}"))
}

impl Backend for Remote {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        match self.ask(&Request::Get {
            bucket: bucket.into(),
            key: key.into(),
        })? {
            Answer::Value(value) => Ok(value),
            other => Err(unexpected(&other)),
        }
    }

    fn set_many(&self, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        let request = Request::SetMany {
            bucket: bucket.into(),
            pairs: pairs.to_vec(),
        };
        match self.ask(&request)? {
            Answer::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), Failure> {
        let request = Request::DeleteMany {
            bucket: bucket.into(),
            keys: keys.to_vec(),
        };
        match self.ask(&request)? {
            Answer::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    fn keys(&self, bucket: &str, skip: usize, take: usize) -> Result<(Vec<String>, bool), Failure> {
        let request = Request::Keys {
            bucket: bucket.into(),
            skip: skip as u64,
            take: take as u64,
        };
        match self.ask(&request)? {
            Answer::Keys(keys, more) => Ok((keys, more)),
            other => Err(unexpected(&other)),
        }
    }

    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, Failure> {
        let request = Request::Increment {
            bucket: bucket.into(),
            key: key.into(),
            delta,
        };
        match self.ask(&request)? {
            Answer::Counter(value) => Ok(value),
            other => Err(unexpected(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker that skips its own checks, as a subverted one would, and
    /// asks the host directly.
    #[test]
    fn the_host_serves_a_worker_only_the_buckets_its_modules_were_granted() {
        let store = KeyValue::default();
        store.set("secrets", "token", b"s3cr3t").unwrap();
        store.set("shared", "k", b"v").unwrap();
        let (host_end, worker_end) = UnixStream::pair().unwrap();
        let grants = WorkerGrants::default();
        grants.add(&["shared".to_string()]);
        let (served, allowed) = (store.clone(), grants.clone());
        let server = std::thread::spawn(move || serve_worker(host_end, &served, &allowed));

        let worker = Remote(Arc::new(Mutex::new(worker_end)));
        assert_eq!(worker.get("shared", "k").unwrap(), Some(b"v".to_vec()));
        let Err(Failure::Refused(refused)) = worker.get("secrets", "token") else {
            panic!("the host served a bucket no module of the worker was granted");
        };
        assert!(refused.contains("not granted"), "{refused}");
        assert!(
            worker
                .set_many("secrets", &[("token".into(), b"x".to_vec())])
                .is_err()
        );
        assert_eq!(
            store.get("secrets", "token").unwrap(),
            Some(b"s3cr3t".to_vec())
        );

        grants.add(&["*".to_string()]);
        assert!(
            worker.get("secrets", "token").is_ok(),
            "a module granted `*` was installed"
        );
        drop(worker);
        server.join().unwrap();
    }
}
