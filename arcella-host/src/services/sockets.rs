//! `wasi:sockets` for guests, default-deny: every connection, datagram and
//! name lookup is checked against `[capabilities] sockets`.
//!
//! A component that imports sockets links and runs (Rust's `std::net` imports
//! them whether or not it is used); what it may reach is decided at call
//! time. With no grant of a protocol the guest cannot even create such a
//! socket. With grants, it may connect (TCP) or send (UDP) only to a granted
//! endpoint: a granted IP address, or an address a granted name resolves to
//! when the host looks it up itself. It may look up only granted names, and
//! never listen. A refusal is `access-denied` for the guest and one log line
//! for the user naming the grant that would allow it.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use wasmtime::component::{HasData, Resource};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, Host as LookupHost, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, IpAddress, Network};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtxView};

use super::{CapabilityNeed, Provided, Service};
use crate::capabilities::{SocketGrant, SocketProtocol};
use crate::store::GuestState;

/// `wasi:sockets`: importable by any component (Rust's `std::net` imports
/// it), reaching only what `[capabilities] sockets` grants.
pub(crate) const SERVICE: Service = Service {
    name: "sockets",
    grants: &["sockets"],
    interfaces: &[
        network_interface("wasi:sockets/network"),
        network_interface("wasi:sockets/instance-network"),
        network_interface("wasi:sockets/ip-name-lookup"),
        network_interface("wasi:sockets/tcp"),
        network_interface("wasi:sockets/tcp-create-socket"),
        network_interface("wasi:sockets/udp"),
        network_interface("wasi:sockets/udp-create-socket"),
    ],
    // The WASI service links the sockets; this shadows their name lookups.
    add_to_linker: |linker| shadow_name_lookup(linker, GuestState::guarded_lookup),
};

const fn network_interface(name: &'static str) -> Provided {
    Provided {
        name,
        version: super::WASI_0_2,
        always_allowed: true,
        needs: CapabilityNeed::Network,
    }
}

/// What a component's guests may reach over sockets; cheap to clone into each store.
#[derive(Debug, Clone)]
pub(crate) struct SocketPolicy {
    module: Arc<str>,
    grants: Arc<[SocketGrant]>,
}

impl SocketPolicy {
    /// The policy of `module` under `grants`.
    pub(crate) fn new(module: &str, grants: &[SocketGrant]) -> Self {
        Self {
            module: module.into(),
            grants: grants.into(),
        }
    }

    /// Sets up `wasi`'s sockets under this policy.
    pub(crate) fn configure(&self, wasi: &mut WasiCtxBuilder) {
        let grants_of = |protocol| self.grants.iter().any(|grant| grant.protocol == protocol);
        let names = self.grants.iter().any(|grant| grant.address().is_none());
        wasi.allow_tcp(grants_of(SocketProtocol::Tcp))
            .allow_udp(grants_of(SocketProtocol::Udp))
            .allow_ip_name_lookup(names);
        let policy = self.clone();
        wasi.socket_addr_check(move |address, usage| {
            let policy = policy.clone();
            // The check's future must be `Sync`: run it as a task and await its handle.
            let checked = tokio::spawn(async move { policy.permits(address, usage).await });
            Box::pin(async move { checked.await.unwrap_or(false) })
                as Pin<Box<dyn Future<Output = bool> + Send + Sync>>
        });
    }

    /// Whether the guest may use `address` as `usage`; logs a refusal.
    async fn permits(&self, address: SocketAddr, usage: SocketAddrUse) -> bool {
        let refusal = match usage {
            // Binds the OS makes for a connect or a send: any local port.
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind
                if address.ip().is_unspecified() && address.port() == 0 =>
            {
                return true;
            }
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                "binding a fixed local address cannot be granted".to_string()
            }
            SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => {
                "listening for connections cannot be granted".to_string()
            }
            SocketAddrUse::TcpConnect => match self.grant_for(SocketProtocol::Tcp, address).await {
                true => return true,
                false => self.missing_grant(SocketProtocol::Tcp, address),
            },
            // Datagrams from endpoints that are not granted are dropped too.
            SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                match self.grant_for(SocketProtocol::Udp, address).await {
                    true => return true,
                    false => self.missing_grant(SocketProtocol::Udp, address),
                }
            }
        };
        tracing::warn!(
            target: "arcella::sockets",
            module = &*self.module,
            "socket use {usage:?} of {address} denied: {refusal}"
        );
        false
    }

    /// Whether a grant of `protocol` covers `address`.
    async fn grant_for(&self, protocol: SocketProtocol, address: SocketAddr) -> bool {
        let target = canonical(address.ip());
        for grant in self.grants.iter() {
            if grant.protocol != protocol || grant.port != address.port() {
                continue;
            }
            let covered = match grant.address() {
                Some(granted) => canonical(granted) == target,
                None => tokio::net::lookup_host((grant.host.as_str(), grant.port))
                    .await
                    .is_ok_and(|mut resolved| {
                        resolved.any(|resolved| canonical(resolved.ip()) == target)
                    }),
            };
            if covered {
                return true;
            }
        }
        false
    }

    /// The refusal's text: the grant list that would allow `address`.
    fn missing_grant(&self, protocol: SocketProtocol, address: SocketAddr) -> String {
        let wanted = SocketGrant {
            protocol,
            host: address.ip().to_string(),
            port: address.port(),
        };
        let mut entries: Vec<String> = self
            .grants
            .iter()
            .map(|grant| format!("\"{grant}\""))
            .collect();
        entries.push(format!("\"{wanted}\""));
        format!(
            "not granted; to allow it, write under [capabilities]: sockets = [{}]",
            entries.join(", ")
        )
    }

    /// Whether the guest may look up `name`: a granted name, or an address literal.
    pub(crate) fn may_look_up(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.');
        name.parse::<IpAddr>().is_ok()
            || self
                .grants
                .iter()
                .any(|grant| grant.address().is_none() && grant.host.eq_ignore_ascii_case(name))
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// `wasi:sockets/ip-name-lookup`, refusing names the policy does not grant
/// before any query leaves the host, then looking up as wasmtime does.
pub(crate) struct GuardedLookup<'a> {
    pub(crate) sockets: WasiSocketsCtxView<'a>,
    pub(crate) policy: &'a SocketPolicy,
}

