//! `ict top` in a pseudo-terminal driven by tmux: it starts, shows the servers, and `q` quits
//! cleanly (exit 0, terminal restored). Skipped with a message without tmux unless `CI=true`.

use super::cli::applied_quickstart;
use crate::support::tmux::{read_exit, Tmux};
use crate::test::ict;

#[test]
fn top_shows_the_servers_and_q_quits_cleanly() {
    let dir = applied_quickstart();
    let exit_file = dir.path().join("top.exit");
    // The pane stays open after ict ends (`; sleep`), so the restored screen can be read.
    let command = format!(
        "env NO_COLOR=1 ICT_EMULATOR_SSH=0 ICT_EMULATOR_TASK_DELAY_MS=50 {ict} top quickstart.ict --interval 0.5; echo $? > {exit}; echo TOP-ENDED; sleep 30",
        ict = ict(),
        exit = exit_file.display(),
    );
    let Some(tmux) = Tmux::start("top", dir.path(), (140, 30), &command) else {
        return;
    };
    let screen = tmux.wait_for("the servers with figures", |s| {
        s.contains("ict top")
            && ["db-1", "web-1", "web-2", "web-3"]
                .iter()
                .all(|n| s.contains(n))
            && s.contains("CPU%")
            && s.contains("4 of 4 servers")
    });
    assert!(screen.contains("recent: CPU %"), "{screen}");
    // A filter narrows the rows; then q quits.
    tmux.keys(&["/", "d", "b", "Enter"]);
    tmux.wait_for("the filter", |s| s.contains("1 of 4 servers"));
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("ict top to end", |s| s.contains("TOP-ENDED"));
    assert!(
        !screen.contains("CPU%"),
        "the alternate screen is gone:\n{screen}"
    );
    let code = read_exit(&exit_file);
    assert_eq!(code, "0", "ict top exit status; screen:\n{screen}");
}
