//! Decoding tests on the real answers quoted in docs/1cloud-api.md (§3.2–§3.9), and on the
//! variations the API and its clients show: odd key casing, strings for numbers and booleans,
//! `null` and `""` for "not set", unknown extra fields.

use super::lenient::from_slice;
use super::wire::{WireAction, WireDc, WireDomain, WireImage, WireNetwork, WireServer};
use crate::provider::{
    ActionState, DcLocation, Image, NetworkId, ObservedDomain, ObservedNetwork, ObservedServer,
    ServerId, ServerState, SshKeyId,
};

/// docs/1cloud-api.md §3.2: the real `POST /server` answer (ICT-ALT `ServerCreateAnswer.py`).
const CREATE_ANSWER: &str = r#"{"ID":962767,"Name":"testapi1","HostName":null,"State":"New","IsPowerOn":false,"CPU":2,"RAM":2048,"HDD":40,"IP":"","AdminUserName":null,"AdminPassword":null,"Image":"WinServer2012R2x64En","IsHighPerformance":false,"HDDType":"SSD","PrimaryNetworkIp":"","LinkedNetworks":[],"DCLocation":"SdnSpb","ImageFamily":"Windows","LinkedSshKeys":[],"DateCreate":"2023-05-13T16:57:15.495094+03:00"}"#;

/// docs/1cloud-api.md §3.3: the real linked network of an active server (ICT-ALT
/// `GetServerList.py`).
const LINK: &str = r#"{"LinkID":887588,"NetworkID":274,"LinkState":"Active","NetworkType":"PublicShared","NetworkName":"Общая публичная сеть","IP":"188.227.74.17","MAC":"00:50:56:01:0a:1c","Mask":"255.255.255.0","Gateway":"188.227.74.1","Bandwidth":10}"#;

fn server(json: &str) -> ObservedServer {
    from_slice::<WireServer>(json.as_bytes())
        .expect("decodes")
        .into()
}

#[test]
fn create_answer_decodes_with_nulls_and_empty_strings_as_none() {
    let s = server(CREATE_ANSWER);
    assert_eq!(s.id, ServerId(962_767));
    assert_eq!(s.name, "testapi1");
    assert_eq!(s.state, ServerState::New);
    assert!(!s.power_on);
    assert_eq!((s.cpu, s.ram, s.disk), (2, 2048, 40));
    assert_eq!(s.disk_type, "SSD");
    assert_eq!(s.image, "WinServer2012R2x64En");
    assert_eq!(s.image_family.as_deref(), Some("Windows"));
    assert_eq!(s.dc, "SdnSpb");
    assert!(!s.high_performance);
    assert_eq!(s.hostname, None);
    assert_eq!(s.ip, None, "an empty IP is not an address");
    assert_eq!(s.primary_ip, None);
    assert_eq!(s.admin_user, None);
    assert!(s.admin_password.is_none());
    assert!(s.links.is_empty() && s.ssh_keys.is_empty());
    assert_eq!(
        s.created.as_deref(),
        Some("2023-05-13T16:57:15.495094+03:00")
    );
}

#[test]
fn active_server_with_a_public_link_and_keys() {
    let json = format!(
        r#"{{"ID":951268,"Name":"Nginx_1","HostName":"srv951268","State":"Active","IsPowerOn":true,
            "CPU":2,"RAM":1024,"HDD":40,"HDDType":"SAS","IP":"188.227.74.17",
            "AdminUserName":"root","AdminPassword":"Xy7pQ2aa","Image":"Ubuntu20.04x64",
            "IsHighPerformance":true,"PrimaryNetworkIp":"188.227.74.17","DCLocation":"SdnSpb",
            "LinkedNetworks":[{LINK},{{"LinkID":9,"NetworkID":"31","NetworkType":"Private",
            "IP":"10.0.0.5","Bandwidth":null}}],
            "LinkedSshKeys":[{{"ID":3145,"Title":"ci"}}]}}"#
    );
    let s = server(&json);
    assert_eq!(s.state, ServerState::Active);
    assert!(s.power_on && s.high_performance);
    assert_eq!(s.ip.as_deref(), Some("188.227.74.17"));
    assert_eq!(
        s.admin_password
            .as_ref()
            .map(crate::provider::Secret::expose),
        Some("Xy7pQ2aa")
    );
    assert_eq!(s.ssh_keys, [SshKeyId(3145)]);
    let public = &s.links[0];
    assert!(public.is_public());
    assert_eq!(public.link_id, Some(887_588));
    assert_eq!(public.network_id, NetworkId(274));
    assert_eq!(public.network_name.as_deref(), Some("Общая публичная сеть"));
    assert_eq!(public.mac.as_deref(), Some("00:50:56:01:0a:1c"));
    assert_eq!(public.gateway.as_deref(), Some("188.227.74.1"));
    assert_eq!(public.bandwidth, Some(10));
    let private: Vec<_> = s.private_links().collect();
    assert_eq!(private.len(), 1);
    assert_eq!(private[0].network_id, NetworkId(31));
    assert_eq!(private[0].ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(private[0].bandwidth, None);
    assert!(s.link_to(NetworkId(31)).is_some() && s.link_to(NetworkId(32)).is_none());
    // The password never shows in Debug or JSON.
    let shown = format!("{s:?} {}", serde_json::to_string(&s).unwrap());
    assert!(!shown.contains("Xy7pQ2aa"), "{shown}");
}

