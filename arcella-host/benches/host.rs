//! Benchmarks of the host's hot paths, printed as one table:
//!
//! 1. a module's life (instantiate, `start`, one `handle`, `stop`) in this
//!    process, through [`Host`] and through [`Loaded`]/[`Instance`] directly,
//!    with the pooling allocator on and off;
//! 2. the same life through a worker process, beside the in-process one;
//! 3. a CPU-bound guest (a loop of 10 million LCG steps) with fuel metering on and off.
//!
//! Run with `cargo bench -p arcella-host --bench host`. There is no criterion:
//! every iteration is timed with [`Instant`] after a warm-up. The cases of a
//! group run in interleaved rounds (the long CPU-bound cases alternate every
//! iteration), so that the noise of a shared machine falls on all of them
//! alike; compare the ratios within one run, not absolute numbers across runs
//! or machines. `min` is the least disturbed sample, the steadiest on a busy machine.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use arcella_host::EngineSettings;
use arcella_host::internal::{Instance, Loaded};
use arcella_host::internal::{Sandbox, SandboxSettings};
use arcella_host::services::config::ConfigValues;
use arcella_host::worker::WorkerCommand;
use arcella_host::{Host, HostOptions, Isolation, Limits, Manifest};

/// Steps of the CPU-bound guest's loop.
const LOOP_STEPS: u32 = 10_000_000;

/// Pooling allocator and fuel metering on: what [`HostOptions::new`] uses.
const DEFAULT_ENGINE: EngineSettings = EngineSettings {
    fuel_metering: true,
    pooling: true,
};

const ON_DEMAND: EngineSettings = EngineSettings {
    pooling: false,
    ..DEFAULT_ENGINE
};

const UNMETERED: EngineSettings = EngineSettings {
    fuel_metering: false,
    ..DEFAULT_ENGINE
};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!("{}", machine());
    println!(
        "{:<44} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}  target (p50)",
        "case", "n", "min", "p50", "p90", "p99", "mean"
    );
    let mut ratios = Vec::new();
    runtime.block_on(async {
        let lifecycle = run_group(
            "1. in process: instantiate + start + handle + stop",
            lifecycle_cases().await,
            Plan {
                warmup: 500,
                iterations: 20_000,
                rounds: 10,
            },
        )
        .await;
        ratios.push(ratio(&lifecycle, "Host, pooling", "direct, pooling"));
        ratios.push(ratio(&lifecycle, "Host, on demand", "direct, on demand"));
        ratios.push(ratio(&lifecycle, "direct, on demand", "direct, pooling"));
        ratios.push(ratio(&lifecycle, "Host, on demand", "Host, pooling"));

        let worker = run_group(
            "2. worker process vs in process (Host API, pooling)",
            worker_cases().await,
            Plan {
                warmup: 200,
                iterations: 4_000,
                rounds: 10,
            },
        )
        .await;
        ratios.push(ratio(&worker, "worker: lifecycle", "in process: lifecycle"));
        ratios.push(ratio(
            &worker,
            "worker: handle only",
            "in process: handle only",
        ));

        let cpu = run_group(
            "3. CPU-bound guest: 10M loop steps in one handle",
            cpu_cases().await,
            Plan {
                warmup: 3,
                iterations: 60,
                rounds: 60,
            },
        )
        .await;
        ratios.push(ratio(&cpu, "fuel metering on", "fuel metering off"));
    });
    println!("\nratios of cases of one group, measured side by side in this run");
    for line in ratios {
        println!("  {line}");
    }
}

/// One thing to time, repeated.
// Built once per case, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Work {
    /// `Host::start`, `handle`, `stop` of an installed module.
    HostLifecycle { host: Host },
    /// `Loaded::instantiate`, `Instance::start`, `handle`, `stop`, drop.
    DirectLifecycle {
        loaded: Loaded,
        sandbox: Sandbox,
        config: Vec<(String, String)>,
    },
    /// `Host::handle` on a module that keeps running.
    HostHandle { host: Host },
    /// `Instance::handle` of the CPU-bound guest.
    CpuLoop { instance: Instance, expected: u32 },
}

/// The module every lifecycle case installs.
const NAME: &str = "bench";

