//! Metrics: the Prometheus text-format parser and the `node_exporter` figures derived from it.
//!
//! - [`parse`] turns an exposition (`&str`) into a [`Scrape`] that borrows from the text.
//! - [`node`] computes per-server figures (CPU busy %, load, memory, disks, network, uptime)
//!   from two scrapes taken an interval apart.
//!
//! - [`scraper`] fetches expositions from many servers at once (SSH tunnel or HTTP) and turns
//!   two rounds into [`HostFigures`] per server.
//!
//! Parsing and figures are pure functions over plain data (`serde`, `thiserror`, `miette`,
//! `memchr` only); `scraper` alone does I/O, through `ssh` and `reqwest`. [`alert`], the pure
//! alert state machine, also reads the declared rules from `model`.

pub mod alert;
mod error;
mod labels;
pub mod node;
mod parse;
mod scrape;
pub mod scraper;

pub use error::{ParseError, Reason};
pub use labels::{Label, Labels};
pub use node::{figures, MountFigures, NodeFigures};
pub use parse::parse;
pub use scrape::{FamilyRef, MetricType, SampleRef, Scrape};
pub use scraper::{
    figures_between, Endpoint, HostFigures, HostScrape, Hypervisor, ScrapeError, ScrapeOptions,
    ScrapeTarget, Scraper,
};

#[cfg(test)]
mod live_tests;
