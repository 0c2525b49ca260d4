//! libvirt networks as 1cloud's private networks: `network(...)` defines an isolated network
//! (a bridge of its own, no route out) on a free /24, with DHCP when asked, marked as ict's in
//! its `<metadata>`; servers join it through a virtio interface, in their definition and, when
//! they run, live. Only networks with ict's mark are deleted. Part of the libvirt provider.

use std::net::Ipv4Addr;

use super::sys::Network;

use super::{affect, definition, failed, id_of, lv, xml, Inner, LOCATION};
use crate::provider::{NetworkId, NetworkSpec, ObservedNetwork, ProviderError, ServerId};

/// How many subnets a create tries when libvirt finds the chosen one in use on the host.
const SUBNET_TRIES: usize = 8;

impl Inner {
    /// Every libvirt network with its definition.
    fn network_list(&self) -> Result<Vec<(Network, xml::Network)>, ProviderError> {
        let networks = self
            .conn
            .list_all_networks(0)
            .map_err(lv("list networks"))?;
        let mut all = Vec::new();
        for network in networks {
            let text = match network.xml_desc(super::sys::VIR_NETWORK_XML_INACTIVE) {
                Ok(text) => text,
                // Removed while they are read.
                Err(e) if e.is(super::sys::Code::NoNetwork) => continue,
                Err(e) => return Err(lv("read a network")(e)),
            };
            let defined =
                xml::Network::parse(&text).map_err(|e| failed("read a network", &e.to_string()))?;
            all.push((network, defined));
        }
        Ok(all)
    }

    pub(super) fn networks(&self) -> Result<Vec<ObservedNetwork>, ProviderError> {
        self.network_list()?
            .iter()
            .map(|(network, defined)| observe(network, defined))
            .collect()
    }

    fn network_by_id(&self, id: NetworkId) -> Result<(Network, xml::Network), ProviderError> {
        self.network_list()?
            .into_iter()
            .find(|(network, _)| network.uuid().ok().map(|u| id_of(&u)) == Some(id.0))
            .ok_or_else(|| ProviderError::Missing {
                what: format!("network {id}"),
                message: "no such network".to_owned(),
            })
    }

    /// Creates an isolated network, or carries on one whose create was cut short (ict's,
    /// defined but not started, and not there before: `before`).
    pub(super) fn create_network(
        &self,
        spec: &NetworkSpec,
        before: &[u64],
    ) -> Result<ObservedNetwork, ProviderError> {
        let all = self.network_list()?;
        if let Some((network, defined)) = all.iter().find(|(_, d)| d.name == spec.name) {
            let id = network.uuid().map(|u| id_of(&u)).ok();
            if id.is_none_or(|id| before.contains(&id)) || defined.owner().is_none() {
                return Err(ProviderError::NameTaken {
                    kind: "network",
                    name: spec.name.clone(),
                });
            }
            start(network, &spec.name)?;
            return observe(network, defined);
        }
        let taken: Vec<(u32, u32)> = all
            .iter()
            .filter_map(|(_, d)| d.ipv4())
            .map(|(address, prefix)| span(address, prefix))
            .collect();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut last = None;
        for subnet in subnets(&spec.name)
            .filter(|s| free(*s, &taken))
            .take(SUBNET_TRIES)
        {
            let definition = xml::Network::isolated(&spec.name, subnet, spec.dhcp, &created);
            let text = definition
                .to_xml()
                .map_err(|e| failed("write a network definition", &e.to_string()))?;
            let network = self
                .conn
                .define_network_xml(&text)
                .map_err(lv(format!("define network {:?}", spec.name)))?;
            match start(&network, &spec.name) {
                Ok(()) => {
                    let _ = network.set_autostart(true);
                    return observe(&network, &definition);
                }
                // Its subnet is in use on the host (a route libvirt does not own): try the next.
                Err(e) => {
                    let _ = network.undefine();
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            failed(
                &format!("create network {:?}", spec.name),
                "no free 10.x.y.0/24 subnet among the candidates",
            )
        }))
    }

