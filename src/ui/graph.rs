//! Printing the desired-state graph as text, JSON or Graphviz DOT.

use std::fmt::Write as _;

use crate::model::Graph;

/// One line per node in topological order, with its dependencies indented below.
pub fn text(graph: &Graph) -> String {
    let mut out = String::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let _ = write!(out, "{:>3}. {}", i + 1, node.id);
        if node.kind == "server" {
            let a = &node.attrs;
            let get = |k: &str| {
                a.get(k)
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .unwrap_or_default()
            };
            let _ = write!(
                out,
                "  {} vCPU, {} MB, {} GB {}, {}, {}",
                get("cpu"),
                get("ram"),
                get("disk"),
                get("disk_type"),
                get("image"),
                get("dc")
            );
        }
        out.push('\n');
        for edge in graph.dependencies(&node.id) {
            let kind = serde_json::to_value(edge.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(out, "       -> {} ({kind})", edge.to);
        }
    }
    out
}

/// Pretty JSON: `{"nodes": [...], "edges": [...]}`.
pub fn json(graph: &Graph) -> String {
    let mut out =
        serde_json::to_string_pretty(graph).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

/// Graphviz DOT, one box per node, edges labelled by kind.
pub fn dot(graph: &Graph) -> String {
    let mut out =
        String::from("digraph ict {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    for node in &graph.nodes {
        let _ = writeln!(
            out,
            "  {:?} [label={:?}];",
            node.id,
            format!("{}\n{}", node.kind, node.name)
        );
    }
    for edge in &graph.edges {
        let kind = serde_json::to_value(edge.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(out, "  {:?} -> {:?} [label={kind:?}];", edge.from, edge.to);
    }
    out.push_str("}\n");
    out
}
