//! libvirt's XML documents as typed values: the domain and volume definitions ict writes, and
//! the parts of what libvirt reports that ict reads. Serialized and parsed with quick-xml's
//! serde support, so no XML is ever put together by string concatenation. Pure data; depends
//! on nothing else in ict.

use serde::{Deserialize, Serialize};

/// The XML namespace of ict's `<metadata>` element on the domains it creates: what marks a
/// domain as ict's (libvirt keeps it with the domain, and `virsh dumpxml` shows it).
pub const NAMESPACE: &str = "https://github.com/ict-tool/ict/xmlns/libvirt/1";
/// The prefix the namespace is written with.
pub const PREFIX: &str = "ict";

/// What ict records on a domain it created: the server's 1cloud-style settings that libvirt
/// has no place for, so that a plan reads back what was asked, and the root volume to delete
/// with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename = "ict:server")]
pub struct Owner {
    #[serde(
        rename = "@xmlns:ict",
        default,
        skip_deserializing,
        skip_serializing_if = "String::is_empty"
    )]
    pub xmlns: String,
    /// The image the root volume was made from (`blank` for an empty disk).
    #[serde(rename = "@image")]
    pub image: String,
    #[serde(rename = "@disk_type")]
    pub disk_type: String,
    #[serde(rename = "@high_performance", default)]
    pub high_performance: bool,
    /// The storage pool and name of the root volume.
    #[serde(rename = "@pool")]
    pub pool: String,
    #[serde(rename = "@volume")]
    pub volume: String,
    /// The root volume's size in GiB and the image ID it is made from, as asked: what a create
    /// cut short after the definition needs to finish.
    #[serde(rename = "@disk", default)]
    pub disk: u32,
    #[serde(rename = "@image_id", default)]
    pub image_id: u64,
    /// Whether the machine has been started once: its create is complete.
    #[serde(rename = "@started", default)]
    pub started: bool,
    /// When ict defined the domain (RFC 3339).
    #[serde(rename = "@created", default)]
    pub created: String,
    /// The cloud-init seed volume in `pool` (empty for domains made before seeds).
    #[serde(rename = "@seed", default, skip_serializing_if = "String::is_empty")]
    pub seed: String,
    /// The SSH public keys the seed carries, kept so that a create cut short writes it again.
    #[serde(rename = "key", default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

impl Owner {
    /// The `<metadata>` child as libvirt wants it.
    pub fn element(&self) -> Result<String, quick_xml::SeError> {
        let owner = Owner {
            xmlns: NAMESPACE.to_owned(),
            ..self.clone()
        };
        quick_xml::se::to_string(&owner)
    }

    /// Reads the element `virDomainGetMetadata` gives back.
    pub fn parse(xml: &str) -> Result<Owner, quick_xml::DeError> {
        quick_xml::de::from_str(xml)
    }
}

/// A domain definition (`virDomainDefineXML`), or the parts of one ict reads back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "domain")]
pub struct Domain {
    /// `kvm` or `qemu` (TCG).
    #[serde(rename = "@type")]
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub metadata: Option<Metadata>,
    pub memory: Amount,
    pub vcpu: Count,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    #[serde(default)]
    pub devices: Devices,
}

/// `<metadata>`: ict's element.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    #[serde(rename = "ict:server")]
    pub owner: Owner,
}

/// A number with a `unit` attribute (`<memory unit="KiB">`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Amount {
    #[serde(rename = "@unit", default = "kib")]
    pub unit: String,
    #[serde(rename = "$text")]
    pub value: u64,
}

fn kib() -> String {
    "KiB".to_owned()
}

impl Amount {
    /// `value` MiB.
    pub fn mib(value: u64) -> Amount {
        Amount {
            unit: "MiB".to_owned(),
            value,
        }
    }

    /// The amount in MiB, whatever unit libvirt wrote.
    pub fn in_mib(&self) -> u64 {
        in_bytes(self.value, &self.unit) / (1 << 20)
    }
}

/// Bytes in `value` `unit`s (libvirt's spellings; KiB when none is given).
pub fn in_bytes(value: u64, unit: &str) -> u64 {
    let factor: u64 = match unit {
        "b" | "bytes" => 1,
        "KB" => 1000,
        "MB" => 1000_u64.pow(2),
        "GB" => 1000_u64.pow(3),
        "TB" => 1000_u64.pow(4),
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        _ => 1 << 10,
    };
    value.saturating_mul(factor)
}

