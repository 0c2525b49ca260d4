//! Typed IDs of 1cloud objects, so that a network ID cannot be passed where a server ID is
//! expected. All are the API's integers; they serialize as plain numbers.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> $name {
                $name(id)
            }
        }
    };
}

id_type!(
    /// A server (`ID` of `GET /server`).
    ServerId
);
id_type!(
    /// A server task (`ID` of an Action).
    ActionId
);
id_type!(
    /// A private network.
    NetworkId
);
id_type!(
    /// An uploaded SSH key.
    SshKeyId
);
id_type!(
    /// A DNS domain (zone).
    DomainId
);
id_type!(
    /// A DNS record.
    RecordId
);
id_type!(
    /// An image (OS template).
    ImageId
);
id_type!(
    /// A storage pool (libvirt).
    PoolId
);
id_type!(
    /// A storage volume (libvirt).
    VolumeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_numbers_in_json() {
        assert_eq!(serde_json::to_string(&ServerId(42)).unwrap(), "42");
        let id: NetworkId = serde_json::from_str("7").unwrap();
        assert_eq!(id, NetworkId(7));
        assert_eq!(ActionId(3).to_string(), "3");
    }
}