    /// Checks that the provider's `network` is there and active (it is not ict's to start).
    pub(super) fn check_network(&self, name: &str) -> Result<(), ProviderError> {
        let operation = format!("use network {name:?}");
        let network = self.conn.lookup_network_by_name(name).map_err(|_| {
            failed(
                &operation,
                &format!(
                    "there is no libvirt network named {name:?} (provider(\"libvirt\", #{{ network: ... }})); `virsh net-list --all` lists them"
                ),
            )
        })?;
        if network.is_active().unwrap_or(false) {
            Ok(())
        } else {
            Err(failed(
                &operation,
                &format!("network {name:?} is not running: start it (`virsh net-start {name}`)"),
            ))
        }
    }

    /// A network ict made, started if its create was cut short before its start.
    pub(super) fn finish_network(&self, id: NetworkId) -> Result<ObservedNetwork, ProviderError> {
        let (network, defined) = self.network_by_id(id)?;
        if defined.owner().is_some() {
            start(&network, &defined.name)?;
            let _ = network.set_autostart(true);
        }
        observe(&network, &defined)
    }

    pub(super) fn delete_network(&self, id: NetworkId) -> Result<(), ProviderError> {
        let (network, defined) = match self.network_by_id(id) {
            Ok(found) => found,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        if defined.owner().is_none() {
            return Err(ProviderError::NotOwned {
                kind: "network",
                name: defined.name,
                doing: "delete".to_owned(),
            });
        }
        if network.is_active().unwrap_or(false) {
            network
                .destroy()
                .map_err(lv(format!("stop network {:?}", defined.name)))?;
        }
        network
            .undefine()
            .map_err(lv(format!("undefine network {:?}", defined.name)))
    }

    /// Puts a server on a network: an interface in its definition and, when it runs, live.
    /// Done already is done.
    pub(super) fn attach_network(
        &self,
        server: ServerId,
        id: NetworkId,
    ) -> Result<(), ProviderError> {
        let (domain, _) = self.owned(server, "attach a network to")?;
        let (_, network) = self.network_by_id(id)?;
        let defined = definition(&domain)?;
        if defined
            .devices
            .interfaces
            .iter()
            .any(|i| i.network() == Some(network.name.as_str()))
        {
            return Ok(());
        }
        let uuid = domain.uuid().map_err(lv("read a domain's UUID"))?;
        let interface = xml::Interface::on_network(&network.name, &mac(&uuid, id));
        let text = interface
            .to_xml()
            .map_err(|e| failed("write an interface definition", &e.to_string()))?;
        domain
            .attach_device_flags(&text, affect(&domain))
            .map_err(lv(format!("attach network {:?}", network.name)))
            .map(drop)
    }

    /// Takes a server off a network, in its definition and, when it runs, live (a guest with
    /// no operating system to agree keeps the live one until it is powered off).
    pub(super) fn detach_network(
        &self,
        server: ServerId,
        id: NetworkId,
    ) -> Result<(), ProviderError> {
        let (domain, _) = self.owned(server, "detach a network from")?;
        let (_, network) = self.network_by_id(id)?;
        let defined = definition(&domain)?;
        for interface in defined
            .devices
            .interfaces
            .iter()
            .filter(|i| i.network() == Some(network.name.as_str()))
        {
            let text = interface
                .to_xml()
                .map_err(|e| failed("write an interface definition", &e.to_string()))?;
            domain
                .detach_device_flags(&text, affect(&domain))
                .map_err(lv(format!("detach network {:?}", network.name)))?;
        }
        Ok(())
    }
}

/// A network as 1cloud's private network.
fn observe(network: &Network, defined: &xml::Network) -> Result<ObservedNetwork, ProviderError> {
    let uuid = network.uuid().map_err(lv("read a network's UUID"))?;
    let active = network.is_active().unwrap_or(false);
    let ipv4 = defined.ipv4();
    Ok(ObservedNetwork {
        id: NetworkId(id_of(&uuid)),
        name: defined.name.clone(),
        state: if active { "Active" } else { "Inactive" }.to_owned(),
        dc: Some(LOCATION.to_owned()),
        dhcp: defined.ips.iter().any(|ip| ip.dhcp.is_some()),
        mask: ipv4.map(|(_, prefix)| prefix.to_string()),
        gateway: ipv4.map(|(address, _)| address.to_string()),
        bandwidth: None,
        servers: Vec::new(),
    })
}

fn start(network: &Network, name: &str) -> Result<(), ProviderError> {
    if network.is_active().unwrap_or(false) {
        return Ok(());
    }
    match network.create() {
        // Started meanwhile by another call: done too.
        Err(_) if network.is_active().unwrap_or(false) => Ok(()),
        started => started
            .map(drop)
            .map_err(lv(format!("start network {name:?}"))),
    }
}

/// The first and last address of a subnet.
fn span(address: Ipv4Addr, prefix: u8) -> (u32, u32) {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0);
    let first = u32::from(address) & mask;
    (first, first | !mask)
}

