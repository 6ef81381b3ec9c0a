//! Outbound HTTP from guests: the `[capabilities] http` allow-list and the SSRF guard.
//!
//! Every request is checked: its host must match an allow-list entry, and
//! after DNS resolution none of its addresses may be loopback, private,
//! link-local or a cloud metadata endpoint unless that host or address is
//! listed exactly (a wildcard never opens private addresses).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::{CapabilityNeed, Provided, Service};
use crate::store::GuestState;

/// Largest outbound request body a mocked network reads.
pub const MAX_MOCKED_BODY: usize = 16 << 20;

/// `wasi:http`: the types every HTTP component imports, the outgoing
/// handler a manifest must declare and grant, and the incoming handler an
/// HTTP component exports.
pub(crate) const SERVICE: Service = Service {
    name: "outbound-http",
    grants: &["http"],
    interfaces: &[
        Provided::free("wasi:http/types"),
        Provided {
            name: "wasi:http/outgoing-handler",
            version: super::WASI_0_2,
            always_allowed: false,
            needs: CapabilityNeed::OutgoingHttp,
        },
        Provided::declared("wasi:http/incoming-handler"),
    ],
    add_to_linker,
};

fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}

/// What outbound HTTP reaches: a backend spec that crosses the worker pipe.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Network {
    /// The network, behind the allow-list and the SSRF guard.
    #[default]
    Real,
    /// Canned answers, for tests: nothing leaves the host. The allow-list
    /// still applies; an allowed request is answered by the first route
    /// that matches it, or refused (`connection-refused`) when none does.
    Mocked(Vec<MockRoute>),
}

/// One canned answer of a [`Network::Mocked`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MockRoute {
    /// The method it matches (`GET`), compared without case.
    pub method: String,
    /// The URL it matches exactly, or every URL starting with what comes
    /// before a final `*`.
    pub url: String,
    /// Headers a request must carry (names compare without case).
    pub headers: Vec<(String, String)>,
    /// The answer.
    pub response: OutboundResponse,
}

impl MockRoute {
    /// Whether this route answers `request`.
    pub fn matches(&self, request: &OutboundRequest) -> bool {
        let url = match self.url.strip_suffix('*') {
            Some(prefix) => request.url.starts_with(prefix),
            None => request.url == self.url,
        };
        url && request.method.eq_ignore_ascii_case(&self.method)
            && self.headers.iter().all(|(name, value)| {
                request.headers.iter().any(|(given, given_value)| {
                    given.eq_ignore_ascii_case(name) && given_value == value
                })
            })
    }
}

/// An outbound request as a mocked network sees it, its body read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// The full URL, e.g. `https://api.example.com/users?id=1`.
    pub url: String,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The answer a [`MockRoute`] gives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboundResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// What became of one outbound request the host decided on itself: denied,
/// or answered by a mocked network. Reported to
/// [`Observers::on_outbound`](crate::Observers), from workers too.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboundRecord {
    /// The method.
    pub method: String,
    /// The URL as the guest wrote it.
    pub url: String,
    /// What it got.
    pub answer: OutboundAnswer,
}

/// How the host answered an outbound request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OutboundAnswer {
    /// A mocked route answered with this status.
    Mocked(u16),
    /// The network is mocked and no route matched: the connection was refused.
    NoRoute,
    /// `[capabilities] http` does not allow it.
    Denied,
}

/// Receives each [`OutboundRecord`] as it happens.
pub type OutboundCallback = Arc<dyn Fn(&OutboundRecord) + Send + Sync>;

/// What a module may reach over outbound HTTP, and through which backend.
#[derive(Clone, Default)]
pub(crate) struct OutboundPolicy {
    /// The module, for log lines.
    pub(crate) module: Arc<str>,
    /// `[capabilities] http` entries, as [`HostPattern::parse`] reads them.
    pub(crate) allow: Arc<[String]>,
    /// The backend.
    pub(crate) network: Arc<Network>,
    /// Told of requests denied or mocked.
    pub(crate) on_outbound: Option<OutboundCallback>,
}

impl std::fmt::Debug for OutboundPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundPolicy")
            .field("module", &self.module)
            .field("allow", &self.allow)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

