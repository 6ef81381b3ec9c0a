//! The limits on every call into a guest, enforced in one place: memory,
//! fuel, the epoch deadline, the wall-clock bound over host calls, and the
//! typed error that names whichever stopped the guest.
//!
//! Every entry into a guest (a module's `start`, `handle`, `invoke` and
//! `stop`, a command's run, an HTTP request) goes through [`guarded`].

mod memory;

use std::time::{Duration, Instant};

use wasmtime::{PoolConcurrencyLimitError, Store, Trap, UpdateDeadline};
use wasmtime_wasi::I32Exit;

use crate::call::Call;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::store::GuestState;

pub(crate) use memory::StoreLimiter;

/// Extra wall-clock time after the timeout before a call blocked in a host
/// call (where epochs cannot interrupt it) is abandoned.
pub(crate) const HOST_CALL_GRACE: Duration = Duration::from_millis(250);

/// The longest a call under `limits` can take, host calls included.
pub(crate) fn call_bound(limits: &Limits) -> Duration {
    limits.timeout.saturating_add(HOST_CALL_GRACE)
}

/// What one call may use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget<'a> {
    /// The limits.
    pub(crate) limits: &'a Limits,
    /// Whether the engine meters fuel.
    pub(crate) metered: bool,
}

/// Runs `call` under `budget`: fresh fuel and deadline, the wall-clock
/// bound, then what it cost or the typed error naming what stopped it.
pub(crate) async fn guarded<T>(
    store: &mut Store<GuestState>,
    budget: Budget<'_>,
    call: impl AsyncFnOnce(&mut Store<GuestState>) -> wasmtime::Result<T>,
) -> Result<Call<T>> {
    let started = arm(store, budget)?;
    let outcome = tokio::time::timeout(call_bound(budget.limits), call(store))
        .await
        .ok();
    let duration = started.elapsed();
    let fuel = fuel_used(store, budget);
    let (logs, dropped_logs) = store.data_mut().log.take();
    match outcome {
        Some(Ok(value)) => Ok(Call {
            value,
            fuel,
            logs,
            dropped_logs,
            duration,
        }),
        Some(Err(error)) => Err(classify(&error, store, budget.limits)),
        None => Err(Error::Timeout {
            module: store.data().module().to_string(),
            after: budget.limits.timeout,
        }),
    }
}

/// Sets up the watch over a new store: its memory limiter, and at each
/// epoch tick either the call's deadline (a trap) or a yield to the runtime,
/// so that a guest that spins cannot hold a runtime thread from other
/// requests and tasks until its timeout.
pub(crate) fn watch(store: &mut Store<GuestState>) {
    store.limiter(|state| &mut state.limiter);
    store.epoch_deadline_callback(|store| {
        let expired = store
            .data()
            .call_deadline
            .is_none_or(|deadline| Instant::now() >= deadline);
        Ok(if expired {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });
}

/// Prepares a store for one call: fresh fuel, a deadline checked at every
/// epoch tick, a clear limiter.
fn arm(store: &mut Store<GuestState>, budget: Budget<'_>) -> Result<Instant> {
    if budget.metered {
        store
            .set_fuel(budget.limits.fuel)
            .map_err(|error| Error::Host(error.to_string()))?;
    }
    let started = Instant::now();
    store.data_mut().call_deadline = Some(
        started
            .checked_add(budget.limits.timeout)
            .unwrap_or_else(|| started + Limits::MAX_TIMEOUT),
    );
    store.set_epoch_deadline(1);
    store.data_mut().limiter.refused = false;
    Ok(started)
}

fn fuel_used(store: &Store<GuestState>, budget: Budget<'_>) -> u64 {
    if !budget.metered {
        return 0;
    }
    store
        .get_fuel()
        .map_or(0, |left| budget.limits.fuel.saturating_sub(left))
}

/// Names what stopped the guest.
fn classify(error: &wasmtime::Error, store: &Store<GuestState>, limits: &Limits) -> Error {
    let module = store.data().module().to_string();
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Error::Trap {
            module,
            message: format!("exit with code {}", exit.0),
            backtrace: None,
        };
    }
    if error.is::<PoolConcurrencyLimitError>() {
        return Error::Overloaded {
            module,
            reason: error.to_string(),
        };
    }
    let backtrace = error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(crate::backtrace::render);
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => {
            return Error::FuelExhausted {
                module,
                limit: limits.fuel,
            };
        }
        Some(Trap::Interrupt) => {
            return Error::Timeout {
                module,
                after: limits.timeout,
            };
        }
        Some(Trap::StackOverflow) => return Error::StackOverflow { module, backtrace },
        _ => {}
    }
    if store.data().limiter.refused {
        return Error::MemoryLimit {
            module,
            limit: limits.memory,
        };
    }
    let message = match error.downcast_ref::<Trap>() {
        Some(trap) => trap
            .to_string()
            .trim_start_matches("wasm trap: ")
            .to_string(),
        None => format!("{error}"),
    };
    Error::Trap {
        module,
        message,
        backtrace,
    }
}
