//! Components shared by every harness of a test process, keyed by their hash.
//!
//! Each test builds its own harness, but the same few components appear in
//! all of them: the text is parsed, the file read and the component
//! inspected once per process. Compiled code is shared through the host's
//! on-disk compile cache (one entry per component hash, across test
//! binaries too), so a test after the first pays for loading and
//! instantiating, not for compiling.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use arcella_host::HostOptions;
use arcella_host::contract::ComponentInfo;

use crate::error::Error;

/// A component ready to install: its bytes, and what it imports and exports.
pub(crate) struct Prepared {
    /// The component binary.
    pub wasm: Arc<Vec<u8>>,
    /// What it imports and exports (`None` when it could not be inspected: the host says why on install).
    pub info: Option<ComponentInfo>,
}

/// Where a component came from, for the memo: text by hash, files by path and modification time.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Text(blake3::Hash),
    File(std::path::PathBuf, Option<SystemTime>, u64),
}

fn by_source() -> &'static Mutex<HashMap<Key, blake3::Hash>> {
    static MAP: OnceLock<Mutex<HashMap<Key, blake3::Hash>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

fn by_hash() -> &'static Mutex<HashMap<blake3::Hash, Arc<Prepared>>> {
    static MAP: OnceLock<Mutex<HashMap<blake3::Hash, Arc<Prepared>>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The prepared component for `key`, made by `make` the first time.
fn memo(key: Key, make: impl FnOnce() -> Result<Vec<u8>, Error>) -> Result<Arc<Prepared>, Error> {
    let known = lock(by_source()).get(&key).copied();
    if let Some(hash) = known
        && let Some(prepared) = lock(by_hash()).get(&hash)
    {
        return Ok(prepared.clone());
    }
    let prepared = prepare(make()?);
    lock(by_source()).insert(key, prepared.0);
    Ok(prepared.1)
}

/// Hashes and inspects `wasm`, or takes the copy already made for the same bytes.
pub(crate) fn prepare(wasm: Vec<u8>) -> (blake3::Hash, Arc<Prepared>) {
    let hash = blake3::hash(&wasm);
    let mut map = lock(by_hash());
    let prepared = map.entry(hash).or_insert_with(|| {
        let info = ComponentInfo::inspect(&wasm).ok();
        Arc::new(Prepared {
            wasm: Arc::new(wasm),
            info,
        })
    });
    (hash, prepared.clone())
}

/// The component written as `text` (component-model WAT).
pub(crate) fn from_wat(text: &str) -> Result<Arc<Prepared>, Error> {
    memo(Key::Text(blake3::hash(text.as_bytes())), || {
        wat::parse_str(text).map_err(|error| Error::Wat(error.to_string()))
    })
}

/// The component in the file at `path`.
pub(crate) fn from_file(path: &Path) -> Result<Arc<Prepared>, Error> {
    let read_error = |source: std::io::Error| Error::Read {
        path: path.to_path_buf(),
        message: source.to_string(),
    };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    let key = Key::File(path.to_path_buf(), metadata.modified().ok(), metadata.len());
    memo(key, || std::fs::read(path).map_err(read_error))
}

/// The host's defaults (compile cache included), read once per process.
pub(crate) fn base_options() -> Result<HostOptions, Error> {
    static OPTIONS: OnceLock<Result<HostOptions, String>> = OnceLock::new();
    OPTIONS
        .get_or_init(|| HostOptions::new().map_err(|error| error.to_string()))
        .clone()
        .map_err(|message| Error::Host(super::host_error(&arcella_host::Error::Host(message))))
}
