//! The one engine factory, used by every command, the REPL and the tests.
//!
//! Sandboxed: Rhai has no file, network or process access of its own; ict adds none, disables
//! `eval`, turns on strict variables and bounds operations, call depth, expression depth, sizes
//! and module count, so that any script stops quickly, whatever it does. Operations are not
//! enough on their own: one operation may copy an array of 200,000 values, so a [`Clock`] also
//! bounds the wall-clock time of each evaluation.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine};

use super::api::{self, Shared};
use super::error::HostError;
use super::resolver::Resolver;
use crate::model::{Style, Value};

/// Default operation budget: far more than 10,000 declarations need, yet an endless loop stops
/// in a fraction of a second.
pub const MAX_OPERATIONS: u64 = 5_000_000;
/// Deepest call nesting (recursion) allowed.
pub const MAX_CALL_LEVELS: usize = 64;
/// Default wall-clock limit of one evaluation (`--time-limit`, `ICT_TIME_LIMIT`).
pub const TIME_LIMIT: Duration = Duration::from_secs(10);
/// The clock is read every this many operations (reading it costs about as much as one).
const CLOCK_EVERY: u64 = 16;

/// Builds a sandboxed engine whose script API records into `builder` and whose evaluations
/// stop when the builder's clock runs out.
pub(crate) fn new_engine(builder: &Shared, max_operations: u64) -> Engine {
    let mut engine = Engine::new();
    engine.set_max_operations(max_operations);
    engine.set_max_call_levels(MAX_CALL_LEVELS);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_string_size(1 << 20);
    engine.set_max_array_size(200_000);
    engine.set_max_map_size(200_000);
    engine.set_max_modules(256);
    engine.set_strict_variables(true);
    engine.disable_symbol("eval");
    engine.on_print(|text| {
        let text = Value::from_script_string(text).display(Style::References);
        tracing::info!(target: "ict::script::print", "{text}");
    });
    engine.on_debug(|text, source, pos| {
        let text = Value::from_script_string(text).display(Style::References);
        tracing::debug!(target: "ict::script::debug", "{}:{pos}: {text}", source.unwrap_or("script"));
    });
    let clock = builder.borrow().clock.clone();
    engine.on_progress(move |ops| clock.check(ops));
    engine.set_module_resolver(Resolver::new(builder.clone()));
    api::register(&mut engine, builder);
    engine
}

/// The wall-clock budget of one evaluation (a script with its modules, or one REPL input),
/// and what else may stop it (Ctrl-C in the REPL).
pub(crate) struct Clock {
    limit: Duration,
    deadline: Cell<Option<Instant>>,
    interrupt: RefCell<Option<Box<dyn Fn() -> bool>>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("limit", &self.limit)
            .field("deadline", &self.deadline.get())
            .finish_non_exhaustive()
    }
}

impl Clock {
    /// A clock that allows `limit` per evaluation, not started.
    pub(crate) fn new(limit: Duration) -> Rc<Clock> {
        Rc::new(Clock {
            limit,
            deadline: Cell::new(None),
            interrupt: RefCell::new(None),
        })
    }

    /// Starts the budget of an evaluation.
    pub(crate) fn start(&self) {
        self.deadline.set(Instant::now().checked_add(self.limit));
    }

    /// Runs `wait` (a live function waiting for the cloud) without counting its time.
    pub(crate) fn paused<T>(&self, wait: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = wait();
        if let Some(deadline) = self.deadline.get() {
            self.deadline.set(deadline.checked_add(started.elapsed()));
        }
        result
    }

    /// Also stops evaluations when `interrupted` says so.
    pub(crate) fn interrupt_when(&self, interrupted: impl Fn() -> bool + 'static) {
        *self.interrupt.borrow_mut() = Some(Box::new(interrupted));
    }

    /// Rhai's progress callback: the reason to stop, as the termination token.
    fn check(&self, ops: u64) -> Option<Dynamic> {
        if !ops.is_multiple_of(CLOCK_EVERY) {
            return None;
        }
        let stop = |code, message: String, help: &str| {
            Some(Dynamic::from(HostError {
                code,
                message,
                help: Some(help.to_owned()),
                span: None,
            }))
        };
        if self.interrupt.borrow().as_ref().is_some_and(|f| f()) {
            return stop(
                "ict::script::interrupted",
                "interrupted (Ctrl-C)".into(),
                "the input was stopped where it was; nothing it declared is kept",
            );
        }
        if self.deadline.get().is_some_and(|d| Instant::now() >= d) {
            return stop(
                "ict::script::time_limit",
                format!(
                    "the script ran for more than {} s and was stopped here",
                    self.limit.as_secs_f64()
                ),
                "is a loop building or copying large arrays or maps? allow more time with \
                 --time-limit SECONDS (or ICT_TIME_LIMIT)",
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_maps_and_strings_have_size_limits() {
        let options = crate::script::Options::new("dev", indexmap::IndexMap::new());
        let builder = Rc::new(RefCell::new(api::Builder::new(options)));
        let engine = new_engine(&builder, MAX_OPERATIONS);
        // Rhai checks a map's size when it is passed on, not at each `m[k] = v`.
        assert_eq!(engine.max_map_size(), 200_000);
        for script in [
            "let a = []; a.pad(200001, 0);",
            "let s = \"x\"; s.pad(1048577, 'x');",
        ] {
            let error = engine.run(script).expect_err(script);
            assert!(
                matches!(*error, rhai::EvalAltResult::ErrorDataTooLarge(..)),
                "{script}: {error}"
            );
        }
    }

    #[test]
    fn a_clock_stops_when_out_of_time_or_interrupted() {
        let clock = Clock::new(Duration::ZERO);
        assert!(clock.check(CLOCK_EVERY).is_none(), "not started");
        clock.start();
        let stopped = clock.check(CLOCK_EVERY).expect("out of time");
        assert_eq!(
            stopped.clone_cast::<HostError>().code,
            "ict::script::time_limit"
        );
        assert!(
            clock.check(CLOCK_EVERY + 1).is_none(),
            "read every few operations"
        );

        let clock = Clock::new(Duration::from_secs(3600));
        clock.start();
        assert!(clock.check(CLOCK_EVERY).is_none());
        let interrupted = Rc::new(Cell::new(false));
        let flag = interrupted.clone();
        clock.interrupt_when(move || flag.get());
        assert!(clock.check(CLOCK_EVERY).is_none());
        interrupted.set(true);
        let stopped = clock.check(CLOCK_EVERY).expect("interrupted");
        assert_eq!(
            stopped.clone_cast::<HostError>().message,
            "interrupted (Ctrl-C)"
        );
    }
}
