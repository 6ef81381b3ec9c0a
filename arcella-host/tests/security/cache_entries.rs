//! Someone who can write where the compile cache lives plants things at an
//! entry's path, or hands the host a cache folder others can write to.
//!
//! A FIFO at an entry's path would block the host forever on open; a symlink
//! to `/dev/zero` would have it read without end. Each must be refused
//! without being waited on, and the component compiled and run anyway. A
//! cache folder that another user owns, or that group or others may write,
//! is not used at all (as ssh refuses such a `~/.ssh`): whoever can write
//! there can replace the key and the entries it vouches for.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use arcella_host::cache::{CacheOutcome, CompileCache};
use arcella_host::{EngineSettings, internal::shared_engine};
use arcella_host::{Host, HostOptions, Isolation, Stdio};

use crate::support::manifest;
use arcella_fixtures::module_guest;

/// Far longer than any load takes, so that a regression fails instead of hanging the suite.
const HANG: Duration = Duration::from_secs(120);

/// Runs `work` on its own thread and returns its result, or fails if it does not finish.
fn bounded<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    match receiver.recv_timeout(HANG) {
        Ok(value) => value,
        Err(error) => panic!("{what} did not finish ({error}): the host hangs on it"),
    }
}

/// A compile cache in a fresh folder, and the path of `wasm`'s entry in it.
fn cache_with_entry(wasm: &[u8]) -> (tempfile::TempDir, CompileCache, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cache = CompileCache::open(dir.path()).unwrap();
    let engine = shared_engine(EngineSettings::default()).unwrap();
    assert_eq!(cache.load(&engine, wasm).unwrap().1, CacheOutcome::Compiled);
    let entry = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.extension()
                .is_some_and(|extension| extension == "cwasm")
        })
        .expect("the first load stores an entry");
    (dir, cache, entry)
}

/// Loads `wasm` through `cache` on a bounded thread: how it was obtained.
fn load(cache: &CompileCache, wasm: &[u8]) -> CacheOutcome {
    let (cache, wasm) = (cache.clone(), wasm.to_vec());
    bounded("loading through the cache", move || {
        let engine = shared_engine(EngineSettings::default()).unwrap();
        cache.load(&engine, &wasm).unwrap().1
    })
}

/// Installs, starts and sends one event to `wasm` in a host using `cache`: the reply.
fn run(cache: Option<CompileCache>, wasm: &[u8]) -> Result<Vec<u8>, String> {
    let wasm = wasm.to_vec();
    bounded("running the component", move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut host = Host::new(HostOptions {
                cache,
                stdio: Stdio::Discard,
                ..HostOptions::new().unwrap()
            });
            host.install(manifest("cached", Isolation::Main), wasm)
                .await
                .unwrap();
            host.start("cached").await.unwrap();
            host.handle("cached", "say", b"still runs")
                .await
                .unwrap()
                .value
        })
    })
}

/// The module guest, made unique to `test` with a custom section: the host
/// keeps what it compiled in memory by hash, and each test must reach the cache.
fn guest(test: &str) -> Vec<u8> {
    let mut wasm = module_guest(false);
    let name = b"arcella-test";
    let payload = test.as_bytes();
    let one_byte_leb128 = |n: usize| u8::try_from(n).ok().filter(|n| *n < 128).unwrap();
    wasm.extend([
        0,
        one_byte_leb128(1 + name.len() + payload.len()),
        one_byte_leb128(name.len()),
    ]);
    wasm.extend(name);
    wasm.extend(payload);
    wasm
}

/// More memory than loading a component takes, by far; reading `/dev/zero` takes all there is.
const MEMORY_SPIKE: u64 = 2 << 30;

/// This process's peak resident memory so far, where `/proc` tells it.
fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kilobytes = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kilobytes * 1024)
}

fn plant_fifo(path: &Path) {
    std::fs::remove_file(path).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn plant_symlink(path: &Path, target: &str) {
    std::fs::remove_file(path).unwrap();
    std::os::unix::fs::symlink(target, path).unwrap();
}

#[test]
fn a_fifo_at_an_entry_is_neither_waited_on_nor_used() {
    let wasm = guest("fifo");
    let (_dir, cache, entry) = cache_with_entry(&wasm);

    plant_fifo(&entry);
    assert_eq!(load(&cache, &wasm), CacheOutcome::Compiled);
    assert!(entry.is_file(), "the compiled entry replaces the FIFO");

    plant_fifo(&entry);
    assert_eq!(run(Some(cache), &wasm), Ok(b"still runs".to_vec()));
}

#[test]
fn a_symlink_to_dev_zero_at_an_entry_is_not_read() {
    let wasm = guest("dev-zero");
    let (_dir, cache, entry) = cache_with_entry(&wasm);

    plant_symlink(&entry, "/dev/zero");
    let peak_before = peak_resident_bytes();
    assert_eq!(load(&cache, &wasm), CacheOutcome::Compiled);
    if let (Some(before), Some(after)) = (peak_before, peak_resident_bytes()) {
        assert!(
            after.saturating_sub(before) < MEMORY_SPIKE,
            "the load read /dev/zero: peak memory grew from {before} to {after} bytes"
        );
    }
    assert!(
        !entry.symlink_metadata().unwrap().is_symlink(),
        "the compiled entry replaces the symlink"
    );

    plant_symlink(&entry, "/dev/zero");
    assert_eq!(run(Some(cache), &wasm), Ok(b"still runs".to_vec()));
}

#[test]
fn a_symlink_to_a_valid_entry_is_not_followed() {
    let wasm = guest("symlink");
    let (dir, cache, entry) = cache_with_entry(&wasm);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::rename(&entry, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
    assert_eq!(load(&cache, &wasm), CacheOutcome::Compiled);
}

#[test]
fn a_key_file_that_is_a_fifo_does_not_hang_opening_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("cache-key");
    let status = std::process::Command::new("mkfifo")
        .arg(&key)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let path = dir.path().to_path_buf();
    let opened = bounded("opening the cache", move || {
        CompileCache::open(&path)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    assert!(opened.is_err(), "a FIFO is not a key: {opened:?}");
}

#[test]
fn a_cache_folder_others_may_write_is_not_used() {
    let wasm = guest("writable-folder");
    for mode in [0o777, 0o770, 0o1777] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();

        let error = match CompileCache::open(dir.path()) {
            Ok(_) => panic!("a folder of mode {mode:o} was used as the cache"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains("writable"), "{error}");
        assert!(error.contains(&dir.path().display().to_string()), "{error}");
        assert_eq!(
            std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o7777,
            mode,
            "the folder is left as it was, not quietly repaired"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing was written there"
        );

        // Without the cache, the component still compiles and runs.
        assert_eq!(
            run(CompileCache::open(dir.path()).ok(), &wasm),
            Ok(b"still runs".to_vec())
        );
    }
}

#[test]
fn a_cache_folder_owned_by_another_user_is_not_used() {
    const NOBODY: u32 = 65534;
    let dir = tempfile::tempdir().unwrap();
    if std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).is_err() {
        eprintln!("skipped: giving a folder to another user needs root");
        return;
    }
    let error = match CompileCache::open(dir.path()) {
        Ok(_) => panic!("a folder owned by uid {NOBODY} was used as the cache"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("owned by"), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
