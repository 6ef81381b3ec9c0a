//! Red-team tests of the host: one per hostile input of the security review,
//! written as the attacker would act. Each failed before its fix.

#[path = "../support/mod.rs"]
mod support;

mod cache_entries;
mod dir_grants;
mod guest_errors;
mod guest_text;
mod http_serving;
mod log_flood;
mod manifest_ranges;
mod memory;
mod sockets;
mod stack_overflow;
mod workers;
