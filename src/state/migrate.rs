//! `ict state migrate`: moves an environment's state from one backend to another — local
//! state into the backend a team shares, or back — under both locks, so nobody writes either
//! meanwhile. The target must hold no state of the environment (a read-only copy left by an
//! earlier migration does not count); the source is kept as a read-only copy.

use super::backend::Backend;
use super::error::StateError;
use super::store::Store;

/// What [`migrate`] moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub env: String,
    pub from: String,
    pub to: String,
    /// How many resources the state owns.
    pub resources: usize,
}

/// Moves the state of `from` into `to` for `command` (written into both locks).
pub(crate) fn migrate(
    from: &dyn Backend,
    to: &dyn Backend,
    command: &str,
) -> Result<Migrated, StateError> {
    let env = from.dir().env().to_owned();
    let (held, _) = to.hold(command)?;
    let mut target = Store::with(to.dir().clone(), held, true)?;
    if target.found() {
        return Err(StateError::TargetHoldsState {
            env,
            location: to.location(),
        });
    }
    let source = from.open(command)?.store;
    if !source.found() {
        return Err(StateError::NothingToMigrate {
            env,
            location: from.location(),
        });
    }
    target.replace(source.state().clone())?;
    target.close()?;
    let resources = source.state().resources().len();
    source.retire()?;
    Ok(Migrated {
        env,
        from: from.location(),
        to: to.location(),
        resources,
    })
}
