//! Tests of `ict::provider`: the 1cloud client against a scripted fake API, and the
//! `ict cloud ...` commands run as the real binary against the same fake.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod cli;
mod client;
mod fake;
