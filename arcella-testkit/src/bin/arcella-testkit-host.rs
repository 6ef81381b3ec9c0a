//! The host the testkit's own tests run components in, as `cargo-arcella`
//! is for a component crate's tests: a worker executable and a testkit
//! host (`Harness::host`, `Harness::worker_exe`).

fn main() {
    arcella_host::worker::run_if_worker();
    arcella_testkit::run_if_host();
    eprintln!("arcella-testkit-host is started by the Arcella testkit or host, not by hand");
    std::process::exit(2);
}
