//! `cargo arcella`: scaffold, check, build, run and test WebAssembly components.

/// Renders diagnostics as text, JSON or GitHub annotations; used once `check` lands.
#[allow(dead_code)]
mod diagnostics;

fn main() {}
