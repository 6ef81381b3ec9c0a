//! Checks of WIT contracts and built components against the manifest.

pub mod interface_name;
pub mod manifest_spans;
pub mod wasi;

pub use interface_name::InterfaceName;
