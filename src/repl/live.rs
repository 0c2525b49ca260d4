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
//! session.register_live(move |engine| {
//!     let handle = handle.clone();
//!     engine.register_fn("servers", move || {
//!         let mut spinner = Spinner::new(std::io::stderr(), "asking 1cloud");
//!         query(&handle, async { provider.observe().await }, TIMEOUT, |_| spinner.tick())
//!     });
//! });
//! ```

use std::future::Future;
use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Runtime};

/// How often a waiting query calls its `tick`.
pub const TICK: Duration = Duration::from_millis(100);

/// Why a live query gave no answer.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LiveError {
    #[error("no answer after {0:?}")]
    #[diagnostic(
        code(ict::repl::timeout),
        help("the query goes on in the background; try again, or check the network")
    )]
    Timeout(Duration),
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

/// A tokio runtime on worker threads of its own, for the session's live queries.
pub struct Live {
    runtime: Runtime,
}

impl Live {
    /// Starts the runtime; call it outside any runtime (the REPL's thread).
    pub fn new() -> std::io::Result<Live> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ict-live")
            .enable_all()
            .build()?;
        Ok(Live { runtime })
    }

    /// A handle to give to the registered functions.
    pub fn handle(&self) -> Handle {
        self.runtime.handle().clone()
    }
}

/// Runs `future` on the runtime behind `handle` and waits for its output on this thread,
/// calling `tick(n)` every [`TICK`] while waiting, for at most `timeout`.
pub fn query<T, F>(
    handle: &Handle,
    future: F,
    timeout: Duration,
    mut tick: impl FnMut(usize),
) -> Result<T, LiveError>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    if Handle::try_current().is_ok() {
        return Err(LiveError::InsideRuntime);
    }
    let (send, receive) = mpsc::channel();
    handle.spawn(async move {
        // The receiver is gone only if the REPL stopped waiting (timeout).
        let _ = send.send(future.await);
    });
    let start = Instant::now();
    let mut ticks = 0;
    loop {
        match receive.recv_timeout(TICK) {
            Ok(value) => return Ok(value),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(LiveError::Lost),
            Err(mpsc::RecvTimeoutError::Timeout) if start.elapsed() >= timeout => {
                return Err(LiveError::Timeout(timeout));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                ticks += 1;
                tick(ticks);
            }
        }
    }
}

/// A one-line spinner (`⠋ asking 1cloud`), redrawn in place on `out` (stderr, from `ui`) and
/// erased when dropped.
pub struct Spinner<W: Write> {
    out: W,
    label: String,
    frame: usize,
    drawn: bool,
}

const FRAMES: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl<W: Write> Spinner<W> {
    pub fn new(out: W, label: &str) -> Spinner<W> {
        Spinner {
            out,
            label: label.to_owned(),
            frame: 0,
            drawn: false,
        }
    }

    /// Draws the next frame.
    pub fn tick(&mut self) {
        let c = FRAMES[self.frame % FRAMES.len()];
        self.frame += 1;
        self.drawn = true;
        // A spinner that cannot be drawn is not worth an error.
        let _ = write!(self.out, "\r{c} {}", self.label).and_then(|()| self.out.flush());
    }
}

impl<W: Write> Drop for Spinner<W> {
    fn drop(&mut self) {
        if self.drawn {
            let _ = write!(self.out, "\r\x1b[K").and_then(|()| self.out.flush());
        }
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
            Duration::from_secs(5),
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
            Duration::from_millis(200),
            |_| {},
        );
        assert!(matches!(slow, Err(LiveError::Timeout(_))));
        let handle = live.handle();
        let inner = live
            .runtime
            .block_on(async move { query(&handle, async { 1 }, Duration::from_secs(1), |_| {}) });
        assert!(matches!(inner, Err(LiveError::InsideRuntime)));
    }

    #[test]
    fn the_spinner_draws_and_erases_its_line() {
        let mut out = Vec::new();
        {
            let mut spinner = Spinner::new(&mut out, "asking");
            spinner.tick();
            spinner.tick();
        }
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text, "\r⠋ asking\r⠙ asking\r\x1b[K");
    }
}
