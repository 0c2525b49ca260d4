//! `apply`: executes a [`Plan`] against a [`Provider`] in dependency order, with at most
//! `parallelism` steps in flight. Every mutating call is journaled in the state before it is
//! made and its result recorded after (DESIGN decision 4), so a crash at any point leaves a state
//! that the next plan can reconcile without creating anything twice.
//!
//! `steps.rs` does the API work of each kind of step.
//!
//! A failed step does not stop unrelated steps; the steps that depend on it are skipped. When
//! `stop` is raised (first Ctrl-C), nothing new is started and the steps in flight finish.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::provider::Provider;
use crate::state::{Address, JournalOp, Outcome, StateError, Store};

use super::step::{Action, Plan, Ref};

mod steps;

use steps::run_step;

/// How to apply.
#[derive(Debug, Clone)]
pub struct Options {
    /// Steps in flight at once.
    pub parallelism: usize,
    /// How long to wait for one 1cloud task (server creation, resize, power) to complete.
    pub task_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            parallelism: 10,
            task_timeout: Duration::from_secs(900),
        }
    }
}

/// Progress, for the ui.
#[derive(Debug, Clone)]
pub enum Event {
    Started {
        address: Address,
        action: Action,
    },
    Finished {
        address: Address,
        action: Action,
        elapsed: Duration,
        detail: String,
    },
    Failed {
        address: Address,
        message: String,
    },
    Skipped {
        address: Address,
        because: Address,
    },
}

/// The outcome of an apply.
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<Address>,
    pub failed: Vec<(Address, String)>,
    pub skipped: Vec<(Address, Address)>,
    /// Steps not started because of an interruption.
    pub not_started: Vec<Address>,
}

impl Report {
    /// Whether everything in the plan was done.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.not_started.is_empty()
    }
}

/// Shared by the steps of one apply.
struct Shared<P> {
    provider: P,
    store: Mutex<Store>,
    /// IDs created during this apply (and known from state), by address.
    ids: Mutex<BTreeMap<Address, u64>>,
    /// Server IPs learned during this apply, for DNS records.
    ips: Mutex<BTreeMap<Address, String>>,
    options: Options,
}

/// Closes the journal entries `plan` accounts for ([`Plan::settle`]): an object an interrupted
/// create made becomes owned, one an interrupted delete removed is forgotten; superseded
/// operations are dropped. Then rebinds the addresses the script renamed ([`Plan::moves`]).
/// All of it in one commit. `apply` does it first; call it on its own when the plan has no
/// steps.
pub fn settle(plan: &Plan, store: &mut Store) -> Result<(), StateError> {
    if plan.settle.is_empty() && plan.moves.is_empty() {
        return Ok(());
    }
    store.commit(|state| {
        for entry in &plan.settle {
            let outcome = match entry.recovered {
                Some(id) => Outcome::Done { id },
                None => Outcome::Failed {
                    message: "superseded: a later run planned from the cloud's state".into(),
                },
            };
            // An entry already closed (a second settle of the same plan) is no error.
            if state.journal().get(entry.seq).is_some() {
                state.finish(entry.seq, &outcome)?;
            }
        }
        for moved in &plan.moves {
            state.rename(&moved.from, &moved.to);
        }
        Ok(())
    })
}

