//! The compile cache: compiled components kept on disk across processes.
//!
//! Loading a compiled artifact runs its machine code, so an artifact that
//! someone else wrote, or that was cut short, must never be loaded. Each entry
//! carries a MAC keyed with a per-user secret kept beside the cache; an entry
//! whose MAC does not verify (corrupt, truncated, copied from another machine,
//! written for another engine) is recompiled and overwritten.
//!
//! The MAC is only as safe as the folder that holds the key, so, as ssh does
//! with `~/.ssh`, a cache folder owned by another user or writable by group
//! or others is refused: [`CompileCache::open`] fails, and the host warns and
//! runs without a cache. Whatever sits at an entry's path is opened without
//! following symlinks or waiting on a FIFO, and read only if it is a regular
//! file of bounded size.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"ARCELLA1";
const MAC_LEN: usize = 32;
const KEY_FILE: &str = "cache-key";
const KEY_LEN: usize = 32;

/// Largest entry read back: a compiled component is a few times its size,
/// and components past 64 MiB are refused by default. A larger entry is
/// ignored and compiled again.
const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// Where compiled components are kept, and the key that vouches for them.
#[derive(Clone)]
pub struct CompileCache {
    dir: PathBuf,
    key: [u8; KEY_LEN],
}

/// Whether a component came from the cache or was compiled now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CacheOutcome {
    /// Loaded from a verified cache entry.
    Hit,
    /// Compiled; the result was stored for next time when possible.
    Compiled,
}

impl CompileCache {
    /// The cache in `ARCELLA_CACHE_DIR`, or the user's cache folder.
    pub fn from_env() -> std::io::Result<Self> {
        let dir = match std::env::var_os("ARCELLA_CACHE_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => dirs::cache_dir()
                .ok_or_else(|| std::io::Error::other("no cache folder for this user"))?
                .join("arcella"),
        };
        Self::open(&dir)
    }

    /// Opens (creating it if needed) a cache in `dir`; fails if `dir` is
    /// owned by another user or writable by group or others.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        create_private_dir(dir)?;
        check_private_dir(dir)?;
        let key = load_or_create_key(&dir.join(KEY_FILE))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            key,
        })
    }

    /// The cache's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The compiled form of `wasm` for `engine`, from the cache when a
    /// verified entry exists, else compiled now and stored.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        self.load_hashed(engine, wasm, &blake3::hash(wasm))
    }

    /// The verified compiled copy of the component whose bytes hash to
    /// `content`, if the cache holds one for `engine`.
    pub fn lookup(&self, engine: &Engine, content: &blake3::Hash) -> Option<Component> {
        let fingerprint = engine_fingerprint(engine);
        let entry = self.entry_path(&fingerprint, content.as_bytes());
        self.read_verified(engine, &entry, &fingerprint, content.as_bytes())
    }

    /// [`load`](Self::load) for a caller that already has `blake3::hash(wasm)`:
    /// hashing a large component is a noticeable part of a warm start.
    pub fn load_hashed(
        &self,
        engine: &Engine,
        wasm: &[u8],
        content: &blake3::Hash,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let fingerprint = engine_fingerprint(engine);
        let entry = self.entry_path(&fingerprint, content.as_bytes());
        if let Some(component) =
            self.read_verified(engine, &entry, &fingerprint, content.as_bytes())
        {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, wasm)?;
        if let Err(error) = self.write(&entry, &fingerprint, content.as_bytes(), &component) {
            tracing::debug!(
                "could not store compiled component in {}: {error}",
                entry.display()
            );
        }
        Ok((component, CacheOutcome::Compiled))
    }

    fn entry_path(&self, fingerprint: &[u8; 32], content: &[u8; 32]) -> PathBuf {
        let mut hasher = blake3::Hasher::new();
        hasher.update(fingerprint).update(content);
        self.dir
            .join(format!("{}.cwasm", &hasher.finalize().to_hex()[..32]))
    }

    fn mac(&self, fingerprint: &[u8; 32], content: &[u8; 32], artifact: &[u8]) -> [u8; MAC_LEN] {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(fingerprint).update(content).update(artifact);
        *hasher.finalize().as_bytes()
    }

    fn read_verified(
        &self,
        engine: &Engine,
        entry: &Path,
        fingerprint: &[u8; 32],
        content: &[u8; 32],
    ) -> Option<Component> {
        let bytes = read_regular_file(entry, MAX_ENTRY_BYTES)
            .inspect_err(|error| {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!("ignoring cache entry {}: {error}", entry.display());
                }
            })
            .ok()?;
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < MAC_LEN {
            return None;
        }
        let (mac, artifact) = rest.split_at(MAC_LEN);
        let expected = blake3::Hash::from(self.mac(fingerprint, content, artifact));
        let given = blake3::Hash::from(<[u8; MAC_LEN]>::try_from(mac).ok()?);
        // `blake3::Hash` compares in constant time.
        if expected != given {
            tracing::warn!("ignoring unverified cache entry {}", entry.display());
            return None;
        }
        deserialize_verified(engine, artifact)
            .inspect_err(|error| {
                tracing::warn!("ignoring unusable cache entry {}: {error}", entry.display())
            })
            .ok()
    }

    fn write(
        &self,
        entry: &Path,
        fingerprint: &[u8; 32],
        content: &[u8; 32],
        component: &Component,
    ) -> wasmtime::Result<()> {
        let artifact = component.serialize()?;
        let mac = self.mac(fingerprint, content, &artifact);
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(MAGIC)?;
        file.write_all(&mac)?;
        file.write_all(&artifact)?;
        file.as_file().sync_data()?;
        file.persist(entry).map_err(|error| error.error)?;
        Ok(())
    }
}

