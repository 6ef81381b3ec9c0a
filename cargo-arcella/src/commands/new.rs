//! `cargo arcella new`: a component crate from one of the embedded templates.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::outcome::{Outcome, UserError};

/// Create a component crate at PATH from a template: Cargo.toml, src/,
/// arcella.toml, wit/ (module and http), .gitignore and a GitHub workflow.
/// Refuses to write into a folder that is not empty.
#[derive(Debug, Args)]
pub struct NewCommand {
    /// The folder to create; it must not exist or be empty.
    pub path: PathBuf,
    /// What kind of component to start from.
    #[arg(long, value_enum, default_value_t)]
    pub template: Template,
    /// The component's name: lowercase kebab-case [default: the folder's name].
    #[arg(long)]
    pub name: Option<String>,
}

/// The templates `new` can start from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// An `arcella:component/module`: started, handed events, stopped.
    #[default]
    Module,
    /// A `wasi:cli/command`: a program run with arguments.
    Command,
    /// A `wasi:http/proxy`: answers HTTP requests.
    Http,
}

/// The release of wit-bindgen the templates pin (see `templates/README.md`).
const WIT_BINDGEN_VERSION: &str = "0.62.0";

/// The workspace's WIT, written into `wit/` of module and http crates.
const ARCELLA_WIT: &str = include_str!("../../../wit/arcella.wit");

/// The standard interfaces the http template imports, as the runtimes that
/// serve them ship their WIT, written into its `wit/deps/`.
const HTTP_WIT_DEPS: &[(&str, &str)] = &[
    (
        "wit/deps/keyvalue.wit",
        include_str!("../../../wit/deps/keyvalue.wit"),
    ),
    (
        "wit/deps/config.wit",
        include_str!("../../../wit/deps/config.wit"),
    ),
];

/// `(path in the template, contents)`; `.tmpl` is stripped when written.
macro_rules! template_files {
    ($dir:literal: $($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../../../templates/", $dir, "/", $file)))),*]
    };
}

const MODULE: &[(&str, &str)] = template_files!("module":
    "Cargo.toml.tmpl", "arcella.toml.tmpl", ".gitignore.tmpl",
    ".github/workflows/arcella.yml.tmpl", "src/lib.rs", "tests/behaviour.rs.tmpl",
    "tests/snapshots/behaviour__it_counts_events_from_one.snap.tmpl",
    "tests/snapshots/behaviour__it_greets_with_the_configured_greeting.snap.tmpl",
    "tests/snapshots/behaviour__it_refuses_an_unknown_topic_and_keeps_running.snap.tmpl",
);
const COMMAND: &[(&str, &str)] = template_files!("command":
    "Cargo.toml.tmpl", "arcella.toml.tmpl", ".gitignore.tmpl",
    ".github/workflows/arcella.yml.tmpl", "src/main.rs", "tests/behaviour.rs.tmpl",
    "tests/snapshots/behaviour__it_fails_when_asked_to_and_says_so_on_stderr.snap.tmpl",
    "tests/snapshots/behaviour__it_greets_its_first_argument.snap.tmpl",
    "tests/snapshots/behaviour__it_greets_the_world_with_the_greeting_from_its_environment.snap.tmpl",
);
const HTTP: &[(&str, &str)] = template_files!("http":
    "Cargo.toml.tmpl", "arcella.toml.tmpl", ".gitignore.tmpl",
    ".github/workflows/arcella.yml.tmpl", "src/lib.rs", "tests/behaviour.rs.tmpl",
    "tests/snapshots/behaviour__it_answers_404_to_anything_else.snap.tmpl",
    "tests/snapshots/behaviour__it_answers_the_home_page_and_the_health_check.snap.tmpl",
    "tests/snapshots/behaviour__visits_trace.snap.tmpl",
    "tests/snapshots/behaviour__visits_bucket.snap.tmpl",
);

impl Template {
    /// The template's files, and whether it needs the WIT.
    fn files(self) -> (&'static [(&'static str, &'static str)], bool) {
        match self {
            Self::Module => (MODULE, true),
            Self::Command => (COMMAND, false),
            Self::Http => (HTTP, true),
        }
    }

    /// What to try after creating the crate.
    fn next_steps(self) -> &'static str {
        match self {
            Self::Module => "cargo arcella run --event greet=world",
            Self::Command => "cargo arcella run -- Arcella",
            Self::Http => "cargo arcella run",
        }
    }
}

impl NewCommand {
    /// Writes the crate.
    pub fn exec(self) -> anyhow::Result<Outcome> {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => self
                .path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .ok_or_else(|| {
                    UserError::new(format!("{} has no folder name", self.path.display()))
                        .help("pass --name NAME")
                })?,
        };
        check_name(&name)?;
        let files = render(self.template, &name);
        create(&self.path, &files)?;

        println!(
            "    Created {} component `{name}` in {}",
            format!("{:?}", self.template).to_lowercase(),
            self.path.display()
        );
        for (path, _) in &files {
            println!("      {path}");
        }
        println!("\nNext:\n    cd {}", self.path.display());
        println!("    cargo arcella check");
        println!("    {}", self.template.next_steps());
        println!("    cargo arcella test");
        Ok(Outcome::Success)
    }
}

