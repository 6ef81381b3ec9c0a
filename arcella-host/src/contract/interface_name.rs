//! Interface names as the component model writes them: `namespace:package/interface@version`.
//!
//! Manifests, WIT packages and component binaries all name interfaces this
//! way; comparing them goes through [`InterfaceName`] so that every check
//! agrees on what "the same interface" means.

use std::fmt;

/// A parsed `namespace:package/interface@version` name, e.g.
/// `arcella:component/handler@0.1.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceName {
    /// `arcella` in `arcella:component/handler`.
    pub namespace: String,
    /// `component` in `arcella:component/handler`.
    pub package: String,
    /// `handler` in `arcella:component/handler`.
    pub interface: String,
    /// The package version after `@`, if the name has one.
    pub version: Option<semver::Version>,
}

impl InterfaceName {
    /// Parses `ns:pkg/iface` or `ns:pkg/iface@version`; `None` for anything
    /// else (plain function names, malformed manifest entries).
    pub fn parse(text: &str) -> Option<Self> {
        let (path, version) = match text.split_once('@') {
            Some((path, version)) => (path, Some(semver::Version::parse(version).ok()?)),
            None => (text, None),
        };
        let (namespace, rest) = path.split_once(':')?;
        let (package, interface) = rest.split_once('/')?;
        let is_part = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if !(is_part(namespace) && is_part(package) && is_part(interface)) {
            return None;
        }
        Some(Self {
            namespace: namespace.to_string(),
            package: package.to_string(),
            interface: interface.to_string(),
            version,
        })
    }

    /// The name without its version: `arcella:component/handler`.
    pub fn unversioned(&self) -> String {
        format!("{}:{}/{}", self.namespace, self.package, self.interface)
    }

    /// Whether the interface belongs to a `wasi:` package.
    pub fn is_wasi(&self) -> bool {
        self.namespace == "wasi"
    }

    /// Whether this (concrete) interface satisfies `wanted`, an entry of the
    /// manifest.
    ///
    /// The names must agree up to the version. An entry without a version
    /// accepts any version; otherwise the versions must be semver-compatible
    /// the way the component model links them (`0.2.1` and `0.2.6` are, `0.1.0`
    /// and `0.2.0` are not), which is what wasmtime's linker accepts.
    pub fn satisfies(&self, wanted: &InterfaceName) -> bool {
        self.namespace == wanted.namespace
            && self.package == wanted.package
            && self.interface == wanted.interface
            && match (&wanted.version, &self.version) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(wanted), Some(actual)) => versions_compatible(wanted, actual),
            }
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.namespace, self.package, self.interface)?;
        if let Some(version) = &self.version {
            write!(f, "@{version}")?;
        }
        Ok(())
    }
}

/// Whether two versions are on the same component-model compatibility track:
/// same major for `1.x` and above, same minor for `0.x`, same patch for
/// `0.0.x`, and identical for pre-releases.
pub fn versions_compatible(a: &semver::Version, b: &semver::Version) -> bool {
    if !a.pre.is_empty() || !b.pre.is_empty() {
        return a == b;
    }
    match (a.major, a.minor) {
        (0, 0) => b.major == 0 && b.minor == 0 && a.patch == b.patch,
        (0, minor) => b.major == 0 && b.minor == minor,
        (major, _) => b.major == major,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_parses_names_with_and_without_versions() {
        let name = InterfaceName::parse("arcella:component/handler@0.1.0").unwrap();
        assert_eq!(name.namespace, "arcella");
        assert_eq!(name.package, "component");
        assert_eq!(name.interface, "handler");
        assert_eq!(name.version, Some(semver::Version::new(0, 1, 0)));
        assert_eq!(name.to_string(), "arcella:component/handler@0.1.0");
        let name = InterfaceName::parse("wasi:cli/run").unwrap();
        assert_eq!((name.version.clone(), name.is_wasi()), (None, true));
    }

    #[test]
    fn it_rejects_what_is_not_an_interface_name() {
        for text in [
            "run", "a:b", "a/b", "A:b/c", "a:b/c@", "a:b/c@x", ":b/c", "a:b/",
        ] {
            assert_eq!(InterfaceName::parse(text), None, "{text}");
        }
    }

    #[test]
    fn versions_match_on_the_component_model_compatibility_track() {
        let name = |text| InterfaceName::parse(text).unwrap();
        let wanted = name("wasi:http/types@0.2.0");
        assert!(name("wasi:http/types@0.2.6").satisfies(&wanted));
        assert!(!name("wasi:http/types@0.3.0").satisfies(&wanted));
        assert!(!name("wasi:http/types").satisfies(&wanted));
        assert!(name("wasi:http/types@0.3.0").satisfies(&name("wasi:http/types")));
        assert!(name("a:b/c@1.4.0").satisfies(&name("a:b/c@1.0.0")));
        assert!(!name("a:b/c@0.0.2").satisfies(&name("a:b/c@0.0.1")));
        assert!(!name("a:b/d@0.2.0").satisfies(&wanted));
    }
}
