//! Tests of `pipeline(...)`: presets, overrides and every mistake reported.

use crate::model::pipeline::Health;
use crate::model::{Notify, Preset, Sandbox};
use crate::script::evaluate_text as evaluate;

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
            poll: "10s", sandbox: "on",
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
    assert_eq!(p.sandbox, Sandbox::On);
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
            r#"pipeline("a", #{ repo: "x", sandbox: "yes", environments: #{ dev: #{ refs: ["main"] } } });"#,
            "`sandbox` must be one of auto, on, off",
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

/// The pipeline `app` of a script declaring one server and `pipeline("app", #{ OPTIONS })`.
fn one(options: &str) -> crate::model::Pipeline {
    let script = format!(
        "server(\"web-1\");\npipeline(\"app\", #{{ repo: \"file:///r.git\", \
         environments: #{{ dev: #{{ refs: [\"main\"] }} }}, {options} }});"
    );
    let mut d = evaluate(&script).unwrap_or_else(|p| panic!("{options}: {p:?}"));
    d.pipelines.shift_remove("app").expect("declared")
}

fn names(p: &crate::model::Pipeline) -> Vec<&str> {
    p.stages.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn each_preset_gives_its_stages_service_and_health() {
    let http = Health::Http { path: "/".into() };
    let cases: &[(&str, &[&str], Option<&str>, Health)] = &[
        (
            "python",
            &["build", "test"],
            Some("python3 app.py"),
            http.clone(),
        ),
        (
            "django",
            &["build", "migrate", "test"],
            Some("manage.py runserver"),
            http.clone(),
        ),
        ("node", &["build", "test"], Some("npm start"), http.clone()),
        (
            "rust",
            &["build", "test"],
            Some("./target/release/\"$ICT_PIPELINE\""),
            Health::Off,
        ),
        ("commands", &[], None, Health::Off),
    ];
    for (preset, stages, service, health) in cases {
        let p = one(&format!("preset: \"{preset}\""));
        assert_eq!(names(&p), *stages, "{preset}");
        for stage in &p.stages {
            let expected = Preset::from_index(
                Preset::NAMES
                    .iter()
                    .position(|n| n == preset)
                    .expect("known"),
            )
            .stage(&stage.name);
            assert_eq!(Some(stage.command.as_str()), expected, "{preset}");
        }
        match service {
            Some(command) => {
                let s = p.service.as_ref().expect("a service");
                assert!(s.command.contains(command), "{preset}: {}", s.command);
                assert_eq!(&s.health, health, "{preset}");
                assert_eq!((s.port.as_str(), s.timeout.as_secs()), ("$PORT", 20));
            }
            None => assert!(p.service.is_none(), "{preset}"),
        }
    }
    assert_eq!(one("").preset, Preset::Commands, "the default preset");
    let node = one("preset: \"node\"");
    assert_eq!(
        node.stages[0].command,
        "npm ci && npm run build --if-present"
    );
    assert_eq!(node.stages[1].command, "npm test");
    let rust = one("preset: \"rust\"");
    assert!(rust.stages[0].command.starts_with("cargo build --release"));
    let django = one("preset: \"django\"");
    assert!(django.stages[1]
        .command
        .contains("manage.py migrate --noinput"));
}

#[test]
fn overrides_remove_replace_and_append_in_written_order() {
    let p = one(
        r#"preset: "node", stages: #{ lint: "npm run lint", test: false, e2e: "npm run e2e", build: "npm ci" }"#,
    );
    assert_eq!(names(&p), ["build", "lint", "e2e"]);
    assert_eq!(p.stages[0].command, "npm ci");
    let p = one(r#"preset: "rust", stages: #{ migrate: "./migrate", smoke: "./smoke" }"#);
    assert_eq!(names(&p), ["build", "migrate", "test", "smoke"]);
    let p = one(r#"stages: #{ b: "make b", a: "make a" }"#);
    assert_eq!(
        names(&p),
        ["b", "a"],
        "custom stages keep their written order"
    );
    let p = one(r#"preset: "django", stages: #{ build: false, migrate: false, test: false }"#);
    assert!(p.stages.is_empty());
}

#[test]
fn service_health_settings() {
    let s = one(
        r#"preset: "rust", service: #{ command: "./x", health: "tcp", port: 9000, timeout: "5s" }"#,
    )
    .service
    .expect("service");
    assert_eq!(
        (
            s.command.as_str(),
            &s.health,
            s.port.as_str(),
            s.timeout.as_secs()
        ),
        ("./x", &Health::Tcp, "9000", 5)
    );
    let s = one(r#"preset: "python", service: #{ health: false }"#)
        .service
        .expect("service");
    assert_eq!(
        (s.command.as_str(), &s.health),
        ("exec python3 app.py", &Health::Off)
    );
    let s = one(r#"preset: "node", service: #{ path: "/healthz", port: "${APP_PORT}" }"#)
        .service
        .expect("service");
    assert_eq!(
        (&s.health, s.port.as_str()),
        (
            &Health::Http {
                path: "/healthz".into()
            },
            "${APP_PORT}"
        )
    );
    let s = one(r#"preset: "rust", service: "./serve""#)
        .service
        .expect("service");
    assert_eq!(s.health, Health::Off, "a string keeps the preset's health");
    assert!(one(r#"preset: "node", service: false"#).service.is_none());
}

#[test]
fn database_defaults_and_settings() {
    let script = r#"server("web-1"); server("db-1");
        pipeline("my-app", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } },
            database: #{ engine: "postgresql", version: 15, host: "db-1" } });
        pipeline("b", #{ repo: "x", environments: #{ dev: #{ refs: ["main"] } },
            database: #{ engine: "postgresql", version: "16", host: "db-1", name: "shop",
                user: "shop_app", password: secret("PATH") } });"#;
    let d = evaluate(script).expect("valid");
    let db = d.pipelines["my-app"].database.clone().expect("database");
    assert_eq!(
        (
            db.version.as_str(),
            db.host.as_str(),
            db.name.as_str(),
            db.user.as_str()
        ),
        ("15", "db-1", "my_app", "my_app")
    );
    assert!(db.password.is_none());
    let db = d.pipelines["b"].database.clone().expect("database");
    assert_eq!((db.name.as_str(), db.user.as_str()), ("shop", "shop_app"));
    assert!(db.password.is_some_and(|p| p.has_secret()));
}

#[test]
fn service_and_database_mistakes_are_reported() {
    let cases: &[(&str, &str)] = &[
        (
            r#"service: #{ port: "eighty" }, preset: "node""#,
            "`port` must be",
        ),
        (
            r#"service: #{ path: "health" }, preset: "node""#,
            "`path` must be",
        ),
        (
            r#"service: #{ timeout: "1h" }, preset: "node""#,
            "`timeout` must be",
        ),
        (
            r#"service: #{ helth: "http" }, preset: "node""#,
            "unknown setting `helth`",
        ),
        (r#"service: #{ health: "tcp" }"#, "no `command`"),
        (
            r#"database: #{ engine: "mysql", version: "15", host: "web-1" }"#,
            "unknown database engine",
        ),
        (
            r#"database: #{ engine: "postgresql", host: "web-1" }"#,
            "no `version`",
        ),
        (
            r#"database: #{ engine: "postgresql", version: "15" }"#,
            "no `host`",
        ),
        (
            r#"database: #{ engine: "postgresql", version: "15", host: "web-1", name: "My-Db" }"#,
            "invalid database `name`",
        ),
        (
            r#"database: #{ engine: "postgresql", version: "15", host: "web-1", password: 42 }"#,
            "`password` must be",
        ),
        (
            r#"database: #{ engine: "postgresql", version: "15", host: "web-1" }, env: #{ DATABASE_URL: "x" }"#,
            "set by ict",
        ),
        (r#"database: "postgresql""#, "must be a map"),
    ];
    for (options, expected) in cases {
        let script = format!(
            "server(\"web-1\");\npipeline(\"app\", #{{ repo: \"x\", \
             environments: #{{ dev: #{{ refs: [\"main\"] }} }}, {options} }});"
        );
        let problems = evaluate(&script).expect_err(options);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{options}: {problems:?}"
        );
    }
}
