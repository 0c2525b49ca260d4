//! What live functions return: cloud objects, plans and command outputs turned into ordinary
//! script values (maps and arrays of plain strings, numbers and booleans), so that users can
//! filter them with closures (`cloud::servers().filter(|s| s.power == "on")`). Pure; the REPL
//! is the one place besides `script/` where `rhai::Dynamic` is built, because these values go
//! straight back into the user's script.

use rhai::{Array, Dynamic, Map};

use crate::app::HostOutput;
use crate::provider::{DcLocation, Image, ObservedNetwork, ObservedServer};
use crate::reconcile::Plan;
use crate::state::{Kind, State};

/// An optional text: the text, or `()`.
fn text(value: Option<&str>) -> Dynamic {
    value.map_or(Dynamic::UNIT, |s| Dynamic::from(s.to_owned()))
}

fn int(value: impl Into<i64>) -> Dynamic {
    Dynamic::from_int(value.into())
}

/// A cloud ID (the API's IDs fit easily in a script integer).
fn id(value: u64) -> Dynamic {
    Dynamic::from_int(i64::try_from(value).unwrap_or(i64::MAX))
}

fn str(value: &str) -> Dynamic {
    Dynamic::from(value.to_owned())
}

fn map<const N: usize>(fields: [(&str, Dynamic); N]) -> Map {
    fields.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

/// `cloud::servers()` rows: `managed` says whether this environment's state owns the server.
pub(super) fn server(server: &ObservedServer, state: &State) -> Map {
    map([
        ("id", id(server.id.0)),
        ("name", str(&server.name)),
        ("state", str(server.state.as_str())),
        ("power", str(if server.power_on { "on" } else { "off" })),
        ("cpu", int(server.cpu)),
        ("ram", int(server.ram)),
        ("disk", int(server.disk)),
        ("ip", text(server.ip.as_deref())),
        ("dc", str(&server.dc)),
        ("image", str(&server.image)),
        (
            "managed",
            Dynamic::from_bool(state.find_by_id(Kind::Server, server.id.0).is_some()),
        ),
    ])
}

/// `cloud::images()` rows.
pub(super) fn image(image: &Image) -> Map {
    map([
        ("id", id(image.id.0)),
        ("name", str(&image.name)),
        ("title", str(&image.display_name)),
        ("family", text(image.family.as_deref())),
        ("min_disk", image.min_disk.map_or(Dynamic::UNIT, int)),
        ("dc", text(image.dc.as_deref())),
    ])
}

/// `cloud::dcs()` rows: `name` is what a server's `dc` option takes.
pub(super) fn dc(dc: &DcLocation) -> Map {
    map([
        ("name", str(&dc.tech_title)),
        ("title", str(&dc.title)),
        ("city", text(dc.city.as_deref())),
        ("country", text(dc.country.as_deref())),
        ("ipv6", Dynamic::from_bool(dc.ipv6)),
        ("high_performance", Dynamic::from_bool(dc.high_pool)),
    ])
}

/// `cloud::networks()` rows; `servers` holds the IDs of the attached servers.
pub(super) fn network(network: &ObservedNetwork) -> Map {
    let servers: Array = network.servers.iter().map(|m| id(m.server.0)).collect();
    map([
        ("id", id(network.id.0)),
        ("name", str(&network.name)),
        ("state", str(&network.state)),
        ("dc", text(network.dc.as_deref())),
        ("dhcp", Dynamic::from_bool(network.dhcp)),
        ("mask", text(network.mask.as_deref())),
        ("gateway", text(network.gateway.as_deref())),
        ("servers", Dynamic::from_array(servers)),
    ])
}

/// `plan()`: `#{ summary: #{ add, change, destroy }, steps: [...], unmanaged: [names] }`.
pub(super) fn plan(plan: &Plan) -> Map {
    let summary = plan.summary();
    let steps: Array = plan
        .steps
        .iter()
        .map(|step| {
            let changes: Array = step
                .changes
                .iter()
                .map(|c| {
                    Dynamic::from_map(map([
                        ("attr", str(&c.attr)),
                        ("before", text(c.before.as_deref())),
                        ("after", str(&c.after)),
                    ]))
                })
                .collect();
            let action = serde_json::to_value(step.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            Dynamic::from_map(map([
                ("address", str(&step.address.to_string())),
                ("action", str(&action)),
                ("symbol", str(step.action.symbol())),
                ("reason", text(step.reason.as_deref())),
                ("changes", Dynamic::from_array(changes)),
            ]))
        })
        .collect();
    let unmanaged: Array = plan.unmanaged.iter().map(|u| str(&u.name)).collect();
    let counts = |n: usize| int(i64::try_from(n).unwrap_or(i64::MAX));
    map([
        (
            "summary",
            Dynamic::from_map(map([
                ("add", counts(summary.add)),
                ("change", counts(summary.change)),
                ("destroy", counts(summary.destroy)),
            ])),
        ),
        ("steps", Dynamic::from_array(steps)),
        ("unmanaged", Dynamic::from_array(unmanaged)),
    ])
}

/// `exec(...)`: host → `#{ exit, stdout, stderr }`, plus `error` for a host that could not
/// run the command (then `exit` is `()`).
pub(super) fn exec(outputs: &[HostOutput]) -> Map {
    outputs
        .iter()
        .map(|o| {
            let fields = match &o.outcome {
                Ok(result) => map([
                    ("exit", result.exit_status.map_or(Dynamic::UNIT, int)),
                    ("stdout", str(&result.stdout)),
                    ("stderr", str(&result.stderr)),
                ]),
                Err(error) => map([
                    ("exit", Dynamic::UNIT),
                    ("stdout", str("")),
                    ("stderr", str("")),
                    ("error", str(error)),
                ]),
            };
            (o.name.as_str().into(), Dynamic::from_map(fields))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{NetworkId, NetworkMember, ServerId, ServerState};
    use crate::ssh::ExecResult;
    use crate::state::Address;

    fn observed(id: u64, name: &str, power_on: bool, ip: Option<&str>) -> ObservedServer {
        ObservedServer {
            id: ServerId(id),
            name: name.into(),
            hostname: None,
            state: ServerState::Active,
            power_on,
            cpu: 2,
            ram: 2048,
            disk: 20,
            disk_type: "SSD".into(),
            image: "Ubuntu22.04x64".into(),
            image_family: None,
            high_performance: false,
            dc: "SdnSpb".into(),
            ip: ip.map(Into::into),
            primary_ip: None,
            admin_user: None,
            admin_password: None,
            links: Vec::new(),
            ssh_keys: Vec::new(),
            created: None,
        }
    }

    fn get<'a>(m: &'a Map, k: &str) -> &'a Dynamic {
        m.get(k).unwrap_or_else(|| panic!("no field {k}"))
    }

    #[test]
    fn servers_are_plain_maps_and_know_whether_ict_owns_them() {
        let mut state = State::new("dev");
        let address = Address::new(Kind::Server, "web-1").expect("address");
        state.record_created(&address, 7, serde_json::Value::Null);
        let owned = server(&observed(7, "web-1", true, Some("10.0.0.7")), &state);
        let other = server(&observed(8, "legacy", false, None), &state);
        assert_eq!(get(&owned, "name").to_string(), "web-1");
        assert_eq!(get(&owned, "power").to_string(), "on");
        assert_eq!(get(&owned, "ram").as_int(), Ok(2048));
        assert_eq!(get(&owned, "ip").to_string(), "10.0.0.7");
        assert_eq!(get(&owned, "managed").as_bool(), Ok(true));
        assert_eq!(get(&other, "power").to_string(), "off");
        assert!(get(&other, "ip").is_unit());
        assert_eq!(get(&other, "managed").as_bool(), Ok(false));
    }

    #[test]
    fn networks_list_their_servers_and_exec_keeps_failures() {
        let net = ObservedNetwork {
            id: NetworkId(3),
            name: "back".into(),
            state: "Active".into(),
            dc: Some("SdnSpb".into()),
            dhcp: true,
            mask: None,
            gateway: None,
            bandwidth: None,
            servers: vec![NetworkMember {
                server: ServerId(7),
                ip: None,
                mac: None,
            }],
        };
        let shown = network(&net);
        let servers = get(&shown, "servers").clone().into_array().expect("array");
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].as_int(), Ok(7));
        let out = exec(&[
            HostOutput {
                name: "web-1".into(),
                outcome: Ok(ExecResult {
                    stdout: "up\n".into(),
                    stderr: String::new(),
                    exit_status: Some(0),
                    exit_signal: None,
                }),
            },
            HostOutput {
                name: "web-2".into(),
                outcome: Err("not created yet".into()),
            },
        ]);
        let web1 = get(&out, "web-1").read_lock::<Map>().expect("map").clone();
        assert_eq!(get(&web1, "exit").as_int(), Ok(0));
        assert_eq!(get(&web1, "stdout").to_string(), "up\n");
        let web2 = get(&out, "web-2").read_lock::<Map>().expect("map").clone();
        assert!(get(&web2, "exit").is_unit());
        assert_eq!(get(&web2, "error").to_string(), "not created yet");
    }
}