impl OutboundPolicy {
    fn record(&self, method: &str, url: &str, answer: OutboundAnswer) {
        if let Some(on_outbound) = &self.on_outbound {
            on_outbound(&OutboundRecord {
                method: method.to_string(),
                url: url.to_string(),
                answer,
            });
        }
    }
}

/// Why an outbound request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The host is not on the allow-list.
    NotAllowed {
        /// The host asked for.
        host: String,
    },
    /// The host resolves to a private address that is not listed exactly.
    PrivateAddress {
        /// The host asked for.
        host: String,
        /// The address it resolved to.
        address: IpAddr,
    },
}

impl Denial {
    /// The `arcella.toml` line that would allow the request.
    pub fn manifest_line(&self, allow: &[String]) -> String {
        let host = match self {
            Self::NotAllowed { host } | Self::PrivateAddress { host, .. } => host,
        };
        let mut entries: Vec<String> = allow.iter().map(|entry| format!("\"{entry}\"")).collect();
        entries.push(format!("\"{host}\""));
        format!("http = [{}]", entries.join(", "))
    }
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAllowed { host } => write!(f, "`{host}` is not in [capabilities] http"),
            Self::PrivateAddress { host, address } => {
                write!(
                    f,
                    "`{host}` resolves to the private address {address}, which must be listed exactly"
                )
            }
        }
    }
}

impl OutboundPolicy {
    /// Whether `host` (and `port`) is on the allow-list, and whether an exact entry names it.
    ///
    /// `host` is as a URI writes it (`[::1]`) or bare (`::1`); entries that
    /// do not parse (the manifest refuses them; other callers may not) match nothing.
    fn allows(&self, host: &str, port: u16) -> (bool, bool) {
        let host = RequestHost::new(host);
        let mut allowed = false;
        let mut exact = false;
        for entry in self.allow.iter() {
            let Ok(pattern) = HostPattern::parse(entry.trim()) else {
                continue;
            };
            if pattern.matches(&host, port) {
                allowed = true;
                exact |= pattern.is_exact();
            }
        }
        (allowed, exact)
    }

    /// Checks `host:port` against the allow-list and, after resolving it, the SSRF guard.
    pub async fn check(&self, host: &str, port: u16) -> Result<(), Denial> {
        let host = unbracketed(host);
        let (allowed, exact) = self.allows(host, port);
        if !allowed {
            return Err(Denial::NotAllowed {
                host: host.to_string(),
            });
        }
        if exact {
            return Ok(());
        }
        let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(address) => vec![address],
            // Resolution failures are left to the request itself, which reports a DNS error.
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map(|found| found.map(|a| a.ip()).collect())
                .unwrap_or_default(),
        };
        match addresses.into_iter().find(|address| is_private(*address)) {
            Some(address) => Err(Denial::PrivateAddress {
                host: host.to_string(),
                address,
            }),
            None => Ok(()),
        }
    }
}

/// One `[capabilities] http` entry, parsed once for both the manifest's
/// check and the request's match, so the two cannot disagree about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// The hosts the entry names.
    host: PatternHost,
    /// The one port it allows; `None` allows any.
    port: Option<u16>,
}

/// The host part of a [`HostPattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternHost {
    /// `*`: any host, never opening a private address.
    Any,
    /// `*.domain`: the subdomains of `domain`, not `domain` itself.
    Subdomains(String),
    /// A domain name, lowercase and without a trailing dot.
    Domain(String),
    /// An IPv4 or IPv6 address.
    Address(IpAddr),
}

