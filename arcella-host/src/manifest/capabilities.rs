//! The `[capabilities]` table: environment variables, directories and hosts a component may reach.
//!
//! Nothing is granted by default, and a directory grant can never reach
//! outside the manifest's folder: not by `..`, not by an absolute path and
//! not through a symlink.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use crate::capabilities::{Capabilities, DirGrant, EnvGrant};
use crate::diagnostic::Code;

use super::table::{Findings, Section, expect_string_list};

/// The keys `[capabilities]` accepts.
const KEYS: &[&str] = &["env", "dirs", "http"];

/// Reads `[capabilities]`, resolving directory grants against `root`; `None` when it cannot be used.
pub(super) fn read_capabilities(
    section: &Section<'_, '_>,
    root: &Path,
    findings: &mut Findings,
) -> Option<Capabilities> {
    section.reject_unknown_keys(KEYS, findings);
    let errors_before = findings.diagnostics.len();
    let mut capabilities = Capabilities::default();

    if let Some(value) = section.get("env") {
        for (text, span) in
            expect_string_list(findings, "capabilities.env", value, "env = [\"RUST_LOG\"]")
        {
            match EnvGrant::parse(text) {
                Ok(grant) => capabilities.env.push(grant),
                Err(problem) => {
                    let invalid = findings.at(Code::InvalidEnvName, span, problem);
                    findings.report(
                        invalid.help(
                            "write NAME or NAME=VALUE, e.g. `\"RUST_LOG\"` or `\"MODE=test\"`",
                        ),
                    );
                }
            }
        }
    }

    if let Some(value) = section.get("dirs") {
        for (text, span) in expect_string_list(
            findings,
            "capabilities.dirs",
            value,
            "dirs = [\"data:/data:ro\"]",
        ) {
            if let Some(grant) = read_dir_grant(text, span, root, findings) {
                capabilities.dirs.push(grant);
            }
        }
    }

    if let Some(value) = section.get("http") {
        for (text, span) in expect_string_list(
            findings,
            "capabilities.http",
            value,
            "http = [\"api.example.com\"]",
        ) {
            match check_host_pattern(text) {
                Ok(()) => capabilities.http.push(text.to_string()),
                Err(problem) => {
                    let invalid = findings.at(
                        Code::InvalidHostPattern,
                        span,
                        format!("`{text}` is not a host pattern: {problem}"),
                    );
                    findings.report(invalid.help(
                        "write a host, `*.domain` or `*`, optionally with `:port`, e.g. `\"api.example.com\"`",
                    ));
                }
            }
        }
    }

    let new_errors = findings.diagnostics[errors_before..]
        .iter()
        .any(crate::diagnostic::Diagnostic::is_error);
    (!new_errors).then_some(capabilities)
}

/// One `dirs` entry: parsed, confined to `root`, and made absolute.
fn read_dir_grant(
    text: &str,
    span: Range<usize>,
    root: &Path,
    findings: &mut Findings,
) -> Option<DirGrant> {
    let mut grant = match DirGrant::parse(text) {
        Ok(grant) => grant,
        Err(problem) => {
            let invalid = findings.at(Code::InvalidDirGrant, span, problem);
            findings.report(invalid.help("write HOST[:GUEST][:ro] with HOST relative to the manifest, e.g. `\"data:/data:ro\"`"));
            return None;
        }
    };
    let escape_help = "name a folder inside the manifest's folder, e.g. `\"data:/data:ro\"`";
    if grant.host.has_root() || grant.host.is_absolute() || text.starts_with(['/', '\\']) {
        let escapes = findings.at(
            Code::DirEscapesManifest,
            span,
            format!(
                "`{}` is an absolute path; grants are relative to the manifest's folder",
                grant.host.display()
            ),
        );
        findings.report(escapes.help(escape_help));
        return None;
    }
    if grant
        .host
        .components()
        .any(|part| matches!(part, Component::ParentDir | Component::Prefix(_)))
    {
        let escapes = findings.at(
            Code::DirEscapesManifest,
            span,
            format!(
                "`{}` uses `..`; a grant cannot leave the manifest's folder",
                grant.host.display()
            ),
        );
        findings.report(escapes.help(escape_help));
        return None;
    }

    let relative: PathBuf = grant
        .host
        .components()
        .filter(|part| *part != Component::CurDir)
        .collect();
    let host = root.join(&relative);
    match (host.canonicalize(), root.canonicalize()) {
        (Ok(resolved), Ok(resolved_root)) => {
            if !resolved.starts_with(&resolved_root) {
                let escapes = findings.at(
                    Code::DirEscapesManifest,
                    span,
                    format!(
                        "`{}` resolves to `{}`, outside the manifest's folder",
                        relative.display(),
                        resolved.display()
                    ),
                );
                findings.report(escapes.help(escape_help));
                return None;
            }
            if !resolved.is_dir() {
                let not_dir = findings.at(
                    Code::InvalidDirGrant,
                    span,
                    format!("`{}` is not a directory", relative.display()),
                );
                findings.report(not_dir.help("grant a folder, not a file"));
                return None;
            }
        }
        _ => {
            let missing = findings.at(
                Code::DirMissing,
                span,
                format!(
                    "`{}` does not exist beside the manifest",
                    relative.display()
                ),
            );
            findings.report(missing.help(format!(
                "create the folder `{}` or remove this grant",
                relative.display()
            )));
        }
    }
    grant.host = host;
    Some(grant)
}

/// Checks an `http` pattern: `*`, `*.domain`, a domain, an IPv4 address or a `[IPv6]`, each with an optional `:port`.
fn check_host_pattern(text: &str) -> Result<(), String> {
    if text.contains("://") {
        return Err("it has a scheme; write the host only".into());
    }
    if text.contains(['/', '?', '#', '@']) || text.chars().any(char::is_whitespace) {
        return Err("write the host alone, without path, user or spaces".into());
    }
    let (host, port) = split_port(text)?;
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(port) if port > 0 => {}
            _ => return Err(format!("`{port}` is not a port (1 to 65535)")),
        }
    }
    if host == "*" {
        return Ok(());
    }
    if let Some(inner) = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("`{inner}` is not an IPv6 address"));
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(());
    }
    let domain = host.strip_prefix("*.").unwrap_or(host);
    check_domain(domain)
}

/// Splits `host:port`, leaving `[IPv6]` whole.
fn split_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if text.starts_with('[') {
        return match text.find(']') {
            Some(end) if end + 1 == text.len() => Ok((text, None)),
            Some(end) => match text[end + 1..].strip_prefix(':') {
                Some(port) => Ok((&text[..=end], Some(port))),
                None => Err("unexpected text after `]`".into()),
            },
            None => Err("`[` without `]`".into()),
        };
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => Ok((host, Some(port))),
        Some(_) => Err("too many `:`; write IPv6 addresses in brackets, e.g. `[::1]:8080`".into()),
        None => Ok((text, None)),
    }
}

/// Checks a domain name: dot-separated labels of letters, digits and inner `-`.
fn check_domain(domain: &str) -> Result<(), String> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err("the host is empty".into());
    }
    if domain.len() > 253 {
        return Err("the host is longer than 253 characters".into());
    }
    for label in domain.split('.') {
        let well_formed = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !well_formed {
            if label.contains('*') {
                return Err("`*` is only allowed alone or as a leading `*.`".into());
            }
            return Err(format!(
                "`{label}` is not a domain label (letters, digits and inner `-`)"
            ));
        }
    }
    Ok(())
}
