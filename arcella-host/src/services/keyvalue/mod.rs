//! `wasi:keyvalue@0.2.0-draft` (`store`, `atomics`, `batch`): buckets of
//! bytes that outlive a call, granted per bucket.
//!
//! Default deny: a component opens only the buckets its manifest names in
//! `[capabilities] keyvalue` (or any with `"*"`); `open("")` opens the
//! bucket `default`, the one `wasmtime -Skeyvalue` serves. Opening another
//! returns `error::access-denied` and logs one warning naming the manifest
//! line that would grant it.
//!
//! The data lives in one [`KeyValue`] store per host, opened once from a
//! [`KeyValueBackend`] the operator picks (memory, a redb file, or a Redis
//! server that several hosts share), and
//! shared by every guest the host runs, whatever its isolation: a guest in
//! a worker process reaches the host's store over a connection of its own
//! ([`remote`]); no worker ever opens a store.
//!
//! `increment` keeps a counter as its decimal text (`"42"`), as wasmtime's
//! implementation does, so a component reads the same bytes on both.
//! Every call is bounded by [`KeyValueLimits`]; over a limit the guest gets
//! `error::other` naming the limit. When the store itself fails (Redis
//! unreachable, a disk error), the guest gets `error::other("redis at
//! HOST:PORT: …")` and the operator one warning per outage, then one line
//! when the store answers again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::component::{HasSelf, Linker, Resource};

use super::calls::{Answer, Preview, ServiceCall};
use super::{CapabilityNeed, Provided, Service};
use crate::error::{Error as HostError, Result as HostResult};
use crate::store::GuestState;

mod redis;
pub(crate) mod remote;

use redis::{Redis, RedisAddress};

mod bindings {
    #![allow(missing_docs)]

    wasmtime::component::bindgen!({
        path: "../wit/deps/keyvalue.wit",
        world: "wasi:keyvalue/imports",
        with: { "wasi:keyvalue/store.bucket": super::Bucket },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};
use store::{Error, KeyResponse};

/// The version of `wasi:keyvalue` served: the one `wasmtime-wasi-keyvalue`
/// 48 (`wasmtime serve -Skeyvalue`) and wasmCloud serve.
pub const WASI_KEYVALUE_VERSION: &str = "0.2.0-draft";

/// The bucket `open("")` opens.
pub const DEFAULT_BUCKET: &str = "default";

/// `wasi:keyvalue/{store,atomics,batch}`.
pub(crate) const SERVICE: Service = Service {
    name: "keyvalue",
    grants: &["keyvalue"],
    interfaces: &[
        granted("wasi:keyvalue/store"),
        granted("wasi:keyvalue/atomics"),
        granted("wasi:keyvalue/batch"),
    ],
    add_to_linker,
};

/// Declared in `imports`, and reaching only the buckets `keyvalue` grants.
const fn granted(name: &'static str) -> Provided {
    Provided {
        needs: CapabilityNeed::KeyValue,
        ..Provided::declared(name).at(WASI_KEYVALUE_VERSION)
    }
}

fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    store::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)?;
    atomics::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)?;
    batch::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)
}

/// Checks a bucket name as `[capabilities] keyvalue` and `open` take it:
/// not empty, at most 255 bytes, no control characters.
///
/// # Errors
///
/// What is wrong with it, for a diagnostic.
pub fn check_bucket_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err(
            "a bucket name cannot be empty (the guest's `open(\"\")` is the bucket `default`)"
                .into(),
        );
    }
    if name.len() > MAX_BUCKET_NAME {
        return Err(format!(
            "the bucket name is {} bytes long; at most {MAX_BUCKET_NAME} are allowed",
            name.len()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("the bucket name {name:?} has a control character"));
    }
    Ok(())
}

/// The longest bucket name, in bytes.
pub const MAX_BUCKET_NAME: usize = 255;

/// The bounds every keyvalue call is held to, set by `[limits]`
/// `keyvalue-key-size`, `keyvalue-value-size`, `keyvalue-buckets` and
/// `keyvalue-page`. Over one, the guest gets `error::other` naming it, and
/// the host carries on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyValueLimits {
    /// The longest key, in bytes.
    pub key: usize,
    /// The largest value, in bytes.
    pub value: usize,
    /// Buckets one instance may hold open at once.
    pub buckets: usize,
    /// Keys one `list-keys` call returns at most; the cursor gives the rest.
    pub page: usize,
}

