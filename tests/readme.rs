//! Every ```` ```ict ```` block of README.md and docs/*.md is a script that must check cleanly
//! (blocks marked ```` ```ict,fails ```` must fail).

use crate::test::{root, Test};

fn blocks(markdown: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for line in markdown.lines() {
        match &mut current {
            None => {
                if let Some(info) = line.trim_start().strip_prefix("```ict") {
                    current = Some((String::new(), info.contains("fails")));
                }
            }
            Some((text, fails)) => {
                if line.trim_start().starts_with("```") {
                    out.push((std::mem::take(text), *fails));
                    current = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    out
}

#[test]
fn every_documented_script_checks() {
    let mut files = vec![root().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        files.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md")),
        );
    }
    files.sort();
    let mut count = 0;
    for file in files {
        let markdown = std::fs::read_to_string(&file).expect("read markdown");
        for (i, (script, fails)) in blocks(&markdown).into_iter().enumerate() {
            count += 1;
            // Blocks may name files next to the examples (keys, playbooks), so run them there.
            let out = Test::new()
                .write("keys/deploy.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyD0sz0uByS7F40fGgOxawJTs0/Djqxy1mXrPoLtdIY doc\n")
                .write("playbooks/web.yml", "- hosts: all\n  tasks: []\n")
                .write("playbooks/db.yml", "- hosts: all\n  tasks: []\n")
                .write("doc.ict", &script)
                .env("DB_PASSWORD", "doc-secret")
                .args(&["check", "doc.ict"])
                .run();
            let ok = out.status == 0;
            assert_eq!(
                ok,
                !fails,
                "{} block {}:\n{script}\n{}{}",
                file.display(),
                i + 1,
                out.stdout,
                out.stderr
            );
        }
    }
    assert!(count >= 3, "only {count} ict blocks in the docs");
}

/// The lines of the README's "Two commands on a fresh machine" block, comments left out: the
/// install-and-test command first, then the main job.
fn two_commands(readme: &str) -> Vec<String> {
    let (_, section) = readme
        .split_once("## Two commands on a fresh machine")
        .expect("the README has its two commands");
    let (_, block) = section.split_once("```sh\n").expect("a sh block");
    let (block, _) = block.split_once("```").expect("the block's end");
    block
        .lines()
        .map(|l| {
            l.split_once('#')
                .map_or(l, |(command, _)| command)
                .trim()
                .to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// Issue 15: the README's first command is `INSTALL && TEST`, and `.ci/run` runs exactly that
/// install step and that test command, in that order, so the two cannot drift apart.
#[test]
fn readme_install_step_and_test_command_are_the_ones_ci_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let commands = two_commands(&readme);
    assert_eq!(
        commands,
        [
            "bash scripts/install.sh && cargo test",
            "cargo run --release -- run examples/quickstart.ict --yes",
        ]
    );
    let (install, test) = commands[0].split_once(" && ").expect("INSTALL && TEST");
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    let steps: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let at = |command: &str| {
        steps
            .iter()
            .position(|s| *s == command)
            .unwrap_or_else(|| panic!("`.ci/run` does not run `{command}`:\n{ci}"))
    };
    assert!(
        at(install) < at(test),
        ".ci/run installs after testing:\n{ci}"
    );
    assert_eq!(
        steps.last(),
        Some(&test),
        ".ci/run ends with the test command"
    );
    assert!(
        root().join("scripts/install.sh").is_file(),
        "the install script exists"
    );
}
