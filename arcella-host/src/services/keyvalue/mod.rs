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
//! [`KeyValueBackend`] the operator picks (memory, or a redb file), and
//! shared by every guest the host runs, whatever its isolation: a guest in
//! a worker process reaches the host's store over a connection of its own
//! ([`remote`]); no worker ever opens a store.
//!
//! `increment` keeps a counter as its decimal text (`"42"`), as wasmtime's
//! implementation does, so a component reads the same bytes on both.
//! Every call is bounded by [`KeyValueLimits`]; over a limit the guest gets
//! `error::other` naming the limit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wasmtime::component::{HasSelf, Linker, Resource};

use super::{CapabilityNeed, Provided, Service};
use crate::error::{Error as HostError, Result as HostResult};
use crate::store::GuestState;

pub(crate) mod remote;

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
}

impl KeyValueBackend {
    /// Reads the backend as an operator writes it: `memory` or `redb:PATH`.
    ///
    /// # Errors
    ///
    /// What was expected, when it is neither.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        match text.split_once(':') {
            None if text == "memory" => Ok(Self::Memory),
            Some(("redb", path)) if !path.is_empty() => Ok(Self::Redb { path: path.into() }),
            _ => Err(format!(
                "`{text}` is not a keyvalue backend; write `memory` or `redb:PATH`"
            )),
        }
    }
}

/// The operations a backend serves, per bucket. A further backend (Redis)
/// is one more implementation.
trait Backend: Send + Sync {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String>;
    fn set_many(&self, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), String>;
    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), String>;
    /// Keys in order, skipping `skip`, at most `take`; and whether more follow.
    fn keys(&self, bucket: &str, skip: usize, take: usize) -> Result<(Vec<String>, bool), String>;
    /// Reads, adds and writes back in one step no other writer interleaves with.
    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, String>;
}

/// One host's key-value store, opened once and shared by its guests.
/// Cheap to clone.
#[derive(Clone)]
pub struct KeyValue {
    backend: Arc<dyn Backend>,
    name: Arc<str>,
}

