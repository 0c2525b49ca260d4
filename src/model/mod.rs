//! The desired-state model: declarations recorded by scripts, validation and the graph.
//!
//! Pure: depends on no other ict module, performs no I/O.

pub mod limits;
