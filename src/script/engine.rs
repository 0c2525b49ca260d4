//! The one engine factory, used by every command, the REPL and the tests.
//!
//! Sandboxed: Rhai has no file, network or process access of its own; ict adds none, disables
//! `eval`, turns on strict variables and bounds operations, call depth, expression depth, sizes
//! and module count, so that any script stops quickly, whatever it does.

use rhai::Engine;

use super::api::{self, Shared};
use super::resolver::Resolver;
use crate::model::{Style, Value};

/// Default operation budget: far more than 10,000 declarations need, yet an endless loop stops
/// in a fraction of a second.
pub const MAX_OPERATIONS: u64 = 5_000_000;
/// Deepest call nesting (recursion) allowed.
pub const MAX_CALL_LEVELS: usize = 64;

/// Builds a sandboxed engine whose script API records into `builder`.
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
    engine.set_module_resolver(Resolver::new(builder.clone()));
    api::register(&mut engine, builder);
    engine
}
