//! `cargo arcella run`: a component in the embedded host, under its manifest and the flags.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use arcella_host::capabilities::{DirGrant, EnvGrant};
use arcella_host::contract::{ComponentInfo, Kind, check_component_file};
use arcella_host::diagnostic::Diagnostic;
use arcella_host::limits::{
    format_duration, format_size, parse_fuel, parse_memory, parse_size, parse_timeout,
};
use arcella_host::manifest::{self, MANIFEST_FILE, Manifest};
use arcella_host::services::CapabilityNeed;
use arcella_host::{
    Host, HostOptions, Isolation, KeyValue, KeyValueBackend, Limits, LogRecord, Stdio, escape,
};
use clap::{Args, ValueEnum};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

use crate::commands::build::BuildArgs;
use crate::diagnostics::{self, Format, SourceMap};
use crate::outcome::{Outcome, UserError};
use crate::project;

/// Run a component. In a crate: build it, then run `target/arcella/<name>.wasm`.
/// Given a `.wasm`: run it under the `arcella.toml` beside it, or defaults.
///
/// A module is started, handed each --event in order (or `TOPIC PAYLOAD`
/// lines from stdin until EOF or Ctrl-C; a line longer than --max-body is
/// reported and skipped, and fails the run), then stopped. A command runs with
/// ARGS and exits with its exit code.
#[derive(Debug, Args)]
pub struct RunCommand {
    /// A built component to run instead of building the current crate.
    #[arg(value_name = "COMPONENT.wasm")]
    pub component: Option<PathBuf>,
    /// How to build when running the current crate.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Limits, grants and events; they override the manifest.
    #[command(flatten)]
    pub options: RunOptions,
    /// Arguments for a command component (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// The flags that shape a run. Like wasmtime's `RunCommon`, they apply
/// themselves onto the [`Manifest`], which the host then consumes. The
/// limits are held to the manifest's ranges as they are parsed, so a value
/// the manifest would refuse is a usage error before anything runs.
#[derive(Debug, Clone, Args)]
pub struct RunOptions {
    /// Fuel (roughly, wasm instructions) one call may consume.
    #[arg(long, value_name = "N", value_parser = parse_fuel, help = default_help(
        "Fuel (roughly, wasm instructions) one call may consume",
        &Limits::default().fuel.to_string()))]
    pub fuel: Option<u64>,
    /// Memory one instance may hold: all its linear memories and tables together.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory, help = default_help(
        "Memory one instance may hold (all its linear memories and tables), e.g. 16MiB",
        &format_size(Limits::default().memory)))]
    pub max_memory: Option<u64>,
    /// Wall-clock time one call may take.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, help = default_help(
        "Wall-clock time one call may take, e.g. 500ms",
        &format_duration(Limits::default().timeout)))]
    pub timeout: Option<Duration>,
    /// Pass an environment variable: NAME takes this process's value, NAME=VALUE fixes it (repeatable).
    #[arg(long, value_name = "NAME[=VALUE]", value_parser = EnvGrant::parse)]
    pub env: Vec<EnvGrant>,
    /// Preopen a host folder, at GUEST (default: HOST as written), read-only with `:ro` (repeatable).
    #[arg(long, value_name = "HOST[:GUEST][:ro]", value_parser = DirGrant::parse)]
    pub dir: Vec<DirGrant>,
    /// Set a `[config]` entry handed to a module's `start` (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_config)]
    pub config: Vec<(String, String)>,
    /// Deliver an event to a module, in order (repeatable) [default: read `TOPIC PAYLOAD` lines from stdin].
    #[arg(long, value_name = "TOPIC[=PAYLOAD]", value_parser = parse_event)]
    pub event: Vec<(String, Vec<u8>)>,
    /// Call one exported function of a started module, in WAVE syntax, e.g.
    /// `handle("greet", [104, 105])`, and print its result (instead of events).
    #[arg(long, value_name = "NAME(ARGS…)", conflicts_with = "event")]
    pub invoke: Option<String>,
    /// Where the component runs; `main` runs it in this process, vouching for it.
    #[arg(long, value_enum, value_name = "ISOLATION", help = default_help(
        "Where the component runs; `main` runs it in this process, vouching for it",
        &format!("{:?}", Isolation::default()).to_lowercase()))]
    pub isolation: Option<IsolationArg>,
    /// Address an HTTP component is served on.
    #[arg(long, value_name = "ADDR", default_value = arcella_host::http::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Largest request body an HTTP component is given (larger ones get 413),
    /// and longest event line a module is read from stdin (longer ones are skipped).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "2MiB")]
    pub max_body: u64,
    /// Where `wasi:keyvalue` data lives, for a component that imports it:
    /// `memory`, `redb:PATH` or `redis://HOST:PORT/DB`. `None`: the
    /// project's own file, [`project::KEYVALUE_FILE`].
    #[arg(long, env = "ARCELLA_KEYVALUE", value_name = "memory|redb:PATH|redis://HOST:PORT/DB",
        value_parser = KeyValueBackend::parse, help = format!(
        "Where `wasi:keyvalue` data lives, for a component that imports it: `memory` \
         (gone when the run ends), `redb:PATH` (a file, kept across runs) or \
         `redis://HOST:PORT/DB` (a Redis server several hosts share; the run starts \
         even if it is down, and calls fail until it answers); the flag wins over \
         ARCELLA_KEYVALUE [default: redb:{} beside arcella.toml]",
        project::KEYVALUE_FILE))]
    pub keyvalue: Option<KeyValueBackend>,
    /// Show guest backtraces of traps.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `--isolation`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IsolationArg {
    /// In this process.
    Main,
    /// In a worker process.
    Worker,
}