/// Applies `plan`. Returns the store (to be closed by the caller) and the report.
pub async fn apply<P, F>(
    plan: &Plan,
    provider: P,
    store: Store,
    options: Options,
    stop: Arc<AtomicBool>,
    on_event: F,
) -> (Store, Report)
where
    P: Provider + Clone + 'static,
    F: Fn(Event) + Send + Sync + 'static,
{
    let ids = store
        .state()
        .resources()
        .iter()
        .map(|(a, r)| (a.clone(), r.id))
        .collect();
    let shared = Arc::new(Shared {
        provider,
        store: Mutex::new(store),
        ids: Mutex::new(ids),
        ips: Mutex::new(BTreeMap::new()),
        options,
    });
    let on_event = Arc::new(on_event);
    let index: BTreeMap<&Address, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.address, i))
        .collect();
    let deps: Vec<Vec<usize>> = plan
        .steps
        .iter()
        .map(|s| {
            s.after
                .iter()
                .filter_map(|a| index.get(a).copied())
                .collect()
        })
        .collect();
    let mut status = vec![Status::Waiting; plan.steps.len()];
    let mut report = Report::default();
    let mut running: JoinSet<(usize, Result<String, String>, Duration)> = JoinSet::new();
    let parallelism = shared.options.parallelism.max(1);
    loop {
        // Skip steps whose dependencies failed; start ready ones.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for i in 0..plan.steps.len() {
                if status[i] != Status::Waiting {
                    continue;
                }
                if let Some(&bad) = deps[i]
                    .iter()
                    .find(|&&d| matches!(status[d], Status::Failed | Status::Skipped))
                {
                    status[i] = Status::Skipped;
                    let because = plan.steps[bad].address.clone();
                    on_event(Event::Skipped {
                        address: plan.steps[i].address.clone(),
                        because: because.clone(),
                    });
                    report
                        .skipped
                        .push((plan.steps[i].address.clone(), because));
                    progressed = true;
                }
            }
        }
        if !stop.load(Ordering::SeqCst) {
            for i in 0..plan.steps.len() {
                if running.len() >= parallelism {
                    break;
                }
                if status[i] == Status::Waiting
                    && deps[i].iter().all(|&d| status[d] == Status::Done)
                {
                    status[i] = Status::Running;
                    let step = plan.steps[i].clone();
                    on_event(Event::Started {
                        address: step.address.clone(),
                        action: step.action,
                    });
                    let shared = shared.clone();
                    running.spawn(async move {
                        let started = Instant::now();
                        let result = run_step(&shared, &step).await.map_err(|e| e.to_string());
                        (i, result, started.elapsed())
                    });
                }
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (i, result, elapsed) = match joined {
            Ok(outcome) => outcome,
            Err(e) => {
                // A panicking step: report it and keep going (its index is unknown).
                tracing::error!("a step panicked: {e}");
                continue;
            }
        };
        let step = &plan.steps[i];
        match result {
            Ok(detail) => {
                status[i] = Status::Done;
                report.done.push(step.address.clone());
                on_event(Event::Finished {
                    address: step.address.clone(),
                    action: step.action,
                    elapsed,
                    detail,
                });
            }
            Err(message) => {
                status[i] = Status::Failed;
                on_event(Event::Failed {
                    address: step.address.clone(),
                    message: message.clone(),
                });
                report.failed.push((step.address.clone(), message));
            }
        }
    }
    for (i, s) in status.iter().enumerate() {
        if *s == Status::Waiting {
            report.not_started.push(plan.steps[i].address.clone());
        }
    }
    let shared =
        Arc::try_unwrap(shared).unwrap_or_else(|_| unreachable!("all steps have finished"));
    let store = shared
        .store
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (store, report)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    #[error("state: {0}")]
    State(#[from] StateError),
    #[error("{0} was not created")]
    Missing(Address),
}

impl<P: Provider> Shared<P> {
    /// Runs `change` on the store. A commit fsyncs, so on a multi-threaded runtime the worker
    /// thread is handed over for the duration (steps in flight and an in-process emulator
    /// keep running instead of queueing behind the disk).
    fn with_store<T>(&self, change: impl FnOnce(&mut Store) -> T) -> T {
        let run = || {
            change(
                &mut self
                    .store
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(run)
        } else {
            run()
        }
    }

    fn begin(&self, op: JournalOp) -> Result<crate::state::Seq, StateError> {
        self.with_store(|store| store.begin(op))
    }

    fn finish(&self, seq: crate::state::Seq, outcome: &Outcome) -> Result<(), StateError> {
        self.with_store(|store| store.finish(seq, outcome).map(|_| ()))
    }

    /// Runs one journaled call: intent, call, result.
    async fn journaled<T>(
        &self,
        op: JournalOp,
        call: impl std::future::Future<Output = Result<T, crate::provider::ProviderError>>,
        id_of: impl Fn(&T) -> u64,
    ) -> Result<T, StepError> {
        let seq = self.begin(op)?;
        match call.await {
            Ok(value) => {
                self.finish(seq, &Outcome::Done { id: id_of(&value) })?;
                Ok(value)
            }
            // A call whose outcome is unknown (no answer) stays in the journal: the next plan
            // finds out from the cloud whether it took effect.
            Err(e) if e.outcome_unknown() => Err(e.into()),
            Err(e) => {
                self.finish(
                    seq,
                    &Outcome::Failed {
                        message: e.to_string(),
                    },
                )?;
                Err(e.into())
            }
        }
    }

    fn id(&self, address: &Address) -> Option<u64> {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(address)
            .copied()
    }

    fn set_id(&self, address: &Address, id: u64) {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(address.clone(), id);
    }

    fn resolve<T: Copy + From<u64>>(&self, r: &Ref<T>) -> Result<T, StepError> {
        match r {
            Ref::Id(id) => Ok(*id),
            Ref::Address(a) => self
                .id(a)
                .map(T::from)
                .ok_or_else(|| StepError::Missing(a.clone())),
        }
    }

    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.options.task_timeout
    }
}