impl KeyValueLimits {
    /// The longest key a manifest may allow: 64 KiB.
    pub const MAX_KEY: usize = 64 << 10;
    /// The largest value a manifest may allow: 64 MiB, so that a value
    /// always fits, with room to spare, in one frame to or from a worker.
    pub const MAX_VALUE: usize = 64 << 20;
    /// The most buckets one instance may be allowed to hold open.
    pub const MAX_BUCKETS: usize = 1024;
    /// The most keys one `list-keys` page may be allowed to return.
    pub const MAX_PAGE: usize = 100_000;
    /// The most bytes of values one `set-many` may carry, whatever the value
    /// limit: a batch crosses to the host in one frame.
    pub const MAX_BATCH: usize = 64 << 20;
}

impl Default for KeyValueLimits {
    fn default() -> Self {
        Self {
            key: 1024,
            value: 1024 * 1024,
            buckets: 16,
            page: 1000,
        }
    }
}

/// Where the data lives: the operator's choice, plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyValueBackend {
    /// In this process's memory, gone when the host stops (the testkit's default).
    #[default]
    Memory,
    /// An embedded, persistent, crash-safe redb file: a write acknowledged
    /// to the guest is committed to it.
    Redb {
        /// The database file, created if missing.
        path: PathBuf,
    },
    /// A Redis server, shared by every host that names it: a write
    /// acknowledged to the guest was acknowledged by Redis.
    Redis {
        /// `redis://HOST:PORT/DB`, or `redis://HOST:PORT` for database 0.
        url: String,
    },
}

impl KeyValueBackend {
    /// Reads the backend as an operator writes it: `memory`, `redb:PATH` or
    /// `redis://HOST:PORT/DB`.
    ///
    /// # Errors
    ///
    /// What was expected, when it is none of them.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        if text.starts_with("redis://") {
            return RedisAddress::parse(text).map(|_| Self::Redis { url: text.into() });
        }
        match text.split_once(':') {
            None if text == "memory" => Ok(Self::Memory),
            Some(("redb", path)) if !path.is_empty() => Ok(Self::Redb { path: path.into() }),
            _ => Err(format!(
                "`{text}` is not a keyvalue backend; write `memory`, `redb:PATH` or `redis://HOST:PORT/DB`"
            )),
        }
    }
}

/// What `increment` answers for a value that is not a counter, on every backend.
const NOT_A_COUNTER: &str = "the value is not a counter (decimal text of a u64)";
/// What `increment` answers rather than wrap around.
const OVERFLOW: &str = "the counter would overflow a u64";

/// Why a backend did not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Failure {
    /// The request cannot be done on this data (a value that is not a
    /// counter, a counter that would overflow, a bucket a worker was not
    /// granted): the guest's error; the store is fine.
    Refused(String),
    /// The store failed or did not answer (Redis unreachable, a disk
    /// error): the operator's problem.
    Store(String),
}

impl Failure {
    fn into_message(self) -> String {
        match self {
            Self::Refused(message) | Self::Store(message) => message,
        }
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        Error::Other(failure.into_message())
    }
}

/// The operations a backend serves, per bucket.
trait Backend: Send + Sync {
    /// Whether the store answers: asked once when it is opened, so that the
    /// operator hears at start-up of a store that is not there.
    fn reach(&self) -> Result<(), Failure> {
        Ok(())
    }
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Failure>;
    fn set_many(&self, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), Failure>;
    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), Failure>;
    /// Keys in order, skipping `skip`, at most `take`; and whether more follow.
    fn keys(&self, bucket: &str, skip: usize, take: usize) -> Result<(Vec<String>, bool), Failure>;
    /// Reads, adds and writes back in one step no other writer interleaves with.
    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, Failure>;
}

/// One host's key-value store, opened once and shared by its guests.
/// Cheap to clone.
#[derive(Clone)]
pub struct KeyValue {
    backend: Arc<dyn Backend>,
    /// The store as a failure names it: `redb at PATH`, `redis at HOST:PORT`.
    name: Arc<str>,
    /// Whether the store is failing, in the process that owns it; `None` in
    /// a worker, whose store is the host's, which reports its failures.
    health: Option<Arc<Health>>,
}

/// Whether the last call to a store failed: so that the operator hears of
/// an outage once when it starts and once when it ends, not at every call.
#[derive(Default)]
struct Health {
    failing: AtomicBool,
}

impl Default for KeyValue {
    /// An empty store in memory.
    fn default() -> Self {
        Self::owned(Arc::new(Memory::default()), "memory".into())
    }
}

impl std::fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("KeyValue").field(&self.name).finish()
    }
}