#[test]
fn odd_casing_strings_for_numbers_and_unknown_fields() {
    let s = server(
        r#"{"id":"7","name":"db","state":"active","isPowerOn":"true","cpu":"4","ram":"8192",
            "hdd":"120","hdd_type":"SSD","dcLocation":"DsMsk","isHighPerformance":"False",
            "linkedNetworks":null,"linkedSshKeys":["12"],"NewField":{"nested":[1,2]},"Tags":[]}"#,
    );
    assert_eq!(s.id, ServerId(7));
    assert_eq!(s.state, ServerState::Active);
    assert!(s.power_on && !s.high_performance);
    assert_eq!((s.cpu, s.ram, s.disk), (4, 8192, 120));
    assert_eq!(s.disk_type, "SSD");
    assert_eq!(s.dc, "DsMsk");
    assert_eq!(s.ssh_keys, [SshKeyId(12)]);
}

#[test]
fn server_list_is_a_bare_array() {
    let json = format!(
        "[{CREATE_ANSWER},{}]",
        CREATE_ANSWER.replace("962767", "962768")
    );
    let servers: Vec<WireServer> = from_slice(json.as_bytes()).unwrap();
    let ids: Vec<u64> = servers.iter().map(|s| s.id).collect();
    assert_eq!(ids, [962_767, 962_768]);
}

#[test]
fn action_answers() {
    // docs/1cloud-api.md §3.4: the XELENT answer to PUT /server/{id}.
    let a: WireAction = from_slice(br#"{"ID":777,"Type":"Resize","State":"InProgress"}"#).unwrap();
    let a = a.observed(ServerId(1));
    assert_eq!((a.id.0, a.kind.as_str()), (777, "Resize"));
    assert_eq!(a.state, ActionState::InProgress);
    assert_eq!(a.started, None);
    let a: WireAction = from_slice(
        br#"{"id":"778","type":"PowerOn","state":"Completed","StartDate":"2023-05-13T17:00:00",
            "EndDate":"","Extra":1}"#,
    )
    .unwrap();
    let a = a.observed(ServerId(1));
    assert_eq!(a.state, ActionState::Completed);
    assert_eq!(a.started.as_deref(), Some("2023-05-13T17:00:00"));
    assert_eq!(a.ended, None);
    assert!(
        from_slice::<WireAction>(br#"{"Type":"PowerOn"}"#).is_err(),
        "an ID is required"
    );
}

#[test]
fn dc_records() {
    let dc: DcLocation = from_slice::<WireDc>(
        r#"{"ID":1,"Title":"Xelent","TechTitle":"SdnSpb","ShortTitle":"СПБ","Country":"Россия",
            "City":"Санкт-Петербург","IsEnableLowPool":true,"IsEnableHighPool":"true",
            "IsEnableBackup":1,"IsEnableIpV6":false,"IsOnlyForAdmins":false,
            "HiddenToNewProjects":"false","IsFirewallEnabled":true}"#
            .as_bytes(),
    )
    .unwrap()
    .into();
    assert_eq!(dc.id, Some(1));
    assert_eq!(
        (dc.title.as_str(), dc.tech_title.as_str()),
        ("Xelent", "SdnSpb")
    );
    assert_eq!(dc.short_title.as_deref(), Some("СПБ"));
    assert!(dc.low_pool && dc.high_pool && dc.backup && !dc.ipv6);
    // ICT dropped ID/Country/City: still fine.
    let dc: DcLocation = from_slice::<WireDc>(
        r#"{"Title":"Xelent-2","TechTitle":"SdnSpb2","IsEnableLowPool":false,"IsEnableHighPool":true,"ShortTitle":"СПБ2"}"#.as_bytes(),
    )
    .unwrap()
    .into();
    assert_eq!(dc.id, None);
    assert!(!dc.low_pool && dc.high_pool);
}

