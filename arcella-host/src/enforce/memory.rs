//! The memory a guest's store may hold: every linear memory and table together.
//!
//! Wasmtime asks a [`ResourceLimiter`] about each growth of one memory or one
//! table, giving that object's own sizes. A per-object check would let a
//! component with a hundred memories hold a hundred times its limit, so the
//! limiter keeps a running total over the whole store and caps how many
//! memories, tables and instances a component may create at all.

use wasmtime::ResourceLimiter;

use crate::engine::{
    MAX_CORE_INSTANCES_PER_COMPONENT, MAX_MEMORIES_PER_COMPONENT, MAX_TABLES_PER_COMPONENT,
};

/// Bytes one table element is counted as: a reference is a pointer on the host.
pub(crate) const TABLE_ELEMENT_BYTES: u64 = std::mem::size_of::<usize>() as u64;

/// Enforces the memory limit over a whole store, and remembers whether a
/// growth was refused so that the trap a guest raises afterwards is reported
/// as the limit it is.
#[derive(Debug)]
pub(crate) struct StoreLimiter {
    /// Bytes of linear memory plus table space the store may hold in all.
    limit: u64,
    /// Bytes granted so far, over every memory and table of the store.
    committed: u64,
    /// Whether a growth was refused since the last call was armed.
    pub(crate) refused: bool,
}

impl StoreLimiter {
    /// A limiter allowing `limit` bytes in all.
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            limit,
            committed: 0,
            refused: false,
        }
    }

    /// Bytes of memory and tables the store holds now.
    #[cfg(test)]
    pub(crate) fn committed(&self) -> u64 {
        self.committed
    }

    /// Grants growing one object from `current` to `desired` bytes if the
    /// store's total stays within the limit and the object's own maximum.
    fn grow(&mut self, current: u64, desired: u64, maximum: Option<u64>) -> bool {
        if maximum.is_some_and(|maximum| desired > maximum) {
            // Wasmtime fails this growth itself; nothing is committed.
            return false;
        }
        let added = desired.saturating_sub(current);
        let total = self.committed.saturating_add(added);
        if total > self.limit {
            self.refused = true;
            return false;
        }
        self.committed = total;
        true
    }
}

fn bytes(size: usize) -> u64 {
    u64::try_from(size).unwrap_or(u64::MAX)
}

fn table_bytes(elements: usize) -> u64 {
    bytes(elements).saturating_mul(TABLE_ELEMENT_BYTES)
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(bytes(current), bytes(desired), maximum.map(bytes)))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(
            table_bytes(current),
            table_bytes(desired),
            maximum.map(table_bytes),
        ))
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES_PER_COMPONENT as usize
    }

    fn tables(&self) -> usize {
        MAX_TABLES_PER_COMPONENT as usize
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES_PER_COMPONENT as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn many_memories_share_one_limit() {
        let mut limiter = StoreLimiter::new(64 * MIB as u64);
        assert!(limiter.memory_growing(0, 60 * MIB, None).unwrap());
        assert!(!limiter.memory_growing(0, 60 * MIB, None).unwrap());
        assert!(limiter.refused);
        assert_eq!(limiter.committed(), 60 * MIB as u64);
    }

    #[test]
    fn growth_counts_only_what_is_added() {
        let mut limiter = StoreLimiter::new(64 * MIB as u64);
        assert!(limiter.memory_growing(0, 16 * MIB, None).unwrap());
        assert!(limiter.memory_growing(16 * MIB, 48 * MIB, None).unwrap());
        assert!(limiter.memory_growing(0, 16 * MIB, None).unwrap());
        assert!(!limiter.memory_growing(16 * MIB, 17 * MIB, None).unwrap());
    }

    #[test]
    fn tables_count_against_the_same_limit() {
        let mut limiter = StoreLimiter::new(64 * MIB as u64);
        assert!(limiter.memory_growing(0, 57 * MIB, None).unwrap());
        assert!(!limiter.table_growing(0, 1 << 20, None).unwrap());
        assert!(limiter.table_growing(0, 1 << 10, None).unwrap());
    }

    #[test]
    fn growth_past_an_objects_own_maximum_commits_nothing() {
        let mut limiter = StoreLimiter::new(64 * MIB as u64);
        assert!(!limiter.memory_growing(0, 2 * MIB, Some(MIB)).unwrap());
        assert!(!limiter.refused, "wasmtime refuses it, not the limit");
        assert_eq!(limiter.committed(), 0);
    }
}