impl Work {
    async fn once(&mut self) {
        match self {
            Self::HostLifecycle { host } => {
                host.start(NAME).await.expect("start");
                echo(host.handle(NAME, "hello", b"world").await);
                host.stop(NAME).await.expect("stop");
            }
            Self::DirectLifecycle {
                loaded,
                sandbox,
                config,
            } => {
                let mut instance = loaded.instantiate(sandbox).await.expect("instantiate");
                instance.start(config).await.expect("start");
                echo(instance.handle("hello", b"world").await);
                instance.stop().await.expect("stop");
            }
            Self::HostHandle { host } => echo(host.handle(NAME, "hello", b"world").await),
            Self::CpuLoop { instance, expected } => {
                let reply = instance.handle("spin", b"").await.expect("handle");
                assert_eq!(
                    reply.value,
                    Ok(expected.to_le_bytes().to_vec()),
                    "the loop ran to the end"
                );
            }
        }
    }
}

fn echo(reply: arcella_host::Result<arcella_host::Call<Result<Vec<u8>, String>>>) {
    assert_eq!(
        reply.expect("handle").value,
        Ok(b"world".to_vec()),
        "the guest echoes"
    );
}

struct Case {
    label: &'static str,
    target: Option<Duration>,
    work: Work,
    samples: Vec<Duration>,
}

fn case(label: &'static str, target: Option<Duration>, work: Work) -> Case {
    Case {
        label,
        target,
        work,
        samples: Vec::new(),
    }
}

const IN_PROCESS_TARGET: Option<Duration> = Some(Duration::from_micros(50));
const WORKER_TARGET: Option<Duration> = Some(Duration::from_micros(250));

async fn lifecycle_cases() -> Vec<Case> {
    vec![
        case(
            "Host, pooling",
            IN_PROCESS_TARGET,
            installed_host(DEFAULT_ENGINE, Isolation::Main, false).await,
        ),
        case(
            "Host, on demand",
            IN_PROCESS_TARGET,
            installed_host(ON_DEMAND, Isolation::Main, false).await,
        ),
        case("direct, pooling", IN_PROCESS_TARGET, direct(DEFAULT_ENGINE)),
        case("direct, on demand", IN_PROCESS_TARGET, direct(ON_DEMAND)),
    ]
}

async fn worker_cases() -> Vec<Case> {
    vec![
        case(
            "in process: lifecycle",
            IN_PROCESS_TARGET,
            installed_host(DEFAULT_ENGINE, Isolation::Main, false).await,
        ),
        case(
            "worker: lifecycle",
            WORKER_TARGET,
            installed_host(DEFAULT_ENGINE, Isolation::Worker, false).await,
        ),
        case(
            "in process: handle only",
            None,
            installed_host(DEFAULT_ENGINE, Isolation::Main, true).await,
        ),
        case(
            "worker: handle only",
            None,
            installed_host(DEFAULT_ENGINE, Isolation::Worker, true).await,
        ),
    ]
}

async fn cpu_cases() -> Vec<Case> {
    let wasm = spin_guest();
    let mut cases = Vec::new();
    for (label, settings) in [
        ("fuel metering on", DEFAULT_ENGINE),
        ("fuel metering off", UNMETERED),
    ] {
        let loaded = Loaded::compile("spin", &wasm, settings, None).expect("compile");
        let sandbox = SandboxSettings {
            limits: Limits {
                fuel: u64::MAX / 2,
                ..Limits::default()
            },
            ..SandboxSettings::default()
        };
        let mut instance = loaded
            .instantiate(&loaded.sandbox(&sandbox))
            .await
            .expect("instantiate");
        instance.start(&Vec::new()).await.expect("start");
        let work = Work::CpuLoop {
            instance,
            expected: expected_spin(),
        };
        cases.push(case(label, None, work));
    }
    cases
}

/// A host with the `module_guest` fixture installed as [`NAME`] (and started when `running`).
async fn installed_host(engine: EngineSettings, isolation: Isolation, running: bool) -> Work {
    let options = HostOptions {
        engine,
        cache: None,
        worker: WorkerCommand {
            program: env!("CARGO_BIN_EXE_arcella-worker").into(),
        },
        ..HostOptions::new().expect("host options")
    };
    let mut host = Host::new(options);
    host.install(
        bench_manifest(isolation),
        arcella_fixtures::module_guest(false),
    )
    .await
    .expect("install");
    if running {
        host.start(NAME).await.expect("start");
        Work::HostHandle { host }
    } else {
        Work::HostLifecycle { host }
    }
}

fn bench_manifest(isolation: Isolation) -> Manifest {
    support::manifest(NAME, isolation)
}