impl KeyValue {
    /// Opens the store `backend` describes.
    ///
    /// A Redis server that does not answer yet is no error: the host
    /// starts, the operator gets one warning naming its address, and calls
    /// fail until it answers (a service should not need Redis to boot first).
    ///
    /// # Errors
    ///
    /// [`HostError::KeyValueOpen`] when the redb file cannot be opened
    /// (locked by another process, corrupt, unreadable), naming it;
    /// [`HostError::KeyValueBackend`] when a Redis URL is not one.
    pub fn open(backend: &KeyValueBackend) -> HostResult<Self> {
        let store = match backend {
            KeyValueBackend::Memory => return Ok(Self::default()),
            KeyValueBackend::Redb { path } => Self::owned(
                Arc::new(Redb::open(path).map_err(|message| HostError::KeyValueOpen {
                    path: path.clone(),
                    message,
                })?),
                format!("redb at {}", path.display()),
            ),
            KeyValueBackend::Redis { url } => {
                let unusable = |message| HostError::KeyValueBackend {
                    backend: url.clone(),
                    message,
                };
                let address = RedisAddress::parse(url).map_err(unusable)?;
                let redis = Redis::new(&address).map_err(unusable)?;
                Self::owned(Arc::new(redis), format!("redis at {address}"))
            }
        };
        // Only the warning matters here: the store stays usable once it answers.
        let _ = store.call(|backend| backend.reach());
        Ok(store)
    }

    /// A store this process owns and reports the health of.
    fn owned(backend: Arc<dyn Backend>, name: String) -> Self {
        Self {
            backend,
            name: name.into(),
            health: Some(Arc::default()),
        }
    }

    /// The host's store, reached from a worker over `connection`.
    pub(crate) fn remote(connection: remote::Remote) -> Self {
        Self {
            backend: Arc::new(connection),
            name: "the host's key-value store".into(),
            health: None,
        }
    }

    /// Runs `op` on the backend. A failure of the store is named after it
    /// (`redis at HOST:PORT: …`); the first one of an outage is logged as a
    /// warning, and the first success after it as an info line.
    fn call<T>(&self, op: impl FnOnce(&dyn Backend) -> Result<T, Failure>) -> Result<T, Failure> {
        let result = op(&*self.backend);
        let Some(health) = &self.health else {
            return result;
        };
        match result {
            Err(Failure::Store(cause)) => {
                if !health.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "keyvalue ({}) is failing: {cause}; every keyvalue call fails until it answers again (logged once per outage)",
                        self.name
                    );
                }
                Err(Failure::Store(format!("{}: {cause}", self.name)))
            }
            answered => {
                if health.failing.load(Ordering::Relaxed)
                    && health.failing.swap(false, Ordering::Relaxed)
                {
                    tracing::info!("keyvalue ({}) is back: it answers again", self.name);
                }
                answered
            }
        }
    }

    /// The value of `key` in `bucket`, read directly (for tests and tools).
    ///
    /// # Errors
    ///
    /// The backend's failure, as text.
    pub fn get(&self, bucket: &str, key: &str) -> std::result::Result<Option<Vec<u8>>, String> {
        self.call(|backend| backend.get(bucket, key))
            .map_err(Failure::into_message)
    }

    /// Sets `key` in `bucket` directly (for tests and tools).
    ///
    /// # Errors
    ///
    /// The backend's failure, as text.
    pub fn set(&self, bucket: &str, key: &str, value: &[u8]) -> std::result::Result<(), String> {
        self.call(|backend| backend.set_many(bucket, &[(key.to_string(), value.to_vec())]))
            .map_err(Failure::into_message)
    }

    /// Adds `delta` to the counter `key` in `bucket` directly, as the
    /// guest's `increment` does (for tests, tools and benchmarks).
    ///
    /// # Errors
    ///
    /// The backend's failure, or a value that is not a counter, as text.
    pub fn increment(
        &self,
        bucket: &str,
        key: &str,
        delta: u64,
    ) -> std::result::Result<u64, String> {
        self.call(|backend| backend.increment(bucket, key, delta))
            .map_err(Failure::into_message)
    }

    /// Every pair of `bucket`, in key order, read directly (for tests and tools).
    ///
    /// # Errors
    ///
    /// The backend's failure, as text.
    pub fn pairs(&self, bucket: &str) -> std::result::Result<Vec<(String, Vec<u8>)>, String> {
        const PAGE: usize = 1000;
        let mut pairs = Vec::new();
        let mut skip = 0;
        loop {
            let (keys, more) = self
                .backend
                .keys(bucket, skip, PAGE)
                .map_err(Failure::into_message)?;
            skip += keys.len();
            for key in keys {
                // A key deleted since it was listed is left out.
                if let Some(value) = self
                    .backend
                    .get(bucket, &key)
                    .map_err(Failure::into_message)?
                {
                    pairs.push((key, value));
                }
            }
            if !more {
                return Ok(pairs);
            }
        }
    }
}

