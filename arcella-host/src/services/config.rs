//! `wasi:config/store@0.2.0-rc.1`: the manifest's `[config]` table, read by the guest.
//!
//! The values are the ones `lifecycle.start` receives, resolved once, at
//! install: a `{ env = "NAME" }` entry is read from the host's environment
//! then, and a variable that is not set refuses the install, naming it
//! ([`Error::ConfigEnvMissing`]). Values may be secrets, so nothing here
//! prints them: [`ConfigValues`]' `Debug` shows the keys only.
//!
//! `wasi:config/store` must be declared in `imports`, like
//! `arcella:component/logging`, and needs no grant: it reads only what the
//! component's own manifest (or its operator, through the environment
//! variables that manifest names) gives it, and reaches nothing outside the
//! sandbox. Declaring it keeps `imports` the list of what a component asks
//! of its host beyond a plain WASI program.

use std::sync::Arc;

use wasmtime::component::Linker;
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};

use super::{Provided, Service};
use crate::error::{Error, Result};
use crate::manifest::ConfigValue;
use crate::store::GuestState;

/// The version of `wasi:config` served: the one `wasmtime-wasi-config` 48,
/// `wasmtime serve -Sconfig` and wasmCloud serve.
pub const WASI_CONFIG_VERSION: &str = "0.2.0-rc.1";

/// `wasi:config/store`.
pub(crate) const SERVICE: Service = Service {
    name: "config",
    grants: &[], // the `[config]` table is the grant
    interfaces: &[Provided::declared("wasi:config/store").at(WASI_CONFIG_VERSION)],
    add_to_linker,
};

fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    wasmtime_wasi_config::add_to_linker(linker, |state: &mut GuestState| {
        WasiConfig::from(&state.config.0.variables)
    })
}

/// A component's `[config]` values, resolved: what `lifecycle.start`
/// receives and `wasi:config/store` serves. Cheap to clone (one `Arc`);
/// crosses the worker pipe as its pairs.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<(String, String)>", into = "Vec<(String, String)>")]
pub struct ConfigValues(Arc<Resolved>);

#[derive(Default)]
struct Resolved {
    pairs: Vec<(String, String)>,
    variables: WasiConfigVariables,
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
        let pairs = config
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    ConfigValue::Text(text) => text.clone(),
                    ConfigValue::Env(variable) => {
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
        Ok(Self::from(pairs))
    }

    /// The pairs, in manifest order (a `Vec`, as `lifecycle.start` takes them).
    pub fn pairs(&self) -> &Vec<(String, String)> {
        &self.0.pairs
    }
}

impl From<Vec<(String, String)>> for ConfigValues {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let variables = pairs.iter().cloned().collect();
        Self(Arc::new(Resolved { pairs, variables }))
    }
}

impl From<ConfigValues> for Vec<(String, String)> {
    fn from(values: ConfigValues) -> Self {
        values.0.pairs.clone()
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
        self.0.pairs == other.0.pairs
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
