//! What a built component imports and exports, read from its binary.
//!
//! The component's top-level import and export sections are walked with
//! `wasmparser` while its validator checks the structure, so a file that is
//! not a well-formed component is rejected with a reason instead of being
//! half-read. Function bodies are not validated here; wasmtime does that
//! when it compiles the component.

use wasmparser::{Parser, Payload, ValidPayload, Validator, WasmFeatures};

use super::ContractError;
use super::interface_name::InterfaceName;
use crate::services::CapabilityNeed;

/// The interfaces that make a component an Arcella module.
const MODULE_EXPORTS: [&str; 2] = ["arcella:component/handler", "arcella:component/lifecycle"];
/// The export that makes a component a command.
const COMMAND_EXPORT: &str = "wasi:cli/run";
/// The export that makes a component an HTTP handler.
const HTTP_EXPORT: &str = "wasi:http/incoming-handler";

/// What a component imports and exports, and what kind of component that makes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ComponentInfo {
    /// What the host runs it as, judged from its exports.
    pub kind: Kind,
    /// Top-level import names in binary order, e.g. `wasi:io/streams@0.2.6`.
    pub imports: Vec<String>,
    /// Top-level export names in binary order, e.g. `arcella:component/handler@0.1.0`.
    pub exports: Vec<String>,
    /// Size of the binary in bytes.
    pub size: u64,
}

/// What a component is for, judged from what it exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Exports `arcella:component/handler` and `lifecycle`: an Arcella module.
    Module,
    /// Exports `wasi:cli/run`: run once, like a program.
    Command,
    /// Exports `wasi:http/incoming-handler`: serves HTTP requests.
    Http,
    /// None of the above: only usable by composing it into another component.
    Library,
}

impl ComponentInfo {
    /// Reads the imports and exports of the component in `bytes`.
    ///
    /// Empty input, a core module, anything that is not WebAssembly and a
    /// malformed or truncated component are all errors, never panics.
    pub fn inspect(bytes: &[u8]) -> Result<Self, ContractError> {
        if bytes.is_empty() {
            return Err(ContractError::Empty);
        }
        if Parser::is_core_wasm(bytes) {
            return Err(ContractError::CoreModule);
        }
        if !Parser::is_component(bytes) {
            return Err(ContractError::NotWasm);
        }
        let invalid = |error: wasmparser::BinaryReaderError| ContractError::Invalid {
            offset: error.offset(),
            message: error.message().to_string(),
        };

        let mut validator = Validator::new_with_features(WasmFeatures::all());
        let mut imports = Vec::new();
        let mut exports = Vec::new();
        // 1 while reading the outer component; nested modules and components go deeper.
        let mut depth = 1;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(invalid)?;
            match validator.payload(&payload).map_err(invalid)? {
                ValidPayload::Parser(_) => depth += 1,
                ValidPayload::End(_) => depth -= 1,
                ValidPayload::Ok | ValidPayload::Func(..) => {}
            }
            match payload {
                Payload::ComponentImportSection(section) if depth == 1 => {
                    for import in section {
                        let name = import.map_err(invalid)?.name;
                        imports.push(full_name(name.name, name.version_suffix));
                    }
                }
                Payload::ComponentExportSection(section) if depth == 1 => {
                    for export in section {
                        let name = export.map_err(invalid)?.name;
                        exports.push(full_name(name.name, name.version_suffix));
                    }
                }
                _ => {}
            }
        }
        Ok(Self {
            kind: Kind::of_exports(&exports),
            imports,
            exports,
            size: bytes.len() as u64,
        })
    }

    /// The imports that are interface names, each with its name as written.
    pub fn imported_interfaces(&self) -> impl Iterator<Item = (&str, InterfaceName)> {
        interfaces(&self.imports)
    }

    /// The exports that are interface names, each with its name as written.
    pub fn exported_interfaces(&self) -> impl Iterator<Item = (&str, InterfaceName)> {
        interfaces(&self.exports)
    }

    /// Whether it imports an interface that needs `need` granted
    /// ([`CapabilityNeed::KeyValue`]: any of `wasi:keyvalue`'s), so that a
    /// runner opens a backend only for a component that can reach it.
    pub fn imports_needing(&self, need: CapabilityNeed) -> bool {
        self.imported_interfaces()
            .any(|(_, name)| super::wasi::capability_need(&name) == need)
    }
}

impl Kind {
    /// The kind of a component with these export names.
    fn of_exports(exports: &[String]) -> Self {
        let exported: Vec<String> = interfaces(exports)
            .map(|(_, name)| name.unversioned())
            .collect();
        let exports_all =
            |names: &[&str]| names.iter().all(|name| exported.iter().any(|e| e == name));
        if exports_all(&MODULE_EXPORTS) {
            Kind::Module
        } else if exports_all(&[COMMAND_EXPORT]) {
            Kind::Command
        } else if exports_all(&[HTTP_EXPORT]) {
            Kind::Http
        } else {
            Kind::Library
        }
    }
}

/// Parses the names in `names` that are interface names.
fn interfaces(names: &[String]) -> impl Iterator<Item = (&str, InterfaceName)> {
    names
        .iter()
        .filter_map(|name| Some((name.as_str(), InterfaceName::parse(name)?)))
}

/// A name with its optional version suffix (`wasi:http/types@0.2` + `.6`) joined.
fn full_name(name: &str, version_suffix: Option<&str>) -> String {
    format!("{name}{}", version_suffix.unwrap_or_default())
}
