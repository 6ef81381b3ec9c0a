//! The `[config]` table: free-form settings handed to the component as strings.

use toml::de::DeValue;

use crate::diagnostic::Code;

use super::table::{Findings, Section};

/// Reads `[config]` as `(key, value)` pairs in file order; `None` when a value cannot be used.
///
/// Strings are kept as written; integers, floats and booleans become their
/// decimal text, so the guest sees `port = 8080` as `"8080"`.
pub(super) fn read_config(
    section: &Section<'_, '_>,
    findings: &mut Findings,
) -> Option<Vec<(String, String)>> {
    let mut entries: Vec<_> = section.table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);

    let mut config = Vec::with_capacity(entries.len());
    let mut usable = true;
    for (key, value) in entries {
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
            Some(text) => config.push((key.get_ref().to_string(), text)),
            None => {
                usable = false;
                let invalid = findings.at(
                    Code::InvalidConfigValue,
                    value.span(),
                    format!(
                        "`config.{}` is {}; config values are strings, numbers or booleans",
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