/// `<vcpu>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Count {
    #[serde(rename = "$text")]
    pub value: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Os {
    #[serde(rename = "type")]
    pub kind: OsType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<Boot>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OsType {
    #[serde(rename = "@arch", default)]
    pub arch: String,
    #[serde(rename = "$text")]
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Boot {
    #[serde(rename = "@dev")]
    pub dev: String,
}

/// `<features>`: ACPI, so that a guest can be shut down cleanly.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Features {
    #[serde(default)]
    pub acpi: Option<Empty>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Empty {}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Devices {
    #[serde(rename = "disk", default)]
    pub disks: Vec<Disk>,
    #[serde(rename = "interface", default)]
    pub interfaces: Vec<Interface>,
    #[serde(rename = "controller", default, skip_serializing_if = "Vec::is_empty")]
    pub controllers: Vec<Controller>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<Pty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<Pty>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pty {
    #[serde(rename = "@type")]
    pub kind: String,
}

/// A device controller (`<controller type='scsi' model='virtio-scsi'/>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Controller {
    /// `scsi`, `pci`, `usb`, ...
    #[serde(rename = "@type")]
    pub kind: String,
    #[serde(rename = "@model", default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A disk: a volume of a pool, or a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Disk {
    /// `volume` or `file`.
    #[serde(rename = "@type")]
    pub kind: String,
    /// `disk` or `cdrom`.
    #[serde(rename = "@device")]
    pub device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Driver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DiskSource>,
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly: Option<Empty>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Driver {
    #[serde(rename = "@name")]
    pub name: String,
    #[serde(rename = "@type")]
    pub format: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DiskSource {
    #[serde(rename = "@pool", default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(rename = "@volume", default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    #[serde(rename = "@file", default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "@dev")]
    pub dev: String,
    #[serde(rename = "@bus", default)]
    pub bus: String,
}

/// A network interface on a libvirt network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interface {
    /// `network`, `bridge`, ...
    #[serde(rename = "@type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<InterfaceSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
    /// `<rom enabled='no'/>`: no network-boot firmware (iPXE). ict's machines boot from their
    /// disk; without it, a machine whose disk does not boot spins in iPXE's DHCP loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rom: Option<Rom>,
    /// The host-side device (`vnet0`), in a running machine's definition.
    #[serde(default, skip_serializing)]
    pub target: Option<InterfaceTarget>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterfaceTarget {
    #[serde(rename = "@dev")]
    pub dev: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mac {
    #[serde(rename = "@address")]
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterfaceSource {
    #[serde(rename = "@network", default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rom {
    #[serde(rename = "@enabled")]
    pub enabled: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    #[serde(rename = "@type")]
    pub kind: String,
}

impl Interface {
    /// An interface on libvirt network `network` with the MAC address `mac` (virtio).
    pub fn on_network(network: &str, mac: &str) -> Interface {
        Interface {
            kind: "network".to_owned(),
            mac: Some(Mac {
                address: mac.to_owned(),
            }),
            source: Some(InterfaceSource {
                network: Some(network.to_owned()),
            }),
            model: Some(Model {
                kind: "virtio".to_owned(),
            }),
            rom: Some(Rom {
                enabled: "no".to_owned(),
            }),
            target: None,
        }
    }

    /// The network it is on, if it is on a libvirt network.
    pub fn network(&self) -> Option<&str> {
        self.source.as_ref()?.network.as_deref()
    }

    pub fn to_xml(&self) -> Result<String, quick_xml::SeError> {
        quick_xml::se::to_string_with_root("interface", self)
    }
}

/// A libvirt network definition (`virNetworkDefineXML`), or what ict reads of one: ict's own
/// are isolated (no `<forward>`), with one IPv4 subnet and, if asked, DHCP on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "network")]
pub struct Network {
    /// The namespace of `<dnsmasq:options>`, when written.
    #[serde(
        rename = "@xmlns:dnsmasq",
        default,
        skip_deserializing,
        skip_serializing_if = "Option::is_none"
    )]
    pub xmlns_dnsmasq: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<NetworkMetadata>,
    /// `nat`, `route`, `bridge`, ...; none for an isolated network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forward>,
    #[serde(rename = "ip", default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<NetworkIp>,
    /// Options for the network's DHCP server (libvirt runs dnsmasq), written only.
    #[serde(
        rename = "dnsmasq:options",
        default,
        skip_deserializing,
        skip_serializing_if = "Option::is_none"
    )]
    pub dnsmasq: Option<DnsmasqOptions>,
}

/// `<dnsmasq:options>`: lines of dnsmasq's configuration, libvirt's documented escape hatch.
#[derive(Debug, Clone, Serialize)]
pub struct DnsmasqOptions {
    #[serde(rename = "dnsmasq:option")]
    pub options: Vec<DnsmasqOption>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsmasqOption {
    #[serde(rename = "@value")]
    pub value: String,
}

/// libvirt's namespace for dnsmasq options in a network's XML.
const DNSMASQ_NAMESPACE: &str = "http://libvirt.org/schemas/network/dnsmasq/1.0";

/// `<metadata>` of a network: ict's element, if ict made it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkMetadata {
    #[serde(
        rename = "ict:network",
        alias = "network",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owner: Option<NetworkOwner>,
}

/// What marks a network as ict's (network metadata calls need libvirt 9.7, so it is written
/// and read with the network's XML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NetworkOwner {
    #[serde(
        rename = "@xmlns:ict",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub xmlns: String,
    /// When ict defined the network (RFC 3339).
    #[serde(rename = "@created", default)]
    pub created: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forward {
    #[serde(rename = "@mode", default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// A subnet of a network: the host's address on it, and its DHCP range.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkIp {
    #[serde(rename = "@family", default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(rename = "@address", default)]
    pub address: String,
    #[serde(rename = "@netmask", default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<String>,
    #[serde(rename = "@prefix", default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<Dhcp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dhcp {
    #[serde(default)]
    pub range: Vec<Range>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "@start")]
    pub start: String,
    #[serde(rename = "@end")]
    pub end: String,
}

