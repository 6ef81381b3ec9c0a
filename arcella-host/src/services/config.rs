//! `wasi:config/store@0.2.0-rc.1`: the manifest's `[config]` table, read by the guest.
//!
//! The values are the ones `lifecycle.start` receives, resolved once, at
//! install: a `{ env = "NAME" }` entry is read from the host's environment
//! then, and a variable that is not set refuses the install, naming it
//! ([`Error::ConfigEnvMissing`]). Values may be secrets, so nothing here
//! prints them: [`ConfigValues`]' `Debug` shows the keys only, and the
//! record of a guest's call ([`ServiceCall`]) shows the reference in place
//! of a value read from the environment.
//!
//! `get-all` answers in key order, the same list on every run (not in the
//! order of a hash map, as `wasmtime-wasi-config` does).
//!
//! `wasi:config/store` must be declared in `imports`, like
//! `arcella:component/logging`, and needs no grant: it reads only what the
//! component's own manifest (or its operator, through the environment
//! variables that manifest names) gives it, and reaches nothing outside the
//! sandbox. Declaring it keeps `imports` the list of what a component asks
//! of its host beyond a plain WASI program.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::calls::{Answer, Preview, ServiceCall};
use super::{Provided, Service};
use crate::error::{Error, Result};
use crate::manifest::ConfigValue;
use crate::store::GuestState;

mod bindings {
    #![allow(missing_docs)]

    // The repository's `wit/deps/config.wit`, as `wasmtime-wasi-config` 48
    // ships it; guests build against the same file.
    wasmtime::component::bindgen!({
        path: "../wit/deps/config.wit",
        world: "wasi:config/imports",
    });
}

use bindings::wasi::config::store;

/// The version of `wasi:config` served: the one `wasmtime-wasi-config` 48,
/// `wasmtime serve -Sconfig` and wasmCloud serve.
pub const WASI_CONFIG_VERSION: &str = "0.2.0-rc.1";

/// The interface, as a [`ServiceCall`] names it.
const STORE: &str = "wasi:config/store";

/// `wasi:config/store`.
pub(crate) const SERVICE: Service = Service {
    name: "config",
    grants: &[], // the `[config]` table is the grant
    interfaces: &[Provided::declared(STORE).at(WASI_CONFIG_VERSION)],
    add_to_linker,
};

fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    store::add_to_linker::<GuestState, HasSelf<GuestState>>(linker, |state| state)
}

impl store::Host for GuestState {
    /// The value of `key`; `none` when there is none. Never an error.
    fn get(&mut self, key: String) -> std::result::Result<Option<String>, store::Error> {
        let value = self.config.get(&key).map(str::to_string);
        self.report(|| {
            let shown = self
                .config
                .shown(&key)
                .map(|shown| Preview::of(shown.as_bytes()));
            ServiceCall::new(self.module(), STORE, "get")
                .key(&key)
                .answered(Ok(Answer::Value(shown)))
        });
        Ok(value)
    }

    /// Every pair, sorted by key, so that a component sees the same list on
    /// every run. Never an error.
    fn get_all(&mut self) -> std::result::Result<Vec<(String, String)>, store::Error> {
        let pairs: Vec<(String, String)> = self
            .config
            .sorted()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        self.report(|| {
            let shown = pairs
                .iter()
                .filter_map(|(key, _)| {
                    let shown = self.config.shown(key)?;
                    Some((key.clone(), Preview::of(shown.as_bytes())))
                })
                .collect();
            ServiceCall::new(self.module(), STORE, "get-all").answered(Ok(Answer::Pairs(shown)))
        });
        Ok(pairs)
    }
}

/// A component's `[config]` values, resolved: what `lifecycle.start`
/// receives and `wasi:config/store` serves. Cheap to clone (one `Arc`);
/// crosses the worker pipe as its pairs and the references of those read
/// from the environment.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "WireConfig", into = "WireConfig")]
pub struct ConfigValues(Arc<Resolved>);

#[derive(Default)]
struct Resolved {
    /// In manifest order, as `lifecycle.start` takes them.
    pairs: Vec<(String, String)>,
    /// Each key's value, sorted by key: what `wasi:config` serves.
    by_key: BTreeMap<String, String>,
    /// The keys read from the environment, and what is shown instead of
    /// their values: the manifest's reference, `{ env = "NAME" }`.
    hidden: BTreeMap<String, String>,
}

/// [`ConfigValues`] as they cross the worker pipe.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireConfig {
    pairs: Vec<(String, String)>,
    hidden: Vec<(String, String)>,
}

