//! `ict graph`: the documented JSON shape, stable across runs, and DOT.

use crate::test::{root, Test};

#[test]
fn json_is_documented_shape_and_byte_identical() {
    let file = root().join("examples/quickstart.ict");
    let file = file.to_str().expect("utf-8");
    let first = Test::new()
        .args(&["graph", file, "--format", "json"])
        .success();
    let second = Test::new()
        .args(&["graph", file, "--format", "json"])
        .success();
    assert_eq!(first.stdout, second.stdout);
    let json: serde_json::Value = serde_json::from_str(&first.stdout).expect("valid JSON");
    let nodes = json["nodes"].as_array().expect("nodes");
    let ids: Vec<&str> = nodes
        .iter()
        .map(|n| n["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "ssh_key.deploy",
            "network.backend",
            "server.db-1",
            "server.web-1",
            "server.web-2",
            "server.web-3",
            "playbook.db",
            "playbook.web"
        ]
    );
    assert_eq!(nodes[2]["kind"], "server");
    assert_eq!(nodes[2]["name"], "db-1");
    assert_eq!(nodes[2]["cpu"], 2);
    assert_eq!(nodes[3]["vars"]["db_host"], "${server.db-1.private_ip}");
    let edges = json["edges"].as_array().expect("edges");
    assert!(edges
        .iter()
        .any(|e| e["from"] == "server.web-1" && e["to"] == "ssh_key.deploy"));
    assert!(edges.iter().any(|e| e["from"] == "playbook.web"
        && e["to"] == "server.web-2"
        && e["kind"] == "targets"));
}

#[test]
fn dot_renders_for_graphviz() {
    let file = root().join("examples/quickstart.ict");
    let out = Test::new()
        .args(&["graph", file.to_str().expect("utf-8"), "--format", "dot"])
        .success();
    assert!(out.stdout.starts_with("digraph ict {"));
    assert!(
        out.stdout
            .contains("\"server.web-1\" -> \"network.backend\" [label=\"network\"];"),
        "{}",
        out.stdout
    );
}

#[test]
fn dependencies_come_first() {
    let out = Test::new()
        .write(
            "a.ict",
            r#"server("c", #{ depends_on: ["b"] }); server("b", #{ depends_on: ["a"] }); server("a");"#,
        )
        .args(&["graph", "a.ict"])
        .success();
    let pos = |n: &str| out.stdout.find(&format!(". server.{n}")).expect(n);
    assert!(pos("a") < pos("b") && pos("b") < pos("c"), "{}", out.stdout);
}
