//! The cost of `wasi:keyvalue` through a guest, per backend, beside the
//! same operations called directly on the store from Rust:
//!
//! - backends: memory, redb in a temporary file, and Redis (a
//!   `redis-server` the benchmark starts on a free loopback port, data in
//!   memory only, as the tests start it);
//! - operations: `get` of a 16-byte value, `set` of one, `increment` by 1;
//! - through a guest: one `handle` call opens the bucket, does the
//!   operation N times in a loop, and drops the bucket; the time of a call
//!   divided by N is the time of one operation, so the call's own cost
//!   (about a microsecond in process) is spread over the N;
//! - the guest runs in the host's process (`isolation = "main"`) and in a
//!   worker process (the default), where each operation crosses to the
//!   host's store over the worker's keyvalue connection;
//! - directly: N calls of `KeyValue::get`, `set` or `increment` on the
//!   same store.
//!
//! Run with `cargo bench -p arcella-host --bench keyvalue` (it needs
//! `redis-server` on the PATH). As in the `host` benchmark, the cases of
//! a backend run in interleaved rounds so that a shared machine's noise
//! falls on all of them alike; compare the ratios within one run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use arcella_fixtures::{REALLOC, componentize_with_wit};
use arcella_host::{Host, HostOptions, Isolation, KeyValue, KeyValueBackend};
use support::redis::RedisServer;

/// The module every case installs, and the bucket it is granted.
const NAME: &str = "bench";
const BUCKET: &str = "bench";
/// What `set` writes and `get` reads.
const VALUE: &[u8; 16] = b"0123456789abcdef";

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let redis = RedisServer::start();
    let backends = [
        (
            "memory",
            KeyValueBackend::Memory,
            Plan {
                per_call: 1000,
                calls: 200,
            },
        ),
        (
            "redb",
            KeyValueBackend::Redb {
                path: dir.path().join("bench.redb"),
            },
            Plan {
                per_call: 20,
                calls: 50,
            },
        ),
        (
            "redis",
            KeyValueBackend::Redis { url: redis.url() },
            Plan {
                per_call: 100,
                calls: 100,
            },
        ),
    ];
    println!("{}", machine());
    println!(
        "time per operation (p50) and operations per second; ratio = through the guest / direct"
    );
    println!(
        "{:<8} {:<10} {:>6} {:>20} {:>28} {:>28}",
        "backend", "op", "N/call", "direct", "guest in process", "guest in a worker"
    );
    runtime.block_on(async {
        for (label, backend, plan) in backends {
            let store = KeyValue::open(&backend).expect("the store opens");
            store.set(BUCKET, "k", VALUE).expect("the value is seeded");
            let main = installed(&store, Isolation::Main).await;
            let worker = installed(&store, Isolation::Worker).await;
            let mut cases = Vec::new();
            for op in [Op::Get, Op::Set, Op::Increment] {
                cases.push(Case::new(op, Way::Direct(store.clone())));
                cases.push(Case::new(op, Way::Guest(main.clone())));
                cases.push(Case::new(op, Way::Guest(worker.clone())));
            }
            run(&mut cases, &plan).await;
            for per_op in cases.chunks(3) {
                let [direct, main, worker] = per_op else {
                    unreachable!("three cases per operation")
                };
                let direct = direct.per_op(plan.per_call);
                let main = main.per_op(plan.per_call);
                let worker = worker.per_op(plan.per_call);
                println!(
                    "{label:<8} {:<10} {:>6} {:>20} {:>20} {:>6.1}x {:>20} {:>6.1}x",
                    per_op[0].op.name(),
                    plan.per_call,
                    rate(direct),
                    rate(main),
                    main.as_secs_f64() / direct.as_secs_f64(),
                    rate(worker),
                    worker.as_secs_f64() / direct.as_secs_f64(),
                );
            }
        }
    });
}

#[derive(Clone, Copy)]
enum Op {
    Get,
    Set,
    Increment,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Increment => "increment",
        }
    }

    /// The guest's topic for it.
    fn topic(self) -> &'static str {
        match self {
            Self::Get => "g",
            Self::Set => "s",
            Self::Increment => "i",
        }
    }
}

