//! The process-wide wasmtime engines, and the epoch ticker that bounds wall-clock time.
//!
//! Compiling and configuring an engine is expensive and its code memory is
//! shared, so every module in a process runs on one engine per setting.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the engine's epoch advances: a running guest's deadline is
/// checked, and the guest yields to other tasks, at each tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Wasm stack available to a guest; deeper recursion is a stack-overflow trap.
pub const MAX_WASM_STACK: usize = 1 << 20;

/// Engine settings that change compiled code, so each needs its own engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct EngineSettings {
    /// Whether guests are metered with fuel. Always on outside benchmarks.
    pub fuel_metering: bool,
    /// Whether instances come from the pooling allocator (fast instantiation)
    /// rather than fresh `mmap`s.
    pub pooling: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            fuel_metering: true,
            pooling: true,
        }
    }
}

/// Component instances the pool holds at once; past that, instantiation fails
/// (an HTTP request is answered 503, not 500).
const POOL_INSTANCES: u32 = 1000;

/// Core instances, tables and memories the pool holds at once. A component
/// instance is made of several (a Rust component: about three core instances
/// and three tables), so these are sized well above [`POOL_INSTANCES`].
const POOL_CORE_INSTANCES: u32 = 4 * POOL_INSTANCES;

/// Largest linear memory the pool reserves for one instance (the wasm32 maximum).
const POOL_MAX_MEMORY: usize = 4 << 30;

/// Bytes of each freed memory and table slot kept resident and reset with
/// `memset`: what a small guest touches (a Rust component's stack and first
/// heap pages are more; they are given back as before).
const KEEP_RESIDENT: usize = 64 << 10;

/// Linear memories one component instance may define. Toolchains emit one or
/// two; the store's limiter and the pool agree on this cap.
pub const MAX_MEMORIES_PER_COMPONENT: u32 = 16;

/// Tables one component instance may define (toolchains' shims add a few).
pub const MAX_TABLES_PER_COMPONENT: u32 = 16;

/// Core instances one component instance may create (its modules, adapters and shims).
pub const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 64;

/// The shared engine for `settings`, created on first use.
///
/// If the pooling allocator cannot reserve its address space (a tight
/// `ulimit -v`), the engine falls back to on-demand allocation.
pub fn shared_engine(settings: EngineSettings) -> wasmtime::Result<Engine> {
    static ENGINES: OnceLock<Mutex<HashMap<EngineSettings, Engine>>> = OnceLock::new();
    let engines = ENGINES.get_or_init(Default::default);
    let mut engines = engines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(engine) = engines.get(&settings) {
        return Ok(engine.clone());
    }
    let engine = match Engine::new(&config(settings)) {
        Ok(engine) => engine,
        Err(error) if settings.pooling => {
            tracing::warn!(
                "pooling allocator unavailable ({error}); allocating instances on demand"
            );
            Engine::new(&config(EngineSettings {
                pooling: false,
                ..settings
            }))?
        }
        Err(error) => return Err(error),
    };
    start_epoch_ticker(&engine);
    engines.insert(settings, engine.clone());
    Ok(engine)
}

fn config(settings: EngineSettings) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(settings.fuel_metering)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (1 << 20))
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    if settings.pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_CORE_INSTANCES)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_CORE_INSTANCES)
            .total_stacks(POOL_INSTANCES)
            .max_memory_size(POOL_MAX_MEMORY)
            .max_memories_per_module(MAX_MEMORIES_PER_COMPONENT)
            .max_tables_per_module(MAX_TABLES_PER_COMPONENT)
            .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
            .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
            .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
            // A freed slot's first pages are zeroed with `memset` rather than
            // given back with `madvise`: the next instance then starts without
            // page faults or the TLB flushes a `madvise` costs every core.
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Advances `engine`'s epoch every [`EPOCH_TICK`] for as long as the engine lives.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("arcella-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(error) = spawned {
        tracing::error!("could not start the epoch ticker; timeouts will not fire: {error}");
    }
}
