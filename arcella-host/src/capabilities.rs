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
    /// Whether the guest reads the host's standard input.
    pub stdin: bool,
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

/// Whether `host` matches an allow-list `pattern`: an exact host, `*.domain` or `*`.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix("*.") {
        Some(domain) => host.len() > domain.len() + 1 && host.ends_with(&format!(".{domain}")),
        None => pattern == host,
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
    fn env_grants_take_optional_values() {
        assert_eq!(EnvGrant::parse("HOME").unwrap().value, None);
        assert_eq!(
            EnvGrant::parse("A=b=c").unwrap().value.as_deref(),
            Some("b=c")
        );
        assert!(EnvGrant::parse("1X").is_err());
    }

    #[test]
    fn host_patterns_match_exact_wildcard_and_all() {
        assert!(host_matches("api.example.com", "API.example.com"));
        assert!(host_matches("*.example.org", "a.example.org"));
        assert!(!host_matches("*.example.org", "example.org"));
        assert!(!host_matches("*.example.org", "evilexample.org"));
        assert!(host_matches("*", "anything"));
        assert!(!host_matches("api.example.com", "api.example.com.evil"));
    }
}
