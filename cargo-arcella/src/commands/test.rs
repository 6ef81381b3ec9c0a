//! `cargo arcella test`: build the component, then `cargo test` the crate against it.

use std::ffi::OsString;

use anyhow::Context as _;
use clap::Args;

use crate::commands::build::{BuildArgs, cargo};
use crate::outcome::Outcome;

/// Build the component like `build`, then run `cargo test` for the host with
/// `ARCELLA_COMPONENT` set to the fresh component, and `ARCELLA_HOST` and
/// `ARCELLA_WORKER_EXE` to this executable: the testkit runs the tests'
/// components in it. Exits with cargo's exit code.
#[derive(Debug, Args)]
pub struct TestCommand {
    /// Which crate, and how to build it (`--release` applies to the tests too).
    #[command(flatten)]
    pub build: BuildArgs,
    /// Arguments passed on to `cargo test`, e.g. a test name filter or `-- --nocapture`.
    #[arg(
        value_name = "CARGO TEST ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<OsString>,
}

impl TestCommand {
    /// Builds, then tests.
    pub async fn exec(self) -> anyhow::Result<Outcome> {
        let (outcome, built) = self.build.build(false)?;
        let Some(built) = built else {
            return Ok(outcome);
        };
        let component = std::fs::canonicalize(&built.component)
            .with_context(|| format!("reading {}", built.component.display()))?;
        let this = std::env::current_exe().context("finding this executable")?;
        let mut command = cargo();
        command
            .current_dir(&built.root)
            .arg("test")
            .arg("--manifest-path")
            .arg(built.root.join("Cargo.toml"))
            .env(arcella_testkit::COMPONENT_ENV, component)
            .env(arcella_testkit::HOST_ENV, &this)
            .env(arcella_testkit::WORKER_EXE_ENV, &this);
        if self.build.release {
            command.arg("--release");
        }
        let status = command
            .args(&self.args)
            .status()
            .context("running cargo test")?;
        Ok(match status.code() {
            Some(0) => Outcome::Success,
            Some(code) => Outcome::Exited(code),
            None => Outcome::Failed,
        })
    }
}
