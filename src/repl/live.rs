//! Live queries for REPL functions such as `cloud::servers()`, `metrics(...)` or `exec(...)`.
//!
//! Rhai functions are synchronous and the engine lives on the REPL's own thread, so a live
//! function hands its future to a tokio runtime running on other threads and waits for the
//! answer on a plain channel, ticking a spinner meanwhile (DESIGN decision 2: never `block_on`
//! inside the runtime). Register such functions with [`crate::script::Session::register_live`]:
//!
//! ```ignore
//! let live = Live::new()?;
//! let handle = live.handle();
//! session.register_live(move |engine, _declared| {
//!     let handle = handle.clone();
//!     engine.register_fn("servers", move || {
//!         let spinner = ui.spinner("asking 1cloud");
//!         query(&handle, async { provider.observe().await }, Some(TIMEOUT), None, |_| spinner.tick())
//!     });
//! });
//! ```
//!
//! `cloud.rs` does exactly this for the `cloud::` functions, `plan()` and `exec()`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Runtime};

/// How often a waiting query calls its `tick`.
pub const TICK: Duration = Duration::from_millis(100);

/// Why a live query gave no answer.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LiveError {
    #[error("no answer after {0:?}")]
    #[diagnostic(code(ict::repl::timeout), help("try again, or check the network"))]
    Timeout(Duration),
    #[error("interrupted (Ctrl-C)")]
    #[diagnostic(code(ict::repl::interrupted), help("the session goes on"))]
    Interrupted,
    #[error("the query stopped without an answer")]
    #[diagnostic(
        code(ict::repl::lost),
        help("this is a bug in ict; run with -vv to see why")
    )]
    Lost,
    #[error("a live query was made from inside the async runtime")]
    #[diagnostic(
        code(ict::repl::inside_runtime),
        help("call live functions from the REPL's engine thread, never from a runtime task")
    )]
    InsideRuntime,
}

/// Counts Ctrl-C presses (SIGINT) seen since the session started; a query or an input
/// compares the count with the one it started with.
#[derive(Debug, Clone, Default)]
pub struct Interrupts(Arc<AtomicU64>);

impl Interrupts {
    /// How many Ctrl-C so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Records one Ctrl-C.
    pub fn interrupt(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A tokio runtime on worker threads of its own, for the session's live queries. Once
/// [`Live::listen_for_ctrl_c`] is called, Ctrl-C no longer ends the process: it is counted in
/// [`Live::interrupts`] and stops the query (or input) under way.
pub struct Live {
    runtime: Runtime,
    interrupts: Interrupts,
}

impl Live {
    /// Starts the runtime; call it outside any runtime (the REPL's thread).
    pub fn new() -> std::io::Result<Live> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ict-live")
            .enable_all()
            .build()?;
        Ok(Live {
            runtime,
            interrupts: Interrupts::default(),
        })
    }

    /// From now on, Ctrl-C (SIGINT) is counted instead of ending the process. The handler stays
    /// for the life of the process (tokio never removes it) and runs any handler installed
    /// before it (rustyline's), so call this after the line editor is created.
    pub fn listen_for_ctrl_c(&self) -> std::io::Result<()> {
        let counted = self.interrupts.clone();
        self.runtime.block_on(async {
            let mut signal =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
            tokio::spawn(async move {
                while signal.recv().await.is_some() {
                    counted.interrupt();
                }
            });
            Ok(())
        })
    }

    /// A handle to give to the registered functions.
    pub fn handle(&self) -> Handle {
        self.runtime.handle().clone()
    }

    /// The Ctrl-C counter.
    pub fn interrupts(&self) -> Interrupts {
        self.interrupts.clone()
    }

    /// Runs `future` to completion on this (non-runtime) thread, e.g. to close the provider
    /// connection when the session ends.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// Runs `future` on the runtime behind `handle` and waits for its output on this thread,
/// calling `tick(n)` every [`TICK`] while waiting, for at most `timeout` (if any). A Ctrl-C
/// counted by `interrupts` after the start cancels the future.
pub fn query<T, F>(
    handle: &Handle,
    future: F,
    timeout: Option<Duration>,
    interrupts: Option<&Interrupts>,
    mut tick: impl FnMut(usize),
) -> Result<T, LiveError>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    if Handle::try_current().is_ok() {
        return Err(LiveError::InsideRuntime);
    }
    let seen = interrupts.map(Interrupts::count);
    let (send, receive) = mpsc::channel();
    let task = handle.spawn(async move {
        // The receiver is gone only if the REPL stopped waiting.
        let _ = send.send(future.await);
    });
    let start = Instant::now();
    let mut ticks = 0;
    loop {
        match receive.recv_timeout(TICK) {
            Ok(value) => return Ok(value),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(LiveError::Lost),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if interrupts.map(Interrupts::count) != seen {
            task.abort();
            return Err(LiveError::Interrupted);
        }
        if let Some(limit) = timeout.filter(|t| start.elapsed() >= *t) {
            task.abort();
            return Err(LiveError::Timeout(limit));
        }
        ticks += 1;
        tick(ticks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_answers_while_the_caller_ticks() {
        let live = Live::new().expect("runtime");
        let mut ticks = 0;
        let answer = query(
            &live.handle(),
            async {
                tokio::time::sleep(Duration::from_millis(250)).await;
                42
            },
            Some(Duration::from_secs(5)),
            None,
            |n| ticks = n,
        );
        assert_eq!(answer.expect("answer"), 42);
        assert!(ticks >= 1, "ticked {ticks} times");
    }

    #[test]
    fn a_slow_query_times_out_and_a_runtime_task_may_not_wait() {
        let live = Live::new().expect("runtime");
        let slow = query(
            &live.handle(),
            async { tokio::time::sleep(Duration::from_secs(30)).await },
            Some(Duration::from_millis(200)),
            None,
            |_| {},
        );
        assert!(matches!(slow, Err(LiveError::Timeout(_))));
        let handle = live.handle();
        let inner = live
            .runtime
            .block_on(async move { query(&handle, async { 1 }, None, None, |_| {}) });
        assert!(matches!(inner, Err(LiveError::InsideRuntime)));
    }

    #[test]
    fn a_ctrl_c_cancels_the_query_under_way() {
        struct Guard(Arc<AtomicU64>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let live = Live::new().expect("runtime");
        let interrupts = live.interrupts();
        let dropped = Arc::new(AtomicU64::new(0));
        let guard = Guard(dropped.clone());
        let started = Instant::now();
        let slow = query(
            &live.handle(),
            async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_secs(30)).await;
            },
            None,
            Some(&interrupts),
            |n| {
                if n == 2 {
                    interrupts.interrupt();
                }
            },
        );
        assert!(matches!(slow, Err(LiveError::Interrupted)), "{slow:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The cancelled future is dropped by the runtime soon after.
        let mut waited = 0;
        while dropped.load(Ordering::SeqCst) == 0 && waited < 50 {
            std::thread::sleep(Duration::from_millis(20));
            waited += 1;
        }
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    }
}
