//! Checks of WIT contracts and built components against the manifest.
//!
//! Two moments are checked. Before building, [`check_wit`] parses the crate's
//! `wit/` folder and makes sure every interface the manifest names exists.
//! After building, [`ComponentInfo::inspect`] reads what the component really
//! imports and exports, and [`check_component`] holds that against the
//! manifest: declared exports present, imports declared, capabilities granted.
//! [`check_component_size`] and [`check_component_fresh`] look at the file
//! itself: not too large, not older than its sources. [`check_component_file`]
//! runs the checks of a built file in one call, [`check_bytes`] those of the
//! bytes `install` is given.
//!
//! ```no_run
//! # use arcella_host::{contract::{ComponentInfo, check_component}, manifest::Manifest};
//! # use std::path::Path;
//! let bytes = std::fs::read("target/wasm32-wasip2/release/hello.wasm")?;
//! let info = ComponentInfo::inspect(&bytes)?;
//! let manifest = Manifest::defaults("hello", Path::new("."));
//! for diagnostic in check_component(&info, &manifest, Path::new("arcella.toml"), "") {
//!     println!("{}: {}", diagnostic.code, diagnostic.message);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod component;
mod component_check;
mod freshness;
mod interface_name;
#[doc(hidden)]
pub mod manifest_spans;
pub(crate) mod wasi;
mod wit;

use std::path::Path;

pub use component::{ComponentInfo, Kind};
pub use component_check::{DEFAULT_MAX_COMPONENT_SIZE, check_component, check_component_size};
pub use freshness::check_component_fresh;
pub use interface_name::InterfaceName;
pub use wit::check_wit;

use crate::diagnostic::{Code, Diagnostic};

/// Why a file could not be read as a component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The file has no bytes at all.
    #[error("not a WebAssembly component: the file is empty")]
    Empty,
    /// A core module, e.g. built for `wasm32-unknown-unknown` or `wasm32-wasip1`.
    #[error(
        "not a WebAssembly component: this is a core WebAssembly module; build for the `wasm32-wasip2` target to get a component"
    )]
    CoreModule,
    /// The bytes do not start with the component header.
    #[error("not a WebAssembly component: the file does not start with the component header")]
    NotWasm,
    /// The header is right but the rest is malformed or truncated.
    #[error("not a valid WebAssembly component: {message} (at byte {offset})")]
    Invalid {
        /// Byte offset of the problem in the file.
        offset: usize,
        /// What is wrong, as the decoder puts it.
        message: String,
    },
}

impl ContractError {
    /// The A0601 diagnostic for this error in `component_file`.
    ///
    /// It has no span: the file is binary, so the byte offset is in the message.
    pub fn diagnostic(&self, component_file: &Path) -> Diagnostic {
        Diagnostic::new(Code::NotAComponent, component_file, self.to_string())
    }
}

/// Problems with `wasm` as the component `manifest` describes; empty when it fits.
///
/// This is the check `install` runs. Diagnostics point at the manifest file
/// by name only, since the host has the parsed manifest, not its text.
pub fn check_bytes(wasm: &[u8], manifest: &crate::manifest::Manifest) -> Vec<Diagnostic> {
    inspect_and_check(wasm, manifest).1
}

/// What [`check_bytes`] finds, with what the component is when it could be
/// read: `install` needs both, and reads the bytes once.
pub(crate) fn inspect_and_check(
    wasm: &[u8],
    manifest: &crate::manifest::Manifest,
) -> (Option<ComponentInfo>, Vec<Diagnostic>) {
    let manifest_file = manifest.root.join(crate::manifest::MANIFEST_FILE);
    match ComponentInfo::inspect(wasm) {
        Ok(info) => {
            let problems = check_component(&info, manifest, &manifest_file, "");
            (Some(info), problems)
        }
        Err(error) => (
            None,
            vec![error.diagnostic(Path::new(&manifest.module.name))],
        ),
    }
}

/// Checks the component file `component` against `manifest`: its size, that
/// it is a component, and what it imports and exports.
///
/// This is the check of a built file (`cargo arcella check`, `build` and
/// `run`); diagnostics point into `manifest_source`, the text of
/// `manifest_file`. Returns what the component is when it could be read, with
/// the diagnostics; only failing to read the file is an error.
pub fn check_component_file(
    component: &Path,
    manifest: &crate::manifest::Manifest,
    manifest_file: &Path,
    manifest_source: &str,
) -> std::io::Result<(Option<ComponentInfo>, Vec<Diagnostic>)> {
    let bytes = std::fs::read(component)?;
    let mut diagnostics = Vec::new();
    if let Some(too_large) =
        check_component_size(bytes.len() as u64, DEFAULT_MAX_COMPONENT_SIZE, component)
    {
        diagnostics.push(too_large);
    }
    match ComponentInfo::inspect(&bytes) {
        Ok(info) => {
            diagnostics.extend(check_component(
                &info,
                manifest,
                manifest_file,
                manifest_source,
            ));
            Ok((Some(info), diagnostics))
        }
        Err(error) => {
            diagnostics.push(error.diagnostic(component));
            Ok((None, diagnostics))
        }
    }
}