impl ConfigValues {
    /// Resolves `module`'s `[config]` entries, reading each `{ env = "NAME" }`
    /// from the host's environment now.
    ///
    /// # Errors
    ///
    /// [`Error::ConfigEnvMissing`] for the first variable that is not set
    /// (or not UTF-8 text).
    pub fn resolve(module: &str, config: &[(String, ConfigValue)]) -> Result<Self> {
        let mut hidden = Vec::new();
        let pairs = config
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    ConfigValue::Text(text) => text.clone(),
                    ConfigValue::Env(variable) => {
                        hidden.push((key.clone(), value.to_string()));
                        std::env::var(variable).map_err(|_| Error::ConfigEnvMissing {
                            module: module.to_string(),
                            key: key.clone(),
                            variable: variable.clone(),
                        })?
                    }
                };
                Ok((key.clone(), text))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from(WireConfig { pairs, hidden }))
    }

    /// The pairs, in manifest order (a `Vec`, as `lifecycle.start` takes them).
    pub fn pairs(&self) -> &Vec<(String, String)> {
        &self.0.pairs
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.by_key.get(key).map(String::as_str)
    }

    /// Every key and its value, sorted by key.
    pub fn sorted(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .by_key
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// What may be shown of `key`'s value: the value, or for one read from
    /// the environment, its reference (`{ env = "NAME" }`).
    pub fn shown(&self, key: &str) -> Option<&str> {
        self.0
            .hidden
            .get(key)
            .or_else(|| self.0.by_key.get(key))
            .map(String::as_str)
    }
}

impl From<Vec<(String, String)>> for ConfigValues {
    /// Values written as text (none read from the environment).
    fn from(pairs: Vec<(String, String)>) -> Self {
        Self::from(WireConfig {
            pairs,
            hidden: Vec::new(),
        })
    }
}

impl From<WireConfig> for ConfigValues {
    fn from(wire: WireConfig) -> Self {
        let by_key = wire.pairs.iter().cloned().collect();
        Self(Arc::new(Resolved {
            pairs: wire.pairs,
            by_key,
            hidden: wire.hidden.into_iter().collect(),
        }))
    }
}

impl From<ConfigValues> for WireConfig {
    fn from(values: ConfigValues) -> Self {
        Self {
            pairs: values.0.pairs.clone(),
            hidden: values
                .0
                .hidden
                .iter()
                .map(|(key, shown)| (key.clone(), shown.clone()))
                .collect(),
        }
    }
}

impl std::fmt::Debug for ConfigValues {
    /// The keys only: values may come from the environment and be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.0.pairs.iter().map(|(key, _)| key))
            .finish()
    }
}

impl PartialEq for ConfigValues {
    fn eq(&self, other: &Self) -> bool {
        self.0.pairs == other.0.pairs && self.0.hidden == other.0.hidden
    }
}

impl Eq for ConfigValues {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_keys_and_never_values() {
        let values = ConfigValues::from(vec![("api_key".to_string(), "s3cr3t".to_string())]);
        let shown = format!("{values:?}");
        assert!(shown.contains("api_key"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn values_are_served_by_key_in_key_order_and_cross_the_pipe_whole() {
        let config = vec![
            ("zeta".to_string(), ConfigValue::Text("last".into())),
            (
                "package".to_string(),
                ConfigValue::Env("CARGO_PKG_NAME".into()),
            ),
            ("alpha".to_string(), ConfigValue::Text("first".into())),
        ];
        let values = ConfigValues::resolve("demo", &config).unwrap();
        let keys: Vec<&str> = values.sorted().map(|(key, _)| key).collect();
        assert_eq!(keys, ["alpha", "package", "zeta"]);
        assert_eq!(values.pairs()[0].0, "zeta", "start gets manifest order");
        assert_eq!(values.get("package"), Some(env!("CARGO_PKG_NAME")));
        assert_eq!(
            values.shown("package"),
            Some(r#"{ env = "CARGO_PKG_NAME" }"#)
        );
        assert_eq!(values.shown("alpha"), Some("first"));
        assert_eq!(values.shown("absent"), None);

        let wire = postcard::to_allocvec(&values).unwrap();
        let crossed: ConfigValues = postcard::from_bytes(&wire).unwrap();
        assert_eq!(crossed, values);
        assert_eq!(crossed.shown("package"), values.shown("package"));
    }

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        let config = vec![(
            "token".to_string(),
            ConfigValue::Env("ARCELLA_TEST_SURELY_UNSET_VARIABLE".to_string()),
        )];
        let error = ConfigValues::resolve("demo", &config).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("ARCELLA_TEST_SURELY_UNSET_VARIABLE") && message.contains("token"),
            "{message}"
        );
    }
}
