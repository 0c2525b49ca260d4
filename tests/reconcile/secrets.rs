//! The API token never shows: not in anything ict prints (even at the highest verbosity, even
//! when the cloud refuses it) and not in any file it writes.

use std::path::Path;

use super::{expect, quickstart, Cloud, TOKEN};

fn files_containing(dir: &Path, needle: &str, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files_containing(&path, needle, found);
        } else if std::fs::read(&path)
            .expect("read")
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
}

#[tokio::test]
async fn the_token_appears_in_no_output_and_no_file() {
    let dir = quickstart();
    // The emulator's own state file is the cloud's business; keep it outside the project.
    let cloud_dir = tempfile::tempdir().expect("tempdir");
    let mut cloud = Cloud::start(
        &cloud_dir.path().join("cloud.json"),
        &["--task-delay", "20"],
    );
    let mut said = String::new();
    let runs: [(&[&str], i32); 6] = [
        (&["plan", "quickstart.ict", "-vv"], 0),
        (&["plan", "quickstart.ict", "--out", "saved.plan", "-vv"], 0),
        (&["apply", "saved.plan", "-vv"], 0),
        (&["plan", "quickstart.ict", "--json", "-vv"], 0),
        (&["cloud", "servers", "-vv"], 0),
        (&["destroy", "quickstart.ict", "--yes", "-vv"], 0),
    ];
    for (args, status) in runs {
        let out = cloud.ict(dir.path(), args);
        expect(&out, status);
        said.push_str(&out.stdout);
        said.push_str(&out.stderr);
    }
    // A cloud that refuses the token: the error says so without repeating it.
    cloud.restart_with(&["--task-delay", "20"]);
    let wrong = format!("{TOKEN}0");
    let out = outcome_with_token(&cloud, dir.path(), &wrong);
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert!(!format!("{}{}", out.stdout, out.stderr).contains(&wrong));
    said.push_str(&out.stdout);
    said.push_str(&out.stderr);

    assert!(said.contains("provider: 1cloud API"), "{said}");
    assert!(!said.contains(TOKEN), "the token was printed:\n{said}");
    let mut found = Vec::new();
    files_containing(dir.path(), TOKEN, &mut found);
    assert!(found.is_empty(), "the token was written to {found:?}");
    assert!(dir.path().join(".ict/dev/state.json").exists());
}

fn outcome_with_token(cloud: &Cloud, dir: &Path, token: &str) -> crate::test::Outcome {
    let output = cloud
        .command(dir, &["plan", "quickstart.ict", "-vv"])
        .env("ONECLOUD_TOKEN", token)
        .output()
        .expect("run ict");
    super::outcome(output)
}
