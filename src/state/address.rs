//! Resource addresses: `kind.name`, e.g. `server.web-1`, the key of every record in a state.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The address of a resource: its kind (`server`, `network`, `ssh_key`, …) and its name in
/// the script. Written as `kind.name`; the name may itself contain dots (`dns.www.example.org`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    kind: String,
    name: String,
}

/// Why text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a resource address; expected `kind.name`, e.g. `server.web-1`")]
pub struct AddressError(String);

impl Address {
    /// The address of resource `name` of `kind`. The kind must be a non-empty identifier
    /// (letters, digits, `_`) and the name non-empty.
    pub fn new(kind: &str, name: &str) -> Result<Address, AddressError> {
        let kind_ok =
            !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if kind_ok && !name.is_empty() {
            Ok(Address {
                kind: kind.to_owned(),
                name: name.to_owned(),
            })
        } else {
            Err(AddressError(format!("{kind}.{name}")))
        }
    }

    /// The resource kind, e.g. `server`.
    pub fn kind(&self) -> &str {
        &self.kind
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
            ("server.web-1", "server", "web-1"),
            ("dns.www.example.org", "dns", "www.example.org"),
            ("ssh_key.deploy", "ssh_key", "deploy"),
        ];
        for (text, kind, name) in cases {
            let address: Address = text.parse().expect(text);
            assert_eq!((address.kind(), address.name()), (kind, name));
            assert_eq!(address.to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for text in ["server", "server.", ".web", "ser ver.web", "", "."] {
            assert!(text.parse::<Address>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn is_a_json_map_key() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(Address::new("server", "b").expect("valid"), 2);
        map.insert(Address::new("network", "a").expect("valid"), 1);
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
