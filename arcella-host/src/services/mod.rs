//! Host services: everything a guest can reach, one module each.
//!
//! A service declares the interfaces it provides (the table `check` holds a
//! component's imports against is built from these declarations, see
//! [`provided`]), reads its grant from the manifest's `[capabilities]`, adds
//! itself to the linker, and keeps the per-store state its calls need. A
//! service whose backend can be swapped (the network, for tests) describes
//! it in [`Backends`], plain data that crosses the worker pipe and is
//! resolved in the process where the guest runs.
//!
//! Adding a service is one file here, its line in `SERVICES`, its state in
//! `GuestState` (built in `Sandbox::store`), and its grant
//! in [`Capabilities`](crate::capabilities::Capabilities).

pub mod calls;
pub mod config;
pub mod keyvalue;
pub mod logging;
pub mod outbound_http;
pub(crate) mod sockets;
pub mod wasi;
pub mod wasi_logging;

use std::sync::LazyLock;

use wasmtime::component::Linker;

use crate::store::GuestState;

/// One host service, as the linker and the contract check see it.
pub(crate) struct Service {
    /// Its name, for messages.
    #[allow(dead_code)]
    pub(crate) name: &'static str,
    /// The interfaces it provides.
    pub(crate) interfaces: &'static [Provided],
    /// The `[capabilities]` keys it reads its grant from.
    pub(crate) grants: &'static [&'static str],
    /// Adds its host functions to the linker shared by every guest.
    pub(crate) add_to_linker: fn(&mut Linker<GuestState>) -> wasmtime::Result<()>,
}

/// Every service the host links, in linking order (a later one may shadow
/// an earlier one's functions).
pub(crate) const SERVICES: &[&Service] = &[
    &wasi::SERVICE,
    &outbound_http::SERVICE,
    &sockets::SERVICE,
    &logging::SERVICE,
    &config::SERVICE,
    &wasi_logging::SERVICE,
    &keyvalue::SERVICE,
];

/// The version of the WASI 0.2 interfaces the host links (through
/// `wasmtime-wasi` 48); any `0.2.x` import links against it.
pub const WASI_0_2: &str = "0.2.12";

/// An interface a service provides, at the version it serves, and what
/// importing it asks of a manifest.
#[derive(Debug, Clone, Copy)]
pub struct Provided {
    /// The interface without its version: `wasi:cli/environment`.
    pub name: &'static str,
    /// The version the host serves. An import links if its version is
    /// compatible with this one the way the component model links them:
    /// any `0.2.x` for `0.2.12`, and exactly the same version for a
    /// pre-release such as `0.2.0-rc.1` or `0.1.0-draft`.
    pub version: &'static str,
    /// Whether a component may import it without declaring it in `[imports]`:
    /// it reaches nothing by itself, or only what a grant opens.
    pub always_allowed: bool,
    /// What importing it needs granted besides.
    pub needs: CapabilityNeed,
}

impl Provided {
    /// Importable without a declaration; reaches nothing by itself. At
    /// [`WASI_0_2`] unless [`at`](Self::at) says otherwise.
    pub(crate) const fn free(name: &'static str) -> Self {
        Self {
            name,
            version: WASI_0_2,
            always_allowed: true,
            needs: CapabilityNeed::Nothing,
        }
    }

    /// Must be declared in `[imports]` (or is an export the host calls). At
    /// [`WASI_0_2`] unless [`at`](Self::at) says otherwise.
    pub(crate) const fn declared(name: &'static str) -> Self {
        Self {
            name,
            version: WASI_0_2,
            always_allowed: false,
            needs: CapabilityNeed::Nothing,
        }
    }

    /// The same interface, served at `version`.
    pub(crate) const fn at(self, version: &'static str) -> Self {
        Self { version, ..self }
    }

    /// The version it serves, parsed.
    pub fn semver(&self) -> semver::Version {
        semver::Version::parse(self.version).expect("services declare valid versions")
    }

    /// `name@version`, as a component names it.
    pub fn versioned_name(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// What importing an interface asks of the manifest beyond declaring it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilityNeed {
    /// Nothing: the import is harmless or default-deny inside.
    Nothing,
    /// Network sockets, reaching the endpoints of `[capabilities] sockets`.
    Network,
    /// Outbound HTTP, granted by a non-empty `[capabilities] http` list.
    OutgoingHttp,
    /// Key-value buckets, opened only as `[capabilities] keyvalue` names them.
    KeyValue,
}

/// Every interface the host's services provide, in service order.
pub fn provided() -> &'static [Provided] {
    static PROVIDED: LazyLock<Vec<Provided>> = LazyLock::new(|| {
        SERVICES
            .iter()
            .flat_map(|service| service.interfaces.iter().copied())
            .collect()
    });
    &PROVIDED
}

/// The `[capabilities]` keys the services read, in service order: the keys a
/// manifest may use there.
pub(crate) fn capability_keys() -> &'static [&'static str] {
    static KEYS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        SERVICES
            .iter()
            .flat_map(|service| service.grants.iter().copied())
            .collect()
    });
    &KEYS
}

/// The linker every guest is instantiated with: each service added in turn.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    for service in SERVICES {
        (service.add_to_linker)(&mut linker)?;
    }
    Ok(linker)
}

/// The backends of the services that have more than one: plain data, so
/// that a worker builds the same ones where its guests run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Backends {
    /// What outbound HTTP reaches: the network, or canned answers.
    pub network: outbound_http::Network,
}

/// Which services a component imports, read once from its imports: a store
/// carries the state of only these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    /// Any `wasi:http` interface.
    pub(crate) http: bool,
}

impl Uses {
    /// What `component` imports.
    pub(crate) fn of(
        engine: &wasmtime::Engine,
        component: &wasmtime::component::Component,
    ) -> Self {
        let mut uses = Self::default();
        for (name, _) in component.component_type().imports(engine) {
            uses.http |= name.starts_with("wasi:http/");
        }
        uses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_services_read_the_same_grant() {
        let mut keys = capability_keys().to_vec();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len());
        assert_eq!(keys, ["dirs", "env", "http", "keyvalue", "sockets"]);
    }

    #[test]
    fn no_two_services_provide_the_same_interface() {
        let mut names: Vec<(&str, &str)> = provided().iter().map(|p| (p.name, p.version)).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn every_declared_version_parses() {
        for interface in provided() {
            assert_eq!(interface.semver().to_string(), interface.version);
        }
    }
}