impl Default for KeyValue {
    /// An empty store in memory.
    fn default() -> Self {
        Self {
            backend: Arc::new(Memory::default()),
            name: "memory".into(),
        }
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
    /// # Errors
    ///
    /// [`HostError::KeyValueOpen`] when the redb file cannot be opened
    /// (locked by another process, corrupt, unreadable), naming it.
    pub fn open(backend: &KeyValueBackend) -> HostResult<Self> {
        match backend {
            KeyValueBackend::Memory => Ok(Self::default()),
            KeyValueBackend::Redb { path } => Ok(Self {
                backend: Arc::new(Redb::open(path).map_err(|message| HostError::KeyValueOpen {
                    path: path.clone(),
                    message,
                })?),
                name: format!("redb at {}", path.display()).into(),
            }),
        }
    }

    /// The host's store, reached from a worker over `connection`.
    pub(crate) fn remote(connection: remote::Remote) -> Self {
        Self {
            backend: Arc::new(connection),
            name: "the host's key-value store".into(),
        }
    }

    /// The value of `key` in `bucket`, read directly (for tests and tools).
    ///
    /// # Errors
    ///
    /// The backend's failure, as text.
    pub fn get(&self, bucket: &str, key: &str) -> std::result::Result<Option<Vec<u8>>, String> {
        self.backend.get(bucket, key)
    }

    /// Sets `key` in `bucket` directly (for tests and tools).
    ///
    /// # Errors
    ///
    /// The backend's failure, as text.
    pub fn set(&self, bucket: &str, key: &str, value: &[u8]) -> std::result::Result<(), String> {
        self.backend
            .set_many(bucket, &[(key.to_string(), value.to_vec())])
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
            let (keys, more) = self.backend.keys(bucket, skip, PAGE)?;
            skip += keys.len();
            for key in keys {
                // A key deleted since it was listed is left out.
                if let Some(value) = self.backend.get(bucket, &key)? {
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

    fn backend_error(&self, message: &str) -> Error {
        tracing::warn!("keyvalue ({}): {message}", self.store.name);
        Error::Other(format!("{}: {message}", self.store.name))
    }
}

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
}

impl store::Host for GuestState {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, Error> {
        let state = &self.keyvalue;
        if let Some(reason) = state.refused {
            return Err(Error::Other(reason.to_string()));
        }
        let name = if identifier.is_empty() {
            DEFAULT_BUCKET.to_string()
        } else {
            identifier
        };
        if let Err(problem) = check_bucket_name(&name) {
            return Err(Error::Other(problem));
        }
        if !state.grants(&name) {
            tracing::warn!(
                "module `{}` was denied the keyvalue bucket `{name}`; to grant it, write under [capabilities]: {}",
                self.module,
                state.manifest_line(&name)
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
}

impl store::HostBucket for GuestState {
    fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>, Error> {
        let (name, state) = self.bucket(&bucket)?;
        state.check_key(&key)?;
        state
            .store
            .backend
            .get(&name, &key)
            .map_err(|e| state.backend_error(&e))
    }

    fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> Result<(), Error> {
        batch::Host::set_many(self, bucket, vec![(key, value)])
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), Error> {
        batch::Host::delete_many(self, bucket, vec![key])
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<bool, Error> {
        Ok(store::HostBucket::get(self, bucket, key)?.is_some())
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> Result<KeyResponse, Error> {
        let (name, state) = self.bucket(&bucket)?;
        let skip = usize::try_from(cursor.unwrap_or(0)).unwrap_or(usize::MAX);
        let (keys, more) = state
            .store
            .backend
            .keys(&name, skip, state.limits.page)
            .map_err(|e| state.backend_error(&e))?;
        let cursor = more.then(|| (skip + keys.len()) as u64);
        Ok(KeyResponse { keys, cursor })
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
        let (name, state) = self.bucket(&bucket)?;
        state.check_key(&key)?;
        state
            .store
            .backend
            .increment(&name, &key, delta)
            .map_err(|e| state.backend_error(&e))
    }
}

impl batch::Host for GuestState {
    fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Vec<Option<(String, Vec<u8>)>>, Error> {
        let (name, state) = self.bucket(&bucket)?;
        keys.into_iter()
            .map(|key| {
                state.check_key(&key)?;
                let value = state
                    .store
                    .backend
                    .get(&name, &key)
                    .map_err(|e| state.backend_error(&e))?;
                Ok(value.map(|value| (key, value)))
            })
            .collect()
    }

    fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), Error> {
        let (name, state) = self.bucket(&bucket)?;
        let mut total = 0usize;
        for (key, value) in &key_values {
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
        state
            .store
            .backend
            .set_many(&name, &key_values)
            .map_err(|e| state.backend_error(&e))
    }

    fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Result<(), Error> {
        let (name, state) = self.bucket(&bucket)?;
        for key in &keys {
            state.check_key(key)?;
        }
        state
            .store
            .backend
            .delete_many(&name, &keys)
            .map_err(|e| state.backend_error(&e))
    }
}

/// The next value of a counter kept as decimal text.
fn incremented(current: Option<&[u8]>, delta: u64) -> Result<u64, String> {
    let current = match current {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or("the value is not a counter (decimal text of a u64)")?,
    };
    current
        .checked_add(delta)
        .ok_or_else(|| "the counter would overflow a u64".to_string())
}

/// Buckets in this process's memory.
#[derive(Default)]
struct Memory(Mutex<BTreeMap<String, BTreeMap<String, Vec<u8>>>>);

impl Backend for Memory {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        let buckets = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(buckets.get(bucket).and_then(|b| b.get(key)).cloned())
    }

    fn set_many(&self, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), String> {
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

    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), String> {
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

    fn keys(&self, bucket: &str, skip: usize, take: usize) -> Result<(Vec<String>, bool), String> {
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

    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, String> {
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
        change: impl FnOnce(&mut redb::Table<(&str, &str), &[u8]>) -> Result<T, String>,
    ) -> Result<T, String> {
        let transaction = self.0.begin_write().map_err(text)?;
        let result = {
            let mut table = transaction.open_table(PAIRS).map_err(text)?;
            change(&mut table)?
        };
        transaction.commit().map_err(text)?;
        Ok(result)
    }
}

impl Backend for Redb {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        use redb::ReadableDatabase;
        let transaction = self.0.begin_read().map_err(text)?;
        let table = transaction.open_table(PAIRS).map_err(text)?;
        let value = table.get((bucket, key)).map_err(text)?;
        Ok(value.map(|guard| guard.value().to_vec()))
    }

    fn set_many(&self, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), String> {
        self.write(|table| {
            for (key, value) in pairs {
                table
                    .insert((bucket, key.as_str()), value.as_slice())
                    .map_err(text)?;
            }
            Ok(())
        })
    }

    fn delete_many(&self, bucket: &str, keys: &[String]) -> Result<(), String> {
        self.write(|table| {
            for key in keys {
                table.remove((bucket, key.as_str())).map_err(text)?;
            }
            Ok(())
        })
    }

    fn keys(&self, bucket: &str, skip: usize, take: usize) -> Result<(Vec<String>, bool), String> {
        use redb::ReadableDatabase;
        let transaction = self.0.begin_read().map_err(text)?;
        let table = transaction.open_table(PAIRS).map_err(text)?;
        let mut keys = Vec::new();
        let mut more = false;
        for entry in table.range((bucket, "")..).map_err(text)?.skip(skip) {
            let (key, _) = entry.map_err(text)?;
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

    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, String> {
        use redb::ReadableTable;
        self.write(|table| {
            let current = table.get((bucket, key)).map_err(text)?;
            let next = incremented(current.as_ref().map(redb::AccessGuard::value), delta)?;
            drop(current);
            table
                .insert((bucket, key), next.to_string().as_bytes())
                .map_err(text)?;
            Ok(next)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(dir: &Path) -> Vec<Box<dyn Backend>> {
        vec![
            Box::new(Memory::default()),
            Box::new(Redb::open(&dir.join("kv.redb")).unwrap()),
        ]
    }

    #[test]
    fn each_backend_keeps_buckets_apart_and_pages_keys() {
        let dir = tempfile::tempdir().unwrap();
        for backend in backends(dir.path()) {
            let pairs: Vec<(String, Vec<u8>)> =
                (0..5).map(|i| (format!("k{i}"), vec![i])).collect();
            backend.set_many("a", &pairs).unwrap();
            backend
                .set_many("b", &[("k0".into(), b"other".to_vec())])
                .unwrap();
            assert_eq!(backend.get("a", "k0").unwrap(), Some(vec![0]));
            assert_eq!(backend.get("b", "k0").unwrap(), Some(b"other".to_vec()));
            assert_eq!(
                backend.keys("a", 0, 3).unwrap(),
                (vec!["k0".into(), "k1".into(), "k2".into()], true)
            );
            assert_eq!(
                backend.keys("a", 3, 3).unwrap(),
                (vec!["k3".into(), "k4".into()], false)
            );
            assert_eq!(backend.keys("b", 0, 3).unwrap(), (vec!["k0".into()], false));
            backend.delete_many("a", &["k1".into()]).unwrap();
            assert_eq!(backend.get("a", "k1").unwrap(), None);
            assert_eq!(backend.increment("a", "n", 2).unwrap(), 2);
            assert_eq!(backend.increment("a", "n", 3).unwrap(), 5);
            assert_eq!(backend.get("a", "n").unwrap(), Some(b"5".to_vec()));
            assert!(backend.increment("a", "k0", 1).is_err(), "not a counter");
        }
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
        for wrong in ["", "redb:", "redis://localhost", "Memory"] {
            assert!(KeyValueBackend::parse(wrong).is_err(), "{wrong}");
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