/// `text [default: arcella.toml's value, else DEFAULT]`.
fn default_help(text: &str, default: &str) -> String {
    format!("{text} [default: arcella.toml's, else {default}]")
}

fn parse_config(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

fn parse_event(text: &str) -> Result<(String, Vec<u8>), String> {
    let (topic, payload) = text.split_once('=').unwrap_or((text, ""));
    if topic.is_empty() {
        return Err(format!("`{text}` has no topic; write TOPIC[=PAYLOAD]"));
    }
    Ok((topic.to_string(), payload.as_bytes().to_vec()))
}

impl RunOptions {
    /// Overrides `manifest` with the flags; relative `--dir` hosts are resolved against `cwd`.
    pub fn apply(&self, manifest: &mut Manifest, cwd: &Path) {
        let overrides = manifest::Overrides {
            fuel: self.fuel,
            memory: self.max_memory,
            timeout: self.timeout,
            env: self.env.clone(),
            dirs: self.dir.clone(),
            config: self.config.clone(),
            isolation: self.isolation.map(|isolation| match isolation {
                IsolationArg::Main => Isolation::Main,
                IsolationArg::Worker => Isolation::Worker,
            }),
            ..manifest::Overrides::default()
        };
        overrides.apply(manifest, cwd);
    }
}

impl RunCommand {
    /// Builds or loads, then runs.
    pub async fn exec(self) -> anyhow::Result<Outcome> {
        let loaded = match &self.component {
            Some(path) => load_component(path)?,
            None => {
                let (outcome, built) = self.build.build(false)?;
                let Some(built) = built else {
                    return Ok(outcome);
                };
                let wasm = std::fs::read(&built.component)
                    .with_context(|| format!("reading {}", built.component.display()))?;
                let info = ComponentInfo::inspect(&wasm)
                    .with_context(|| format!("reading {}", built.component.display()))?;
                Loaded::Ready(Box::new(built.manifest), wasm, info)
            }
        };
        let (mut manifest, wasm, info) = match loaded {
            Loaded::Ready(manifest, wasm, info) => (*manifest, wasm, info),
            Loaded::Failed => return Ok(Outcome::Failed),
        };
        let cwd = std::env::current_dir().context("reading the current folder")?;
        self.options.apply(&mut manifest, &cwd);

        match info.kind {
            Kind::Module if !self.args.is_empty() => Err(UserError::new(
                "a module takes events, not arguments",
            )
            .help("pass --event TOPIC=PAYLOAD, or write `TOPIC PAYLOAD` lines to stdin")
            .into()),
            Kind::Module => self.run_module(manifest, wasm, &info).await,
            Kind::Command if !self.options.event.is_empty() || self.options.invoke.is_some() => {
                Err(UserError::new("a command takes arguments, not events")
                    .help("pass its arguments after `--`")
                    .into())
            }
            Kind::Command => self.run_command(manifest, wasm, &info).await,
            Kind::Http if !self.args.is_empty() || !self.options.event.is_empty() || self.options.invoke.is_some() => {
                Err(UserError::new("an HTTP component takes requests, not events or arguments")
                    .help("send it requests at the address `--listen` names")
                    .into())
            }
            Kind::Http => self.serve_http(manifest, wasm, &info).await,
            Kind::Library => Err(UserError::new(format!(
                "`{}` exports no entry point Arcella can run",
                manifest.module.name
            ))
            .help("a runnable component exports `arcella:component/handler`, `wasi:cli/run` or `wasi:http/incoming-handler`")
            .into()),
        }
    }

    /// A host that streams output and prints guest logs as they arrive.
    /// The host for one module or command run. It makes one instance at a
    /// time, so it allocates on demand: reserving the pooling allocator's
    /// slots (a thousand stacks with guard pages) would cost more than
    /// the run it speeds up. Serving HTTP keeps the pool.
    fn host(&self, keyvalue: KeyValue) -> anyhow::Result<Host> {
        let mut options = HostOptions::new()?;
        options.keyvalue = keyvalue;
        options.engine.pooling = false;
        options.stdio = Stdio::Inherit;
        options.observers.on_log = Some(Arc::new(|record: &LogRecord| {
            eprintln!("{record}");
        }));
        Ok(Host::new(options))
    }

    /// The key-value store the component reaches, opened only when it
    /// imports `wasi:keyvalue`: a component that does not gets an empty one
    /// in memory, and no file is created or locked for it. The default redb
    /// file's folder is created when missing. A file that cannot be opened
    /// (locked by another run, corrupt) is the operator's input that could
    /// not be read: a usage error in one line naming it, before anything runs.
    fn keyvalue(&self, manifest: &Manifest, info: &ComponentInfo) -> anyhow::Result<KeyValue> {
        if !info.imports_needing(CapabilityNeed::KeyValue) {
            return Ok(KeyValue::default());
        }
        let backend = self
            .options
            .keyvalue
            .clone()
            .unwrap_or_else(|| KeyValueBackend::Redb {
                path: project::shown(&project::keyvalue_file(&manifest.root)),
            });
        if let KeyValueBackend::Redb { path } = &backend
            && let Some(folder) = path
                .parent()
                .filter(|folder| !folder.as_os_str().is_empty())
        {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating {}", folder.display()))?;
        }
        KeyValue::open(&backend).map_err(|error| UserError::new(error.to_string()).into())
    }

    /// Serves an HTTP component until Ctrl-C, then lets requests in flight finish.
    async fn serve_http(
        &self,
        manifest: Manifest,
        wasm: Vec<u8>,
        info: &ComponentInfo,
    ) -> anyhow::Result<Outcome> {
        let mut options = HostOptions::new()?;
        options.keyvalue = self.keyvalue(&manifest, info)?;
        options.observers.on_log = Some(Arc::new(|record: &LogRecord| {
            eprintln!("{record}");
        }));
        let serve = arcella_host::http::ServeOptions {
            listen: self.options.listen,
            max_body: self.options.max_body,
            ..arcella_host::http::ServeOptions::default()
        };
        let name = manifest.module.name.clone();
        let mut host = Host::new(options);
        host.install(manifest, wasm).await?;
        host.serve(
            &name,
            serve,
            |address| {
                let name = escape(&name);
                eprintln!("serving `{name}` on http://{address}/ (Ctrl-C to stop)");
            },
            async {
                let _ = tokio::signal::ctrl_c().await;
                eprintln!("shutting down; letting requests in flight finish");
            },
        )
        .await?;
        Ok(Outcome::Success)
    }

    async fn run_command(
        &self,
        manifest: Manifest,
        wasm: Vec<u8>,
        info: &ComponentInfo,
    ) -> anyhow::Result<Outcome> {
        let name = manifest.module.name.clone();
        let mut host = self.host(self.keyvalue(&manifest, info)?)?;
        host.install(manifest, wasm).await?;
        let call = host.run(&name, &self.args).await?;
        Ok(match call.value.exit_code {
            0 => Outcome::Success,
            code => Outcome::Exited(code),
        })
    }

    async fn run_module(
        &self,
        manifest: Manifest,
        wasm: Vec<u8>,
        info: &ComponentInfo,
    ) -> anyhow::Result<Outcome> {
        let name = manifest.module.name.clone();
        let mut host = self.host(self.keyvalue(&manifest, info)?)?;
        host.install(manifest, wasm).await?;
        host.start(&name).await?;
        let mut all_ok = true;
        if let Some(call) = &self.options.invoke {
            let result = host.invoke(&name, call).await?;
            println!("{}", result.value);
        } else if self.options.event.is_empty() {
            let max_line = usize::try_from(self.options.max_body).unwrap_or(usize::MAX);
            let mut lines =
                EventLines::new(tokio::io::BufReader::new(tokio::io::stdin()), max_line);
            loop {
                // Ctrl-C drops a line half read; the run ends there anyway.
                let line = tokio::select! {
                    line = lines.next() => line.context("reading events from stdin")?,
                    _ = tokio::signal::ctrl_c() => None,
                };
                let Some(line) = line else { break };
                let text = match line {
                    EventLine::Read(bytes) => String::from_utf8(bytes),
                    EventLine::TooLong => {
                        eprintln!(
                            "error: line {} of stdin is longer than --max-body ({}); its event was skipped",
                            lines.number(),
                            format_size(self.options.max_body)
                        );
                        all_ok = false;
                        continue;
                    }
                };
                let Ok(text) = text else {
                    eprintln!(
                        "error: line {} of stdin is not UTF-8; its event was skipped",
                        lines.number()
                    );
                    all_ok = false;
                    continue;
                };
                let line = text.trim();
                if line.is_empty() {
                    continue;
                }
                let (topic, payload) = line.split_once(' ').unwrap_or((line, ""));
                all_ok &= deliver(&mut host, &name, topic, payload.as_bytes()).await?;
            }
        } else {
            for (topic, payload) in &self.options.event {
                all_ok &= deliver(&mut host, &name, topic, payload).await?;
            }
        }
        host.stop(&name).await?;
        Ok(if all_ok {
            Outcome::Success
        } else {
            Outcome::Failed
        })
    }
}

/// `TOPIC PAYLOAD` lines read without ever holding more than `max` bytes of
/// one: a longer line is read past and dropped, so a sender that never
/// writes a newline costs a buffer, not the host's memory.
struct EventLines<R> {
    /// Where the lines come from.
    reader: R,
    /// The most bytes of one line kept, newline excluded.
    max: usize,
    /// How many lines have been returned, for messages.
    number: usize,
}

/// One line of [`EventLines`].
enum EventLine {
    /// A line within the limit, without its newline.
    Read(Vec<u8>),
    /// A line over the limit, read past and dropped.
    TooLong,
}

impl<R: AsyncBufRead + Unpin> EventLines<R> {
    fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            max,
            number: 0,
        }
    }

    /// The 1-based number of the line last returned.
    fn number(&self) -> usize {
        self.number
    }

    /// The next line, or `None` at the end of the input.
    async fn next(&mut self) -> std::io::Result<Option<EventLine>> {
        let mut line = Vec::new();
        let mut too_long = false;
        let mut read_any = false;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                if !read_any {
                    return Ok(None);
                }
                break;
            }
            read_any = true;
            let newline = available.iter().position(|byte| *byte == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            if !too_long {
                if line.len() + chunk.len() > self.max {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            let used = chunk.len() + usize::from(newline.is_some());
            self.reader.consume(used);
            if newline.is_some() {
                break;
            }
        }
        self.number += 1;
        Ok(Some(if too_long {
            EventLine::TooLong
        } else {
            EventLine::Read(line)
        }))
    }
}