/// The crate's files, placeholders replaced, as `(relative path, contents)`.
fn render(template: Template, name: &str) -> Vec<(String, String)> {
    let crate_name = name.replace('-', "_");
    let testkit = testkit_dependency();
    let (files, needs_wit) = template.files();
    let mut rendered: Vec<(String, String)> = files
        .iter()
        .map(|(path, text)| {
            let text = text
                .replace("{{name}}", name)
                .replace("{{crate_name}}", &crate_name)
                .replace("{{testkit_dependency}}", &testkit)
                .replace("{{wit_bindgen_version}}", WIT_BINDGEN_VERSION);
            (path.trim_end_matches(".tmpl").to_string(), text)
        })
        .collect();
    if needs_wit {
        rendered.push(("wit/arcella.wit".to_string(), ARCELLA_WIT.to_string()));
    }
    if template == Template::Http {
        rendered.extend(
            HTTP_WIT_DEPS
                .iter()
                .map(|(path, text)| ((*path).to_string(), (*text).to_string())),
        );
    }
    rendered
}

/// The `[dev-dependencies]` line for the testkit: `ARCELLA_TESTKIT_PATH`, else
/// this workspace's `arcella-testkit` when it is there, else the published crate.
fn testkit_dependency() -> String {
    let path = std::env::var_os("ARCELLA_TESTKIT_PATH")
        .map(PathBuf::from)
        .or_else(|| {
            let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../arcella-testkit");
            local.is_dir().then_some(local)
        })
        .map(|path| std::fs::canonicalize(&path).unwrap_or(path));
    match path {
        Some(path) => format!(
            "arcella-testkit = {{ path = {} }}",
            toml_string(&path.to_string_lossy())
        ),
        None => "arcella-testkit = \"0.1\"".to_string(),
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Names cargo reserves, beyond Rust's keywords.
const RESERVED: &[&str] = &[
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
    "std",
    "core",
    "alloc",
    "proc-macro",
    "proc_macro",
];

/// Rust's keywords, strict and reserved: cargo rejects them as package names.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Accepts names that both cargo and `arcella.toml` accept: lowercase
/// kebab-case, starting with a letter, not a keyword or a reserved name.
fn check_name(name: &str) -> anyhow::Result<()> {
    let reason = if name.is_empty() {
        Some("a name cannot be empty".to_string())
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        Some("a name cannot start with a digit".to_string())
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        Some(if c.is_ascii_uppercase() {
            "a name must be lowercase".to_string()
        } else {
            format!("{c:?} is not allowed in a name: use lowercase letters, digits and `-`")
        })
    } else if name.contains('_') {
        Some("component names are kebab-case: use `-`, not `_`".to_string())
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || name.ends_with('-')
        || name.contains("--")
    {
        Some("a name starts with a letter and has single `-` between words".to_string())
    } else if KEYWORDS.contains(&name) {
        Some(format!("`{name}` is a Rust keyword"))
    } else if RESERVED.contains(&name) {
        Some(format!("`{name}` is reserved by cargo"))
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(
            UserError::new(format!("invalid component name `{name}`: {reason}"))
                .help(format!(
                    "pass a name such as `{}` with --name",
                    suggestion(name)
                ))
                .into(),
        ),
    }
}

/// A valid name close to `name`, for the help line.
fn suggestion(name: &str) -> String {
    let mut words: Vec<String> = name
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect();
    if words.is_empty() {
        return "my-component".to_string();
    }
    if words[0].starts_with(|c: char| c.is_ascii_digit()) {
        words.insert(0, "component".to_string());
    }
    let joined = words.join("-");
    if KEYWORDS.contains(&joined.as_str()) || RESERVED.contains(&joined.as_str()) {
        format!("{joined}-component")
    } else {
        joined
    }
}

/// Writes `files` into a new folder at `target`, all or nothing: into a
/// temporary folder beside it first, which is then renamed into place.
fn create(target: &Path, files: &[(String, String)]) -> anyhow::Result<()> {
    if target.exists() {
        let empty = target.is_dir()
            && std::fs::read_dir(target)
                .with_context(|| format!("reading {}", target.display()))?
                .next()
                .is_none();
        if !empty {
            return Err(UserError::new(format!(
                "{} already exists and is not an empty folder",
                target.display()
            ))
            .help("choose a new path, or empty the folder first")
            .into());
        }
    }
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".arcella-new-")
        .tempdir_in(&parent)
        .with_context(|| format!("creating a temporary folder in {}", parent.display()))?;
    for (path, text) in files {
        let file = staging.path().join(path);
        if let Some(folder) = file.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating {}", folder.display()))?;
        }
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    }
    if target.exists() {
        // Checked empty above; `rename` does not replace a folder everywhere.
        std::fs::remove_dir(target).with_context(|| format!("replacing {}", target.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, target).map_err(|error| {
        let _ = std::fs::remove_dir_all(&staged);
        anyhow::Error::new(error).context(format!("moving the new crate to {}", target.display()))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cargo_would_reject_are_rejected() {
        for name in [
            "1bad", "test", "fn", "self", "my app", "Hello", "a_b", "-x", "x-", "a--b", "",
        ] {
            assert!(check_name(name).is_err(), "{name} should be rejected");
        }
        for name in ["hello", "hello-world", "a1", "x2-y3"] {
            assert!(check_name(name).is_ok(), "{name} should be accepted");
        }
    }

    #[test]
    fn every_placeholder_is_replaced_in_every_template() {
        for template in [Template::Module, Template::Command, Template::Http] {
            for (path, text) in render(template, "hello-world") {
                assert!(
                    !text.contains("{{"),
                    "{template:?}: {path} keeps a placeholder"
                );
            }
        }
    }

    #[test]
    fn suggestions_are_valid_names() {
        for name in ["1bad", "test", "My App", "a_b", "fn"] {
            assert!(check_name(&suggestion(name)).is_ok(), "{name}");
        }
    }
}
