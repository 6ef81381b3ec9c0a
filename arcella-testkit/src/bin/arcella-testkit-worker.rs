//! The worker executable the testkit's own tests run `isolation = "worker"`
//! modules in (through `Harness::worker_exe`); users get theirs from
//! `cargo arcella test` or a `cargo-arcella` on `PATH`.

fn main() {
    arcella_host::worker::run_if_worker();
    eprintln!(
        "arcella-testkit-worker is started by the Arcella host (with ARCELLA_WORKER=1), not by hand"
    );
    std::process::exit(2);
}