impl Network {
    /// An isolated network `name` on the /24 `subnet` (its first three octets), the host at
    /// `.1`, and DHCP handing out `.2`–`.254` when `dhcp` — at once: dnsmasq's default is to
    /// ping an address and wait up to 3 s for an answer before offering it, a guard against
    /// hosts with addresses set by hand, which a network of ict's VMs, all on DHCP, has no
    /// need of, and which delays every new VM's first address.
    pub fn isolated(name: &str, subnet: [u8; 3], dhcp: bool, created: &str) -> Network {
        let [a, b, c] = subnet;
        Network {
            xmlns_dnsmasq: dhcp.then(|| DNSMASQ_NAMESPACE.to_owned()),
            dnsmasq: dhcp.then(|| DnsmasqOptions {
                options: vec![DnsmasqOption {
                    value: "no-ping".to_owned(),
                }],
            }),
            name: name.to_owned(),
            uuid: None,
            metadata: Some(NetworkMetadata {
                owner: Some(NetworkOwner {
                    xmlns: NAMESPACE.to_owned(),
                    created: created.to_owned(),
                }),
            }),
            forward: None,
            ips: vec![NetworkIp {
                family: None,
                address: format!("{a}.{b}.{c}.1"),
                netmask: Some("255.255.255.0".to_owned()),
                prefix: None,
                dhcp: dhcp.then(|| Dhcp {
                    range: vec![Range {
                        start: format!("{a}.{b}.{c}.2"),
                        end: format!("{a}.{b}.{c}.254"),
                    }],
                }),
            }],
        }
    }

    pub fn parse(xml: &str) -> Result<Network, quick_xml::DeError> {
        quick_xml::de::from_str(xml)
    }

    pub fn to_xml(&self) -> Result<String, quick_xml::SeError> {
        quick_xml::se::to_string(self)
    }

    /// ict's mark, if ict made it.
    pub fn owner(&self) -> Option<&NetworkOwner> {
        self.metadata.as_ref()?.owner.as_ref()
    }

    /// Its IPv4 subnet: the host's address and the prefix length.
    pub fn ipv4(&self) -> Option<(std::net::Ipv4Addr, u8)> {
        self.ips
            .iter()
            .filter(|ip| ip.family.as_deref().is_none_or(|f| f == "ipv4"))
            .find_map(|ip| {
                let address: std::net::Ipv4Addr = ip.address.parse().ok()?;
                let prefix = match (&ip.prefix, &ip.netmask) {
                    (Some(prefix), _) => *prefix,
                    (None, Some(mask)) => {
                        let mask: std::net::Ipv4Addr = mask.parse().ok()?;
                        u8::try_from(u32::from(mask).count_ones()).ok()?
                    }
                    (None, None) => 24,
                };
                Some((address, prefix))
            })
    }
}

