//! What a test costs after the first one in its process: a harness from
//! component text, `start`, one `send`, `stop` and the trace.
//!
//! `cargo bench -p arcella-testkit` prints the median (p50) and p90 over
//! many runs, for both isolations (a worker test also starts a process),
//! with the host in this process (`embedded`) and in the host process a
//! test binary shares (`process`, the default for a component crate).

use std::time::{Duration, Instant};

use arcella_testkit::{Harness, Isolation};

#[path = "../tests/support/mod.rs"]
mod support;

fn one_test(isolation: Isolation, process: bool) {
    let mut builder = Harness::from_wat(support::ECHO_WAT)
        .isolation(isolation)
        .worker_exe(support::WORKER);
    if process {
        builder = builder.host(support::WORKER);
    }
    let mut h = builder.start().unwrap();
    assert_eq!(h.send("echo", b"ping").unwrap(), b"ping");
    h.stop().unwrap();
    assert_eq!(h.trace().steps.len(), 3);
}

fn measure(label: &str, isolation: Isolation, process: bool, runs: usize) {
    let first = Instant::now();
    one_test(isolation, process);
    let first = first.elapsed();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            one_test(isolation, process);
            start.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label:<16} first {first:>10.2?}   then over {runs} tests: p50 {:>10.2?}  p90 {:>10.2?}  min {:>10.2?}",
        at(0.5),
        at(0.9),
        times[0],
    );
}

fn main() {
    // `cargo test --benches` runs this once to see that it works; keep that quick.
    let runs = if std::env::args().any(|arg| arg == "--bench") {
        200
    } else {
        3
    };
    measure("embedded main", Isolation::Main, false, runs);
    measure("process main", Isolation::Main, true, runs);
    measure("embedded worker", Isolation::Worker, false, runs / 4);
    measure("process worker", Isolation::Worker, true, runs / 4);
}