/// An open bucket, as the guest holds it.
pub struct Bucket {
    name: Arc<str>,
}

/// A store's keyvalue state: the shared store, the grant, the limits, and
/// how many buckets the instance holds.
pub(crate) struct KeyValueState {
    pub(crate) store: KeyValue,
    /// The granted buckets; `"*"` grants any.
    pub(crate) grants: Arc<[String]>,
    pub(crate) limits: KeyValueLimits,
    /// Refuses every call, saying why (a guest in a worker, for now).
    pub(crate) refused: Option<&'static str>,
    open: usize,
}

impl KeyValueState {
    pub(crate) fn new(
        store: KeyValue,
        grants: Arc<[String]>,
        limits: KeyValueLimits,
        refused: Option<&'static str>,
    ) -> Self {
        Self {
            store,
            grants,
            limits,
            refused,
            open: 0,
        }
    }

    fn grants(&self, bucket: &str) -> bool {
        self.grants
            .iter()
            .any(|grant| grant == "*" || grant == bucket)
    }

    /// The `[capabilities]` line that would grant `bucket` besides what is granted.
    fn manifest_line(&self, bucket: &str) -> String {
        let mut entries: Vec<String> = self.grants.iter().map(|g| format!("\"{g}\"")).collect();
        entries.push(format!("\"{bucket}\""));
        format!("keyvalue = [{}]", entries.join(", "))
    }

    fn check_key(&self, key: &str) -> Result<(), Error> {
        if key.len() > self.limits.key {
            return Err(Error::Other(format!(
                "the key is {} bytes; the keyvalue key limit is {} bytes",
                key.len(),
                self.limits.key
            )));
        }
        Ok(())
    }

    fn check_value(&self, value: &[u8]) -> Result<(), Error> {
        if value.len() > self.limits.value {
            return Err(Error::Other(format!(
                "the value is {} bytes; the keyvalue value limit is {} bytes",
                value.len(),
                self.limits.value
            )));
        }
        Ok(())
    }
}

/// The interfaces, as a [`ServiceCall`] names them.
const STORE: &str = "wasi:keyvalue/store";
const ATOMICS: &str = "wasi:keyvalue/atomics";
const BATCH: &str = "wasi:keyvalue/batch";

impl GuestState {
    /// The bucket behind `handle`, and the state, after the refusal check.
    fn bucket(&self, handle: &Resource<Bucket>) -> Result<(Arc<str>, &KeyValueState), Error> {
        let state = &self.keyvalue;
        if let Some(reason) = state.refused {
            return Err(Error::Other(reason.to_string()));
        }
        let bucket = self
            .table()
            .get(handle)
            .map_err(|error| Error::Other(error.to_string()))?;
        Ok((bucket.name.clone(), state))
    }

    /// A record of `operation` on the bucket behind `handle`, to report.
    fn keyvalue_call(
        &self,
        interface: &str,
        operation: &str,
        handle: &Resource<Bucket>,
    ) -> ServiceCall {
        let bucket = self.table().get(handle).ok().map(|bucket| &*bucket.name);
        ServiceCall::new(self.module(), interface, operation).bucket(bucket)
    }

    fn open_bucket(&mut self, name: &str) -> Result<Resource<Bucket>, Error> {
        let state = &self.keyvalue;
        if let Some(reason) = state.refused {
            return Err(Error::Other(reason.to_string()));
        }
        if let Err(problem) = check_bucket_name(name) {
            return Err(Error::Other(problem));
        }
        if !state.grants(name) {
            tracing::warn!(
                "module `{}` was denied the keyvalue bucket `{name}`; to grant it, write under [capabilities]: {}",
                self.module,
                state.manifest_line(name)
            );
            return Err(Error::AccessDenied);
        }
        if state.open >= state.limits.buckets {
            return Err(Error::Other(format!(
                "{} buckets are open; the keyvalue limit is {} buckets per instance",
                state.open, state.limits.buckets
            )));
        }
        let handle = self
            .table_mut()
            .push(Bucket { name: name.into() })
            .map_err(|error| Error::Other(error.to_string()))?;
        self.keyvalue.open += 1;
        Ok(handle)
    }

    fn read(&self, bucket: &Resource<Bucket>, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let (name, state) = self.bucket(bucket)?;
        state.check_key(key)?;
        Ok(state.store.call(|backend| backend.get(&name, key))?)
    }