#[test]
fn image_records() {
    let image: Image = from_slice::<WireImage>(
        br#"{"ID":3492,"DisplayName":"Ubuntu 20.4 x64","Name":"Ubuntu20.04x64","DCLocation":"",
            "Hdd":"10","Family":"Linux","IsAvailableISP":false,"Type":"GoldServer",
            "LinkedSshKeys":[],"OperatingSystemType":"Ubuntu"}"#,
    )
    .unwrap()
    .into();
    assert_eq!(image.id.0, 3492);
    assert_eq!(image.name, "Ubuntu20.04x64");
    assert_eq!(image.display_name, "Ubuntu 20.4 x64");
    assert_eq!(image.family.as_deref(), Some("Linux"));
    assert_eq!(image.min_disk, Some(10));
    assert_eq!(image.dc, None, "an empty DCLocation means every DC");
}

#[test]
fn private_network() {
    let net: ObservedNetwork = from_slice::<WireNetwork>(
        br#"{"ID":31,"Name":"lan","State":"Active","IsDHCP":"true","DCLocation":"SdnSpb",
            "Mask":"255.255.255.0","Gateway":null,"Bandwidth":"100","NetworkCapacity":"256",
            "LinkedServers":[{"ServerID":951268,"IP":"10.0.0.5","MAC":"00:50:56:aa:bb:cc"}]}"#,
    )
    .unwrap()
    .into();
    assert_eq!(net.id, NetworkId(31));
    assert!(net.dhcp);
    assert_eq!(net.gateway, None);
    assert_eq!(net.bandwidth, Some(100));
    assert_eq!(net.servers.len(), 1);
    assert_eq!(net.servers[0].server, ServerId(951_268));
    assert_eq!(net.servers[0].ip.as_deref(), Some("10.0.0.5"));
}

#[test]
fn dns_domain_with_records() {
    // Shapes from DNS1C and lego fixtures (docs/1cloud-api.md §3.9): Priority as a string, TTL as
    // an integer, TXT text quoted with a trailing space, a null state.
    let domain: ObservedDomain = from_slice::<WireDomain>(
        br#"{"ID":12,"Name":"example.com","TechName":"example_com","State":null,
            "DateCreate":"2019-02-02T21:17:11.64","IsDelegate":true,"LinkedRecords":[
              {"ID":1,"TypeRecord":"A","IP":"1.2.3.4","HostName":"www","TTL":3600,"State":"Active",
               "CanonicalDescription":"www.example.com 3600 IN A 1.2.3.4"},
              {"ID":2,"TypeRecord":"MX","HostName":"@","ExtHostName":"mail.example.com.",
               "Priority":"10","TTL":"300","State":"Active"},
              {"ID":3,"TypeRecord":"TXT","HostName":"example.com.","Text":"\"v=spf1 -all\" ",
               "TTL":60,"State":"New"},
              {"ID":4,"TypeRecord":"cname","HostName":"docs","MnemonicName":"www.example.com",
               "TTL":60}]}"#,
    )
    .unwrap()
    .into();
    assert_eq!(domain.name, "example.com");
    assert_eq!(domain.state, "New", "a null domain state means New");
    assert!(domain.delegated);
    let r = &domain.records;
    assert_eq!(r.len(), 4);
    assert_eq!(
        (r[0].kind.as_str(), r[0].name.as_str(), r[0].value.as_str()),
        ("A", "www", "1.2.3.4")
    );
    assert_eq!(r[0].ttl, Some(3600));
    assert_eq!(r[1].value, "mail.example.com.");
    assert_eq!((r[1].priority, r[1].ttl), (Some(10), Some(300)));
    assert_eq!(r[2].value, "v=spf1 -all");
    assert_eq!(
        (r[3].kind.as_str(), r[3].value.as_str()),
        ("CNAME", "www.example.com")
    );
    assert!(r.iter().all(|rec| rec.domain == domain.id));
}
