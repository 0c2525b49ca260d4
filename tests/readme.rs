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