/// A host running the benchmark guest, shared by the cases that call it.
type Shared = std::rc::Rc<tokio::sync::Mutex<Host>>;

enum Way {
    Direct(KeyValue),
    Guest(Shared),
}

struct Case {
    op: Op,
    way: Way,
    /// The time of each call of N operations.
    samples: Vec<Duration>,
}

impl Case {
    fn new(op: Op, way: Way) -> Self {
        Self {
            op,
            way,
            samples: Vec::new(),
        }
    }

    /// Does the operation `n` times.
    async fn once(&self, n: u32) {
        match &self.way {
            Way::Direct(store) => {
                for _ in 0..n {
                    match self.op {
                        Op::Get => {
                            store.get(BUCKET, "k").expect("get");
                        }
                        Op::Set => store.set(BUCKET, "k", VALUE).expect("set"),
                        Op::Increment => {
                            store.increment(BUCKET, "n", 1).expect("increment");
                        }
                    }
                }
            }
            Way::Guest(host) => {
                let reply = host
                    .lock()
                    .await
                    .handle(NAME, self.op.topic(), &n.to_le_bytes())
                    .await
                    .expect("handle");
                assert_eq!(
                    reply.value,
                    Ok(Vec::new()),
                    "the guest's operations succeed"
                );
            }
        }
    }

    /// The median time of one operation.
    fn per_op(&self, per_call: u32) -> Duration {
        let mut samples = self.samples.clone();
        samples.sort_unstable();
        samples[samples.len() / 2] / per_call
    }
}

/// How many operations a call does, and how many calls each case makes.
struct Plan {
    per_call: u32,
    calls: usize,
}

const ROUNDS: usize = 5;

/// Runs every case `plan.calls` times (after one warm-up call) in
/// [`ROUNDS`] interleaved rounds.
async fn run(cases: &mut [Case], plan: &Plan) {
    for case in cases.iter() {
        case.once(plan.per_call).await;
    }
    for _ in 0..ROUNDS {
        for case in cases.iter_mut() {
            for _ in 0..plan.calls.div_ceil(ROUNDS) {
                let started = Instant::now();
                case.once(plan.per_call).await;
                case.samples.push(started.elapsed());
            }
        }
    }
}

/// A host with the benchmark guest installed as [`NAME`] and started, in `isolation`.
async fn installed(store: &KeyValue, isolation: Isolation) -> Shared {
    let mut host = Host::new(HostOptions {
        keyvalue: store.clone(),
        ..support::test_host_options()
    });
    let mut manifest = support::manifest(NAME, isolation);
    manifest.module.imports = vec![
        "wasi:keyvalue/store@0.2.0-draft".into(),
        "wasi:keyvalue/atomics@0.2.0-draft".into(),
    ];
    manifest.capabilities.keyvalue = vec![BUCKET.into()];
    host.install(manifest, guest()).await.expect("install");
    host.start(NAME).await.expect("start");
    std::rc::Rc::new(tokio::sync::Mutex::new(host))
}

