//! Clocks and random numbers that give the same values on every run, for reproducible tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

/// The wall-clock time a deterministic guest starts at: 2024-01-01T00:00:00Z.
pub const EPOCH_START: Duration = Duration::from_secs(1_704_067_200);

/// How far deterministic clocks advance on each reading, so that loops
/// waiting for time to pass still end.
pub const STEP: Duration = Duration::from_millis(1);

/// Makes `wasi`'s clocks and random sources deterministic.
pub fn apply(wasi: &mut WasiCtxBuilder) {
    wasi.wall_clock(SteppingWallClock::default())
        .monotonic_clock(SteppingMonotonicClock::default())
        .secure_random(Deterministic::new(seed_bytes(b"arcella secure random")))
        .insecure_random(Deterministic::new(seed_bytes(b"arcella insecure random")))
        .insecure_random_seed(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
}

/// A long, fixed, well-mixed byte sequence for the deterministic generators to cycle through.
fn seed_bytes(label: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0; 4096];
    blake3::Hasher::new()
        .update(label)
        .finalize_xof()
        .fill(&mut bytes);
    bytes
}

#[derive(Default)]
struct SteppingWallClock {
    readings: AtomicU64,
}

impl HostWallClock for SteppingWallClock {
    fn resolution(&self) -> Duration {
        STEP
    }

    fn now(&self) -> Duration {
        let n = self.readings.fetch_add(1, Ordering::Relaxed);
        EPOCH_START + STEP * u32::try_from(n).unwrap_or(u32::MAX)
    }
}

#[derive(Default)]
struct SteppingMonotonicClock {
    readings: AtomicU64,
}

impl HostMonotonicClock for SteppingMonotonicClock {
    fn resolution(&self) -> u64 {
        STEP.as_nanos() as u64
    }

    fn now(&self) -> u64 {
        let n = self.readings.fetch_add(1, Ordering::Relaxed);
        n.saturating_mul(STEP.as_nanos() as u64)
    }
}
