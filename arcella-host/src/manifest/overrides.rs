//! Settings put over a manifest for one run or one test: `cargo arcella
//! run`'s flags and the testkit's builder both come down to these, so the
//! rules of going over a manifest live in one place.

use std::path::Path;
use std::time::Duration;

use crate::capabilities::{DirGrant, EnvGrant};
use crate::manifest::{Isolation, Manifest};

/// What goes over a manifest; `None` and empty lists keep the manifest's.
///
/// The limits are taken as given: whoever fills them in holds them to the
/// manifest's ranges first ([`Limits::check_fuel`](crate::Limits::check_fuel)
/// and its siblings; `cargo arcella run` does so as it parses its flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `[module] name`.
    pub name: Option<String>,
    /// `[limits] fuel`.
    pub fuel: Option<u64>,
    /// `[limits] memory`, in bytes.
    pub memory: Option<u64>,
    /// `[limits] timeout`.
    pub timeout: Option<Duration>,
    /// Environment grants; each replaces the manifest's grant of the same name.
    pub env: Vec<EnvGrant>,
    /// Directory grants, added; relative hosts are resolved by [`apply`](Self::apply).
    pub dirs: Vec<DirGrant>,
    /// `[capabilities] http` entries, added.
    pub http: Vec<String>,
    /// `[capabilities] keyvalue` buckets, added.
    pub keyvalue: Vec<String>,
    /// `[config]` entries; each replaces the manifest's value, else is added last.
    pub config: Vec<(String, String)>,
    /// `[module] isolation`; `Main` also sets `trusted` and `async`, which
    /// whoever asks for it vouches for.
    pub isolation: Option<Isolation>,
}

impl Overrides {
    /// Puts these settings over `manifest`; relative directory hosts are
    /// resolved against `dir_base`.
    pub fn apply(&self, manifest: &mut Manifest, dir_base: &Path) {
        if let Some(name) = &self.name {
            manifest.module.name.clone_from(name);
        }
        if let Some(fuel) = self.fuel {
            manifest.limits.fuel = fuel;
        }
        if let Some(memory) = self.memory {
            manifest.limits.memory = memory;
        }
        if let Some(timeout) = self.timeout {
            manifest.limits.timeout = timeout;
        }
        for grant in &self.env {
            let env = &mut manifest.capabilities.env;
            env.retain(|known| known.name != grant.name);
            env.push(grant.clone());
        }
        for grant in &self.dirs {
            let mut grant = grant.clone();
            grant.host = dir_base.join(&grant.host);
            manifest.capabilities.dirs.push(grant);
        }
        manifest.capabilities.http.extend(self.http.iter().cloned());
        for bucket in &self.keyvalue {
            if !manifest.capabilities.keyvalue.contains(bucket) {
                manifest.capabilities.keyvalue.push(bucket.clone());
            }
        }
        for (key, value) in &self.config {
            let value = super::ConfigValue::Text(value.clone());
            match manifest.config.iter_mut().find(|(known, _)| known == key) {
                Some((_, known)) => *known = value,
                None => manifest.config.push((key.clone(), value)),
            }
        }
        if let Some(isolation) = self.isolation {
            manifest.module.isolation = isolation;
            if isolation == Isolation::Main {
                manifest.module.trusted = true;
                manifest.module.r#async = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_add_and_vouch_for_main_isolation() {
        let mut manifest = Manifest::defaults("m", Path::new("/crate"));
        manifest.config = vec![("greeting".into(), "hello".into())];
        manifest.capabilities.env = vec![EnvGrant::parse("A=1").unwrap()];
        manifest.capabilities.keyvalue = vec!["default".into()];
        let overrides = Overrides {
            fuel: Some(7),
            env: vec![EnvGrant::parse("A=2").unwrap()],
            dirs: vec![DirGrant::parse("data:/data:ro").unwrap()],
            config: vec![
                ("greeting".into(), "hi".into()),
                ("extra".into(), "x".into()),
            ],
            keyvalue: vec!["default".into(), "sessions".into()],
            isolation: Some(Isolation::Main),
            ..Overrides::default()
        };
        overrides.apply(&mut manifest, Path::new("/base"));
        assert_eq!(manifest.capabilities.keyvalue, ["default", "sessions"]);
        assert_eq!(manifest.limits.fuel, 7);
        assert_eq!(
            manifest.capabilities.env,
            vec![EnvGrant::parse("A=2").unwrap()]
        );
        assert_eq!(manifest.capabilities.dirs[0].host, Path::new("/base/data"));
        assert_eq!(
            manifest.config,
            vec![
                ("greeting".into(), "hi".into()),
                ("extra".into(), "x".into())
            ]
        );
        assert!(manifest.module.trusted && manifest.module.r#async);
    }
}
