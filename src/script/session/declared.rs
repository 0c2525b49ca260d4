//! [`Declared`]: a session's declarations as live functions (`plan()`) see them, with the same
//! validation as `ict check`. Part of `script::session`; depends on `model` and `script`.

use crate::model::{self, Desired, Sources};
use crate::script::api::Shared;
use crate::script::{Failure, Problem};

/// What a session has declared so far, for live functions; valid until the next `:reload`.
#[derive(Clone)]
pub struct Declared {
    builder: Shared,
}

impl Declared {
    pub(super) fn new(builder: Shared) -> Declared {
        Declared { builder }
    }

    /// The declarations so far (also those of the input being evaluated, up to this point).
    pub fn desired(&self) -> Desired {
        self.builder.borrow().desired.clone()
    }

    /// Runs `wait` (waiting for the cloud) without counting its time against the input's
    /// time limit.
    pub fn paused<T>(&self, wait: impl FnOnce() -> T) -> T {
        let clock = self.builder.borrow().clock.clone();
        clock.paused(wait)
    }

    /// Also stops evaluation when `interrupted` says so (Ctrl-C), with an error where it was.
    pub fn interrupt_when(&self, interrupted: impl Fn() -> bool + 'static) {
        self.builder.borrow().clock.interrupt_when(interrupted);
    }

    /// The loaded sources, for rendering diagnostics.
    pub fn sources(&self) -> Sources {
        self.builder.borrow().sources.clone()
    }

    /// Validates what has been declared so far, like `ict check` does at the end of a script.
    pub fn check(&self) -> Result<Desired, Failure> {
        let desired = self.desired();
        let mut problems: Vec<Problem> = model::validate(&desired)
            .into_iter()
            .map(Problem::from)
            .collect();
        let entry = self.builder.borrow().entry;
        problems.extend(crate::script::undeclared_env(&desired, entry).map(Problem::from));
        if problems.is_empty() {
            Ok(desired)
        } else {
            Err(Failure {
                sources: self.sources(),
                problems,
            })
        }
    }
}
