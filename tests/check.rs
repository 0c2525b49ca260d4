//! `ict check`: inputs from the command line and the sandbox.

use crate::test::Test;

#[test]
fn missing_file_is_a_clear_error() {
    let out = Test::new().args(&["check", "nope.ict"]).failure();
    assert!(
        out.stderr.contains("cannot read nope.ict"),
        "{}",
        out.stderr
    );
}

#[test]
fn secrets_never_print() {
    let out = Test::new()
        .write("s.ict", r#"let p = secret("ICT_TEST_PASSWORD"); print(`password is ${p}`); server("a", #{ vars: #{ password: p } });"#)
        .env("ICT_TEST_PASSWORD", "hunter2-very-secret")
        .args(&["graph", "s.ict", "--format", "json"])
        .success();
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    assert!(out.stdout.contains("(sensitive)"), "{}", out.stdout);
    assert!(
        out.stderr.contains("password is (sensitive)"),
        "{}",
        out.stderr
    );
}

#[test]
fn env_and_variable_inputs() {
    let script = r#"server(env("ICT_TEST_NAME", "fallback"), #{ cpu: variable("cpu", 1) });"#;
    let out = Test::new()
        .write("e.ict", script)
        .env("ICT_TEST_NAME", "from-env")
        .args(&["--var", "cpu=4", "graph", "e.ict"])
        .success();
    assert!(
        out.stdout.contains("server.from-env  4 vCPU"),
        "{}",
        out.stdout
    );
    let out = Test::new()
        .write("e.ict", script)
        .args(&["graph", "e.ict"])
        .success();
    assert!(
        out.stdout.contains("server.fallback  1 vCPU"),
        "{}",
        out.stdout
    );
}

#[test]
fn ict_path_modules() {
    let t = Test::new()
        .write(
            "lib/shared/common.ict",
            "fn web(n) { server(n, #{ cpu: 2 }) }",
        )
        .write("p/infra.ict", "import \"common\" as c; c::web(\"w\");");
    let lib = t.path().join("lib/shared");
    let out = t
        .env("ICT_PATH", lib.to_str().expect("utf-8"))
        .args(&["graph", "p/infra.ict"])
        .success();
    assert!(out.stdout.contains("server.w  2 vCPU"), "{}", out.stdout);
}

#[test]
fn completions_are_generated() {
    let out = Test::new().args(&["completions", "bash"]).success();
    assert!(
        out.stdout.contains("_ict()"),
        "{}",
        &out.stdout[..out.stdout.len().min(200)]
    );
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    assert_eq!(Test::new().args(&["check"]).run().status, 1);
    let help = Test::new().args(&["--help"]).success();
    assert!(help.stdout.contains("check") && help.stdout.contains("graph"));
}

#[test]
fn a_byte_order_mark_is_accepted_in_scripts_and_modules() {
    let out = Test::new()
        .write(
            "infra.ict",
            "\u{feff}import \"./tier\" as tier;\ntier::web(\"web-1\");\n",
        )
        .write("tier.ict", "\u{feff}fn web(n) { server(n) }\n")
        .args(&["check", "infra.ict"])
        .success();
    assert_eq!(out.stdout, "infra.ict: ok (env dev): 1 server\n");
}

#[test]
fn check_and_plan_agree_on_environment_names() {
    let script = r#"environments(#{ dev: #{}, "my env": #{} }); server("web-1");"#;
    for command in ["check", "plan"] {
        let out = Test::new()
            .write("infra.ict", script)
            .args(&[command, "infra.ict", "--env", "my env"])
            .failure();
        assert!(
            out.stderr.starts_with(
                "ict::script::env_name\n\n  × `my env` is not a valid environment name\n"
            ),
            "{command}: {}",
            out.stderr
        );
    }
}

const READS_VARIABLES: &str = r#"let cpu = variable("cpu", 1);
if environment() == "prod" { server("db", #{ disk: variable("db_disk", 20) }); }
server("web-1", #{ cpu: cpu });
"#;

#[test]
fn a_var_the_script_does_not_read_is_an_error_with_did_you_mean() {
    let out = Test::new()
        .write("v.ict", READS_VARIABLES)
        .args(&["--var", "cpus=2", "check", "v.ict"])
        .failure();
    assert!(
        out.stderr.starts_with(
            "ict::script::unknown_var\n\n  × `--var cpus=…` sets a variable the script does not read\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .ends_with("  help: did you mean `cpu`?\n\nerror: 1 problem in v.ict\n"),
        "{}",
        out.stderr
    );
    // A variable read only in another environment's branch is still the script's.
    Test::new()
        .write("v.ict", READS_VARIABLES)
        .args(&["--var", "db_disk=30", "check", "v.ict"])
        .success();
}

#[test]
fn a_var_without_a_name_is_a_usage_error() {
    let out = Test::new()
        .write("v.ict", READS_VARIABLES)
        .args(&["--var", "=x", "check", "v.ict"])
        .failure();
    assert_eq!(out.stderr, "error: `--var =x` must look like KEY=VALUE\n");
}

#[test]
fn target_and_replace_that_match_nothing_are_errors_with_did_you_mean() {
    for (flag, name, error) in [
        (
            "--target",
            "wbe-1",
            "ict::command::no_match\n\n  × `--target wbe-1` matches nothing\n  help: did you mean \
             `web-1`?\n",
        ),
        (
            "--replace",
            "server.web-1",
            "ict::command::no_match\n\n  × `--replace server.web-1` matches nothing\n  help: did \
             you mean `web-1`?\n",
        ),
        (
            "--replace",
            "db",
            "ict::command::no_match\n\n  × `--replace db` matches nothing\n  help: choose from: \
             web-1\n",
        ),
    ] {
        let out = Test::new()
            .write("v.ict", READS_VARIABLES)
            .args(&["plan", "v.ict", flag, name])
            .failure();
        assert_eq!(out.stderr, error, "{flag} {name}");
    }
    let out = Test::new()
        .write("v.ict", READS_VARIABLES)
        .args(&["plan", "v.ict", "--target", "server.web-1"])
        .success();
    assert!(
        out.stdout
            .ends_with("Plan: 1 to add, 0 to change, 0 to destroy.\n"),
        "{}",
        out.stdout
    );
}

/// `docs/deploy.md`'s stdlib block installs `node_exporter` on two host patterns with different
/// options: two playbooks, each on its own hosts.
#[test]
fn the_documented_node_exporter_on_two_host_patterns_checks() {
    let doc = std::fs::read_to_string(crate::test::root().join("docs/deploy.md")).expect("read");
    let block = doc
        .split("## Standard-library playbooks")
        .nth(1)
        .and_then(|s| s.split("```ict\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the stdlib block of docs/deploy.md");
    assert!(block.contains("ne::install_with(\"db\""), "{block}");
    let out = Test::new()
        .write("infra.ict", block)
        .args(&["graph", "infra.ict", "--format", "json"])
        .success();
    let graph: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let playbooks: Vec<(String, String)> = graph["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["kind"] == "playbook")
        .map(|n| {
            (
                n["name"].as_str().unwrap_or_default().to_owned(),
                n["hosts"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        playbooks,
        [
            ("base".to_owned(), "\"all\"".to_owned()),
            ("node_exporter".to_owned(), "\"web\"".to_owned()),
            ("node_exporter-db".to_owned(), "\"db\"".to_owned()),
        ]
    );
}

/// Option values are checked once, when the arguments are read (issue 17 item 2): a bad one is
/// a usage error before the script is read or an emulator started.
#[test]
fn option_values_are_checked_before_anything_runs() {
    for (args, error) in [
        (
            &["metrics", "missing.ict", "--interval=-1"][..],
            "error: `--interval -1` must be a number of seconds (0 or more)\n",
        ),
        (
            &["top", "missing.ict", "--interval", "0"][..],
            "error: `--interval 0` must be a number of seconds above 0\n",
        ),
        (
            &["metrics", "missing.ict", "--timeout", "0"][..],
            "error: `--timeout 0` must be a number of seconds above 0\n",
        ),
        (
            &["watch", "missing.ict", "--interval", "0.001"][..],
            "error: --interval must be a number of seconds of at least 0.01, not 0.001\n",
        ),
    ] {
        let test = Test::new().args(args);
        let out = test.failure();
        assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", error));
        assert!(
            !test.path().join(".ict").exists(),
            "{args:?} started something"
        );
    }
}
