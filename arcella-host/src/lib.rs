//! The embedded host of Arcella.
pub mod capabilities;
pub mod contract;
pub mod diagnostic;
pub mod limits;
pub mod manifest;
