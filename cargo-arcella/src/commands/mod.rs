//! One module per subcommand; each is a clap `Args` struct with an `exec`.

pub mod build;
pub mod check;
pub mod new;
pub mod run;
pub mod test;
