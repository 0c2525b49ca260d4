//! The terminal session: a rustyline editor with a persistent history file
//! (`$XDG_DATA_HOME/ict/history`, else `~/.local/share/ict/history`), the [`ReplHelper`], and
//! the loop: Ctrl-C cancels the line being typed, Ctrl-D (or `:quit`) leaves.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use rustyline::config::{ColorMode, CompletionType};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use super::cloud::Cloud;
use super::complete::Words;
use super::helper::ReplHelper;
use super::{step, Printer, Step};
use crate::script::Session;

const PROMPT: &str = "ict> ";

/// Where the history is kept.
pub(super) fn history_file() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(data.join("ict").join("history"))
}

/// Runs the editor loop until Ctrl-D or `:quit`.
pub(super) fn run(
    session: &mut Session,
    printer: &Printer<'_>,
    cloud: Option<&Cloud>,
    color: bool,
) {
    let config = Config::builder()
        .max_history_size(1000)
        .unwrap_or_else(|_| Config::builder())
        .history_ignore_space(true)
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .color_mode(if color {
            ColorMode::Enabled
        } else {
            ColorMode::Disabled
        })
        .build();
    let mut editor: Editor<ReplHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            printer
                .ui
                .note(&format!("error: cannot start the line editor: {e}"));
            return;
        }
    };
    // After the editor: rustyline replaces the SIGINT handler when it is created (and restores
    // the old one when dropped); ours, installed now, takes over while the editor lives.
    if let Some(cloud) = cloud {
        cloud.listen_for_ctrl_c();
    }
    let words = Rc::new(RefCell::new(Words::of(session)));
    editor.set_helper(Some(ReplHelper {
        words: words.clone(),
        color,
    }));
    let history = history_file();
    if let Some(path) = &history {
        // A first run has no history yet.
        let _ = editor.load_history(path);
    }
    printer
        .ui
        .note("ict repl: type :help for help, Ctrl-D to leave");
    loop {
        match editor.readline(PROMPT) {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line.as_str());
                if step(&line, session, printer, cloud) == Step::Quit {
                    break;
                }
                *words.borrow_mut() = Words::of(session);
            }
            Err(ReadlineError::Interrupted) => {}
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                printer.ui.note(&format!("error: {e}"));
                break;
            }
        }
    }
    if let Some(path) = &history {
        let saved = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .map_err(rustyline::error::ReadlineError::Io)
            .and_then(|()| editor.save_history(path));
        if let Err(e) = saved {
            printer.ui.note(&format!(
                "warning: cannot save the history to {}: {e}",
                path.display()
            ));
        }
    }
}