/// Hands one event to the module and prints its result; `false` when the guest returned `Err`.
async fn deliver(host: &mut Host, name: &str, topic: &str, payload: &[u8]) -> anyhow::Result<bool> {
    let call = host.handle(name, topic, payload).await?;
    match call.value {
        Ok(reply) => {
            match String::from_utf8(reply) {
                Ok(text) => println!("{text}"),
                Err(bytes) => println!("0x{}", hex(bytes.as_bytes())),
            }
            Ok(true)
        }
        Err(message) => {
            eprintln!(
                "error: `{}` failed to handle `{}`: {}",
                escape(name),
                escape(topic),
                escape(&message)
            );
            Ok(false)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A component read from a `.wasm` path, with its manifest.
enum Loaded {
    /// Ready to run.
    Ready(Box<Manifest>, Vec<u8>, ComponentInfo),
    /// Its manifest or its contract has errors, already reported.
    Failed,
}

/// Reads `path` and the `arcella.toml` beside it (or defaults), and checks one against the other.
fn load_component(path: &Path) -> anyhow::Result<Loaded> {
    let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let folder = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let manifest_file = if folder == Path::new(".") {
        PathBuf::from(MANIFEST_FILE)
    } else {
        folder.join(MANIFEST_FILE)
    };
    let subject = path.display().to_string();
    let mut sources = SourceMap::new();
    if manifest_file.is_file() {
        let report = manifest::load(&manifest_file)
            .with_context(|| format!("reading {}", manifest_file.display()))?;
        sources.add(&manifest_file, report.source.clone());
        let Some(manifest) = report.manifest else {
            diagnostics::emit(&report.diagnostics, &mut sources, Format::Human, &subject);
            return Ok(Loaded::Failed);
        };
        let (info, found) = check_component_file(path, &manifest, &manifest_file, &report.source)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut all = report.diagnostics;
        all.extend(found);
        diagnostics::emit(&all, &mut sources, Format::Human, &manifest.module.name);
        return Ok(match info {
            Some(info) if !all.iter().any(Diagnostic::is_error) => {
                Loaded::Ready(Box::new(manifest), wasm, info)
            }
            _ => Loaded::Failed,
        });
    }
    let info = match ComponentInfo::inspect(&wasm) {
        Ok(info) => info,
        Err(error) => {
            diagnostics::emit(
                &[error.diagnostic(path)],
                &mut sources,
                Format::Human,
                &subject,
            );
            return Ok(Loaded::Failed);
        }
    };
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "component".to_string());
    let root = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    // Capabilities stay denied unless the flags grant them.
    let manifest = Manifest::for_component(&name, &root, &info);
    Ok(Loaded::Ready(Box::new(manifest), wasm, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input` read with lines of at most `max` bytes kept, as text or `TOO LONG`.
    async fn read_all(input: &[u8], max: usize) -> Vec<String> {
        // A tiny buffer makes lines arrive in pieces, as from a pipe.
        let mut lines = EventLines::new(tokio::io::BufReader::with_capacity(3, input), max);
        let mut read = Vec::new();
        while let Some(line) = lines.next().await.unwrap() {
            read.push(match line {
                EventLine::Read(bytes) => String::from_utf8(bytes).unwrap(),
                EventLine::TooLong => "TOO LONG".to_string(),
            });
        }
        assert_eq!(lines.number(), read.len());
        read
    }

    #[tokio::test]
    async fn event_lines_keep_at_most_max_bytes_and_go_on_after_a_long_one() {
        assert_eq!(
            read_all(b"a 1\nlonger line\n\nb 2", 8).await,
            ["a 1", "TOO LONG", "", "b 2"]
        );
        assert_eq!(
            read_all(b"12345678\n123456789\n", 8).await,
            ["12345678", "TOO LONG"]
        );
        assert_eq!(read_all(b"", 8).await, Vec::<String>::new());
        assert_eq!(read_all(b"\n", 8).await, [""]);
    }
}
