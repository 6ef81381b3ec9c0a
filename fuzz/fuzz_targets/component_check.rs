//! The contract check on untrusted component bytes: `ComponentInfo::inspect`
//! (header sniffing, then `wasmparser` validation of the whole component),
//! `check_component` against a manifest that declares and grants things, and
//! `contract::check_bytes`, the check `install` runs.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arcella_host::contract::{ComponentInfo, check_bytes, check_component};
use arcella_host::manifest::{self, Manifest};
use libfuzzer_sys::fuzz_target;

const MANIFEST: &str = r#"
[module]
name = "fuzzed"
version = "0.1.0"
exports = ["arcella:component/handler@0.1.0", "wasi:cli/run@0.2.0", "acme:store/api@1.0.0"]
imports = ["arcella:component/logging@0.1.0", "acme:store/kv"]

[capabilities]
http = ["api.example.com", "*.example.org"]
"#;

struct Fixture {
    manifest: Manifest,
    bare: Manifest,
    file: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let file = PathBuf::from("/fuzz/arcella.toml");
        let report = manifest::parse(MANIFEST.as_bytes(), &file);
        let manifest = report.manifest.expect("the fixed manifest is valid");
        Fixture {
            manifest,
            bare: Manifest::defaults("bare", Path::new("/fuzz")),
            file,
        }
    })
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let wat = |text: &str| wat::parse_str(text).expect("seed WAT parses");
    vec![
        ("probe-guest.wasm", arcella_fuzz::probe_guest().to_vec()),
        ("http-guest.wasm", arcella_fuzz::http_guest().to_vec()),
        ("trivial.wasm", wat(arcella_fuzz::TRIVIAL_COMPONENT)),
        (
            "imports.wasm",
            wat(r#"(component
                (import "wasi:sockets/tcp@0.2.0" (instance))
                (import "wasi:http/outgoing-handler@0.2.12" (instance))
                (import "acme:store/kv@1.0.0" (instance))
                (import "unlisted" (func))
                (core module $m (func (export "f")))
                (core instance $i (instantiate $m))
                (func $f (canon lift (core func $i "f")))
                (instance $api (export "go" (func $f)))
                (export "acme:store/api@1.2.0" (instance $api))
                (export "wasi:cli/run@0.2.3" (instance $api)))"#),
        ),
        ("core-module.wasm", wat("(module (func (export \"f\")))")),
        ("not-wasm.bin", b"\x7fELF\x02\x01\x01".to_vec()),
    ]
}

fuzz_target!(|data: &[u8]| {
    arcella_fuzz::write_seeds_if_asked(seeds);
    let fixture = fixture();
    match ComponentInfo::inspect(data) {
        Ok(info) => {
            assert_eq!(info.size, data.len() as u64);
            let _ = info.imported_interfaces().count();
            let _ = info.exported_interfaces().count();
            let _ = check_component(&info, &fixture.manifest, &fixture.file, MANIFEST);
            let _ = check_component(&info, &fixture.bare, &fixture.file, "");
        }
        Err(error) => {
            let _ = error.diagnostic(&fixture.file);
        }
    }
    let _ = check_bytes(data, &fixture.manifest);
});