    fn write(&self, bucket: &Resource<Bucket>, pairs: &[(String, Vec<u8>)]) -> Result<(), Error> {
        let (name, state) = self.bucket(bucket)?;
        let mut total = 0usize;
        for (key, value) in pairs {
            state.check_key(key)?;
            state.check_value(value)?;
            total = total.saturating_add(value.len());
        }
        if total > KeyValueLimits::MAX_BATCH {
            return Err(Error::Other(format!(
                "the batch holds {total} bytes of values; one set-many carries at most {} bytes",
                KeyValueLimits::MAX_BATCH
            )));
        }
        Ok(state.store.call(|backend| backend.set_many(&name, pairs))?)
    }

    fn remove(&self, bucket: &Resource<Bucket>, keys: &[String]) -> Result<(), Error> {
        let (name, state) = self.bucket(bucket)?;
        for key in keys {
            state.check_key(key)?;
        }
        Ok(state
            .store
            .call(|backend| backend.delete_many(&name, keys))?)
    }

    fn page(&self, bucket: &Resource<Bucket>, cursor: Option<u64>) -> Result<KeyResponse, Error> {
        let (name, state) = self.bucket(bucket)?;
        let skip = usize::try_from(cursor.unwrap_or(0)).unwrap_or(usize::MAX);
        let (keys, more) = state
            .store
            .call(|backend| backend.keys(&name, skip, state.limits.page))?;
        let cursor = more.then(|| (skip + keys.len()) as u64);
        Ok(KeyResponse { keys, cursor })
    }

    fn add(&self, bucket: &Resource<Bucket>, key: &str, delta: u64) -> Result<u64, Error> {
        let (name, state) = self.bucket(bucket)?;
        state.check_key(key)?;
        Ok(state
            .store
            .call(|backend| backend.increment(&name, key, delta))?)
    }
}

/// A record's result: the answer `answer` makes of the value, or the error
/// as the guest saw it.
fn outcome<T>(
    result: &Result<T, Error>,
    answer: impl FnOnce(&T) -> Answer,
) -> Result<Answer, String> {
    result.as_ref().map(answer).map_err(|error| match error {
        Error::NoSuchStore => "no-such-store".to_string(),
        Error::AccessDenied => "access-denied".to_string(),
        Error::Other(message) => format!("other: {message}"),
    })
}

fn value(found: Option<&Vec<u8>>) -> Option<Preview> {
    found.map(|value| Preview::of(value))
}

// Each function the guest calls does its work, then reports it (a record is
// made only when the embedder listens, see `GuestState::report`).

impl store::Host for GuestState {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, Error> {
        let name = if identifier.is_empty() {
            DEFAULT_BUCKET.to_string()
        } else {
            identifier
        };
        let opened = self.open_bucket(&name);
        self.report(|| {
            ServiceCall::new(self.module(), STORE, "open")
                .bucket(Some(&name))
                .answered(outcome(&opened, |_| Answer::Done))
        });
        opened
    }
}

impl store::HostBucket for GuestState {
    fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>, Error> {
        let found = self.read(&bucket, &key);
        self.report(|| {
            self.keyvalue_call(STORE, "get", &bucket)
                .key(&key)
                .answered(outcome(&found, |found| {
                    Answer::Value(value(found.as_ref()))
                }))
        });
        found
    }

    fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> Result<(), Error> {
        let pairs = [(key, value)];
        let written = self.write(&bucket, &pairs);
        self.report(|| {
            let [(key, value)] = &pairs;
            self.keyvalue_call(STORE, "set", &bucket)
                .key(key)
                .value(value)
                .answered(outcome(&written, |()| Answer::Done))
        });
        written
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), Error> {
        let keys = [key];
        let removed = self.remove(&bucket, &keys);
        self.report(|| {
            self.keyvalue_call(STORE, "delete", &bucket)
                .key(&keys[0])
                .answered(outcome(&removed, |()| Answer::Done))
        });
        removed
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<bool, Error> {
        let exists = self.read(&bucket, &key).map(|found| found.is_some());
        self.report(|| {
            self.keyvalue_call(STORE, "exists", &bucket)
                .key(&key)
                .answered(outcome(&exists, |exists| Answer::Exists(*exists)))
        });
        exists
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> Result<KeyResponse, Error> {
        let page = self.page(&bucket, cursor);
        self.report(|| ServiceCall {
            cursor,
            ..self
                .keyvalue_call(STORE, "list-keys", &bucket)
                .answered(outcome(&page, |page| Answer::Keys {
                    keys: page.keys.clone(),
                    cursor: page.cursor,
                }))
        });
        page
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table_mut().delete(bucket)?;
        self.keyvalue.open = self.keyvalue.open.saturating_sub(1);
        Ok(())
    }
}

impl atomics::Host for GuestState {
    fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> Result<u64, Error> {
        let counter = self.add(&bucket, &key, delta);
        self.report(|| ServiceCall {
            delta: Some(delta),
            ..self
                .keyvalue_call(ATOMICS, "increment", &bucket)
                .key(&key)
                .answered(outcome(&counter, |counter| Answer::Counter(*counter)))
        });
        counter
    }
}

impl batch::Host for GuestState {
    fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Vec<Option<(String, Vec<u8>)>>, Error> {
        let found = keys
            .iter()
            .map(|key| Ok(self.read(&bucket, key)?.map(|value| (key.clone(), value))))
            .collect::<Result<Vec<_>, Error>>();
        self.report(|| ServiceCall {
            keys: keys.clone(),
            ..self
                .keyvalue_call(BATCH, "get-many", &bucket)
                .answered(outcome(&found, |found| {
                    Answer::Values(
                        found
                            .iter()
                            .map(|pair| value(pair.as_ref().map(|(_, value)| value)))
                            .collect(),
                    )
                }))
        });
        found
    }

    fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), Error> {
        let written = self.write(&bucket, &key_values);
        self.report(|| ServiceCall {
            keys: key_values.iter().map(|(key, _)| key.clone()).collect(),
            values: key_values
                .iter()
                .map(|(_, value)| Preview::of(value))
                .collect(),
            ..self
                .keyvalue_call(BATCH, "set-many", &bucket)
                .answered(outcome(&written, |()| Answer::Done))
        });
        written
    }

    fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Result<(), Error> {
        let removed = self.remove(&bucket, &keys);
        self.report(|| ServiceCall {
            keys: keys.clone(),
            ..self
                .keyvalue_call(BATCH, "delete-many", &bucket)
                .answered(outcome(&removed, |()| Answer::Done))
        });
        removed
    }
}

/// The next value of a counter kept as decimal text.
fn incremented(current: Option<&[u8]>, delta: u64) -> Result<u64, Failure> {
    let current = match current {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or_else(|| Failure::Refused(NOT_A_COUNTER.into()))?,
    };
    current
        .checked_add(delta)
        .ok_or_else(|| Failure::Refused(OVERFLOW.into()))
}

/// Buckets in this process's memory.
#[derive(Default)]
struct Memory(Mutex<BTreeMap<String, BTreeMap<String, Vec<u8>>>>);

impl Backend for Memory {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        let buckets = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(buckets.get(bucket).and_then(|b| b.get(key)).cloned())
    }

    fn set_many(&self, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        let mut buckets = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entries = buckets.entry(bucket.to_string()).or_default();
        for (key, value) in pairs {
            entries.insert(key.clone(), value.clone());
        }
        Ok(())
    }

    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), Failure> {
        let mut buckets = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entries) = buckets.get_mut(bucket) {
            for key in keys {
                entries.remove(key);
            }
        }
        Ok(())
    }

    fn keys(&self, bucket: &str, skip: usize, take: usize) -> Result<(Vec<String>, bool), Failure> {
        let buckets = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entries) = buckets.get(bucket) else {
            return Ok((Vec::new(), false));
        };
        let keys: Vec<String> = entries.keys().skip(skip).take(take).cloned().collect();
        let more = entries.len() > skip.saturating_add(keys.len());
        Ok((keys, more))
    }

    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, Failure> {
        let mut buckets = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entries = buckets.entry(bucket.to_string()).or_default();
        let next = incremented(entries.get(key).map(Vec::as_slice), delta)?;
        entries.insert(key.to_string(), next.to_string().into_bytes());
        Ok(next)
    }
}

/// Every bucket's pairs, in one redb table keyed by `(bucket, key)`.
const PAIRS: redb::TableDefinition<(&str, &str), &[u8]> =
    redb::TableDefinition::new("wasi-keyvalue");

/// Buckets in a redb file. Each write is one committed transaction: when
/// the guest hears `ok`, the data is durable.
struct Redb(redb::Database);

fn text(error: impl Into<redb::Error>) -> String {
    error.into().to_string()
}

fn failed(error: impl Into<redb::Error>) -> Failure {
    Failure::Store(text(error))
}

impl Redb {
    fn open(path: &Path) -> Result<Self, String> {
        let database = redb::Database::create(path).map_err(text)?;
        let transaction = database.begin_write().map_err(text)?;
        transaction.open_table(PAIRS).map_err(text)?;
        transaction.commit().map_err(text)?;
        Ok(Self(database))
    }

    fn write<T>(
        &self,
        change: impl FnOnce(&mut redb::Table<(&str, &str), &[u8]>) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let transaction = self.0.begin_write().map_err(failed)?;
        let result = {
            let mut table = transaction.open_table(PAIRS).map_err(failed)?;
            change(&mut table)?
        };
        transaction.commit().map_err(failed)?;
        Ok(result)
    }
}