/// Whether the /24 `subnet` overlaps none of `taken`.
fn free(subnet: [u8; 3], taken: &[(u32, u32)]) -> bool {
    let [a, b, c] = subnet;
    let (first, last) = span(Ipv4Addr::new(a, b, c, 0), 24);
    taken.iter().all(|(f, l)| last < *f || first > *l)
}

/// The /24 subnets a network named `name` may take, in the order tried: 10.x.y.0/24 starting
/// at a place given by the name (so names rarely meet), avoiding 10.0.x and 10.255.x.
fn subnets(name: &str) -> impl Iterator<Item = [u8; 3]> {
    const COUNT: u64 = 254 * 256;
    let start = super::fnv(name.as_bytes()) % COUNT;
    (0..COUNT).map(move |k| {
        let n = (start + k) % COUNT;
        let b = u8::try_from(1 + n / 256).unwrap_or(1);
        let c = u8::try_from(n % 256).unwrap_or(0);
        [10, b, c]
    })
}

/// A MAC address in QEMU's range (52:54:00), the same for the same server and network.
fn mac(domain: &[u8; 16], network: NetworkId) -> String {
    let mut key = domain.to_vec();
    key.extend_from_slice(&network.0.to_be_bytes());
    mac_of(&key)
}

/// A MAC address in QEMU's range (52:54:00) made from `key`.
pub(super) fn mac_of(key: &[u8]) -> String {
    let [_, _, _, _, _, d, e, f] = super::fnv(key).to_be_bytes();
    format!("52:54:00:{d:02x}:{e:02x}:{f:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subnet_is_free_when_it_overlaps_no_network() {
        let taken = [
            span(Ipv4Addr::new(10, 1, 2, 1), 24),
            span(Ipv4Addr::new(192, 168, 122, 1), 24),
            span(Ipv4Addr::new(10, 8, 0, 1), 16),
        ];
        assert!(!free([10, 1, 2], &taken));
        assert!(!free([10, 8, 200], &taken));
        assert!(free([10, 1, 3], &taken));
        assert!(free([10, 9, 0], &taken));
    }

    #[test]
    fn subnets_start_where_the_name_says_and_stay_in_10_1_to_10_254() {
        let first: Vec<[u8; 3]> = subnets("lan").take(3).collect();
        assert_eq!(first, subnets("lan").take(3).collect::<Vec<_>>());
        assert_ne!(first[0], subnets("db").next().unwrap());
        assert!(subnets("x")
            .take(70_000)
            .all(|[a, b, _]| a == 10 && (1..=254).contains(&b)));
    }
}