/// A storage volume definition (`virStorageVolCreateXML`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename = "volume")]
pub struct Volume {
    pub name: String,
    pub capacity: Amount,
    pub target: VolumeTarget,
    #[serde(rename = "backingStore", skip_serializing_if = "Option::is_none")]
    pub backing: Option<Backing>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeTarget {
    pub format: Format,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Format {
    #[serde(rename = "@type")]
    pub kind: String,
}

/// The base volume a copy-on-write volume reads from.
#[derive(Debug, Clone, Serialize)]
pub struct Backing {
    pub path: String,
    pub format: Format,
}

/// A storage pool definition (`virStoragePoolDefineXML`), or what ict reads of one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename = "pool")]
pub struct PoolDef {
    /// `dir`, `netfs`, ...
    #[serde(rename = "@type")]
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PoolSource>,
    pub target: PoolTarget,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Named>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathAttr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Named {
    #[serde(rename = "@name")]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathAttr {
    #[serde(rename = "@path")]
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolTarget {
    pub path: String,
}

impl PoolDef {
    /// A `dir` pool at `path`, or a `netfs` one mounting `host:export` there.
    pub fn new(name: &str, kind: &str, path: &str, nfs: Option<(&str, &str)>) -> PoolDef {
        PoolDef {
            kind: kind.to_owned(),
            name: name.to_owned(),
            source: nfs.map(|(host, export)| PoolSource {
                host: Some(Named {
                    name: host.to_owned(),
                }),
                dir: Some(PathAttr {
                    path: export.to_owned(),
                }),
                format: Some(Format {
                    kind: "nfs".to_owned(),
                }),
            }),
            target: PoolTarget {
                path: path.to_owned(),
            },
        }
    }

    pub fn parse(xml: &str) -> Result<PoolDef, quick_xml::DeError> {
        quick_xml::de::from_str(xml)
    }

    pub fn to_xml(&self) -> Result<String, quick_xml::SeError> {
        quick_xml::se::to_string(self)
    }
}

impl Disk {
    /// A further disk: volume `volume` of pool `pool` as `dev` (`vdb`).
    pub fn volume(pool: &str, volume: &str, format: &str, dev: &str) -> Disk {
        Disk {
            kind: "volume".to_owned(),
            device: "disk".to_owned(),
            driver: Some(Driver {
                name: "qemu".to_owned(),
                format: format.to_owned(),
            }),
            source: Some(DiskSource {
                pool: Some(pool.to_owned()),
                volume: Some(volume.to_owned()),
                file: None,
            }),
            target: Target {
                dev: dev.to_owned(),
                bus: "virtio".to_owned(),
            },
            readonly: None,
        }
    }

    pub fn to_xml(&self) -> Result<String, quick_xml::SeError> {
        quick_xml::se::to_string_with_root("disk", self)
    }
}

/// The backing file of a copy-on-write volume, from its XML.
pub fn backing_path(xml: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Described {
        #[serde(rename = "backingStore")]
        backing: Option<DescribedBacking>,
    }
    #[derive(Deserialize)]
    struct DescribedBacking {
        path: Option<String>,
    }
    let described: Described = quick_xml::de::from_str(xml).ok()?;
    described.backing?.path
}

/// The format (`qcow2`, `raw`) of a volume, from its XML (`virStorageVolGetXMLDesc`).
pub fn volume_format(xml: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Described {
        target: DescribedTarget,
    }
    #[derive(Deserialize)]
    struct DescribedTarget {
        format: Option<DescribedFormat>,
    }
    #[derive(Deserialize)]
    struct DescribedFormat {
        #[serde(rename = "@type")]
        kind: String,
    }
    let described: Described = quick_xml::de::from_str(xml).ok()?;
    described.target.format.map(|f| f.kind)
}

impl Domain {
    /// A new server's domain: `cpu` vCPUs, `ram_mib` of memory, the root volume as its first
    /// disk, ACPI for clean shutdowns, a serial console, and ict's metadata.
    pub fn new_server(kind: &str, name: &str, cpu: u32, ram_mib: u64, owner: Owner) -> Domain {
        let owner = Owner {
            xmlns: NAMESPACE.to_owned(),
            ..owner
        };
        let root = Disk {
            kind: "volume".to_owned(),
            device: "disk".to_owned(),
            driver: Some(Driver {
                name: "qemu".to_owned(),
                format: "qcow2".to_owned(),
            }),
            source: Some(DiskSource {
                pool: Some(owner.pool.clone()),
                volume: Some(owner.volume.clone()),
                file: None,
            }),
            target: Target {
                dev: "vda".to_owned(),
                bus: "virtio".to_owned(),
            },
            readonly: None,
        };
        let mut disks = vec![root];
        let mut controllers = Vec::new();
        if !owner.seed.is_empty() {
            // Not virtio-blk, so that the guest's virtio disks are numbered as libvirt shows
            // them; on virtio-scsi, which every Linux kernel for VMs has. SATA would not do:
            // Debian's cloud kernel (its `genericcloud` images) has no AHCI driver, and would not
            // see the seed, nor IDE: q35 machines have none.
            let mut seed = Disk::volume(&owner.pool, &owner.seed, "raw", "sda");
            "scsi".clone_into(&mut seed.target.bus);
            disks.push(seed);
            controllers.push(Controller {
                kind: "scsi".to_owned(),
                model: Some("virtio-scsi".to_owned()),
            });
        }
        Domain {
            kind: kind.to_owned(),
            name: name.to_owned(),
            uuid: None,
            metadata: Some(Metadata { owner }),
            memory: Amount::mib(ram_mib),
            vcpu: Count { value: cpu },
            os: Some(Os {
                kind: OsType {
                    arch: "x86_64".to_owned(),
                    value: "hvm".to_owned(),
                },
                boot: Some(Boot {
                    dev: "hd".to_owned(),
                }),
            }),
            features: Some(Features {
                acpi: Some(Empty {}),
            }),
            devices: Devices {
                disks,
                interfaces: Vec::new(),
                controllers,
                serial: Some(Pty {
                    kind: "pty".to_owned(),
                }),
                console: Some(Pty {
                    kind: "pty".to_owned(),
                }),
            },
        }
    }

    /// Reads a domain's XML (`virDomainGetXMLDesc`), keeping what ict uses.
    pub fn parse(xml: &str) -> Result<Domain, quick_xml::DeError> {
        quick_xml::de::from_str(xml)
    }

    /// The XML to define.
    pub fn to_xml(&self) -> Result<String, quick_xml::SeError> {
        quick_xml::se::to_string(self)
    }
}

impl Volume {
    /// A qcow2 volume of `gib` GiB, copy-on-write over `backing` (a qcow2 or raw file) if given.
    pub fn qcow2(name: &str, gib: u64, backing: Option<(String, String)>) -> Volume {
        Volume::new(name, gib, "qcow2", backing)
    }

    /// A volume of exactly `bytes` in `format` (to upload a disk image into).
    pub fn sized(name: &str, bytes: u64, format: &str) -> Volume {
        let mut volume = Volume::new(name, 0, format, None);
        volume.capacity = Amount {
            unit: "bytes".to_owned(),
            value: bytes,
        };
        volume
    }

    /// A volume of `gib` GiB in `format`.
    pub fn new(name: &str, gib: u64, format: &str, backing: Option<(String, String)>) -> Volume {
        Volume {
            name: name.to_owned(),
            capacity: Amount {
                unit: "GiB".to_owned(),
                value: gib,
            },
            target: VolumeTarget {
                format: Format {
                    kind: format.to_owned(),
                },
            },
            backing: backing.map(|(path, format)| Backing {
                path,
                format: Format { kind: format },
            }),
        }
    }

    pub fn to_xml(&self) -> Result<String, quick_xml::SeError> {
        quick_xml::se::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            image: "blank".to_owned(),
            disk_type: "SSD".to_owned(),
            pool: "ict-test".to_owned(),
            volume: "vm-1.qcow2".to_owned(),
            disk: 10,
            created: "2026-12-06T00:00:00Z".to_owned(),
            ..Owner::default()
        }
    }

    #[test]
    fn a_new_servers_domain_carries_ict_metadata_and_reads_back() {
        let xml = Domain::new_server("qemu", "vm-1", 2, 512, owner())
            .to_xml()
            .unwrap();
        assert!(
            xml.contains(&format!(
                "<metadata><ict:server xmlns:ict=\"{NAMESPACE}\" image=\"blank\""
            )),
            "{xml}"
        );
        assert!(
            xml.contains("<memory unit=\"MiB\">512</memory><vcpu>2</vcpu>"),
            "{xml}"
        );
        assert!(
            xml.contains("<source pool=\"ict-test\" volume=\"vm-1.qcow2\"/>"),
            "{xml}"
        );
        let back = Domain::parse(&xml).unwrap();
        assert_eq!((back.name.as_str(), back.vcpu.value), ("vm-1", 2));
        assert_eq!(back.memory.in_mib(), 512);
        assert_eq!(back.devices.disks.len(), 1);
        assert!(back.devices.controllers.is_empty(), "{xml}");
    }

    #[test]
    fn an_isolated_network_with_dhcp_offers_addresses_without_pinging_first() {
        let xml = Network::isolated("lan", [10, 7, 3], true, "2026-12-07T00:00:00Z")
            .to_xml()
            .expect("xml");
        assert!(
            xml.starts_with(
                "<network xmlns:dnsmasq=\"http://libvirt.org/schemas/network/dnsmasq/1.0\">"
            ),
            "{xml}"
        );
        assert!(
            xml.ends_with(
                "<dnsmasq:options><dnsmasq:option value=\"no-ping\"/></dnsmasq:options></network>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<range start=\"10.7.3.2\" end=\"10.7.3.254\"/>"),
            "{xml}"
        );
        let parsed = Network::parse(&xml).expect("reads back");
        assert_eq!(
            parsed.ipv4().map(|(ip, _)| ip.to_string()).as_deref(),
            Some("10.7.3.1")
        );
        let without = Network::isolated("lan", [10, 7, 3], false, "2026-12-07T00:00:00Z")
            .to_xml()
            .expect("xml");
        assert!(!without.contains("dnsmasq"), "{without}");
    }

    #[test]
    fn the_seed_is_a_scsi_disk_on_virtio_scsi() {
        let owner = Owner {
            seed: "vm-1-seed.img".to_owned(),
            ..owner()
        };
        let xml = Domain::new_server("qemu", "vm-1", 1, 512, owner)
            .to_xml()
            .unwrap();
        assert!(
            xml.contains("<target dev=\"sda\" bus=\"scsi\"/>")
                && xml.contains("<controller type=\"scsi\" model=\"virtio-scsi\"/>"),
            "{xml}"
        );
    }

    #[test]
    fn libvirts_own_dump_is_read_whatever_it_adds() {
        let dumped = r"<domain type='qemu' id='3'>
  <name>not-ict</name>
  <uuid>0b0c5a3e-4a1b-4f7e-9a0e-2b5e8f1c2d3e</uuid>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='pci' index='0' model='pci-root'><alias name='pci.0'/></controller>
    <controller type='usb' index='0' model='piix3-uhci'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/></controller>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='/tmp/x.qcow2' index='1'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:cc'/>
      <source network='default'/><model type='virtio'/></interface>
  </devices>
</domain>";
        let domain = Domain::parse(dumped).unwrap();
        assert_eq!(domain.memory.in_mib(), 1024);
        assert_eq!(domain.devices.controllers.len(), 2);
        assert_eq!(domain.devices.interfaces.len(), 1);
        assert_eq!(
            domain.devices.interfaces[0].mac.as_ref().unwrap().address,
            "52:54:00:aa:bb:cc"
        );
        assert_eq!(
            domain.devices.disks[0]
                .source
                .as_ref()
                .unwrap()
                .file
                .as_deref(),
            Some("/tmp/x.qcow2")
        );
    }

    #[test]
    fn the_metadata_element_libvirt_gives_back_is_read() {
        let given = format!(
            "<ict:server xmlns:ict=\"{NAMESPACE}\" image=\"blank\" disk_type=\"SSD\" \
             high_performance=\"false\" pool=\"ict-test\" volume=\"vm-1.qcow2\" disk=\"10\" \
             image_id=\"0\" started=\"false\" created=\"2026-12-06T00:00:00Z\"/>"
        );
        assert_eq!(Owner::parse(&given).unwrap(), owner());
    }

    #[test]
    fn a_volume_over_a_base_image_names_its_backing_file() {
        let xml = Volume::qcow2(
            "vm-1.qcow2",
            10,
            Some(("/pool/debian.qcow2".to_owned(), "qcow2".to_owned())),
        )
        .to_xml()
        .unwrap();
        assert_eq!(
            xml,
            "<volume><name>vm-1.qcow2</name><capacity unit=\"GiB\">10</capacity>\
             <target><format type=\"qcow2\"/></target><backingStore><path>/pool/debian.qcow2</path>\
             <format type=\"qcow2\"/></backingStore></volume>"
        );
    }
}
