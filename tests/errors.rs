//! The corpus of broken scripts under `tests/scripts/errors/`: each one must fail with the
//! expected code at the expected file, line and column (its first line says which), and its
//! whole rendered diagnostic is snapshot-tested.

use std::path::PathBuf;

use crate::test::{root, Test};

fn corpus() -> Vec<(String, PathBuf)> {
    let dir = root().join("tests/scripts/errors");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let script = if path.is_dir() {
            path.join("main.ict")
        } else {
            path
        };
        let relative = script
            .strip_prefix(&dir)
            .expect("inside corpus")
            .to_string_lossy()
            .into_owned();
        cases.push((name, PathBuf::from(relative)));
    }
    cases.sort();
    cases
}

#[test]
fn every_broken_script_points_at_its_mistake() {
    let dir = root().join("tests/scripts/errors");
    let cases = corpus();
    assert!(cases.len() >= 20, "only {} broken scripts", cases.len());
    for (name, script) in cases {
        let text = std::fs::read_to_string(dir.join(&script)).expect("read");
        let header = text.lines().next().unwrap_or_default();
        let expect = header
            .strip_prefix("// expect: ")
            .unwrap_or_else(|| panic!("{name}: no `// expect:` header"));
        let (code, location) = expect.split_once(" at ").expect("`CODE at FILE:LINE:COL`");
        let out = Test::new()
            .current_dir(&dir)
            .args(&["check", script.to_str().expect("utf-8")])
            .run();
        assert_eq!(out.status, 1, "{name} should fail:\n{}", out.stderr);
        assert!(
            !out.stderr.contains("panicked"),
            "{name} panicked:\n{}",
            out.stderr
        );
        let first = out.stderr.split("\n\n").next().unwrap_or_default();
        assert!(
            out.stderr.starts_with(code),
            "{name}: expected {code} first, got:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("[{location}]")),
            "{name}: expected location {location} in:\n{first}\n---\n{}",
            out.stderr
        );
        insta::assert_snapshot!(name, out.stderr);
    }
}

/// One operation may copy a whole array, so the operation budget alone does not bound a
/// script's time: the wall-clock limit stops it where it was (the column depends on timing).
#[test]
fn a_script_that_copies_large_arrays_is_stopped_by_the_time_limit() {
    let out = Test::new()
        .write(
            "slow.ict",
            "// copies 150,000 values 60,000 times: minutes of work in few operations\n\
             let big = []; for i in 0..150000 { big.push(0); } for j in 0..60000 { let t = big; }\n",
        )
        .args(&["--time-limit", "0.5", "check", "slow.ict"])
        .failure();
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "ict::script::time_limit",
            "",
            "  × the script ran for more than 0.5 s and was stopped here",
        ],
        "{}",
        out.stderr
    );
    assert!(lines[3].starts_with("   ╭─[slow.ict:2:"), "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            "  help: is a loop building or copying large arrays or maps? allow more time with --time-limit\n        SECONDS (or ICT_TIME_LIMIT)\n\nerror: 1 problem in slow.ict\n"
        ),
        "{}",
        out.stderr
    );
}

/// `check` validates without secret values (CI has none); `plan` and `apply` need them.
#[test]
fn plan_needs_secret_values_that_check_does_not() {
    let script = "// expect: ict::script::missing_secret at missing_secret.ict:2:10\n\
                  let pw = secret(\"ICT_TEST_UNSET_SECRET\");\n";
    let check = Test::new()
        .write("missing_secret.ict", script)
        .args(&["check", "missing_secret.ict"])
        .success();
    assert_eq!(
        check.stdout,
        "missing_secret.ict: ok (env dev): nothing declared\n"
    );
    let plan = Test::new()
        .write("missing_secret.ict", script)
        .args(&["plan", "missing_secret.ict"])
        .failure();
    insta::assert_snapshot!("missing_secret", plan.stderr);
}
