//! The desired-state graph: one node per declared resource, edges for what depends on what,
//! and a deterministic topological order (dependencies first; ties broken by kind, then by
//! declaration order) that apply, inventory and `ict graph` all follow.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use serde::Serialize;

use super::{pattern, Desired, ImageRef, ModelError, Span, Value};

/// Why one node points at another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// A server uses an SSH key.
    SshKey,
    /// A server is attached to a network.
    Network,
    /// An explicit `depends_on`.
    DependsOn,
    /// An image is made of a server; a server is created from an image.
    Image,
    /// A DNS record's value comes from the target (e.g. a server's IP).
    Value,
    /// A playbook runs on the target server.
    Targets,
    /// A variable mentions a value of the target; informational, it does not order anything
    /// (two servers may well know each other's addresses).
    Reference,
}

impl EdgeKind {
    fn orders(self) -> bool {
        self != EdgeKind::Reference
    }
}

/// A resource in the graph.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// `kind.name`, e.g. `server.web-1`.
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    /// The declared attributes.
    #[serde(flatten)]
    pub attrs: serde_json::Map<String, serde_json::Value>,
}

/// `from` depends on `to`.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
}

/// Nodes in topological order, and edges sorted by (from, to).
#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Graph {
    /// Builds the graph. A cycle of ordering edges is an error naming the resources in it.
    pub fn build(desired: &Desired) -> Result<Graph, ModelError> {
        let mut nodes: IndexMap<String, Node> = IndexMap::new();
        let mut edges: Vec<Edge> = Vec::new();
        // Spans of `depends_on` entries, to point at a cycle.
        let mut dep_spans: BTreeMap<(String, String), Span> = BTreeMap::new();

        for key in desired.ssh_keys.values() {
            add(&mut nodes, "ssh_key", &key.name, key);
        }
        for net in desired.networks.values() {
            add(&mut nodes, "network", &net.name, net);
        }
        for server in desired.servers.values() {
            let id = add(&mut nodes, "server", &server.name, server);
            for k in &server.ssh_keys {
                edges.push(edge(&id, format!("ssh_key.{}", k.name), EdgeKind::SshKey));
            }
            for n in &server.networks {
                edges.push(edge(&id, format!("network.{}", n.name), EdgeKind::Network));
            }
            for d in &server.depends_on {
                let to = format!("server.{}", d.name);
                dep_spans.insert((id.clone(), to.clone()), d.span);
                edges.push(edge(&id, to, EdgeKind::DependsOn));
            }
            for v in server.vars.values() {
                for p in v.placeholders() {
                    edges.push(edge(&id, p.node_id(), EdgeKind::Reference));
                }
            }
        }
        for image in desired.images.values() {
            let id = add(&mut nodes, "image", &image.name, image);
            if let Some(from) = image.from_server() {
                edges.push(edge(&id, format!("server.{}", from.name), EdgeKind::Image));
            }
        }
        for server in desired.servers.values() {
            if let ImageRef::Name(name) = &server.image {
                if desired.images.contains_key(name) {
                    let id = format!("server.{}", server.name);
                    edges.push(edge(&id, format!("image.{name}"), EdgeKind::Image));
                }
            }
        }
        for record in &desired.dns_records {
            let id = add(&mut nodes, "dns_record", &record.id, record);
            for p in record.value.placeholders() {
                edges.push(edge(&id, p.node_id(), EdgeKind::Value));
            }
        }
        for playbook in &desired.playbooks {
            let id = add(&mut nodes, "playbook", &playbook.name, playbook);
            for host in pattern::select(&playbook.hosts, desired) {
                edges.push(edge(&id, format!("server.{host}"), EdgeKind::Targets));
            }
            for p in playbook.vars.values().flat_map(Value::placeholders) {
                edges.push(edge(&id, p.node_id(), EdgeKind::Reference));
            }
        }
        // Edges to undeclared nodes are reported by `validate`; leave them out of the graph.
        edges.retain(|e| {
            nodes.contains_key(&e.to) && !(e.from == e.to && e.kind == EdgeKind::Reference)
        });
        edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        edges.dedup_by(|a, b| a.from == b.from && a.to == b.to && a.kind == b.kind);

        let order = topological(&nodes, &edges).map_err(|cycle| cycle_error(&cycle, &dep_spans))?;
        let mut slots: Vec<Option<Node>> = nodes.into_values().map(Some).collect();
        let nodes = order
            .into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take))
            .collect();
        Ok(Graph { nodes, edges })
    }

    /// Checks for a `depends_on` cycle without building the whole graph (only servers have
    /// ordering edges that can form a cycle). Used by validation, which must stay cheap for
    /// scripts with thousands of servers.
    pub fn check_cycles(desired: &Desired) -> Result<(), ModelError> {
        let index: std::collections::HashMap<&str, usize> = desired
            .servers
            .keys()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut pending = vec![0usize; desired.servers.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); desired.servers.len()];
        for (i, server) in desired.servers.values().enumerate() {
            for d in &server.depends_on {
                if let Some(&to) = index.get(d.name.as_str()) {
                    pending[i] += 1;
                    dependents[to].push(i);
                }
            }
        }
        let mut ready: Vec<usize> = (0..pending.len()).filter(|&i| pending[i] == 0).collect();
        let mut done = 0;
        while let Some(i) = ready.pop() {
            done += 1;
            for &d in &dependents[i] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.push(d);
                }
            }
        }
        if done == pending.len() {
            return Ok(());
        }
        // A cycle exists: the full build finds and names it.
        Graph::build(desired).map(|_| ())
    }

    /// The edges leaving node `id`.
    pub fn dependencies<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Edge> + 'a {
        self.edges.iter().filter(move |e| e.from == id)
    }
}

