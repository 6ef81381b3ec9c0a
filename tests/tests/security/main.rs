//! Red-team tests of `cargo arcella`: hostile manifests, flags and input,
//! written as the attacker would act. Each failed before its fix.

#[path = "../support/mod.rs"]
mod support;

mod diagnostics_flood;
mod flags;
mod manifest_ranges;
mod stdin_events;
mod terminal_escapes;
