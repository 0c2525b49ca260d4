//! Metrics: the Prometheus text-format parser and the `node_exporter` figures derived from it.
//!
//! - [`parse`] turns an exposition (`&str`) into a [`Scrape`] that borrows from the text.
//! - [`node`] computes per-server figures (CPU busy %, load, memory, disks, network, uptime)
//!   from two scrapes taken an interval apart.
//!
//! Everything here is a pure function over plain data; scraping (HTTP/SSH), history and alert
//! rules live elsewhere and call in. May depend on `serde`, `thiserror`, `miette` and `memchr`;
//! [`alert`] (the pure alert state machine) also reads the declared rules from `model`.

pub mod alert;
mod error;
mod labels;
pub mod node;
mod parse;
mod scrape;

pub use error::{ParseError, Reason};
pub use labels::{Label, Labels};
pub use node::{figures, MountFigures, NodeFigures};
pub use parse::parse;
pub use scrape::{FamilyRef, MetricType, SampleRef, Scrape};

#[cfg(test)]
mod live_tests;
