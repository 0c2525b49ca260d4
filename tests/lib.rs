//! Integration tests: one binary that drives the real `ict` executable, like a user would.
//! `Test` (in test.rs) writes files into a temporary folder, runs `ict` there and compares
//! what it printed and how it exited.

// Test helpers are shared between test modules of this one crate; `pub` is the simple way.
#![allow(unreachable_pub)]

mod check;
mod citations;
mod contract;
mod dashboard;
mod deploy;
mod emulator;
mod errors;
mod examples;
mod exec_hosts;
mod graph;
mod libvirt;
mod metrics;
mod pipeline;
mod provider;
mod readme;
mod reconcile;
mod repl;
mod schedule;
mod ssh;
mod state;
mod team;
mod watch;
mod support {
    pub(crate) mod browser;
    pub(crate) mod child;
    pub(crate) mod daemon;
    pub(crate) mod ips;
    pub(crate) mod libvirt;
    pub(crate) mod postgres;
    pub(crate) mod s3;
    pub(crate) mod sshd;
    pub(crate) mod tmux;
}
mod test;
