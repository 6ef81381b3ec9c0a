//! The interfaces the host links, as its services declare them, and what
//! importing each one asks for.
//!
//! `wasi:` names in a manifest are checked against this table rather than
//! against the crate's WIT: the host, not the crate, defines them. The table
//! is [`crate::services::provided`]: each service declares its own.

use super::interface_name::{InterfaceName, versions_compatible};
pub use crate::services::CapabilityNeed;
use crate::services::{Provided, provided};

/// The WASI version most of the host's interfaces are at; any `0.2.x` links.
/// (`services::WASI_0_2`, parsed; a test keeps the two together.)
pub const HOST_WASI_VERSION: semver::Version = semver::Version::new(0, 2, 12);

/// Whether `interface` serves `name`: the same interface, and a version
/// compatible with the one served, or none.
fn serves(interface: &Provided, name: &InterfaceName) -> bool {
    interface.name == name.unversioned()
        && name
            .version
            .as_ref()
            .is_none_or(|version| versions_compatible(version, &interface.semver()))
}

/// The `wasi:` interfaces the host links, each at the version it serves.
pub fn host_wasi_interfaces() -> impl Iterator<Item = &'static Provided> {
    provided()
        .iter()
        .filter(|interface| interface.name.starts_with("wasi:"))
}

/// Whether the host links `name`: a `wasi:` interface it provides at a
/// compatible version (`0.2.x` for WASI 0.2, exactly `0.2.0-rc.1` for
/// `wasi:config`…), or named without a version.
pub fn host_provides(name: &InterfaceName) -> bool {
    name.is_wasi() && host_wasi_interfaces().any(|interface| serves(interface, name))
}

/// Whether a component may import `name` without declaring it.
pub fn is_always_allowed(name: &InterfaceName) -> bool {
    provided()
        .iter()
        .any(|interface| interface.always_allowed && serves(interface, name))
}

/// What importing `name` needs granted.
pub fn capability_need(name: &InterfaceName) -> CapabilityNeed {
    let unversioned = name.unversioned();
    provided()
        .iter()
        .find(|interface| interface.name == unversioned)
        .map_or(CapabilityNeed::Nothing, |interface| interface.needs)
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
    fn pre_release_interfaces_are_provided_at_exactly_their_version() {
        assert!(host_provides(&name("wasi:config/store@0.2.0-rc.1")));
        assert!(host_provides(&name("wasi:config/store")));
        assert!(!host_provides(&name("wasi:config/store@0.2.0")));
        assert!(!host_provides(&name("wasi:config/store@0.2.0-rc.2")));
        assert!(!host_provides(&name("wasi:config/store@0.2.12")));
        assert!(host_provides(&name("wasi:logging/logging@0.1.0-draft")));
        assert!(!host_provides(&name("wasi:logging/logging@0.1.0")));
        assert!(!host_provides(&name("wasi:logging/logging@0.2.0")));
    }

    #[test]
    fn config_and_logging_must_be_declared_and_need_no_grant() {
        for interface in [
            "wasi:config/store@0.2.0-rc.1",
            "wasi:logging/logging@0.1.0-draft",
        ] {
            assert!(!is_always_allowed(&name(interface)), "{interface}");
            assert_eq!(capability_need(&name(interface)), CapabilityNeed::Nothing);
        }
    }

    #[test]
    fn the_wasi_version_constant_is_the_services_one() {
        assert_eq!(HOST_WASI_VERSION.to_string(), crate::services::WASI_0_2);
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
