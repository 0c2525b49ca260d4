//! Tests of `pipeline(...)`: presets, overrides and every mistake reported.
use std::path::Path;

use crate::model::{Desired, Notify, Preset};
use crate::script::{evaluate_source, Options};

fn evaluate(script: &str) -> Result<Desired, Vec<String>> {
    let options = Options::new("dev", indexmap::IndexMap::new());
    evaluate_source("t.ict", script, Path::new("."), options)
        .map(|e| e.desired)
        .map_err(|f| f.problems.iter().map(ToString::to_string).collect())
}

#[test]
fn presets_fill_stages_and_overrides_apply_in_order() {
    let d = evaluate(
        r#"environments(#{ dev: #{}, test: #{} });
        server("web-1", #{ groups: [group("web")] });
        let p = pipeline("app", #{
            repo: "file:///tmp/app.git", preset: "django",
            environments: #{ dev: #{ refs: ["main", "v*"], hosts: "web" }, test: #{ refs: "dev" } },
            env: #{ PORT: 8000, KEY: secret("PATH") },
            stages: #{ zz_smoke: "curl -f localhost", migrate: false, test: "make test", lint: "make lint" },
            service: #{ command: "exec ./run" }, keep: 3, user: "web", path: "/srv/x",
            notify: #{ webhook: "http://127.0.0.1:9/h", command: "notify-send ict" },
            poll: "10s",
        });
        if p.name != "app" { throw "handle"; }"#,
    )
    .expect("valid");
    let p = &d.pipelines["app"];
    assert_eq!(p.preset, Preset::Django);
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["build", "test", "zz_smoke", "lint"]);
    assert_eq!(p.stages[1].command, "make test");
    assert_eq!(
        p.service.as_ref().map(|s| s.command.as_str()),
        Some("exec ./run")
    );
    assert_eq!(
        (p.keep, p.user.as_str(), p.path.as_str()),
        (3, "web", "/srv/x")
    );
    assert_eq!(p.poll.as_secs(), 10);
    let envs: Vec<&str> = p.environments.keys().map(String::as_str).collect();
    assert_eq!(envs, ["dev", "test"]);
    assert!(p.environments["dev"].accepts("v1.0"));
    assert_eq!(p.environments["test"].hosts, "all");
    assert!(p.env["KEY"].has_secret());
    assert_eq!(p.notify.len(), 2);
    assert!(p.notify.contains(&Notify::Command {
        command: "notify-send ict".into()
    }));
}

#[test]
fn mistakes_are_all_reported() {
    let cases: &[(&str, &str)] = &[
        (
            r#"pipeline("a", #{ environments: #{ dev: #{ refs: ["main"] } } });"#,
            "missing `repo`",
        ),
        (
            r#"pipeline("a", #{ repo: "x" });"#,
            "missing `environments`",
        ),
        (
            r#"pipeline("a", #{ repo: "x", preset: "pyhton", environments: #{ dev: #{ refs: ["main"] } } });"#,
            "must be one of python",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["ma in"] } } });"#,
            "ref `ma in`",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"], host: "web" } } });"#,
            "unknown setting `host`",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"], hosts: "db" } } });"#,
            "matches no server",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } }, env: #{ ICT_HOST: "x" } });"#,
            "set by ict",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } }, stages: #{ test: 3 } });"#,
            "must be a shell command",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } }, keep: 0 });"#,
            "at least 1",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } }, path: "srv" });"#,
            "absolute",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } }, poll: "5x" });"#,
            "not a duration",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } }, stagse: #{} });"#,
            "unknown field `stagse`",
        ),
        (
            r#"pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } } }); pipeline("a", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } } });"#,
            "declared twice",
        ),
    ];
    for (body, expected) in cases {
        let script = format!("server(\"web-1\");\n{body}");
        let problems = evaluate(&script).expect_err(body);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{body}: {problems:?}"
        );
    }
}

#[test]
fn undeclared_environments_are_refused() {
    let problems = evaluate(
        r#"environments(#{ prod: #{}, dev: #{} });
        server("web-1");
        pipeline("a", #{ repo: "x", environments: #{ production: #{ refs: ["main"] } } });"#,
    )
    .expect_err("production is not declared");
    assert!(
        problems.iter().any(|p| p.contains("does not declare")),
        "{problems:?}"
    );
}