impl HostPattern {
    /// Parses an entry: `*`, `*.domain`, a domain, an IPv4 address, or an
    /// IPv6 address bare (`::1`) or in brackets (`[::1]`), each with an
    /// optional `:port`; a bare IPv6 address takes no port, since its last
    /// group would read as one. The error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.contains("://") {
            return Err("it has a scheme; write the host only".into());
        }
        if text.contains(['/', '?', '#', '@']) || text.chars().any(char::is_whitespace) {
            return Err("write the host alone, without path, user or spaces".into());
        }
        if let Ok(address) = text.parse::<Ipv6Addr>() {
            return Ok(Self {
                host: PatternHost::Address(IpAddr::V6(address)),
                port: None,
            });
        }
        let (host, port) = split_port(text)?;
        let port = port.map(parse_port).transpose()?;
        let host = if host == "*" {
            PatternHost::Any
        } else if let Some(inner) = host.strip_prefix('[') {
            let inner = inner.strip_suffix(']').unwrap_or(inner);
            let address = inner
                .parse::<Ipv6Addr>()
                .map_err(|_| format!("`{inner}` is not an IPv6 address"))?;
            PatternHost::Address(IpAddr::V6(address))
        } else if let Ok(address) = host.parse::<Ipv4Addr>() {
            PatternHost::Address(IpAddr::V4(address))
        } else if let Some(domain) = host.strip_prefix("*.") {
            PatternHost::Subdomains(check_domain(domain)?)
        } else {
            PatternHost::Domain(check_domain(host)?)
        };
        Ok(Self { host, port })
    }

    /// Whether a request to `host` on `port` matches this entry.
    fn matches(&self, host: &RequestHost, port: u16) -> bool {
        if self.port.is_some_and(|allowed| allowed != port) {
            return false;
        }
        match (&self.host, host) {
            (PatternHost::Any, _) => true,
            (PatternHost::Subdomains(domain), RequestHost::Name(name)) => name
                .strip_suffix(domain.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty()),
            (PatternHost::Domain(domain), RequestHost::Name(name)) => domain == name,
            (PatternHost::Address(address), RequestHost::Address(requested)) => {
                address == requested
            }
            _ => false,
        }
    }

    /// Whether the entry names one host exactly, which lets it reach a private address.
    fn is_exact(&self) -> bool {
        matches!(self.host, PatternHost::Domain(_) | PatternHost::Address(_))
    }
}

/// The host a request is for, read the way [`HostPattern`] reads entries.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RequestHost {
    /// An IP address, in brackets or not.
    Address(IpAddr),
    /// A name, lowercase and without a trailing dot.
    Name(String),
}

impl RequestHost {
    fn new(host: &str) -> Self {
        let host = unbracketed(host.trim());
        match host.parse::<IpAddr>() {
            Ok(address) => Self::Address(address),
            Err(_) => Self::Name(host.trim_end_matches('.').to_ascii_lowercase()),
        }
    }
}

/// `host` without the brackets a URI puts around an IPv6 address.
fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host)
}

/// Splits `host:port`, leaving `[IPv6]` whole.
fn split_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if text.starts_with('[') {
        return match text.find(']') {
            Some(end) if end + 1 == text.len() => Ok((text, None)),
            Some(end) => match text[end + 1..].strip_prefix(':') {
                Some(port) => Ok((&text[..=end], Some(port))),
                None => Err("unexpected text after `]`".into()),
            },
            None => Err("`[` without `]`".into()),
        };
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => Ok((host, Some(port))),
        Some(_) => Err("too many `:`; write IPv6 addresses in brackets, e.g. `[::1]:8080`".into()),
        None => Ok((text, None)),
    }
}

/// A port from 1 to 65535.
fn parse_port(port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("`{port}` is not a port (1 to 65535)")),
    }
}

/// Checks a domain name (dot-separated labels of letters, digits and inner
/// `-`) and returns it lowercase, without a trailing dot.
fn check_domain(domain: &str) -> Result<String, String> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err("the host is empty".into());
    }
    if domain.len() > 253 {
        return Err("the host is longer than 253 characters".into());
    }
    for label in domain.split('.') {
        let well_formed = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !well_formed {
            if label.contains('*') {
                return Err("`*` is only allowed alone or as a leading `*.`".into());
            }
            return Err(format!(
                "`{label}` is not a domain label (letters, digits and inner `-`)"
            ));
        }
    }
    Ok(domain.to_ascii_lowercase())
}

/// Loopback, private, link-local, unique-local, unspecified or cloud-metadata addresses.
pub fn is_private(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || (v6.segments()[0] & 0xfe00) == 0xfc00
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
                    || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
            }
        },
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
}

