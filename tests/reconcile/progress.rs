//! `ict apply` on a terminal draws progress bars (an overall bar and a spinner per change in
//! flight) and leaves only the finished lines and the recap behind; piped, it prints plain
//! lines (every other test). Driven in tmux, skipped without it unless `CI=true`.

use crate::support::tmux::{read_exit, Tmux};
use crate::test::ict;

#[test]
fn a_terminal_shows_bars_while_applying_and_plain_lines_after() {
    let dir = crate::test::TempProject::new();
    std::fs::write(
        dir.path().join("infra.ict"),
        "for n in [\"a\", \"b\", \"c\"] { server(n, #{ cpu: 1, ram: 1024, disk: 20 }); }\n",
    )
    .unwrap();
    let exit_file = dir.path().join("apply.exit");
    let command = format!(
        "env -u ONECLOUD_TOKEN NO_COLOR=1 ICT_EMULATOR_SSH=0 ICT_EMULATOR_METRICS=0 ICT_EMULATOR_TASK_DELAY_MS=1500 {ict} apply infra.ict --yes; echo $? > {exit}; echo APPLY-ENDED; sleep 30",
        ict = ict(),
        exit = exit_file.display(),
    );
    let Some(tmux) = Tmux::start("progress", dir.path(), (120, 40), &command) else {
        return;
    };
    let screen = tmux.wait_for("the bars", |s| {
        s.contains("Applying, 3 in flight")
            && s.contains("0/3")
            && s.contains("server.a: creating…")
    });
    assert!(!screen.contains("APPLY-ENDED"), "{screen}");
    let screen = tmux.wait_for("the end", |s| s.contains("APPLY-ENDED"));
    assert_eq!(read_exit(&exit_file), "0", "{screen}");
    assert!(
        screen.contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{screen}"
    );
    for name in ["a", "b", "c"] {
        assert!(
            screen.contains(&format!("server.{name}: created in")),
            "{screen}"
        );
    }
    assert!(
        !screen.contains("Applying"),
        "the bars are cleared:\n{screen}"
    );
    assert!(
        !screen.contains("creating…"),
        "the spinners are cleared:\n{screen}"
    );
}
