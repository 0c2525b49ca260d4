//! Resource addresses (`server.web-1`): the keys of the state, the journal and the plan.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kinds of object ict manages, as addresses name them. Ordered as their names sort, so
/// that addresses (and everything keyed by them: the state file, plans) keep the order they
/// had when kinds were strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An old object a replacement set aside until it is deleted; its name is the address of
    /// what replaced it (`deposed.server.web-1`).
    Deposed,
    DnsRecord,
    DnsZone,
    Image,
    Network,
    Pool,
    Server,
    SshKey,
    Volume,
}

impl Kind {
    /// Every kind, in order.
    pub const ALL: [Kind; 9] = [
        Kind::Deposed,
        Kind::DnsRecord,
        Kind::DnsZone,
        Kind::Image,
        Kind::Network,
        Kind::Pool,
        Kind::Server,
        Kind::SshKey,
        Kind::Volume,
    ];

    /// The kind as addresses write it (`ssh_key`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deposed => "deposed",
            Kind::DnsRecord => "dns_record",
            Kind::DnsZone => "dns_zone",
            Kind::Image => "image",
            Kind::Network => "network",
            Kind::Pool => "pool",
            Kind::Server => "server",
            Kind::SshKey => "ssh_key",
            Kind::Volume => "volume",
        }
    }
}

impl fmt::Display for Kind {
    /// Honours width and alignment (`{:<10}`), for tables.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for Kind {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Kind, AddressError> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| AddressError(text.to_owned()))
    }
}

/// The address of a resource: its kind and its name in the script. Written as `kind.name`; the
/// name may itself contain dots (`dns_record.www.example.org`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    kind: Kind,
    name: String,
}

/// Why text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a resource address; expected `kind.name` with a kind among server, network, \
     ssh_key, dns_record, dns_zone, e.g. `server.web-1`"
)]
pub struct AddressError(String);

impl Address {
    /// The address of resource `name` of `kind`; the name must not be empty.
    pub fn new(kind: Kind, name: &str) -> Result<Address, AddressError> {
        if name.is_empty() {
            return Err(AddressError(format!("{kind}.")));
        }
        Ok(Address {
            kind,
            name: name.to_owned(),
        })
    }

    /// The resource kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The resource name, e.g. `web-1`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Address, AddressError> {
        let (kind, name) = text
            .split_once('.')
            .ok_or_else(|| AddressError(text.to_owned()))?;
        let kind: Kind = kind.parse().map_err(|_| AddressError(text.to_owned()))?;
        Address::new(kind, name).map_err(|_| AddressError(text.to_owned()))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Address, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let cases = [
            ("server.web-1", Kind::Server, "web-1"),
            (
                "dns_record.www.example.org",
                Kind::DnsRecord,
                "www.example.org",
            ),
            ("ssh_key.deploy", Kind::SshKey, "deploy"),
            ("deposed.server.web-1", Kind::Deposed, "server.web-1"),
        ];
        for (text, kind, name) in cases {
            let address: Address = text.parse().expect(text);
            assert_eq!((address.kind(), address.name()), (kind, name));
            assert_eq!(address.to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for text in [
            "server",
            "server.",
            ".web",
            "ser ver.web",
            "",
            ".",
            "dns.x",
            "Server.x",
        ] {
            assert!(text.parse::<Address>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_kind_pads_in_tables() {
        assert_eq!(format!("[{:<8}]", Kind::Server), "[server  ]");
    }

    #[test]
    fn kinds_sort_as_their_names() {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        let in_order: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, in_order);
        assert!(Kind::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn is_a_json_map_key() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(Address::new(Kind::Server, "b").expect("valid"), 2);
        map.insert(Address::new(Kind::Network, "a").expect("valid"), 1);
        let json = serde_json::to_string(&map).expect("serializes");
        assert_eq!(json, r#"{"network.a":1,"server.b":2}"#);
        let back: std::collections::BTreeMap<Address, i32> =
            serde_json::from_str(&json).expect("parses");
        assert_eq!(back, map);
        assert!(
            serde_json::from_str::<std::collections::BTreeMap<Address, i32>>(r#"{"x":1}"#).is_err()
        );
    }
}
