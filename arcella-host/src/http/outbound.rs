//! Outbound HTTP from guests: the `[capabilities] http` allow-list and the SSRF guard.
//!
//! Every request is checked: its host must match an allow-list entry, and
//! after DNS resolution none of its addresses may be loopback, private,
//! link-local or a cloud metadata endpoint unless that host or address is
//! listed exactly (a wildcard never opens private addresses).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::capabilities::host_matches;

/// What a module may reach over outbound HTTP.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    /// The module, for log lines.
    pub module: String,
    /// `[capabilities] http` entries: `host`, `host:port`, `*.domain` or `*`.
    pub allow: Vec<String>,
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
    fn allows(&self, host: &str, port: u16) -> (bool, bool) {
        let with_port = format!("{host}:{port}");
        let mut allowed = false;
        let mut exact = false;
        for entry in &self.allow {
            let entry = entry.trim().to_ascii_lowercase();
            if entry == with_port || entry == host.to_ascii_lowercase() {
                allowed = true;
                exact = true;
            } else if host_matches(&entry, host) {
                allowed = true;
            }
        }
        (allowed, exact)
    }

    /// Checks `host:port` against the allow-list and, after resolving it, the SSRF guard.
    pub async fn check(&self, host: &str, port: u16) -> Result<(), Denial> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
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

impl WasiHttpHooks for OutboundPolicy {
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
        let policy = self.clone();
        Box::new(async move {
            use http_body_util::BodyExt;
            let uri = request.uri();
            let host = uri.host().unwrap_or_default().to_string();
            let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            if let Err(denial) = policy.check(&host, port).await {
                tracing::warn!(
                    target: "arcella::http",
                    module = policy.module,
                    "outbound request to {host}:{port} denied: {denial}; to allow it, write under [capabilities]: {}",
                    denial.manifest_line(&policy.allow)
                );
                return Err(HttpError::HttpRequestDenied);
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> OutboundPolicy {
        OutboundPolicy {
            module: "m".into(),
            allow: allow.iter().map(ToString::to_string).collect(),
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

    #[test]
    fn metadata_and_shared_ranges_are_private() {
        assert!(is_private("169.254.169.254".parse().unwrap()));
        assert!(is_private("100.64.0.1".parse().unwrap()));
        assert!(is_private("::ffff:10.0.0.1".parse().unwrap()));
        assert!(is_private("fd00:ec2::254".parse().unwrap()));
        assert!(!is_private("93.184.216.34".parse().unwrap()));
    }
}