/// The [`HasData`] marker for linking [`GuardedLookup`].
pub(crate) struct GuardedLookupData;

impl HasData for GuardedLookupData {
    type Data<'a> = GuardedLookup<'a>;
}

impl LookupHost for GuardedLookup<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        if !self.policy.may_look_up(&name) {
            tracing::warn!(
                target: "arcella::sockets",
                module = &*self.policy.module,
                "name lookup of {name:?} denied: only names granted in [capabilities] sockets may be looked up"
            );
            return Err(ErrorCode::AccessDenied.into());
        }
        self.sockets.resolve_addresses(network, name)
    }
}

impl network::Host for GuardedLookup<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        network::Host::convert_error_code(&mut self.sockets, error)
    }

    fn network_error_code(
        &mut self,
        error: Resource<network::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        network::Host::network_error_code(&mut self.sockets, error)
    }
}

impl network::HostNetwork for GuardedLookup<'_> {
    fn drop(&mut self, network: Resource<Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.sockets, network)
    }
}

impl HostResolveAddressStream for GuardedLookup<'_> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        self.sockets.resolve_next_address(stream)
    }

    fn subscribe(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<wasmtime_wasi::p2::DynPollable>> {
        self.sockets.subscribe(stream)
    }

    fn drop(&mut self, stream: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        HostResolveAddressStream::drop(&mut self.sockets, stream)
    }
}

/// Links the guarded lookup over wasmtime's own, which `linker` must already hold.
pub(crate) fn shadow_name_lookup<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    view: fn(&mut T) -> GuardedLookup<'_>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = ip_name_lookup::add_to_linker::<T, GuardedLookupData>(linker, view);
    linker.allow_shadowing(false);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(grants: &[&str]) -> SocketPolicy {
        let grants: Vec<SocketGrant> = grants
            .iter()
            .map(|grant| SocketGrant::parse(grant).unwrap())
            .collect();
        SocketPolicy::new("db-client", &grants)
    }

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn connects_only_to_granted_endpoints() {
        let policy = policy(&["tcp://127.0.0.1:5432", "udp://[::1]:53"]);
        assert!(
            policy
                .permits(at("127.0.0.1:5432"), SocketAddrUse::TcpConnect)
                .await
        );
        assert!(
            policy
                .permits(at("[::ffff:127.0.0.1]:5432"), SocketAddrUse::TcpConnect)
                .await
        );
        assert!(
            !policy
                .permits(at("127.0.0.1:5433"), SocketAddrUse::TcpConnect)
                .await
        );
        assert!(
            !policy
                .permits(at("127.0.0.2:5432"), SocketAddrUse::TcpConnect)
                .await
        );
        assert!(
            !policy
                .permits(at("127.0.0.1:5432"), SocketAddrUse::UdpSend)
                .await
        );
        assert!(policy.permits(at("[::1]:53"), SocketAddrUse::UdpSend).await);
    }

    #[tokio::test]
    async fn a_granted_name_covers_the_addresses_it_resolves_to() {
        let policy = policy(&["tcp://localhost:5432"]);
        assert!(
            policy
                .permits(at("127.0.0.1:5432"), SocketAddrUse::TcpConnect)
                .await
        );
        assert!(
            !policy
                .permits(at("10.0.0.1:5432"), SocketAddrUse::TcpConnect)
                .await
        );
    }

    #[tokio::test]
    async fn implicit_binds_pass_and_listening_never_does() {
        let policy = policy(&["tcp://127.0.0.1:5432"]);
        assert!(
            policy
                .permits(at("0.0.0.0:0"), SocketAddrUse::TcpBind)
                .await
        );
        assert!(
            !policy
                .permits(at("0.0.0.0:8080"), SocketAddrUse::TcpBind)
                .await
        );
        assert!(
            !policy
                .permits(at("0.0.0.0:0"), SocketAddrUse::TcpListen)
                .await
        );
        assert!(
            !policy
                .permits(at("127.0.0.1:5432"), SocketAddrUse::TcpAccept)
                .await
        );
    }

    #[test]
    fn only_granted_names_may_be_looked_up() {
        let policy = policy(&["tcp://db.example.com:5432"]);
        assert!(policy.may_look_up("db.example.com"));
        assert!(policy.may_look_up("DB.example.com."));
        assert!(policy.may_look_up("10.0.0.1"));
        assert!(!policy.may_look_up("exfiltrate.attacker.example"));
    }

    #[test]
    fn a_refusal_names_the_grant_to_add() {
        let policy = policy(&["tcp://db.example.com:5432"]);
        assert_eq!(
            policy.missing_grant(SocketProtocol::Tcp, at("[::1]:6379")),
            "not granted; to allow it, write under [capabilities]: sockets = [\"tcp://db.example.com:5432\", \"tcp://[::1]:6379\"]"
        );
    }
}
