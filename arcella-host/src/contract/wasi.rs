//! The WASI 0.2 interfaces the host links, and what importing each one asks for.
//!
//! `wasi:` names in a manifest are checked against this table rather than
//! against the crate's WIT: the host, not the crate, defines them.

use super::interface_name::InterfaceName;

/// Every WASI 0.2 interface the host can link, without its version.
pub const HOST_WASI_INTERFACES: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/run",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
    "wasi:http/incoming-handler",
];

/// WASI interfaces a component may import without declaring them.
///
/// Every Rust `wasm32-wasip2` program imports most of these through `std`, and
/// none reaches anything by itself: the environment is empty, there are no
/// preopened directories and stdin is empty unless the manifest grants them.
/// So are the `wasi:sockets` interfaces (Rust's `std::net` imports them): a
/// socket reaches only the endpoints `[capabilities] sockets` grants, checked
/// on each use. `wasi:http/types` is here too: it only describes requests and responses,
/// and sending one takes `wasi:http/outgoing-handler`, which must be declared.
/// So is `arcella:component/types`, which holds only types: components that
/// import `logging` import it alongside.
pub const ALWAYS_ALLOWED_WASI_INTERFACES: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:http/types",
    "arcella:component/types",
];

/// The WASI version the host implements; any `0.2.x` links.
pub const HOST_WASI_VERSION: semver::Version = semver::Version::new(0, 2, 12);

/// What importing an interface asks of the manifest beyond declaring it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilityNeed {
    /// Nothing: the import is harmless or default-deny inside.
    Nothing,
    /// Network sockets, reaching the endpoints of `[capabilities] sockets`.
    Network,
    /// Outbound HTTP, granted by a non-empty `[capabilities] http` list.
    OutgoingHttp,
}

/// Whether the host links `name`: a listed interface at version `0.2.x`, or
/// without a version.
pub fn host_provides(name: &InterfaceName) -> bool {
    name.is_wasi()
        && is_host_wasi_version(name)
        && HOST_WASI_INTERFACES.contains(&name.unversioned().as_str())
}

/// Whether a component may import `name` without declaring it.
pub fn is_always_allowed(name: &InterfaceName) -> bool {
    let listed = ALWAYS_ALLOWED_WASI_INTERFACES.contains(&name.unversioned().as_str());
    if name.is_wasi() {
        listed && is_host_wasi_version(name)
    } else {
        listed
    }
}

/// What importing `name` needs granted.
pub fn capability_need(name: &InterfaceName) -> CapabilityNeed {
    match (
        name.namespace.as_str(),
        name.package.as_str(),
        name.interface.as_str(),
    ) {
        ("wasi", "sockets", _) => CapabilityNeed::Network,
        ("wasi", "http", "outgoing-handler") => CapabilityNeed::OutgoingHttp,
        _ => CapabilityNeed::Nothing,
    }
}

/// Whether `name`'s version (if any) is on the host's `0.2` track.
fn is_host_wasi_version(name: &InterfaceName) -> bool {
    name.version.as_ref().is_none_or(|version| {
        super::interface_name::versions_compatible(version, &HOST_WASI_VERSION)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> InterfaceName {
        InterfaceName::parse(text).unwrap()
    }

    #[test]
    fn the_host_provides_wasi_0_2_and_nothing_else() {
        assert!(host_provides(&name("wasi:cli/run@0.2.0")));
        assert!(host_provides(&name("wasi:http/incoming-handler")));
        assert!(!host_provides(&name("wasi:cli/run@0.3.0")));
        assert!(!host_provides(&name("wasi:keyvalue/store@0.2.0")));
        assert!(!host_provides(&name("arcella:component/logging@0.1.0")));
    }

    #[test]
    fn every_always_allowed_interface_is_one_the_host_provides() {
        for allowed in ALWAYS_ALLOWED_WASI_INTERFACES
            .iter()
            .filter(|name| name.starts_with("wasi:"))
        {
            assert!(HOST_WASI_INTERFACES.contains(allowed), "{allowed}");
        }
    }

    #[test]
    fn sockets_need_network_and_outgoing_handler_needs_http() {
        assert_eq!(
            capability_need(&name("wasi:sockets/tcp@0.2.6")),
            CapabilityNeed::Network
        );
        assert_eq!(
            capability_need(&name("wasi:http/outgoing-handler@0.2.6")),
            CapabilityNeed::OutgoingHttp
        );
        assert_eq!(
            capability_need(&name("wasi:cli/stdout@0.2.6")),
            CapabilityNeed::Nothing
        );
        assert!(!is_always_allowed(&name(
            "wasi:http/outgoing-handler@0.2.6"
        )));
        assert!(is_always_allowed(&name("wasi:io/streams@0.2.0")));
    }
}
