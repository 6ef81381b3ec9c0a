//! Compile-cache entries from untrusted bytes. An entry is machine code that
//! is loaded and run, so whatever someone writes at an entry's path must be
//! refused unless it carries the MAC of this cache's key.
//!
//! Once per process: a private cache folder with a fixed key, and one real
//! entry, compiled from a trivial component. Per input: the input replaces
//! that entry and `CompileCache::lookup` must find nothing, unless the input
//! is the real entry byte for byte. The input is also written as the key
//! file of a second cache, which opens only when the key is 32 bytes.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use arcella_host::cache::CompileCache;
use arcella_host::{EngineSettings, internal::shared_engine};
use libfuzzer_sys::fuzz_target;

/// A fixed key, so that the committed seed (a real entry) verifies.
const KEY: [u8; 32] = *b"arcella-fuzz-cache-key-012345678";
/// What every entry starts with (`cache.rs`), before its MAC.
const MAGIC: &[u8; 8] = b"ARCELLA1";

struct Fixture {
    _dir: tempfile::TempDir,
    cache: CompileCache,
    engine: wasmtime::Engine,
    hash: blake3::Hash,
    entry: PathBuf,
    good: Vec<u8>,
    key_dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = arcella_fuzz::scratch_dir();
        std::fs::write(dir.path().join("cache-key"), KEY).expect("key file");
        let cache = CompileCache::open(dir.path()).expect("a private cache opens");
        let engine = shared_engine(EngineSettings::default()).expect("engine");
        let wasm = wat::parse_str(arcella_fuzz::TRIVIAL_COMPONENT).expect("component");
        cache.load(&engine, &wasm).expect("compiles and stores");
        let entry = std::fs::read_dir(dir.path())
            .expect("cache folder")
            .map(|entry| entry.expect("entry").path())
            .find(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
            .expect("the entry was written");
        let good = std::fs::read(&entry).expect("entry");
        arcella_fuzz::write_seeds_if_asked(|| {
            let mut header_only = MAGIC.to_vec();
            header_only.extend_from_slice(&[0; 32]);
            let mut flipped = good.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 0xff;
            vec![
                ("entry", good.clone()),
                ("entry-truncated", good[..good.len() / 2].to_vec()),
                ("entry-flipped", flipped),
                ("header-only", header_only),
                ("key-sized", KEY.to_vec()),
            ]
        });
        Fixture {
            _dir: dir,
            cache,
            engine,
            hash: blake3::hash(&wasm),
            entry,
            good,
            key_dir: arcella_fuzz::scratch_dir(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    std::fs::write(&fixture.entry, data).expect("entry written");
    let loaded = fixture
        .cache
        .lookup(&fixture.engine, &fixture.hash)
        .is_some();
    assert_eq!(
        loaded,
        data == fixture.good.as_slice(),
        "a cache entry that is not the one this cache wrote was loaded (or the real one was refused)"
    );

    std::fs::write(fixture.key_dir.path().join("cache-key"), data).expect("key written");
    let opened = CompileCache::open(fixture.key_dir.path()).is_ok();
    assert_eq!(
        opened,
        data.len() == 32,
        "a cache opened with a bad key, or refused a good one"
    );
});
