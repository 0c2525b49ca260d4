//! `ict state migrate`: local state into a shared backend and back, with nothing lost, a
//! read-only copy left behind each time; and no secret in what the backend stores.

use std::path::Path;

use ict::state::{State, StateDir};

use super::{checkout, script, Shared};
use crate::reconcile::{base_command, expect, outcome};
use crate::test::{unwrapped, Outcome};

/// `ict ARGS` in `dir` on its built-in emulator, with the backend's secrets.
fn ict(shared: &dyn Shared, dir: &Path, args: &[&str]) -> Outcome {
    outcome(
        base_command(dir, args)
            .envs(shared.secrets())
            .output()
            .unwrap(),
    )
}

/// The script without its `backend(...)` line.
fn without_backend(script: &str) -> String {
    script
        .lines()
        .filter(|line| !line.starts_with("backend("))
        .flat_map(|line| [line, "\n"])
        .collect()
}

fn local_state(dir: &Path) -> State {
    State::load(&StateDir::for_script(&dir.join("infra.ict"), "dev").unwrap()).unwrap()
}

pub async fn state_migrate_round_trips_local_to_the_backend_and_back(shared: &dyn Shared) {
    let team = script(shared, 2, 30);
    let dir = checkout(&without_backend(&team));
    expect(
        &ict(shared, dir.path(), &["apply", "infra.ict", "--yes"]),
        0,
    );
    let before = local_state(dir.path());
    assert_eq!(before.resources().len(), 2);
    let state_dir = dir.path().join(".ict/dev");

    // Without backend(...) there is nowhere to migrate to.
    let refused = ict(shared, dir.path(), &["state", "migrate", "infra.ict"]);
    expect(&refused, 1);
    assert!(
        unwrapped(&refused.stderr).contains("the script declares no backend(...)"),
        "{}",
        refused.stderr
    );

    std::fs::write(dir.path().join("infra.ict"), &team).unwrap();
    let moved = ict(shared, dir.path(), &["state", "migrate", "infra.ict"]);
    expect(&moved, 0);
    assert!(
        moved
            .stdout
            .starts_with("moved the state of environment `dev` (2 resources) from "),
        "{}",
        moved.stdout
    );
    assert!(!state_dir.join("state.json").exists());
    let copy = state_dir.join("state.json.migrated");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&copy).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o400, "the copy left behind is read-only");
    expect(
        &ict(
            shared,
            dir.path(),
            &["plan", "infra.ict", "--detailed-exitcode"],
        ),
        0,
    );
    let listed = ict(
        shared,
        dir.path(),
        &["state", "list", "infra.ict", "--json"],
    );
    expect(&listed, 0);

    // Migrating again finds the state already there.
    let again = ict(shared, dir.path(), &["state", "migrate", "infra.ict"]);
    expect(&again, 1);
    assert!(
        unwrapped(&again.stderr).contains("already holds a state of environment `dev`"),
        "{}",
        again.stderr
    );

    let back = ict(
        shared,
        dir.path(),
        &["state", "migrate", "infra.ict", "--to-local"],
    );
    expect(&back, 0);
    assert_eq!(
        local_state(dir.path()),
        before,
        "nothing lost on the round trip"
    );

    // The backend keeps a read-only copy: with backend(...) still declared, ict refuses it.
    let stale = ict(shared, dir.path(), &["plan", "infra.ict"]);
    expect(&stale, 1);
    assert!(
        unwrapped(&stale.stderr).contains("was moved to another backend"),
        "{}",
        stale.stderr
    );
    std::fs::write(dir.path().join("infra.ict"), without_backend(&team)).unwrap();
    let listed_back = ict(
        shared,
        dir.path(),
        &["state", "list", "infra.ict", "--json"],
    );
    assert_eq!(listed_back.stdout, listed.stdout, "the same state, listed");
    expect(
        &ict(
            shared,
            dir.path(),
            &["plan", "infra.ict", "--detailed-exitcode"],
        ),
        0,
    );
}

pub async fn no_secret_reaches_the_backend(shared: &dyn Shared) {
    const TOKEN: &str = "app-token-5f0c9b";
    let text = format!(
        "{}output(\"token\", secret(\"APP_TOKEN\"));\n",
        script(shared, 1, 30)
    );
    let dir = checkout(&text);
    let run = |args: &[&str]| {
        outcome(
            base_command(dir.path(), args)
                .envs(shared.secrets())
                .env("APP_TOKEN", TOKEN)
                .output()
                .unwrap(),
        )
    };
    let applied = run(&["apply", "infra.ict", "--yes"]);
    expect(&applied, 0);
    let status = run(&["lock", "status", "infra.ict"]);
    expect(&status, 0);

    // Reading the state needs the backend's secrets only, and says which one is missing.
    let output = ict(shared, dir.path(), &["output", "infra.ict"]);
    expect(&output, 0);
    assert_eq!(output.stdout, "\nOutputs:\n\n  token = (sensitive)\n");
    let bare = outcome(
        base_command(dir.path(), &["output", "infra.ict"])
            .output()
            .unwrap(),
    );
    expect(&bare, 1);
    let (variable, _) = &shared.secrets()[0];
    assert!(
        unwrapped(&bare.stderr).contains(&format!("secret `{variable}` for `")),
        "{}",
        bare.stderr
    );
    let dump = shared.dump();
    assert!(
        dump.contains("app-1"),
        "the state is in the backend:\n{dump}"
    );
    let secrets: Vec<String> = shared
        .secrets()
        .into_iter()
        .map(|(_, value)| value)
        .chain([TOKEN.to_owned(), super::PASSWORD.to_owned()])
        .collect();
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "{secret} is in the backend"
        );
        for out in [&applied, &status] {
            assert!(!out.stdout.contains(secret.as_str()) && !out.stderr.contains(secret.as_str()));
        }
    }
}