fn add<T: Serialize>(
    nodes: &mut IndexMap<String, Node>,
    kind: &'static str,
    name: &str,
    item: &T,
) -> String {
    let id = format!("{kind}.{name}");
    let mut attrs = match serde_json::to_value(item) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    attrs.remove("name");
    attrs.remove("id");
    nodes.insert(
        id.clone(),
        Node {
            id: id.clone(),
            kind,
            name: name.to_owned(),
            attrs,
        },
    );
    id
}

fn edge(from: &str, to: String, kind: EdgeKind) -> Edge {
    Edge {
        from: from.to_owned(),
        to,
        kind,
    }
}

/// Kahn's algorithm; among ready nodes the earliest declared goes first. On a cycle, returns the
/// ids of one cycle.
fn topological(nodes: &IndexMap<String, Node>, edges: &[Edge]) -> Result<Vec<usize>, Vec<String>> {
    let index = |id: &str| nodes.get_index_of(id);
    let mut pending = vec![0usize; nodes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for e in edges.iter().filter(|e| e.kind.orders()) {
        if let (Some(from), Some(to)) = (index(&e.from), index(&e.to)) {
            pending[from] += 1;
            dependents[to].push(from);
        }
    }
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &dependents[i] {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.insert(d);
            }
        }
    }
    if order.len() == nodes.len() {
        return Ok(order);
    }
    // Walk from any node left over along its unfinished dependencies until a node repeats.
    let left: BTreeSet<usize> = (0..nodes.len()).filter(|&i| pending[i] > 0).collect();
    let next = |i: usize| {
        let id = nodes
            .get_index(i)
            .map(|(k, _)| k.as_str())
            .unwrap_or_default();
        edges
            .iter()
            .filter(|e| e.kind.orders() && e.from == id)
            .filter_map(|e| index(&e.to))
            .find(|t| left.contains(t))
    };
    let mut path: Vec<usize> = Vec::new();
    let mut current = left.first().copied();
    while let Some(i) = current {
        if let Some(pos) = path.iter().position(|&p| p == i) {
            let mut cycle: Vec<String> = path[pos..]
                .iter()
                .filter_map(|&p| nodes.get_index(p).map(|(k, _)| k.clone()))
                .collect();
            if let Some(first) = cycle.first().cloned() {
                cycle.push(first);
            }
            return Err(cycle);
        }
        path.push(i);
        current = next(i);
    }
    Err(Vec::new())
}

fn cycle_error(cycle: &[String], dep_spans: &BTreeMap<(String, String), Span>) -> ModelError {
    let spans: Vec<Span> = cycle
        .windows(2)
        .filter_map(|w| dep_spans.get(&(w[0].clone(), w[1].clone())).copied())
        .collect();
    let at = spans.last().copied().unwrap_or_default();
    let others = spans[..spans.len().saturating_sub(1)].to_vec();
    ModelError::Cycle {
        via: "depends_on",
        path: cycle.to_vec(),
        at,
        others,
    }
}
