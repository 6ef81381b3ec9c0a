//! The `[config]` table: free-form settings handed to the component as
//! strings, each written in the manifest or read from the host's environment.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::capabilities::is_env_name;
use crate::diagnostic::Code;

use super::table::{Findings, Section};

/// One `[config]` value as the manifest writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// The value itself (numbers and booleans as their text).
    Text(String),
    /// `{ env = "NAME" }`: the value of the host's environment variable
    /// `NAME`, read when the component is installed, so that secrets stay
    /// out of `arcella.toml`.
    Env(String),
}

impl ConfigValue {
    /// The value written in the manifest; `None` for an environment reference.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Env(_) => None,
        }
    }
}

impl From<&str> for ConfigValue {
    fn from(text: &str) -> Self {
        Self::Text(text.to_string())
    }
}

impl From<String> for ConfigValue {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl std::fmt::Display for ConfigValue {
    /// The text of a value, or `{ env = "NAME" }`, never the variable's value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Env(name) => write!(f, "{{ env = \"{name}\" }}"),
        }
    }
}

impl serde::Serialize for ConfigValue {
    /// A string, or `{ "env": "NAME" }`, as the manifest writes it.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Env(name) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("env", name)?;
                map.end()
            }
        }
    }
}

/// Reads `[config]` as `(key, value)` pairs in file order; `None` when a value cannot be used.
///
/// Strings are kept as written; integers, floats and booleans become their
/// decimal text, so the guest sees `port = 8080` as `"8080"`. An inline
/// table `{ env = "NAME" }` names an environment variable of the host.
pub(super) fn read_config(
    section: &Section<'_, '_>,
    findings: &mut Findings,
) -> Option<Vec<(String, ConfigValue)>> {
    let mut entries: Vec<_> = section.table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);

    let mut config = Vec::with_capacity(entries.len());
    let mut usable = true;
    for (key, value) in entries {
        if let DeValue::Table(table) = value.get_ref()
            && table.contains_key("env")
        {
            match read_env_reference(key.get_ref(), table, findings) {
                Some(name) => config.push((key.get_ref().to_string(), ConfigValue::Env(name))),
                None => usable = false,
            }
            continue;
        }
        let text = match value.get_ref() {
            DeValue::String(text) => Some(text.to_string()),
            DeValue::Boolean(flag) => Some(flag.to_string()),
            DeValue::Integer(integer) => {
                let number = i128::from_str_radix(integer.as_str(), integer.radix());
                Some(number.map_or_else(|_| integer.to_string(), |number| number.to_string()))
            }
            DeValue::Float(float) => {
                let number = float.as_str().parse::<f64>();
                Some(number.map_or_else(|_| float.to_string(), |number| number.to_string()))
            }
            DeValue::Datetime(_) | DeValue::Array(_) | DeValue::Table(_) => None,
        };
        match text {
            Some(text) => config.push((key.get_ref().to_string(), ConfigValue::Text(text))),
            None => {
                usable = false;
                let invalid = findings.at(
                    Code::InvalidConfigValue,
                    value.span(),
                    format!(
                        "`config.{}` is {}; config values are strings, numbers, booleans or `{{ env = \"NAME\" }}`",
                        key.get_ref(),
                        match value.get_ref() {
                            DeValue::Datetime(_) => "a datetime",
                            DeValue::Array(_) => "an array",
                            _ => "a table",
                        }
                    ),
                );
                findings.report(invalid.help(format!(
                    "write it as a string, e.g. `{} = \"…\"`",
                    key.get_ref()
                )));
            }
        }
    }
    usable.then_some(config)
}

/// The variable a `{ env = "NAME" }` value names; `None`, reported as
/// A0403, when the table has other keys or `env` is not a variable name.
fn read_env_reference(key: &str, table: &DeTable<'_>, findings: &mut Findings) -> Option<String> {
    let help =
        format!("write `{key} = {{ env = \"NAME\" }}`, NAME a variable of the host's environment");
    let mut report = |span: Range<usize>, message: String| {
        let invalid = findings.at(Code::InvalidConfigReference, span, message);
        findings.report(invalid.help(help.clone()));
    };
    if let Some((other, _)) = table.iter().find(|(name, _)| name.get_ref() != "env") {
        report(
            other.span(),
            format!(
                "`config.{key}` has the key `{}`; an environment reference has only `env`",
                other.get_ref()
            ),
        );
        return None;
    }
    let (_, env): (_, &Spanned<DeValue<'_>>) =
        table.iter().find(|(name, _)| name.get_ref() == "env")?;
    match env.get_ref() {
        DeValue::String(name) if is_env_name(name) => Some(name.to_string()),
        DeValue::String(name) => {
            report(
                env.span(),
                format!(
                    "`config.{key}` names `{name}`, which is not an environment variable name (letters, digits and `_`, not starting with a digit)"
                ),
            );
            None
        }
        _ => {
            report(
                env.span(),
                format!("`config.{key}.env` is not a string; it names an environment variable"),
            );
            None
        }
    }
}
