//! Alert rules over node figures: the value of each figure a `when` expression names, the
//! per-(rule, host) state machine and the rule set that drives it tick by tick.
//!
//! - [`figure`]/[`holds`] read a [`Reading`] (a host's figures, or "unreachable").
//! - [`step`] is the state machine: inactive → pending → firing → resolved → inactive.
//! - [`Rules`] keeps one [`Track`] per (rule, host) and turns a tick's readings into
//!   [`Notice`]s (one when an alert fires, one when it resolves; never repeated).
//!
//! Pure: no I/O, no clock (the caller passes `now` in Unix seconds). Depends on `model` (the
//! declared rules) and `metrics::node` (the figures).

mod machine;
mod rules;
mod value;

pub use machine::{step, Phase, Transition};
pub use rules::{Notice, Rules, Track};
pub use value::{figure, holds, Reading};