/// The hooks of one store: its component's policy, shared.
pub(crate) struct OutboundHooks(pub(crate) Arc<OutboundPolicy>);

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                )>,
            > + Send,
    > {
        drop(fut);
        let policy = self.0.clone();
        Box::new(async move {
            use http_body_util::BodyExt;
            let uri = request.uri();
            let host = uri.host().unwrap_or_default().to_string();
            let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            let checked = match &*policy.network {
                // A mocked network has no addresses to guard: only the list applies.
                Network::Mocked(_) => match policy.allows(&host, port) {
                    (true, _) => Ok(()),
                    (false, _) => Err(Denial::NotAllowed { host: host.clone() }),
                },
                Network::Real => policy.check(&host, port).await,
            };
            if let Err(denial) = checked {
                policy.record(
                    request.method().as_str(),
                    &request.uri().to_string(),
                    OutboundAnswer::Denied,
                );
                tracing::warn!(
                    target: "arcella::http",
                    module = &*policy.module,
                    "outbound request to {host}:{port} denied: {denial}; to allow it, write under [capabilities]: {}",
                    denial.manifest_line(&policy.allow)
                );
                return Err(HttpError::HttpRequestDenied);
            }
            if let Network::Mocked(routes) = &*policy.network {
                return answer_from(&policy, routes, request).await;
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// `headers` as `(name, value)` pairs in order, values read as (lossy) UTF-8.
pub fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// What the first of `routes` that matches answers to `request`, as the guest's response.
async fn answer_from(
    policy: &OutboundPolicy,
    routes: &[MockRoute],
    request: http::Request<WasiBody>,
) -> wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
)> {
    use http_body_util::{BodyExt, Full, Limited};
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_MOCKED_BODY)
        .collect()
        .await
        .map_err(|_| HttpError::HttpRequestBodySize(Some(MAX_MOCKED_BODY as u64)))?
        .to_bytes();
    let request = OutboundRequest {
        method: parts.method.to_string(),
        url: parts.uri.to_string(),
        headers: header_pairs(&parts.headers),
        body: body.to_vec(),
    };
    let Some(route) = routes.iter().find(|route| route.matches(&request)) else {
        policy.record(&request.method, &request.url, OutboundAnswer::NoRoute);
        return Err(HttpError::ConnectionRefused);
    };
    let answer = route.response.clone();
    policy.record(
        &request.method,
        &request.url,
        OutboundAnswer::Mocked(answer.status),
    );
    let mut response = http::Response::new(
        Full::new(Bytes::from(answer.body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() =
        http::StatusCode::from_u16(answer.status).map_err(|_| HttpError::HttpProtocolError)?;
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name),
            http::HeaderValue::try_from(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
    Ok((response, io))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> OutboundPolicy {
        OutboundPolicy {
            module: "m".into(),
            allow: allow.iter().map(ToString::to_string).collect(),
            ..OutboundPolicy::default()
        }
    }

    #[tokio::test]
    async fn unlisted_hosts_are_denied() {
        let denial = policy(&["api.example.com"])
            .check("evil.example.com", 443)
            .await
            .unwrap_err();
        assert_eq!(
            denial,
            Denial::NotAllowed {
                host: "evil.example.com".into()
            }
        );
        assert_eq!(
            denial.manifest_line(&["api.example.com".into()]),
            r#"http = ["api.example.com", "evil.example.com"]"#
        );
    }

    #[tokio::test]
    async fn wildcards_never_open_private_addresses() {
        for host in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.169.254",
            "::1",
            "192.168.0.1",
            "localhost",
        ] {
            let result = policy(&["*"]).check(host, 80).await;
            assert!(
                matches!(result, Err(Denial::PrivateAddress { .. })),
                "{host}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_exact_entry_opens_a_private_address() {
        assert!(
            policy(&["127.0.0.1"])
                .check("127.0.0.1", 8080)
                .await
                .is_ok()
        );
        assert!(
            policy(&["127.0.0.1:8080"])
                .check("127.0.0.1", 8080)
                .await
                .is_ok()
        );
        assert!(
            policy(&["127.0.0.1:8080"])
                .check("127.0.0.1", 9090)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_wildcard_with_a_port_allows_that_port_only() {
        let policy = policy(&["*.example.org:8443"]);
        assert!(policy.allows("api.example.org", 8443).0);
        assert!(!policy.allows("api.example.org", 443).0);
    }

    #[tokio::test]
    async fn an_ipv6_entry_matches_the_address_however_either_side_writes_it() {
        for entry in ["[::1]", "::1", "[::1]:8080", "[0:0::1]"] {
            let policy = policy(&[entry]);
            // `http::Uri::host` keeps the brackets; the denial message drops them.
            for host in ["[::1]", "::1"] {
                assert!(
                    policy.check(host, 8080).await.is_ok(),
                    "{entry} against {host}"
                );
                assert_eq!(
                    policy.allows(host, 8080),
                    (true, true),
                    "{entry} against {host}"
                );
            }
        }
        assert!(policy(&["[::1]:8080"]).check("[::1]", 9090).await.is_err());
        assert!(policy(&["::1"]).check("[::2]", 80).await.is_err());
        assert!(policy(&["[::1]"]).check("127.0.0.1", 80).await.is_err());
    }

    #[tokio::test]
    async fn a_denied_ipv6_host_is_suggested_as_an_entry_that_allows_it() {
        let denial = policy(&[]).check("[::1]", 8080).await.unwrap_err();
        let line = denial.manifest_line(&[]);
        let entry = line
            .trim_start_matches("http = [\"")
            .trim_end_matches("\"]");
        assert!(
            policy(&[entry]).check("[::1]", 8080).await.is_ok(),
            "{line}"
        );
    }

    #[test]
    fn entries_match_hosts_by_kind() {
        let allows = |entry: &str, host: &str, port: u16| policy(&[entry]).allows(host, port);
        assert_eq!(allows("Example.COM.", "example.com", 443), (true, true));
        assert_eq!(allows("example.com", "EXAMPLE.com.", 443), (true, true));
        assert_eq!(
            allows("api.example.com:8443", "api.example.com", 8443),
            (true, true)
        );
        assert_eq!(
            allows("api.example.com:8443", "api.example.com", 443),
            (false, false)
        );
        assert_eq!(allows("*.example.org", "a.example.org", 1), (true, false));
        assert_eq!(allows("*.example.org", "example.org", 1), (false, false));
        assert_eq!(
            allows("*.example.org", "evilexample.org", 1),
            (false, false)
        );
        assert_eq!(allows("*:443", "anything.net", 443), (true, false));
        assert_eq!(allows("*:443", "anything.net", 80), (false, false));
        assert_eq!(allows("127.0.0.1", "127.0.0.1", 80), (true, true));
        assert_eq!(allows("*.0.0.1", "127.0.0.1", 80), (false, false));
        assert_eq!(allows("not a pattern", "not a pattern", 80), (false, false));
    }

    #[test]
    fn patterns_parse_every_documented_form_and_refuse_the_rest() {
        for entry in [
            "api.example.com",
            "*.example.org",
            "*",
            "*:443",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:8080",
            "::1",
            "fd00:ec2::254",
            "Example.COM.",
        ] {
            assert!(HostPattern::parse(entry).is_ok(), "{entry}");
        }
        for entry in [
            "https://api.example.com",
            "api.example.com/v1",
            "a.*.com",
            "**",
            "-a.com",
            "host:0",
            "host:99999",
            "::1:",
            "[::1",
            "[::1]x",
            "[::g]",
            "[127.0.0.1]",
            "",
            "a..b",
        ] {
            assert!(HostPattern::parse(entry).is_err(), "{entry}");
        }
    }

    #[test]
    fn metadata_and_shared_ranges_are_private() {
        assert!(is_private("169.254.169.254".parse().unwrap()));
        assert!(is_private("100.64.0.1".parse().unwrap()));
        assert!(is_private("::ffff:10.0.0.1".parse().unwrap()));
        assert!(is_private("fd00:ec2::254".parse().unwrap()));
        assert!(!is_private("93.184.216.34".parse().unwrap()));
    }
}
