//! `{{name}}`: an Arcella command.
//!
//! Greets its first argument (or the world) with `$GREETING` (or "Hello").
//! `--fail` exits with code 3, to show that a failure reaches the caller.
//! WASI 0.2's `exit` carries only success or failure, so a host sees any
//! nonzero code as failure (wasmtime reports it as exit status 1).

use std::env;
use std::process::ExitCode;

fn main() -> ExitCode {
    let name = env::args().nth(1).unwrap_or_else(|| "world".to_string());
    if name == "--fail" {
        eprintln!("failing on purpose");
        return ExitCode::from(3);
    }
    let greeting = env::var("GREETING").unwrap_or_else(|_| "Hello".to_string());
    println!("{greeting}, {name}!");
    ExitCode::SUCCESS
}
