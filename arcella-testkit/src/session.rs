//! Where a harness's component runs: in the shared host process (the
//! default), or in this process with the `embedded` feature. Both take the
//! same requests and give the same replies.

use crate::builder::HarnessBuilder;
use crate::client::Connection;
#[cfg(feature = "embedded")]
use crate::engine::Engine;
use crate::error::Error;
use crate::protocol::{Installed, Reply, Request};

pub(crate) enum Session {
    /// In the host process.
    Process(Connection),
    /// In this process.
    #[cfg(feature = "embedded")]
    Embedded(Box<Engine>),
}

impl Session {
    /// Installs `builder`'s component: in this process when the `embedded`
    /// feature is on and no host was named, else in the host process.
    pub(crate) fn install(builder: &HarnessBuilder) -> Result<(Self, Installed), Error> {
        let setup = builder.setup(None);
        #[cfg(feature = "embedded")]
        if builder.host.is_none() {
            let (engine, installed) = Engine::install(&setup, None)?;
            return Ok((Self::Embedded(Box::new(engine)), installed));
        }
        let mut connection = crate::client::connect(builder.host.as_deref())?;
        match connection.ask(&Request::Install(Box::new(setup)))? {
            Reply::Installed(installed) => Ok((Self::Process(connection), installed)),
            Reply::Failed(error) => Err(error),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends one request and returns its reply.
    pub(crate) fn ask(&mut self, request: Request) -> Result<Reply, Error> {
        match self {
            Self::Process(connection) => connection.ask(&request),
            #[cfg(feature = "embedded")]
            Self::Embedded(engine) => Ok(engine.answer(request)),
        }
    }

    /// The host process's id; `None` in this process.
    pub(crate) fn host_pid(&self) -> Option<u32> {
        match self {
            Self::Process(connection) => Some(connection.host_pid()),
            #[cfg(feature = "embedded")]
            Self::Embedded(_) => None,
        }
    }
}

/// A reply that does not answer the request: the two sides disagree.
pub(crate) fn unexpected(reply: &Reply) -> Error {
    Error::HostLost {
        what: format!("answered out of turn ({reply:?})"),
    }
}
