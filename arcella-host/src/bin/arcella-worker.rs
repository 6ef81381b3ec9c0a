//! A bare worker executable: for embedders whose own binary cannot call
//! `run_if_worker` (set `ARCELLA_WORKER_EXE` to it), and for the host's tests.

fn main() {
    arcella_host::worker::run_if_worker();
    eprintln!("arcella-worker is started by the Arcella host (with ARCELLA_WORKER=1), not by hand");
    std::process::exit(2);
}
