//! The `[capabilities]` table: environment variables, directories, hosts and
//! socket endpoints a component may reach.
//!
//! Nothing is granted by default, and a directory grant can never reach
//! outside the manifest's folder: not by `..`, not by an absolute path and
//! not through a symlink.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use crate::capabilities::{Capabilities, DirGrant, EnvGrant, SocketGrant};
use crate::diagnostic::Code;
use crate::services::outbound_http::HostPattern;

use super::table::{Findings, Section, expect_string_list};

/// Reads `[capabilities]`, resolving directory grants against `root`; `None` when it cannot be used.
pub(super) fn read_capabilities(
    section: &Section<'_, '_>,
    root: &Path,
    findings: &mut Findings,
) -> Option<Capabilities> {
    // The keys `[capabilities]` accepts: the grants the host services read.
    section.reject_unknown_keys(crate::services::capability_keys(), findings);
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
            // The same parser decides what the entry matches at run time.
            match HostPattern::parse(text) {
                Ok(_) => capabilities.http.push(text.to_string()),
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

    if let Some(value) = section.get("sockets") {
        for (text, span) in expect_string_list(
            findings,
            "capabilities.sockets",
            value,
            "sockets = [\"tcp://db.example.com:5432\"]",
        ) {
            match SocketGrant::parse(text) {
                Ok(grant) => capabilities.sockets.push(grant),
                Err(problem) => {
                    let (message, help) = problem.split_once("; ").unwrap_or((&problem, ""));
                    let invalid = findings.at(Code::InvalidSocketGrant, span, message);
                    findings.report(invalid.help(help));
                }
            }
        }
    }

    if let Some(value) = section.get("keyvalue") {
        for (text, span) in expect_string_list(
            findings,
            "capabilities.keyvalue",
            value,
            "keyvalue = [\"default\"]",
        ) {
            if text == "*" {
                capabilities.keyvalue.push(text.to_string());
                continue;
            }
            match crate::services::keyvalue::check_bucket_name(text) {
                Ok(()) => capabilities.keyvalue.push(text.to_string()),
                Err(problem) => {
                    let invalid = findings.at(Code::InvalidBucketName, span, problem);
                    findings.report(invalid.help(
                        "name a bucket of printable characters, at most 255 bytes, e.g. `\"default\"`, or write `\"*\"` for any",
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
    if relative.as_os_str().is_empty() {
        let exposes = findings.at(
            Code::DirGrantsManifest,
            span.clone(),
            "this grants the manifest's own folder: the guest can read and, unless `:ro`, rewrite `arcella.toml` and the sources",
        );
        findings.report(exposes.help("grant a subfolder instead, e.g. `\"data:/data:ro\"`"));
    }
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