/// `Loaded`/`Instance` with what the host would give the same manifest.
fn direct(engine: EngineSettings) -> Work {
    let manifest = bench_manifest(Isolation::Main);
    let loaded = Loaded::compile(NAME, &arcella_fixtures::module_guest(false), engine, None)
        .expect("compile");
    let config = ConfigValues::resolve(NAME, &manifest.config).expect("resolve [config]");
    let sandbox = loaded.sandbox(&SandboxSettings {
        limits: manifest.limits.clone(),
        capabilities: manifest.capabilities.clone(),
        config: config.clone(),
        ..SandboxSettings::default()
    });
    Work::DirectLifecycle {
        loaded,
        sandbox,
        config: config.pairs().clone(),
    }
}

/// A module whose `handle` runs [`LOOP_STEPS`] steps of an LCG and returns
/// the xor of their high halves, so that the loop cannot be skipped.
fn spin_guest() -> Vec<u8> {
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
    (local.get $ptr))
  (func (export "arcella:component/lifecycle@0.1.0#start") (param i32 i32) (result i32)
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func (export "arcella:component/lifecycle@0.1.0#stop") (result i32)
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.const 64))
  (func (export "arcella:component/handler@0.1.0#handle") (param i32 i32 i32 i32) (result i32)
    (local $i i32) (local $x i32) (local $acc i32)
    (global.set $heap (i32.const 4096))
    (local.set $x (i32.const 1))
    (loop $step
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (local.set $acc (i32.xor (local.get $acc) (i32.shr_u (local.get $x) (i32.const 16))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $step (i32.lt_u (local.get $i) (i32.const {LOOP_STEPS}))))
    (i32.store (i32.const 80) (local.get $acc))
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (i32.const 80))
    (i32.store (i32.const 72) (i32.const 4))
    (i32.const 64))
)"#
    );
    arcella_fixtures::componentize(&wat, "module")
}

/// What [`spin_guest`] returns, computed here.
fn expected_spin() -> u32 {
    let (mut x, mut acc) = (1u32, 0u32);
    for _ in 0..LOOP_STEPS {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        acc ^= x >> 16;
    }
    acc
}

/// How many times a group's cases run.
struct Plan {
    warmup: usize,
    iterations: usize,
    rounds: usize,
}

/// Runs every case `plan.iterations` times in `plan.rounds` interleaved rounds, then prints them.
async fn run_group(title: &str, mut cases: Vec<Case>, plan: Plan) -> Vec<(&'static str, Stats)> {
    for case in &mut cases {
        for _ in 0..plan.warmup {
            case.work.once().await;
        }
    }
    let per_round = plan.iterations.div_ceil(plan.rounds);
    for _ in 0..plan.rounds {
        for case in &mut cases {
            for _ in 0..per_round {
                let started = Instant::now();
                case.work.once().await;
                case.samples.push(started.elapsed());
            }
        }
    }
    println!("{title}");
    cases
        .into_iter()
        .map(|case| {
            let stats = Stats::of(case.samples);
            let verdict = match case.target {
                Some(target) if stats.p50 <= target => format!("<= {} ok", show(target)),
                Some(target) => format!("<= {} MISSED", show(target)),
                None => String::new(),
            };
            println!(
                "  {:<42} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}  {verdict}",
                case.label,
                stats.n,
                show(stats.min),
                show(stats.p50),
                show(stats.p90),
                show(stats.p99),
                show(stats.mean)
            );
            (case.label, stats)
        })
        .collect()
}

struct Stats {
    n: usize,
    min: Duration,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    mean: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let n = samples.len();
        let at = |q: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let index = ((n - 1) as f64 * q).round() as usize;
            samples[index]
        };
        let total: Duration = samples.iter().sum();
        Self {
            n,
            min: samples[0],
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            mean: total / u32::try_from(n).expect("few samples"),
        }
    }
}

fn ratio(group: &[(&str, Stats)], over: &str, under: &str) -> String {
    let find = |label: &str| {
        &group
            .iter()
            .find(|(l, _)| *l == label)
            .expect("a case of the group")
            .1
    };
    let (a, b) = (find(over), find(under));
    format!(
        "{over} / {under}: {:.2}x p50, {:.2}x min, {:.2}x mean",
        a.p50.as_secs_f64() / b.p50.as_secs_f64(),
        a.min.as_secs_f64() / b.min.as_secs_f64(),
        a.mean.as_secs_f64() / b.mean.as_secs_f64()
    )
}

/// A duration in the unit that suits it.
fn show(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1.0 {
        format!("{:.0}ns", micros * 1000.0)
    } else if micros < 10_000.0 {
        format!("{micros:.1}µs")
    } else {
        format!("{:.2}ms", micros / 1000.0)
    }
}

/// The machine the numbers come from.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("arcella-host benchmarks on {cpus} CPUs ({model}); bench profile\n")
}
