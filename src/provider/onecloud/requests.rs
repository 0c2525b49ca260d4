//! Request bodies, with the canonical field names of docs/1cloud-api.md §9 (`Name, CPU, RAM, HDD,
//! ImageID, HDDType, isHighPerformance, DCLocation, isBackupActive, BackupPeriod, SshKeys`).
//! Where clients disagree on a name, both spellings are sent: the API ignores unknown keys.

use serde_json::{json, Map, Value};

use crate::provider::{
    DomainId, NetworkId, NetworkSpec, PowerOp, RecordKind, RecordSpec, ServerId, ServerSize,
    ServerSpec, SshKeySpec,
};

/// `POST /server`.
pub(super) fn create_server(spec: &ServerSpec) -> Value {
    let mut body = json!({
        "Name": spec.name,
        "CPU": spec.size.cpu,
        "RAM": spec.size.ram,
        "HDD": spec.size.disk,
        "ImageID": spec.image.0,
        "HDDType": spec.size.disk_type.as_str(),
        "isHighPerformance": spec.size.high_performance,
        "isBackupActive": spec.backup_days.is_some(),
        "BackupPeriod": spec.backup_days.unwrap_or(0),
        "SshKeys": spec.ssh_keys.iter().map(|k| k.0).collect::<Vec<_>>(),
    });
    if let (Some(dc), Value::Object(map)) = (&spec.dc, &mut body) {
        map.insert("DCLocation".to_owned(), Value::String(dc.clone()));
    }
    body
}

/// `PUT /server/{id}` (XELENT "change configuration").
pub(super) fn resize_server(size: &ServerSize) -> Value {
    json!({
        "CPU": size.cpu,
        "RAM": size.ram,
        "HDD": size.disk,
        "HDDType": size.disk_type.as_str(),
        "isHighPerformance": size.high_performance,
    })
}

/// `POST /server/{id}/action` for a power operation.
pub(super) fn power(op: PowerOp) -> Value {
    json!({ "Type": op.api_name() })
}

/// `POST /server/{id}/action` with `AddNetwork` / `RemoveNetwork`.
pub(super) fn network_action(kind: &str, network: NetworkId) -> Value {
    json!({ "Type": kind, "NetworkID": network.0 })
}

/// `POST /server/{id}/rebuild`.
pub(super) fn rebuild(image: u64) -> Value {
    json!({ "ImageId": image })
}

/// `POST /network`.
pub(super) fn create_network(spec: &NetworkSpec) -> Value {
    let mut map = Map::new();
    map.insert("Name".to_owned(), json!(spec.name));
    map.insert("IsDHCP".to_owned(), json!(spec.dhcp));
    if let Some(dc) = &spec.dc {
        map.insert("DCLocation".to_owned(), json!(dc));
    }
    Value::Object(map)
}

/// `POST /sshkey`.
pub(super) fn create_ssh_key(spec: &SshKeySpec) -> Value {
    json!({ "Title": spec.title, "PublicKey": spec.public_key })
}

/// `POST /dns`: older clients send `Name`, a 2026 one `DomainName` and `Migrate`.
/// `POST /image`: a template of a server. `Name` is what the panel shows, `TechName` what a
/// server's `Image` and the catalogue's `Name` show; ict gives both the same value.
pub(super) fn create_image(server: ServerId, name: &str) -> Value {
    json!({ "Name": name, "TechName": name, "ServerID": server.0 })
}

pub(super) fn create_domain(name: &str) -> Value {
    json!({ "Name": name, "DomainName": name, "Migrate": false })
}

/// The path and body of a record creation (`POST /dns/record{a,aaaa,cname,mx,txt}`). DNS IDs
/// and TTLs are sent as strings, as every DNS client does.
pub(super) fn create_record(spec: &RecordSpec) -> (&'static str, Value) {
    let domain = domain_id(spec.domain);
    let ttl = spec.ttl.to_string();
    match spec.kind {
        RecordKind::A | RecordKind::Aaaa => (
            if spec.kind == RecordKind::A {
                "/dns/recorda"
            } else {
                "/dns/recordaaaa"
            },
            json!({ "DomainId": domain, "IP": spec.value, "Name": spec.name, "TTL": ttl }),
        ),
        RecordKind::Cname => (
            "/dns/recordcname",
            json!({ "DomainId": domain, "Name": spec.name, "MnemonicName": spec.value, "TTL": ttl }),
        ),
        RecordKind::Mx => (
            "/dns/recordmx",
            json!({
                "DomainId": domain,
                "HostName": spec.value,
                "Priority": spec.priority.unwrap_or(10).to_string(),
                "TTL": ttl,
            }),
        ),
        // NET sends the name as `HostName`, the others as `Name`.
        RecordKind::Txt => (
            "/dns/recordtxt",
            json!({
                "DomainId": domain,
                "Name": spec.name,
                "HostName": spec.name,
                "Text": spec.value,
                "TTL": ttl,
            }),
        ),
    }
}

fn domain_id(id: DomainId) -> String {
    id.0.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{ImageId, SshKeyId};

    #[test]
    fn server_body_uses_the_canonical_names() {
        let spec = ServerSpec {
            name: "web-1".to_owned(),
            size: ServerSize {
                cpu: 2,
                ram: 2048,
                disk: 40,
                disk_type: crate::model::DiskType::Ssd,
                high_performance: true,
            },
            image: ImageId(3492),
            dc: Some("SdnSpb".to_owned()),
            backup_days: None,
            ssh_keys: vec![SshKeyId(3145)],
            authorized_keys: vec!["ssh-ed25519 AAAA".to_owned()],
        };
        assert_eq!(
            create_server(&spec),
            json!({"Name":"web-1","CPU":2,"RAM":2048,"HDD":40,"ImageID":3492,"HDDType":"SSD",
                   "isHighPerformance":true,"isBackupActive":false,"BackupPeriod":0,
                   "SshKeys":[3145],"DCLocation":"SdnSpb"})
        );
        let no_dc = create_server(&ServerSpec { dc: None, ..spec });
        assert!(no_dc.get("DCLocation").is_none());
    }

    #[test]
    fn record_bodies_send_ids_and_ttls_as_strings() {
        let spec = RecordSpec {
            domain: DomainId(12),
            kind: RecordKind::Mx,
            name: "@".to_owned(),
            value: "mail.example.com".to_owned(),
            ttl: 3600,
            priority: Some(5),
        };
        let (path, body) = create_record(&spec);
        assert_eq!(path, "/dns/recordmx");
        assert_eq!(
            body,
            json!({"DomainId":"12","HostName":"mail.example.com","Priority":"5","TTL":"3600"})
        );
        let (path, body) = create_record(&RecordSpec {
            kind: RecordKind::Aaaa,
            value: "::1".to_owned(),
            ..spec
        });
        assert_eq!(path, "/dns/recordaaaa");
        assert_eq!(body["IP"], "::1");
        assert_eq!(body["Name"], "@");
    }
}
