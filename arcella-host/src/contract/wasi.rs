//! The interfaces the host links, as its services declare them, and what
//! importing each one asks for.
//!
//! `wasi:` names in a manifest are checked against this table rather than
//! against the crate's WIT: the host, not the crate, defines them. The table
//! is [`crate::services::provided`]: each service declares its own.

use std::sync::LazyLock;

use super::interface_name::InterfaceName;
pub use crate::services::CapabilityNeed;
use crate::services::provided;

/// Every WASI 0.2 interface the host can link, without its version.
pub static HOST_WASI_INTERFACES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    provided()
        .iter()
        .map(|interface| interface.name)
        .filter(|name| name.starts_with("wasi:"))
        .collect()
});

/// The WASI version the host implements; any `0.2.x` links.
pub const HOST_WASI_VERSION: semver::Version = semver::Version::new(0, 2, 12);

/// Whether the host links `name`: a listed interface at version `0.2.x`, or
/// without a version.
pub fn host_provides(name: &InterfaceName) -> bool {
    name.is_wasi()
        && is_host_wasi_version(name)
        && HOST_WASI_INTERFACES.contains(&name.unversioned().as_str())
}

/// Whether a component may import `name` without declaring it.
pub fn is_always_allowed(name: &InterfaceName) -> bool {
    let unversioned = name.unversioned();
    let listed = provided()
        .iter()
        .any(|interface| interface.always_allowed && interface.name == unversioned);
    if name.is_wasi() {
        listed && is_host_wasi_version(name)
    } else {
        listed
    }
}

/// What importing `name` needs granted.
pub fn capability_need(name: &InterfaceName) -> CapabilityNeed {
    let unversioned = name.unversioned();
    provided()
        .iter()
        .find(|interface| interface.name == unversioned)
        .map_or(CapabilityNeed::Nothing, |interface| interface.needs)
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
    fn every_import_of_the_command_world_is_always_allowed_and_sockets_need_a_grant() {
        for interface in [
            "wasi:cli/environment",
            "wasi:io/streams",
            "wasi:sockets/tcp",
        ] {
            assert!(is_always_allowed(&name(interface)), "{interface}");
        }
        assert!(is_always_allowed(&name("arcella:component/types@0.1.0")));
        assert!(!is_always_allowed(&name("arcella:component/logging@0.1.0")));
        assert!(!is_always_allowed(&name("wasi:cli/run@0.2.0")));
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
