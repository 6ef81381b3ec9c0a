//! The `[module]` table: the component's name, version, isolation and interfaces.

use std::ops::Range;

use crate::diagnostic::Code;

use super::table::{Findings, Section, expect_bool, expect_str, expect_string_list};
use super::{DEFAULT_GROUP, Isolation, ModuleInfo};

/// The keys `[module]` accepts.
const KEYS: &[&str] = &[
    "name",
    "version",
    "isolation",
    "trusted",
    "async",
    "group",
    "exports",
    "imports",
];

/// Reads `[module]`, reporting every problem; `None` when it cannot be used.
pub(super) fn read_module(
    section: &Section<'_, '_>,
    findings: &mut Findings,
) -> Option<ModuleInfo> {
    section.reject_unknown_keys(KEYS, findings);

    let name = section
        .require("name", "name = \"my-module\"", findings)
        .and_then(|value| {
            let text = expect_str(findings, "module.name", value, "name = \"my-module\"")?;
            check_name(
                findings,
                "module name",
                Code::InvalidName,
                text,
                value.span(),
            )
        });
    let version = section
        .require("version", "version = \"0.1.0\"", findings)
        .and_then(|value| {
            let text = expect_str(findings, "module.version", value, "version = \"0.1.0\"")?;
            match semver::Version::parse(text) {
                Ok(version) => Some(version),
                Err(error) => {
                    let invalid = findings.at(
                        Code::InvalidVersion,
                        value.span(),
                        format!("`{text}` is not a semver version: {error}"),
                    );
                    findings.report(
                        invalid.help("write MAJOR.MINOR.PATCH, e.g. `version = \"0.1.0\"`"),
                    );
                    None
                }
            }
        });
    let isolation = read_isolation(section, findings);
    let trusted = read_flag(section, "trusted", findings);
    let r#async = read_flag(section, "async", findings);
    let group = read_group(section, findings);

    let exports = read_interfaces(section, "exports", findings);
    let imports = read_interfaces(section, "imports", findings);

    if let Some((Isolation::Main, isolation_span)) = &isolation {
        check_main_requirements(
            section,
            isolation_span.clone(),
            trusted.clone(),
            r#async.clone(),
            group.as_ref(),
            findings,
        );
    }

    Some(ModuleInfo {
        name: name?,
        version: version?,
        isolation: isolation?.0,
        trusted: trusted?.is_some_and(|(flag, _)| flag),
        r#async: r#async?.is_some_and(|(flag, _)| flag),
        group: group?.map_or_else(|| DEFAULT_GROUP.to_string(), |(group, _)| group),
        exports: exports?,
        imports: imports?,
    })
}

/// `isolation`, defaulting to `worker`, with the span of the value when written.
fn read_isolation(
    section: &Section<'_, '_>,
    findings: &mut Findings,
) -> Option<(Isolation, Option<Range<usize>>)> {
    let Some(value) = section.get("isolation") else {
        return Some((Isolation::default(), None));
    };
    let text = expect_str(
        findings,
        "module.isolation",
        value,
        "isolation = \"worker\"",
    )?;
    match text {
        "main" => Some((Isolation::Main, Some(value.span()))),
        "worker" => Some((Isolation::Worker, Some(value.span()))),
        other => {
            let invalid = findings.at(
                Code::InvalidIsolation,
                value.span(),
                format!("`{other}` is not an isolation; it is either `main` or `worker`"),
            );
            findings.report(
                invalid.help(
                    "write `isolation = \"worker\"` (or `\"main\"` for trusted async modules)",
                ),
            );
            None
        }
    }
}

/// A boolean flag of `[module]`: `Some(None)` when absent, `None` when unusable.
fn read_flag(
    section: &Section<'_, '_>,
    key: &str,
    findings: &mut Findings,
) -> Option<Option<(bool, Range<usize>)>> {
    let Some(value) = section.get(key) else {
        return Some(None);
    };
    let flag = expect_bool(
        findings,
        &format!("module.{key}"),
        value,
        &format!("{key} = true"),
    )?;
    Some(Some((flag, value.span())))
}

/// `group`, checked like a module name: `Some(None)` when absent, `None` when unusable.
fn read_group(
    section: &Section<'_, '_>,
    findings: &mut Findings,
) -> Option<Option<(String, Range<usize>)>> {
    let Some(value) = section.get("group") else {
        return Some(None);
    };
    let text = expect_str(findings, "module.group", value, "group = \"default\"")?;
    let group = check_name(
        findings,
        "group name",
        Code::InvalidGroupName,
        text,
        value.span(),
    )?;
    Some(Some((group, value.span())))
}

