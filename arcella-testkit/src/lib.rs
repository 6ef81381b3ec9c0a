//! Arcella testkit.