/// A module whose `handle` opens the bucket `bench`, does the operation
/// its topic names (`g`et `k`, `s`et `k` to 16 bytes, `i`ncrement `n` by
/// one) as many times as the payload's first four bytes say, drops the
/// bucket and returns nothing; a keyvalue error becomes the call's error.
fn guest() -> Vec<u8> {
    let wit = r"
package bench:keyvalue;

world guest {
  import wasi:keyvalue/store@0.2.0-draft;
  import wasi:keyvalue/atomics@0.2.0-draft;
  export arcella:component/lifecycle@0.1.0;
  export arcella:component/handler@0.1.0;
}
";
    let wat = format!(
        r#"(module
  (import "wasi:keyvalue/store@0.2.0-draft" "open" (func $open (param i32 i32 i32)))
  (import "wasi:keyvalue/store@0.2.0-draft" "[method]bucket.get" (func $get (param i32 i32 i32 i32)))
  (import "wasi:keyvalue/store@0.2.0-draft" "[method]bucket.set" (func $set (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:keyvalue/store@0.2.0-draft" "[resource-drop]bucket" (func $drop_bucket (param i32)))
  (import "wasi:keyvalue/atomics@0.2.0-draft" "increment" (func $increment (param i32 i32 i32 i64 i32)))
  (memory (export "memory") 1)
  {REALLOC}
  (data (i32.const 16) "no-such-store")
  (data (i32.const 32) "access-denied")
  (data (i32.const 48) "kn")
  (data (i32.const 96) "0123456789abcdef")
  (data (i32.const 112) "bench")
  ;; The call's result: ok(empty), or the error variant at $e as text.
  (func $ok (result i32)
    (i32.store8 (i32.const 64) (i32.const 0))
    (i32.store (i32.const 68) (i32.const 0))
    (i32.store (i32.const 72) (i32.const 0))
    (i32.const 64))
  (func $fail (param $e i32) (result i32)
    (local $case i32)
    (local.set $case (i32.load8_u (local.get $e)))
    (i32.store8 (i32.const 64) (i32.const 1))
    (if (i32.eq (local.get $case) (i32.const 0))
      (then (i32.store (i32.const 68) (i32.const 16)) (i32.store (i32.const 72) (i32.const 13))))
    (if (i32.eq (local.get $case) (i32.const 1))
      (then (i32.store (i32.const 68) (i32.const 32)) (i32.store (i32.const 72) (i32.const 13))))
    (if (i32.eq (local.get $case) (i32.const 2))
      (then
        (i32.store (i32.const 68) (i32.load offset=4 (local.get $e)))
        (i32.store (i32.const 72) (i32.load offset=8 (local.get $e)))))
    (i32.const 64))
  (func (export "arcella:component/lifecycle@0.1.0#start") (param i32 i32) (result i32)
    (call $ok))
  (func (export "arcella:component/lifecycle@0.1.0#stop") (result i32)
    (call $ok))
  (func (export "arcella:component/handler@0.1.0#handle") (param $tp i32) (param $tl i32) (param $pp i32) (param $pl i32) (result i32)
    (local $op i32) (local $b i32) (local $n i32) (local $i i32)
    (local.set $op (i32.load8_u (local.get $tp)))
    (local.set $n (i32.load (local.get $pp)))
    (call $open (i32.const 112) (i32.const 5) (i32.const 128))
    (if (i32.load8_u (i32.const 128)) (then (return (call $fail (i32.const 132)))))
    (local.set $b (i32.load (i32.const 132)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      ;; Each value `get` returns is allocated anew: start the heap over.
      (global.set $heap (i32.const 4096))
      (if (i32.eq (local.get $op) (i32.const 103))
        (then
          (call $get (local.get $b) (i32.const 48) (i32.const 1) (i32.const 128))
          (if (i32.load8_u (i32.const 128)) (then (return (call $fail (i32.const 132)))))))
      (if (i32.eq (local.get $op) (i32.const 115))
        (then
          (call $set (local.get $b) (i32.const 48) (i32.const 1) (i32.const 96) (i32.const 16) (i32.const 128))
          (if (i32.load8_u (i32.const 128)) (then (return (call $fail (i32.const 132)))))))
      (if (i32.eq (local.get $op) (i32.const 105))
        (then
          (call $increment (local.get $b) (i32.const 49) (i32.const 1) (i64.const 1) (i32.const 128))
          (if (i32.load8_u (i32.const 128)) (then (return (call $fail (i32.const 136)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $drop_bucket (local.get $b))
    (call $ok))
)"#
    );
    componentize_with_wit(&wat, wit, "guest")
}

/// `1.23 µs  813k/s`: the time of one operation and the rate it makes.
fn rate(per_op: Duration) -> String {
    let seconds = per_op.as_secs_f64();
    let rate = 1.0 / seconds;
    let rate = if rate >= 1e6 {
        format!("{:.2}M/s", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1}k/s", rate / 1e3)
    } else {
        format!("{rate:.0}/s")
    };
    let time = if seconds < 1e-6 {
        format!("{:.0} ns", seconds * 1e9)
    } else if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else {
        format!("{:.2} ms", seconds * 1e3)
    };
    format!("{time} {rate:>9}")
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
    format!("arcella-host keyvalue benchmark on {cpus} CPUs ({model}); bench profile\n")
}