/// What `isolation = "main"` needs: `trusted = true`, `async = true` and no `group`.
fn check_main_requirements(
    section: &Section<'_, '_>,
    isolation_span: Option<Range<usize>>,
    trusted: Option<Option<(bool, Range<usize>)>>,
    r#async: Option<Option<(bool, Range<usize>)>>,
    group: Option<&Option<(String, Range<usize>)>>,
    findings: &mut Findings,
) {
    let isolation_span = isolation_span.unwrap_or_else(|| section.span.clone());
    for (key, flag, code) in [
        ("trusted", trusted, Code::MainRequiresTrusted),
        ("async", r#async, Code::MainRequiresAsync),
    ] {
        match flag {
            // Wrong type: already reported.
            None | Some(Some((true, _))) => {}
            Some(Some((false, span))) => {
                let wrong = findings.at(
                    code,
                    span,
                    format!("`isolation = \"main\"` requires `{key} = true`"),
                );
                findings.report(wrong.help(format!(
                    "write `{key} = true`, or use `isolation = \"worker\"`"
                )));
            }
            Some(None) => {
                let missing = findings.at(
                    code,
                    isolation_span.clone(),
                    format!("`isolation = \"main\"` requires `{key} = true`"),
                );
                findings.report(missing.help(format!("add `{key} = true` to [module]")));
            }
        }
    }
    if let Some(Some((_, _))) = group {
        let span = section
            .key_span("group")
            .unwrap_or_else(|| isolation_span.clone());
        let misplaced = findings.at(
            Code::GroupWithoutWorker,
            span,
            "`group` is only for `isolation = \"worker\"`; a main module runs in the host",
        );
        findings.report(misplaced.help("remove `group`, or write `isolation = \"worker\"`"));
    }
}

/// `exports` or `imports`: interface names, empty when absent, `None` when unusable.
fn read_interfaces(
    section: &Section<'_, '_>,
    key: &str,
    findings: &mut Findings,
) -> Option<Vec<String>> {
    let Some(value) = section.get(key) else {
        return Some(Vec::new());
    };
    let what = format!("module.{key}");
    let example = format!("{key} = [\"arcella:component/handler@0.1.0\"]");
    let errors_before = findings.diagnostics.len();
    let mut interfaces = Vec::new();
    for (text, span) in expect_string_list(findings, &what, value, &example) {
        if let Err(problem) = check_interface_name(text) {
            let invalid = findings.at(
                Code::InvalidInterfaceName,
                span,
                format!("`{text}` is not an interface name: {problem}"),
            );
            findings.report(invalid.help("write `namespace:package/interface` with an optional `@version`, e.g. `\"arcella:component/handler@0.1.0\"`"));
            continue;
        }
        interfaces.push(text.to_string());
    }
    let new_errors = findings.diagnostics[errors_before..]
        .iter()
        .any(crate::diagnostic::Diagnostic::is_error);
    (!new_errors).then_some(interfaces)
}

/// Checks a name (module or group) and reports `code` at `span` when it is not kebab-case.
fn check_name(
    findings: &mut Findings,
    what: &str,
    code: Code,
    text: &str,
    span: Range<usize>,
) -> Option<String> {
    if is_kebab_case(text) {
        return Some(text.to_string());
    }
    let invalid = findings.at(code, span, format!("`{text}` is not a valid {what}"));
    let rule = "lowercase letters, digits and single `-` between words, starting with a letter";
    let help = match to_kebab_case(text) {
        Some(fixed) => format!("write `\"{fixed}\"`: {rule}"),
        None => format!("use {rule}, e.g. `\"my-module\"`"),
    };
    findings.report(invalid.help(help));
    None
}

/// Whether `text` is lowercase kebab-case: `a-z`, `0-9` and single inner dashes, starting with a letter.
pub(crate) fn is_kebab_case(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase())
        && text.split('-').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// A kebab-case spelling of `text` (`Hello_World` → `hello-world`), when one exists.
fn to_kebab_case(text: &str) -> Option<String> {
    if text.len() > 128 {
        return None;
    }
    let lowered = text.to_ascii_lowercase();
    let words: Vec<&str> = lowered
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|word| !word.is_empty())
        .collect();
    let fixed = words.join("-");
    is_kebab_case(&fixed).then_some(fixed)
}

/// Checks `namespace:package/interface[@version]`, saying what is wrong.
fn check_interface_name(text: &str) -> Result<(), String> {
    let (path, version) = match text.split_once('@') {
        Some((path, version)) => (path, Some(version)),
        None => (text, None),
    };
    let Some((namespace, rest)) = path.split_once(':') else {
        return Err("it has no `namespace:`".into());
    };
    let Some((package, interface)) = rest.split_once('/') else {
        return Err("it has no `/interface`".into());
    };
    for (part, label) in [
        ("namespace", namespace),
        ("package", package),
        ("interface", interface),
    ] {
        if !is_wit_label(label) {
            return Err(format!("the {part} `{label}` is not a WIT identifier"));
        }
    }
    if let Some(version) = version
        && semver::Version::parse(version).is_err()
    {
        return Err(format!("`{version}` is not a semver version"));
    }
    Ok(())
}

/// Whether `label` is a WIT identifier: dash-separated words, each all-lowercase or all-uppercase, starting with a letter.
fn is_wit_label(label: &str) -> bool {
    !label.is_empty()
        && label.split('-').all(|word| {
            let lower = word.starts_with(|c: char| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            let upper = word.starts_with(|c: char| c.is_ascii_uppercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            lower || upper
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_need_namespace_package_and_interface() {
        assert!(check_interface_name("arcella:component/handler@0.1.0").is_ok());
        assert!(check_interface_name("wasi:http/outgoing-handler").is_ok());
        assert!(check_interface_name("my-ns:HTTP-api/v2-handler").is_ok());
        assert!(check_interface_name("handler").is_err());
        assert!(check_interface_name("a:b").is_err());
        assert!(check_interface_name("a:b/").is_err());
        assert!(check_interface_name("a:b/c@").is_err());
        assert!(check_interface_name("a:b/Mixed").is_err());
        assert!(check_interface_name("a:b/c--d").is_err());
    }

    #[test]
    fn names_are_suggested_in_kebab_case_when_one_exists() {
        assert_eq!(to_kebab_case("Hello_World").as_deref(), Some("hello-world"));
        assert_eq!(
            to_kebab_case("my module--2").as_deref(),
            Some("my-module-2")
        );
        assert_eq!(to_kebab_case("42"), None);
        assert_eq!(to_kebab_case("___"), None);
    }
}
