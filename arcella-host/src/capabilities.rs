//! What a component may reach outside its sandbox. Nothing is granted by default.

use std::path::PathBuf;

/// The grants a component runs with. `Capabilities::default()` grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capabilities {
    /// Environment variables visible to the guest.
    pub env: Vec<EnvGrant>,
    /// Host directories preopened for the guest.
    pub dirs: Vec<DirGrant>,
    /// Hosts the guest may call over outbound HTTP (`api.example.com`, `*.example.org`, `*`).
    pub http: Vec<String>,
    /// Network endpoints the guest may reach with `wasi:sockets`.
    pub sockets: Vec<SocketGrant>,
    /// Key-value buckets the guest may open (`"*"`: any).
    #[serde(default)]
    pub keyvalue: Vec<String>,
    /// Whether the guest reads the host's standard input.
    pub stdin: bool,
}

/// The transport a socket grant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SocketProtocol {
    /// TCP: the guest may connect to the endpoint.
    Tcp,
    /// UDP: the guest may send datagrams to the endpoint.
    Udp,
}

impl SocketProtocol {
    /// The scheme written in a grant: `tcp` or `udp`.
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// One endpoint a guest may reach over `wasi:sockets`: `tcp://HOST:PORT` or
/// `udp://HOST:PORT`, where HOST is a name (which the guest may then look up)
/// or an IP address (`[…]` for IPv6).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SocketGrant {
    /// TCP or UDP.
    pub protocol: SocketProtocol,
    /// A host name (lowercase, without a trailing dot) or an IP address.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl SocketGrant {
    /// Parses `tcp://HOST:PORT` or `udp://HOST:PORT`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let example = "write e.g. \"tcp://db.example.com:5432\" or \"udp://[::1]:53\"";
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("`{text}` has no `tcp://` or `udp://`; {example}"))?;
        let protocol = match scheme.to_ascii_lowercase().as_str() {
            "tcp" => SocketProtocol::Tcp,
            "udp" => SocketProtocol::Udp,
            _ => return Err(format!("`{scheme}` is not `tcp` or `udp`; {example}")),
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("`{text}` names no port; {example}"))?;
        let port: u16 = match port.parse() {
            Ok(port) if port > 0 => port,
            _ => return Err(format!("`{port}` is not a port (1 to 65535); {example}")),
        };
        let host = match host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
        {
            Some(inner) => match inner.parse::<std::net::Ipv6Addr>() {
                Ok(v6) => v6.to_string(),
                Err(_) => return Err(format!("`{inner}` is not an IPv6 address; {example}")),
            },
            None if host.contains(':') => {
                return Err(format!(
                    "write an IPv6 address in brackets, `[{host}]`; {example}"
                ));
            }
            None => host.trim_end_matches('.').to_ascii_lowercase(),
        };
        let is_name = host.parse::<std::net::IpAddr>().is_err();
        let valid_name = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if is_name && !valid_name {
            return Err(format!(
                "`{host}` is not a host name or IP address; {example}"
            ));
        }
        Ok(Self {
            protocol,
            host,
            port,
        })
    }

    /// The host as an IP address, when it is one.
    pub fn address(&self) -> Option<std::net::IpAddr> {
        self.host.parse().ok()
    }
}

impl std::fmt::Display for SocketGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.protocol.scheme();
        match self.address() {
            Some(std::net::IpAddr::V6(v6)) => write!(f, "{scheme}://[{v6}]:{}", self.port),
            _ => write!(f, "{scheme}://{}:{}", self.host, self.port),
        }
    }
}

/// One environment variable passed to the guest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvGrant {
    /// The variable's name.
    pub name: String,
    /// A fixed value; `None` passes the host's own value through, if it has one.
    pub value: Option<String>,
}

/// One host directory made visible to the guest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirGrant {
    /// Directory on the host (absolute once resolved against the manifest's folder).
    pub host: PathBuf,
    /// Path the guest sees it at.
    pub guest: String,
    /// Whether the guest may only read.
    pub read_only: bool,
}

impl EnvGrant {
    /// Parses `NAME` or `NAME=VALUE`, as given to `--env`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (text, None),
        };
        if !is_env_name(name) {
            return Err(format!(
                "`{name}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
            ));
        }
        Ok(Self {
            name: name.to_string(),
            value,
        })
    }
}

/// Whether `name` is a portable environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl DirGrant {
    /// Parses `HOST[:GUEST][:ro]`, as given to `--dir` or in `[capabilities] dirs`.
    ///
    /// The guest path defaults to the host path as written.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts: Vec<&str> = text.split(':').collect();
        let read_only = match parts.last() {
            Some(&"ro") if parts.len() > 1 => {
                parts.pop();
                true
            }
            Some(&"rw") if parts.len() > 1 => {
                parts.pop();
                false
            }
            _ => false,
        };
        let (host, guest) = match parts.as_slice() {
            [host] => (*host, *host),
            [host, guest] => (*host, *guest),
            _ => {
                return Err(format!(
                    "`{text}` is not a directory grant; write HOST[:GUEST][:ro], e.g. \"data:/data:ro\""
                ));
            }
        };
        if host.is_empty() || guest.is_empty() {
            return Err(format!(
                "`{text}` has an empty path; write HOST[:GUEST][:ro], e.g. \"data:/data:ro\""
            ));
        }
        Ok(Self {
            host: PathBuf::from(host),
            guest: guest.to_string(),
            read_only,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_grants_parse_all_forms() {
        let grant = DirGrant::parse("data:/data:ro").unwrap();
        assert_eq!(
            (
                grant.host.to_str().unwrap(),
                grant.guest.as_str(),
                grant.read_only
            ),
            ("data", "/data", true)
        );
        let grant = DirGrant::parse("data").unwrap();
        assert_eq!((grant.guest.as_str(), grant.read_only), ("data", false));
        assert!(DirGrant::parse("a:b:c:d").is_err());
        assert!(DirGrant::parse(":x").is_err());
    }

    #[test]
    fn socket_grants_parse_names_and_addresses_and_print_back() {
        for text in [
            "tcp://db.example.com:5432",
            "udp://10.0.0.5:53",
            "tcp://[::1]:8080",
        ] {
            assert_eq!(SocketGrant::parse(text).unwrap().to_string(), text);
        }
        let grant = SocketGrant::parse("TCP://DB.Example.com.:5432").unwrap();
        assert_eq!(grant.to_string(), "tcp://db.example.com:5432");
        for bad in [
            "db.example.com:5432",
            "http://db:80",
            "tcp://db",
            "tcp://db:0",
            "tcp://db:99999",
            "tcp://::1:80",
            "tcp://[nope]:80",
            "tcp://bad host:80",
            "tcp://:80",
        ] {
            assert!(SocketGrant::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_grants_take_optional_values() {
        assert_eq!(EnvGrant::parse("HOME").unwrap().value, None);
        assert_eq!(
            EnvGrant::parse("A=b=c").unwrap().value.as_deref(),
            Some("b=c")
        );
        assert!(EnvGrant::parse("1X").is_err());
    }
}
