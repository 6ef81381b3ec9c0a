//! What kind of component this is, read from what it exports.

use wasmtime::Engine;
use wasmtime::component::Component;

/// The kinds of component the host knows how to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    /// The `arcella:component/module` world: lifecycle and handler.
    Module,
    /// A `wasi:cli/command`: exports `wasi:cli/run`.
    Command,
    /// A `wasi:http/proxy`: exports `wasi:http/incoming-handler`.
    Http,
}

impl std::fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Module => "module",
            Self::Command => "command",
            Self::Http => "http",
        })
    }
}

/// The interface prefixes that mark each kind (the version may vary in its patch).
const MARKERS: &[(&str, ComponentKind)] = &[
    ("arcella:component/handler@0.1.", ComponentKind::Module),
    ("wasi:cli/run@0.2.", ComponentKind::Command),
    ("wasi:http/incoming-handler@0.2.", ComponentKind::Http),
];

/// The kind of `component`, or `None` when it exports none of the known entry points.
pub fn detect(engine: &Engine, component: &Component) -> Option<ComponentKind> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    MARKERS
        .iter()
        .find(|(prefix, _)| exports.iter().any(|name| name.starts_with(prefix)))
        .map(|(_, kind)| *kind)
}

/// The names a component exports, for error messages.
pub fn export_names(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}
