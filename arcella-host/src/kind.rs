//! What kind of component this is, read from what it exports.

use wasmtime::Engine;
use wasmtime::component::Component;

pub use arcella_types::ComponentKind;

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
