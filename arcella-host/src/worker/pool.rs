//! The host's worker processes, one per group, and their generations.
//!
//! A group's worker is started on first use. When it dies, the pool forgets
//! it and the next use starts a new one with a new generation number, by
//! which a module knows it must be installed again.

use std::collections::HashMap;
use std::time::Duration;

use super::process::{WorkerCommand, WorkerProcess};
use super::protocol::{Reply, Request};
use crate::error::{Error, Result};
use crate::services::keyvalue::KeyValue;
use crate::services::wasi::output::Stdio;
use crate::store::Observers;

/// The worker processes of one host.
pub(crate) struct WorkerPool {
    command: WorkerCommand,
    stdio: Stdio,
    observers: Observers,
    /// The store every worker's guests reach, over their own connections.
    keyvalue: KeyValue,
    workers: HashMap<String, Worker>,
    next_generation: u64,
}

struct Worker {
    process: WorkerProcess,
    generation: u64,
}

impl WorkerPool {
    /// Workers started with `command`, their guests' output going to
    /// `stdio`, their reports to `observers`, their keyvalue calls to `keyvalue`.
    pub(crate) fn new(
        command: WorkerCommand,
        stdio: Stdio,
        observers: Observers,
        keyvalue: KeyValue,
    ) -> Self {
        Self {
            command,
            stdio,
            observers,
            keyvalue,
            workers: HashMap::new(),
            next_generation: 0,
        }
    }

    /// The generation of `group`'s live worker, starting one if there is none.
    pub(crate) fn ensure(&mut self, group: &str) -> Result<u64> {
        if let Some(worker) = self.workers.get(group) {
            return Ok(worker.generation);
        }
        let process = WorkerProcess::spawn(group, &self.command, &self.keyvalue)?;
        self.next_generation += 1;
        let generation = self.next_generation;
        self.workers.insert(
            group.to_string(),
            Worker {
                process,
                generation,
            },
        );
        Ok(generation)
    }

    /// The generation of `group`'s live worker, if it has one.
    pub(crate) fn generation(&self, group: &str) -> Option<u64> {
        self.workers.get(group).map(|worker| worker.generation)
    }

    /// The process id of `group`'s worker, if one is running.
    pub(crate) fn pid(&self, group: &str) -> Option<u32> {
        self.workers
            .get(group)
            .and_then(|worker| worker.process.pid())
    }

    /// One request to `group`'s worker. If the worker dies, it is forgotten
    /// and the error is [`Error::WorkerDied`] naming the group.
    pub(crate) async fn call(
        &mut self,
        group: &str,
        request: &Request<'_>,
        deadline: Duration,
    ) -> Result<Reply> {
        self.ensure(group)?;
        let Some(worker) = self.workers.get_mut(group) else {
            unreachable!("ensured just above");
        };
        let result = worker
            .process
            .call(request, deadline, &self.stdio, &self.observers)
            .await;
        if let Err(Error::WorkerDied { .. }) = &result {
            self.workers.remove(group);
        }
        result
    }
}
