//! The Rhai script host: engine factory, module resolution, script API and diagnostics. May depend on `model`.
