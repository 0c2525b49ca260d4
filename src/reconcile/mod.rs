//! The reconciler: [`plan`] (pure: desired vs observed vs state) and [`apply`] (async: executes
//! a plan in dependency order with bounded parallelism, journaling every mutating call).
//! May depend on `model`, `provider` and `state`.

pub mod apply;
mod doomed;
pub mod plan;
mod step;

pub use apply::{apply, settle, Event, Options, Report};
pub use doomed::doomed;
pub use plan::{kinds, needs_catalogue, plan, Input};
pub use step::{
    Action, Change, Moved, NewServer, Plan, RecordValue, Ref, Settle, Step, Summary, Unmanaged,
    Work,
};
