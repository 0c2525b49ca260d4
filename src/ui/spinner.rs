//! A one-line spinner on standard error (`⠋ asking the cloud for the balance`) while the REPL
//! waits for a live query: indicatif's spinner, advanced by the waiting loop's ticks and
//! erased when it is dropped, so the answer prints on a clean line. Depends on nothing else in
//! ict but [`Ui`].

use std::borrow::Cow;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

use super::Ui;

/// The frames, one per tick (the last one is indicatif's "finished" frame, never shown: the
/// spinner is cleared).
const FRAMES: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ";

impl Ui {
    /// A spinner labelled `label` on standard error (hidden when that is not a terminal): call
    /// `tick()` to draw the next frame; dropping it erases the line.
    pub fn spinner(&self, label: &str) -> ProgressBar {
        spinner(label, ProgressDrawTarget::stderr())
    }
}

fn spinner(label: &str, target: ProgressDrawTarget) -> ProgressBar {
    let style = ProgressStyle::with_template("{spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .tick_chars(FRAMES);
    let bar = ProgressBar::with_draw_target(None, target)
        .with_style(style)
        .with_finish(ProgressFinish::AndClear);
    bar.set_message(Cow::Owned(label.to_owned()));
    bar
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex, PoisonError};

    use indicatif::TermLike;

    use super::*;

    /// A one-line terminal: the line as it stands and each line it showed.
    #[derive(Debug, Default, Clone)]
    struct Line(Arc<Mutex<(String, Vec<String>)>>);

    impl Line {
        fn with<T>(&self, f: impl FnOnce(&mut (String, Vec<String>)) -> T) -> T {
            f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
        }
    }

    impl TermLike for Line {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.with(|(line, shown)| {
                // indicatif pads the line to the terminal's width.
                line.push_str(s.trim_end());
                shown.push(line.clone());
            });
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            self.with(|(line, _)| line.clear());
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_spinner_turns_on_each_tick_and_is_erased_when_dropped() {
        let line = Line::default();
        let spinner = spinner(
            "asking",
            ProgressDrawTarget::term_like(Box::new(line.clone())),
        );
        spinner.tick();
        spinner.tick();
        assert_eq!(line.with(|(now, _)| now.clone()), "⠹ asking");
        drop(spinner);
        let (now, mut shown) = line.with(|l| l.clone());
        assert_eq!(now, "", "erased");
        shown.dedup();
        assert_eq!(shown, ["⠋ asking", "⠙ asking", "⠹ asking"]);
    }
}