impl Backend for Redb {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        use redb::ReadableDatabase;
        let transaction = self.0.begin_read().map_err(failed)?;
        let table = transaction.open_table(PAIRS).map_err(failed)?;
        let value = table.get((bucket, key)).map_err(failed)?;
        Ok(value.map(|guard| guard.value().to_vec()))
    }

    fn set_many(&self, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        self.write(|table| {
            for (key, value) in pairs {
                table
                    .insert((bucket, key.as_str()), value.as_slice())
                    .map_err(failed)?;
            }
            Ok(())
        })
    }

    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), Failure> {
        self.write(|table| {
            for key in keys {
                table.remove((bucket, key.as_str())).map_err(failed)?;
            }
            Ok(())
        })
    }

    fn keys(&self, bucket: &str, skip: usize, take: usize) -> Result<(Vec<String>, bool), Failure> {
        use redb::ReadableDatabase;
        let transaction = self.0.begin_read().map_err(failed)?;
        let table = transaction.open_table(PAIRS).map_err(failed)?;
        let mut keys = Vec::new();
        let mut more = false;
        for entry in table.range((bucket, "")..).map_err(failed)?.skip(skip) {
            let (key, _) = entry.map_err(failed)?;
            let (in_bucket, key) = key.value();
            if in_bucket != bucket {
                break;
            }
            if keys.len() == take {
                more = true;
                break;
            }
            keys.push(key.to_string());
        }
        Ok((keys, more))
    }

    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, Failure> {
        use redb::ReadableTable;
        self.write(|table| {
            let current = table.get((bucket, key)).map_err(failed)?;
            let next = incremented(current.as_ref().map(redb::AccessGuard::value), delta)?;
            drop(current);
            table
                .insert((bucket, key), next.to_string().as_bytes())
                .map_err(failed)?;
            Ok(next)
        })
    }
}

/// The integration tests' `redis-server` helper, for the backend tests below.
#[cfg(test)]
#[path = "../../../tests/support/redis.rs"]
#[allow(dead_code)]
mod redis_server;

#[cfg(test)]
mod tests {
    use super::redis_server::RedisServer;
    use super::*;

    /// Each backend, with what keeps it alive (its folder, its server).
    fn backends(dir: &Path, server: &RedisServer) -> Vec<(&'static str, Box<dyn Backend>)> {
        let address = RedisAddress::parse(&server.url()).unwrap();
        vec![
            ("memory", Box::new(Memory::default())),
            ("redb", Box::new(Redb::open(&dir.join("kv.redb")).unwrap())),
            ("redis", Box::new(Redis::new(&address).unwrap())),
        ]
    }

    #[test]
    fn each_backend_keeps_buckets_apart_and_pages_keys() {
        let dir = tempfile::tempdir().unwrap();
        let server = RedisServer::start();
        for (name, backend) in backends(dir.path(), &server) {
            let pairs: Vec<(String, Vec<u8>)> =
                (0..5).map(|i| (format!("k{i}"), vec![i])).collect();
            backend.set_many("a", &pairs).unwrap();
            backend
                .set_many("b", &[("k0".into(), b"other".to_vec())])
                .unwrap();
            assert_eq!(backend.get("a", "k0").unwrap(), Some(vec![0]), "{name}");
            assert_eq!(backend.get("b", "k0").unwrap(), Some(b"other".to_vec()));
            assert_eq!(backend.get("c", "k0").unwrap(), None, "{name}");
            assert_eq!(
                backend.keys("a", 0, 3).unwrap(),
                (vec!["k0".into(), "k1".into(), "k2".into()], true),
                "{name}"
            );
            assert_eq!(
                backend.keys("a", 3, 3).unwrap(),
                (vec!["k3".into(), "k4".into()], false),
                "{name}"
            );
            assert_eq!(backend.keys("a", 0, 0).unwrap(), (vec![], true), "{name}");
            assert_eq!(backend.keys("a", 9, 3).unwrap(), (vec![], false), "{name}");
            assert_eq!(backend.keys("b", 0, 3).unwrap(), (vec!["k0".into()], false));
            assert_eq!(backend.keys("c", 0, 3).unwrap(), (vec![], false), "{name}");
            backend.delete_many("a", &["k1".into()]).unwrap();
            assert_eq!(backend.get("a", "k1").unwrap(), None, "{name}");
            assert_eq!(
                backend.keys("a", 0, 9).unwrap().0,
                ["k0", "k2", "k3", "k4"],
                "{name}: a deleted key is not listed"
            );
            backend.delete_many("a", &[]).unwrap();
            backend.set_many("a", &[]).unwrap();
            assert_eq!(backend.increment("a", "n", 2).unwrap(), 2, "{name}");
            assert_eq!(backend.increment("a", "n", 3).unwrap(), 5, "{name}");
            assert_eq!(backend.get("a", "n").unwrap(), Some(b"5".to_vec()));
            assert_eq!(
                backend.keys("a", 4, 9).unwrap().0,
                ["n"],
                "{name}: a counter is a key like others"
            );
            assert_eq!(
                backend.increment("a", "k0", 1),
                Err(Failure::Refused(NOT_A_COUNTER.into())),
                "{name}"
            );
            backend
                .set_many("a", &[("max".into(), u64::MAX.to_string().into_bytes())])
                .unwrap();
            assert_eq!(
                backend.increment("a", "max", 1),
                Err(Failure::Refused(OVERFLOW.into())),
                "{name}"
            );
            assert_eq!(
                backend.get("a", "max").unwrap(),
                Some(u64::MAX.to_string().into_bytes()),
                "{name}: a refused increment changes nothing"
            );
        }
    }

