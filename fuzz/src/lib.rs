//! What the fuzz targets share: the guests they load, built from the WAT and
//! WIT in `fuzz/guests/` against the repository's `wit/` by `arcella-fixtures`,
//! as the host's own tests build theirs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arcella_fixtures::{componentize, componentize_with_wit};

/// The core module of the `invoke` guest.
pub const PROBE_WAT: &str = include_str!("../guests/probe.wat");
/// The WIT of the `invoke` guest (package `fuzz:invoke`, world `invoke`).
pub const PROBE_WIT: &str = include_str!("../guests/probe.wit");
/// The core module of the `wasi:http/proxy` guest.
pub const HTTP_WAT: &str = include_str!("../guests/http.wat");

/// The repository's `wit/` folder.
pub use arcella_fixtures::wit_dir;

/// A module-world component that also exports `fuzz:invoke/probe`.
pub fn probe_guest() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| componentize_with_wit(PROBE_WAT, PROBE_WIT, "invoke"))
}

/// A `wasi:http/proxy` component that reads the whole request and answers 200.
pub fn http_guest() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| componentize(HTTP_WAT, "wasi:http/proxy"))
}

/// The smallest component: what the compile-cache target stores.
pub const TRIVIAL_COMPONENT: &str = "(component (core module (func (export \"f\"))))";

/// Writes a target's generated seeds into the folder named by
/// `ARCELLA_FUZZ_WRITE_SEEDS`, once per process; does nothing without it.
///
/// The committed seeds that only code can produce (encoded frames, built
/// components, a real cache entry) were written this way:
/// `ARCELLA_FUZZ_WRITE_SEEDS=fuzz/corpus/<target> cargo +nightly fuzz run <target> -- -runs=0`.
pub fn write_seeds_if_asked(seeds: impl FnOnce() -> Vec<(&'static str, Vec<u8>)>) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Some(dir) = std::env::var_os("ARCELLA_FUZZ_WRITE_SEEDS") else {
            return;
        };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("seed folder");
        for (name, bytes) in seeds() {
            std::fs::write(dir.join(name), bytes).expect("seed written");
        }
    });
}

/// A private temporary folder, in memory (`/dev/shm`) when there is one:
/// a target that rewrites a file on every input is otherwise bound by disk
/// writeback, not by the code under test.
///
/// Fixtures live in statics, which are never dropped: libFuzzer ends the
/// process with `exit`, so the folder is removed by an `atexit` handler.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let dir = match tempfile::Builder::new()
        .prefix("arcella-fuzz-")
        .tempdir_in(shm)
    {
        Ok(dir) => dir,
        Err(_) => tempfile::tempdir().expect("a temporary folder"),
    };
    remove_at_exit(dir.path());
    dir
}

fn remove_at_exit(path: &Path) {
    static PATHS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    static REGISTER: std::sync::Once = std::sync::Once::new();
    extern "C" fn remove_all() {
        if let Ok(paths) = PATHS.lock() {
            for path in paths.iter() {
                let _ = std::fs::remove_dir_all(path);
            }
        }
    }
    PATHS.lock().expect("not poisoned").push(path.to_path_buf());
    // SAFETY: `remove_all` is a plain function that neither unwinds nor
    // relies on anything torn down before `atexit` handlers run.
    REGISTER.call_once(|| unsafe {
        libc::atexit(remove_all);
    });
}