/// Deserializes an artifact whose MAC was just verified with our own key.
#[allow(unsafe_code)]
fn deserialize_verified(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `artifact` was produced by `Component::serialize` in a process
    // holding this cache's secret key: its keyed MAC, over the engine
    // fingerprint and the source's hash, verified above. Wasmtime itself also
    // checks that the artifact matches this engine's configuration.
    unsafe { Component::deserialize(engine, artifact) }
}

/// A digest of everything about `engine` that compiled code depends on.
fn engine_fingerprint(engine: &Engine) -> [u8; 32] {
    struct Blake3Hasher(blake3::Hasher);
    impl Hasher for Blake3Hasher {
        fn finish(&self) -> u64 {
            let bytes = self.0.finalize();
            u64::from_le_bytes(bytes.as_bytes()[..8].try_into().unwrap_or_default())
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Blake3Hasher(blake3::Hasher::new());
    hasher.write(env!("CARGO_PKG_VERSION").as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    *hasher.0.finalize().as_bytes()
}

/// Creates `dir` (and missing parents) readable by this user only; an
/// existing folder is left as it is, for [`check_private_dir`] to judge.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Refuses a cache folder that someone else could write into: one owned by
/// another user (root excepted), or writable by group or others. Whoever can
/// write there can replace the key, and then the entries it vouches for.
#[cfg(unix)]
fn check_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let metadata = fs::metadata(dir)?;
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me && metadata.uid() != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{} is owned by uid {}, not by this user (uid {me}); \
                 set ARCELLA_CACHE_DIR to a folder of your own",
                dir.display(),
                metadata.uid()
            ),
        ));
    }
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{} is writable by group or others (mode {mode:o}); \
                 make it private with `chmod go-w`, or set ARCELLA_CACHE_DIR elsewhere",
                dir.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The bytes of the regular file at `path`, at most `limit` of them.
///
/// A symlink is refused rather than followed, and a FIFO is opened without
/// waiting for a writer; the opened file itself must be a regular file no
/// larger than `limit`, and is read no further than that.
fn read_regular_file(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = open_no_follow(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    if metadata.len() > limit {
        return Err(std::io::Error::other(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or_default());
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(std::io::Error::other(format!(
            "{} grew past {limit} bytes while being read",
            path.display()
        )));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<fs::File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => Ok(fs::File::from(fd)),
        Err(rustix::io::Errno::LOOP) => Err(std::io::Error::other(format!(
            "{} is a symbolic link",
            path.display()
        ))),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<fs::File> {
    fs::File::open(path)
}

/// The cache's key, created on first use. A key file that is missing is
/// created; one that cannot be read as a key makes the cache unusable.
fn load_or_create_key(path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    match read_regular_file(path, KEY_LEN as u64) {
        Ok(bytes) => return as_key(path, &bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|error| std::io::Error::other(error.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(&key)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    // Two processes may race to create the key: the first rename wins and
    // both then use what is on disk.
    match file.persist_noclobber(path) {
        Ok(_) => Ok(key),
        Err(_) => as_key(path, &read_regular_file(path, KEY_LEN as u64)?),
    }
}

fn as_key(path: &Path, bytes: &[u8]) -> std::io::Result<[u8; KEY_LEN]> {
    <[u8; KEY_LEN]>::try_from(bytes)
        .map_err(|_| std::io::Error::other(format!("{} is not a cache key", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineSettings, shared_engine};

    const TRIVIAL: &str = "(component (core module (func (export \"f\"))))";

    fn engine() -> Engine {
        shared_engine(EngineSettings::default()).unwrap()
    }

    #[test]
    fn a_second_load_is_a_verified_hit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(dir.path()).unwrap();
        let wasm = wat::parse_str(TRIVIAL).unwrap();
        assert_eq!(
            cache.load(&engine(), &wasm).unwrap().1,
            CacheOutcome::Compiled
        );
        assert_eq!(cache.load(&engine(), &wasm).unwrap().1, CacheOutcome::Hit);
    }

    #[test]
    fn a_lookup_by_hash_finds_only_what_was_compiled() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(dir.path()).unwrap();
        let wasm = wat::parse_str(TRIVIAL).unwrap();
        let hash = blake3::hash(&wasm);
        assert!(cache.lookup(&engine(), &hash).is_none());
        cache.load(&engine(), &wasm).unwrap();
        assert!(cache.lookup(&engine(), &hash).is_some());
        assert!(cache.lookup(&engine(), &blake3::hash(b"other")).is_none());
    }

    #[test]
    fn corrupt_truncated_and_foreign_entries_are_recompiled() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(dir.path()).unwrap();
        let wasm = wat::parse_str(TRIVIAL).unwrap();
        cache.load(&engine(), &wasm).unwrap();
        let entry = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .unwrap();
        let good = fs::read(&entry).unwrap();

        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        for bad in [
            flipped,
            good[..good.len() / 2].to_vec(),
            b"ARCELLA1".to_vec(),
            Vec::new(),
        ] {
            fs::write(&entry, bad).unwrap();
            assert_eq!(
                cache.load(&engine(), &wasm).unwrap().1,
                CacheOutcome::Compiled
            );
        }

        // An entry written under another key (another user or machine) is foreign.
        let other = tempfile::tempdir().unwrap();
        let foreign = CompileCache::open(other.path()).unwrap();
        foreign.load(&engine(), &wasm).unwrap();
        let foreign_entry = other.path().join(entry.file_name().unwrap());
        fs::copy(foreign_entry, &entry).unwrap();
        assert_eq!(
            cache.load(&engine(), &wasm).unwrap().1,
            CacheOutcome::Compiled
        );
        assert_eq!(cache.load(&engine(), &wasm).unwrap().1, CacheOutcome::Hit);
    }
}