    /// Redis does the arithmetic in Lua: it must read and refuse exactly
    /// what Rust's `u64::from_str` does.
    #[test]
    fn every_backend_reads_a_counter_as_rust_does() {
        let dir = tempfile::tempdir().unwrap();
        let server = RedisServer::start();
        let values: [&[u8]; 16] = [
            b"0",
            b"+5",
            b"007",
            b"+0009",
            b"",
            b"+",
            b"-1",
            b"-0",
            b" 5",
            b"5 ",
            b"1e3",
            b"\xff",
            b"18446744073709551615",
            b"18446744073709551614",
            b"18446744073709551616",
            b"0000000000000000000000018446744073709551615",
        ];
        for (name, backend) in backends(dir.path(), &server) {
            for value in values {
                for delta in [0, 1, u64::MAX] {
                    backend
                        .set_many("c", &[("n".into(), value.to_vec())])
                        .unwrap();
                    let expected = incremented(Some(value), delta);
                    assert_eq!(
                        backend.increment("c", "n", delta),
                        expected,
                        "{name}: {:?} + {delta}",
                        String::from_utf8_lossy(value)
                    );
                    let kept = match expected {
                        Ok(next) => next.to_string().into_bytes(),
                        Err(_) => value.to_vec(),
                    };
                    assert_eq!(backend.get("c", "n").unwrap(), Some(kept), "{name}");
                }
            }
        }
    }

    /// Two hosts' stores on one Redis, incrementing one counter from
    /// several threads at once: no increment is lost.
    #[test]
    fn redis_increments_are_atomic_against_other_writers() {
        let server = RedisServer::start();
        let backend = KeyValueBackend::Redis { url: server.url() };
        let hosts = [
            KeyValue::open(&backend).unwrap(),
            KeyValue::open(&backend).unwrap(),
        ];
        let (threads, each) = (4, 250);
        std::thread::scope(|scope| {
            for thread in 0..threads {
                let store = &hosts[thread % 2];
                scope.spawn(move || {
                    for _ in 0..each {
                        store.increment("shared", "n", 1).unwrap();
                    }
                });
            }
        });
        assert_eq!(
            hosts[0].get("shared", "n").unwrap(),
            Some((threads * each).to_string().into_bytes())
        );
    }

    #[test]
    fn backends_are_read_as_operators_write_them() {
        assert_eq!(
            KeyValueBackend::parse("memory"),
            Ok(KeyValueBackend::Memory)
        );
        assert_eq!(
            KeyValueBackend::parse("redb:state/kv.redb"),
            Ok(KeyValueBackend::Redb {
                path: "state/kv.redb".into()
            })
        );
        assert_eq!(
            KeyValueBackend::parse("redis://127.0.0.1:6379/1"),
            Ok(KeyValueBackend::Redis {
                url: "redis://127.0.0.1:6379/1".into()
            })
        );
        for wrong in [
            "",
            "redb:",
            "redis://localhost",
            "redis:localhost:6379",
            "Memory",
        ] {
            let error = KeyValueBackend::parse(wrong).unwrap_err();
            assert!(error.contains("redis://HOST:PORT/DB"), "{wrong}: {error}");
        }
    }

    #[test]
    fn bucket_names_are_checked() {
        assert!(check_bucket_name("sessions").is_ok());
        assert!(check_bucket_name("").is_err());
        assert!(check_bucket_name(&"x".repeat(256)).is_err());
        assert!(check_bucket_name("a\nb").is_err());
    }

    #[test]
    fn a_locked_redb_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.redb");
        let backend = KeyValueBackend::Redb { path: path.clone() };
        let _first = KeyValue::open(&backend).unwrap();
        let error = KeyValue::open(&backend).unwrap_err();
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }
}
