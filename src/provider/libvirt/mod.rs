//! The libvirt provider: servers as libvirt domains on a hypervisor of your own (a lab, an office
//! server), through libvirt's C library, loaded on first use (`sys`). Root volumes live in a storage pool; libvirt's networks are the private networks
//! (`network`); SSH keys and host names go into each server's cloud-init seed (`seed`); the
//! domains' XML is built and read as typed values (`xml`).
//!
//! Ownership: ict writes its own `<metadata>` element (namespace [`xml::NAMESPACE`]) into every
//! domain it defines, in the same call that defines it, and refuses to change or delete a domain
//! without it — besides the planner's rule that only what the state records is touched. Every
//! domain is listed, so the ones ict did not make show as unmanaged.
//!
//! libvirt calls block, so each runs on tokio's blocking pool; its operations finish before they
//! return, so the 1cloud-style actions come back completed. May depend on `provider` only.

mod network;
pub mod seed;
mod stats;
mod storage;
pub mod sys;
pub mod xml;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sys::{Code, Connect, Domain, StoragePool, StorageVol};
use tokio::time::Instant;

use super::onecloud::SendGuard;
use super::{
    Action, ActionId, ActionState, DcLocation, DomainId, Image, ImageId, Kinds, NetworkId,
    Observed, ObservedDomain, ObservedNetwork, ObservedRecord, ObservedServer, ObservedSshKey,
    PowerOp, Provider, ProviderError, RecordId, RecordSpec, ServerId, ServerLink, ServerSize,
    ServerSpec, ServerState, SshKeyId, SshKeySpec,
};
use super::{ObservedPool, ObservedVolume, PoolId, PoolSpec, VolumeId, VolumeSpec};
pub use stats::DomainStats;

/// The data centre name servers and networks on libvirt have (there is one place: the host).
pub const LOCATION: &str = "libvirt";
/// The image of an empty root volume: a machine with no operating system (lifecycle tests,
/// PXE or an ISO attached later).
pub const BLANK_IMAGE: &str = "blank";
/// The URI used when neither the script nor `ICT_LIBVIRT_URI` gives one.
pub const DEFAULT_URI: &str = "qemu:///system";
/// The storage pool root volumes go to when the script names none.
pub const DEFAULT_POOL: &str = "default";

const NO_KVM: &str = "virt_type \"kvm\" was asked for, but the host offers no KVM (use \"qemu\")";

/// Where and how to reach libvirt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `qemu:///system`, `qemu+ssh://host/system`, ...
    pub uri: String,
    /// The storage pool of the root volumes.
    pub pool: String,
    /// How long a clean shutdown may take before the machine is powered off.
    pub shutdown_timeout: Duration,
    /// The domain type (`kvm`, `qemu`); `None` for KVM when the host offers it, else `qemu`.
    pub virt_type: Option<String>,
    /// A network every server joins first (libvirt's `default`, ...), as 1cloud's servers
    /// have a public interface; `None` for only the networks a server declares.
    pub network: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            uri: DEFAULT_URI.to_owned(),
            pool: DEFAULT_POOL.to_owned(),
            shutdown_timeout: Duration::from_secs(60),
            virt_type: None,
            network: None,
        }
    }
}

/// A connection to one libvirt daemon. Cheap to clone.
#[derive(Clone)]
pub struct Libvirt {
    inner: Arc<Inner>,
    guard: Option<SendGuard>,
}

struct Inner {
    settings: Settings,
    conn: Connect,
    /// `kvm` when the host offers it, else `qemu` (TCG).
    domain_type: String,
    actions: AtomicU64,
}

impl Libvirt {
    /// Connects to the daemon at `settings.uri`.
    pub async fn open(settings: Settings) -> Result<Libvirt, ProviderError> {
        let uri = settings.uri.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let conn = Connect::open(&uri)?;
            let caps = conn.capabilities()?;
            Ok::<_, sys::Error>((conn, caps))
        })
        .await
        .map_err(|e| failed("connect", &e.to_string()))?;
        let (conn, caps) = opened.map_err(|e| ProviderError::Libvirt {
            operation: format!("connect to {}", settings.uri),
            message: e.message().to_owned(),
        })?;
        let kvm = caps.contains("type='kvm'") || caps.contains("type=\"kvm\"");
        let domain_type = match settings.virt_type.as_deref() {
            Some("kvm") if !kvm => {
                return Err(failed(&format!("connect to {}", settings.uri), NO_KVM));
            }
            Some(asked) => asked.to_owned(),
            None => if kvm { "kvm" } else { "qemu" }.to_owned(),
        };
        Ok(Libvirt {
            inner: Arc::new(Inner {
                settings,
                conn,
                domain_type,
                actions: AtomicU64::new(1),
            }),
            guard: None,
        })
    }

    /// This connection, asking `guard` before each change (see the 1cloud client's).
    #[must_use]
    pub fn with_send_guard(&self, guard: Option<SendGuard>) -> Libvirt {
        Libvirt {
            inner: self.inner.clone(),
            guard,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Runs `call` on the blocking pool; `what` names it in errors.
    async fn read<T: Send + 'static>(
        &self,
        what: &str,
        call: impl FnOnce(&Inner) -> Result<T, ProviderError> + Send + 'static,
    ) -> Result<T, ProviderError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || call(&inner))
            .await
            .map_err(|e| failed(what, &e.to_string()))?
    }

    /// [`Libvirt::read`] for a change: not sent once the state's lock may have lapsed.
    async fn change<T: Send + 'static>(
        &self,
        what: &str,
        call: impl FnOnce(&Inner) -> Result<T, ProviderError> + Send + 'static,
    ) -> Result<T, ProviderError> {
        if self.guard.as_ref().is_some_and(|allowed| !allowed()) {
            return Err(ProviderError::NotSent {
                method: "libvirt".to_owned(),
                path: what.to_owned(),
            });
        }
        self.read(what, call).await
    }

    /// Every domain with its statistics (for `ict metrics` without `node_exporter`).
    pub async fn domain_stats(&self) -> Result<Vec<DomainStats>, ProviderError> {
        self.read("read domain statistics", stats::all).await
    }

    /// One domain's statistics.
    pub async fn domain_stats_of(&self, id: ServerId) -> Result<DomainStats, ProviderError> {
        self.read("read domain statistics", move |inner| stats::of(inner, id))
            .await
    }

    /// A completed action (libvirt's calls return when done).
    fn done(&self, server: ServerId, op: &str) -> Action {
        Action {
            id: ActionId(self.inner.actions.fetch_add(1, Ordering::Relaxed)),
            server,
            kind: op.to_owned(),
            state: ActionState::Completed,
            started: None,
            ended: None,
        }
    }
}

/// An error of the libvirt call `operation`.
fn failed(operation: &str, message: &str) -> ProviderError {
    ProviderError::Libvirt {
        operation: operation.to_owned(),
        message: message.to_owned(),
    }
}

/// Maps a libvirt error of `operation`.
fn lv(operation: impl Into<String>) -> impl FnOnce(sys::Error) -> ProviderError {
    let operation = operation.into();
    move |e| {
        if [
            Code::NoDomain,
            Code::NoNetwork,
            Code::NoStorageVolume,
            Code::NoStoragePool,
        ]
        .into_iter()
        .any(|code| e.is(code))
        {
            ProviderError::Missing {
                what: operation,
                message: e.message().to_owned(),
            }
        } else {
            failed(&operation, e.message())
        }
    }
}

/// A domain's persistent definition (`virDomainGetXMLDesc` with `VIR_DOMAIN_XML_INACTIVE`).
fn definition(domain: &Domain) -> Result<xml::Domain, ProviderError> {
    let doing = format!("read domain {:?}", domain.name().unwrap_or_default());
    let text = domain
        .xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
        .map_err(lv(doing.clone()))?;
    xml::Domain::parse(&text).map_err(|e| failed(&doing, &e.to_string()))
}

/// The flags of a device change: the definition and, when it runs, the running machine too.
fn affect(domain: &Domain) -> u32 {
    let live = if domain.is_active().unwrap_or(false) {
        sys::VIR_DOMAIN_AFFECT_LIVE
    } else {
        0
    };
    sys::VIR_DOMAIN_AFFECT_CONFIG | live
}

/// Starts a pool that is not running; its folder is made first if it is missing (a pool whose
/// create was cut short between its definition and its build). Creates in parallel may start
/// it at the same time: one that finds it started meanwhile is done too.
fn start_pool(pool: &StoragePool, name: &str) -> Result<(), ProviderError> {
    if pool.is_active().unwrap_or(false) {
        return Ok(());
    }
    let _ = pool.build(0);
    match pool.create(0) {
        Err(_) if pool.is_active().unwrap_or(false) => Ok(()),
        started => started.map_err(lv(format!("start storage pool {name:?}"))),
    }
}

/// A stable 48-bit ID from a libvirt UUID (IDs are JSON numbers; 48 bits stay exact).
fn id_of(uuid: &[u8; 16]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[2..].copy_from_slice(&uuid[..6]);
    u64::from_be_bytes(bytes)
}

/// A stable 48-bit ID of a volume (by its key, the path for file pools).
fn volume_id(key: &str) -> u64 {
    fnv(key.as_bytes()) & 0xffff_ffff_ffff
}

/// FNV-1a: stable across versions and platforms, unlike std's hasher.
fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

impl Inner {
    fn domains(&self) -> Result<Vec<Domain>, ProviderError> {
        self.conn.list_all_domains(0).map_err(lv("list domains"))
    }

    fn domain(&self, id: ServerId) -> Result<Domain, ProviderError> {
        for domain in self.domains()? {
            if domain.uuid().map(|u| id_of(&u)).ok() == Some(id.0) {
                return Ok(domain);
            }
        }
        Err(ProviderError::Missing {
            what: format!("domain {id}"),
            message: "no such domain".to_owned(),
        })
    }

    /// ict's metadata on a domain, if ict made it.
    fn owner(domain: &Domain) -> Option<xml::Owner> {
        let element = domain
            .metadata(
                sys::VIR_DOMAIN_METADATA_ELEMENT,
                Some(xml::NAMESPACE),
                sys::VIR_DOMAIN_AFFECT_CONFIG,
            )
            .ok()?;
        xml::Owner::parse(&element).ok()
    }

    /// The domain, if ict made it; refuses one it did not.
    fn owned(&self, id: ServerId, doing: &str) -> Result<(Domain, xml::Owner), ProviderError> {
        let domain = self.domain(id)?;
        match Inner::owner(&domain) {
            Some(owner) => Ok((domain, owner)),
            None => Err(ProviderError::NotOwned {
                kind: "domain",
                name: domain.name().unwrap_or_default(),
                doing: doing.to_owned(),
            }),
        }
    }

    fn pool(&self, name: &str) -> Result<StoragePool, ProviderError> {
        let pool = self.conn.lookup_storage_pool_by_name(name).map_err(|e| {
            if e.is(Code::NoStoragePool) {
                ProviderError::Libvirt {
                    operation: format!("find storage pool {name:?}"),
                    message: format!(
                        "there is no storage pool named {name:?}: create one (`virsh pool-define-as {name} dir --target /var/lib/libvirt/images/{name} && virsh pool-build {name} && virsh pool-start {name}`) or name another with provider(\"libvirt\", #{{ pool: ... }})"
                    ),
                }
            } else {
                lv(format!("find storage pool {name:?}"))(e)
            }
        })?;
        start_pool(&pool, name)?;
        Ok(pool)
    }

    fn volume(pool: &StoragePool, name: &str) -> Option<StorageVol> {
        pool.lookup_storage_vol_by_name(name).ok()
    }

    /// One domain as a server.
    fn observe_domain(&self, domain: &Domain) -> Result<ObservedServer, ProviderError> {
        let uuid = domain.uuid().map_err(lv("read a domain's UUID"))?;
        let name = domain.name().map_err(lv("read a domain's name"))?;
        let defined = definition(domain)?;
        let active = domain
            .is_active()
            .map_err(lv(format!("read domain {name:?}")))?;
        let owner = Inner::owner(domain);
        let disk = self.root_disk_gib(&defined, owner.as_ref());
        // ict's machine not started yet: a create cut short.
        let state = if owner.as_ref().is_some_and(|o| !o.started) {
            ServerState::New
        } else {
            ServerState::Active
        };
        let leases = if active {
            domain
                .interface_addresses(sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let links: Vec<ServerLink> = defined
            .devices
            .interfaces
            .iter()
            .map(|interface| {
                let mac = interface.mac.as_ref().map(|m| m.address.clone());
                let network = interface.source.as_ref().and_then(|s| s.network.clone());
                let ip = leases
                    .iter()
                    .find(|l| l.hwaddr.is_some() && l.hwaddr == mac)
                    .and_then(|l| l.addrs.iter().find(|a| a.typed == 0))
                    .map(|a| a.addr.clone());
                let network_id = network
                    .as_deref()
                    .and_then(|n| self.conn.lookup_network_by_name(n).ok())
                    .and_then(|n| n.uuid().ok())
                    .map_or(0, |u| id_of(&u));
                ServerLink {
                    link_id: None,
                    network_id: NetworkId(network_id),
                    network_name: network,
                    network_type: Some("libvirt".to_owned()),
                    state: Some(if active { "Active" } else { "Inactive" }.to_owned()),
                    ip,
                    mac,
                    mask: None,
                    gateway: None,
                    bandwidth: None,
                }
            })
            .collect();
        let ip = links.iter().find_map(|l| l.ip.clone());
        Ok(ObservedServer {
            id: ServerId(id_of(&uuid)),
            name,
            hostname: None,
            state,
            power_on: active,
            cpu: defined.vcpu.value,
            ram: u32::try_from(defined.memory.in_mib()).unwrap_or(u32::MAX),
            disk,
            disk_type: owner
                .as_ref()
                .map(|o| o.disk_type.clone())
                .unwrap_or_default(),
            image: owner.as_ref().map(|o| o.image.clone()).unwrap_or_default(),
            image_family: Some("Linux".to_owned()),
            high_performance: owner.as_ref().is_some_and(|o| o.high_performance),
            dc: LOCATION.to_owned(),
            primary_ip: ip.clone(),
            ip,
            admin_user: None,
            admin_password: None,
            links,
            ssh_keys: Vec::new(),
            created: owner.map(|o| o.created).filter(|c| !c.is_empty()),
        })
    }

    /// The size of a domain's first disk in GiB (0 when it cannot be told).
    fn root_disk_gib(&self, defined: &xml::Domain, owner: Option<&xml::Owner>) -> u32 {
        let volume = match owner {
            Some(owner) => self
                .pool(&owner.pool)
                .ok()
                .and_then(|pool| Inner::volume(&pool, &owner.volume)),
            None => defined
                .devices
                .disks
                .iter()
                .find(|d| d.device == "disk")
                .and_then(|d| d.source.as_ref())
                .and_then(|s| match (&s.pool, &s.volume, &s.file) {
                    (Some(pool), Some(volume), _) => self
                        .pool(pool)
                        .ok()
                        .and_then(|pool| Inner::volume(&pool, volume)),
                    (_, _, Some(file)) => self.conn.lookup_storage_vol_by_path(file).ok(),
                    _ => None,
                }),
        };
        volume.and_then(|v| v.info().ok()).map_or(0, |info| {
            u32::try_from(info.capacity >> 30).unwrap_or(u32::MAX)
        })
    }

    fn observe_server(&self, id: ServerId) -> Result<ObservedServer, ProviderError> {
        self.observe_domain(&self.domain(id)?)
    }

    /// Every domain as a server; one removed while they are read is left out.
    fn servers(&self) -> Result<Vec<ObservedServer>, ProviderError> {
        let mut servers = Vec::new();
        for domain in self.domains()? {
            match self.observe_domain(&domain) {
                Ok(server) => servers.push(server),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(servers)
    }

    /// The images servers can be made from: a blank disk, and every volume of the active pools
    /// that no domain ict made uses as its root or seed.
    fn images(&self) -> Result<Vec<Image>, ProviderError> {
        let mut roots = Vec::new();
        for domain in self.domains()? {
            if let Some(owner) = Inner::owner(&domain) {
                roots.push((owner.pool.clone(), owner.seed));
                roots.push((owner.pool, owner.volume));
            }
        }
        let mut images = vec![Image {
            id: ImageId(0),
            name: BLANK_IMAGE.to_owned(),
            display_name: "an empty disk (no operating system)".to_owned(),
            family: Some("Linux".to_owned()),
            min_disk: None,
            dc: None,
        }];
        let pools = self
            .conn
            .list_all_storage_pools(sys::VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
            .map_err(lv("list storage pools"))?;
        for pool in pools {
            let pool_name = pool.name().map_err(lv("read a pool's name"))?;
            for volume in pool
                .list_all_volumes(0)
                .map_err(lv(format!("list the volumes of pool {pool_name:?}")))?
            {
                let Ok(name) = volume.name() else { continue };
                if roots.iter().any(|(p, v)| *p == pool_name && *v == name) {
                    continue;
                }
                let key = volume.key().unwrap_or_default();
                let capacity = volume.info().map_or(0, |i| i.capacity);
                images.push(Image {
                    id: ImageId(volume_id(&key)),
                    name,
                    display_name: format!("volume of pool {pool_name}"),
                    family: Some("Linux".to_owned()),
                    min_disk: Some(u32::try_from(capacity.div_ceil(1 << 30)).unwrap_or(u32::MAX)),
                    dc: None,
                });
            }
        }
        Ok(images)
    }

    /// The path and format of the volume with image ID `image` (`None` for the blank image).
    fn image_source(&self, image: ImageId) -> Result<Option<(String, String)>, ProviderError> {
        if image.0 == 0 {
            return Ok(None);
        }
        let (_, volume) = self.volume_by_id(VolumeId(image.0))?;
        let path = volume.path().map_err(lv("read an image's path"))?;
        Ok(Some((path, storage::format_of(&volume))))
    }

    /// Creates the root volume if it is not there yet.
    fn ensure_root(
        &self,
        owner: &xml::Owner,
        gib: u32,
        image: ImageId,
    ) -> Result<(), ProviderError> {
        let pool = self.pool(&owner.pool)?;
        if Inner::volume(&pool, &owner.volume).is_some() {
            return Ok(());
        }
        let backing = self.image_source(image)?;
        let definition = xml::Volume::qcow2(&owner.volume, u64::from(gib), backing)
            .to_xml()
            .map_err(|e| failed("write a volume definition", &e.to_string()))?;
        StorageVol::create_xml(&pool, &definition, 0).map_err(lv(format!(
            "create volume {:?} in pool {:?}",
            owner.volume, owner.pool
        )))?;
        Ok(())
    }

    /// Writes the domain's cloud-init seed volume (made if missing; written whole every time,
    /// so an upload a crash cut short is redone).
    fn write_seed(&self, domain: &Domain, owner: &xml::Owner) -> Result<(), ProviderError> {
        if owner.seed.is_empty() {
            return Ok(());
        }
        let name = domain.name().unwrap_or_default();
        let uuid = domain.uuid().map_err(lv("read a domain's UUID"))?;
        let image = seed::Seed {
            instance_id: &sys::uuid_text(&uuid),
            hostname: &name,
            keys: &owner.keys,
        }
        .image()
        .map_err(|e| failed("make a cloud-init seed", &e.to_string()))?;
        let pool = self.pool(&owner.pool)?;
        let volume = if let Some(volume) = Inner::volume(&pool, &owner.seed) {
            volume
        } else {
            let definition = xml::Volume::sized(&owner.seed, image.len() as u64, "raw")
                .to_xml()
                .map_err(|e| failed("write a volume definition", &e.to_string()))?;
            StorageVol::create_xml(&pool, &definition, 0).map_err(lv(format!(
                "create volume {:?} in pool {:?}",
                owner.seed, owner.pool
            )))?
        };
        self.fill(
            &volume,
            image.len() as u64,
            image.as_slice(),
            &format!("the cloud-init seed of {name:?}"),
        )
    }

    /// Creates a server: defines the domain with ict's metadata (one call), creates its root
    /// volume, starts it. Each step is skipped when already done, so a create whose answer was
    /// lost (or that a crash cut short) is carried on, never made twice: a domain of that name
    /// is taken up only if ict's metadata is on it and it was not there before (`before`).
    fn create_server(
        &self,
        spec: &ServerSpec,
        before: &[u64],
    ) -> Result<ObservedServer, ProviderError> {
        let domain = if let Ok(domain) = self.conn.lookup_domain_by_name(&spec.name) {
            let id = domain.uuid().map(|u| id_of(&u)).ok();
            if id.is_none_or(|id| before.contains(&id)) || Inner::owner(&domain).is_none() {
                return Err(ProviderError::NameTaken {
                    kind: "domain",
                    name: spec.name.clone(),
                });
            }
            domain
        } else {
            self.define(spec)?
        };
        let owner = Inner::owner(&domain)
            .ok_or_else(|| failed("read ict's metadata", "missing after define"))?;
        if !owner.started {
            self.ensure_root(&owner, spec.size.disk, spec.image)?;
            self.write_seed(&domain, &owner)?;
            Inner::first_start(&domain, owner)?;
        }
        self.observe_domain(&domain)
    }

    /// Defines a new server's domain; its root volume's name must be free.
    fn define(&self, spec: &ServerSpec) -> Result<Domain, ProviderError> {
        let volume = format!("{}.qcow2", spec.name);
        let seed = format!("{}-seed.img", spec.name);
        let pool = self.pool(&self.settings.pool)?;
        for name in [&volume, &seed] {
            if Inner::volume(&pool, name).is_some() {
                return Err(ProviderError::NameTaken {
                    kind: "volume",
                    name: format!("{}/{name}", self.settings.pool),
                });
            }
        }
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let owner = xml::Owner {
            image: self.image_name(spec.image),
            disk_type: spec.size.disk_type.as_str().to_owned(),
            high_performance: spec.size.high_performance,
            pool: self.settings.pool.clone(),
            volume,
            disk: spec.size.disk,
            image_id: spec.image.0,
            created: created.clone(),
            seed,
            keys: spec.authorized_keys.clone(),
            ..xml::Owner::default()
        };
        let mut domain = xml::Domain::new_server(
            &self.domain_type,
            &spec.name,
            spec.size.cpu,
            u64::from(spec.size.ram),
            owner,
        );
        if let Some(network) = &self.settings.network {
            self.check_network(network)?;
            let mac = network::mac_of(&[spec.name.as_bytes(), created.as_bytes()].concat());
            domain
                .devices
                .interfaces
                .push(xml::Interface::on_network(network, &mac));
        }
        let definition = domain
            .to_xml()
            .map_err(|e| failed("write a domain definition", &e.to_string()))?;
        self.conn
            .define_domain_xml(&definition)
            .map_err(lv(format!("define domain {:?}", spec.name)))
    }

    /// The name of the image with this ID, as ict records it on the domain.
    fn image_name(&self, image: ImageId) -> String {
        if image.0 == 0 {
            return BLANK_IMAGE.to_owned();
        }
        self.images()
            .ok()
            .and_then(|images| images.into_iter().find(|i| i.id == image))
            .map_or_else(|| image.to_string(), |i| i.name)
    }

    /// Powers a domain off cleanly: ACPI shutdown, then a hard power-off after the timeout.
    fn shut_down(&self, domain: &Domain) -> Result<(), ProviderError> {
        if !domain.is_active().unwrap_or(false) {
            return Ok(());
        }
        let deadline = std::time::Instant::now() + self.settings.shutdown_timeout;
        if domain.shutdown().is_ok() {
            while std::time::Instant::now() < deadline {
                if !domain.is_active().unwrap_or(false) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        match domain.destroy() {
            Ok(()) => Ok(()),
            // Gone off in between.
            Err(_) if !domain.is_active().unwrap_or(true) => Ok(()),
            Err(e) => Err(lv("power off a domain")(e)),
        }
    }

    fn update_server(&self, id: ServerId, size: &ServerSize) -> Result<(), ProviderError> {
        let (domain, mut owner) = self.owned(id, "resize")?;
        let name = domain.name().unwrap_or_default();
        let defined = definition(&domain)?;
        let resized =
            defined.vcpu.value != size.cpu || defined.memory.in_mib() != u64::from(size.ram);
        // The disk only grows (as on 1cloud).
        let pool = self.pool(&owner.pool)?;
        if let Some(volume) = Inner::volume(&pool, &owner.volume) {
            let want = u64::from(size.disk) << 30;
            if volume.info().is_ok_and(|i| i.capacity < want) {
                if domain.is_active().unwrap_or(false) {
                    domain
                        .block_resize("vda", want, sys::VIR_DOMAIN_BLOCK_RESIZE_BYTES)
                        .map_err(lv(format!("grow the disk of {name:?}")))?;
                } else {
                    volume
                        .resize(want, 0)
                        .map_err(lv(format!("grow the disk of {name:?}")))?;
                }
            }
        }
        size.disk_type.as_str().clone_into(&mut owner.disk_type);
        owner.disk = owner.disk.max(size.disk);
        owner.high_performance = size.high_performance;
        if Inner::owner(&domain).as_ref() != Some(&owner) {
            Inner::set_owner(&domain, &owner)?;
        }
        if resized {
            // The persistent definition, through libvirt's own calls; a running machine takes
            // its new CPU and memory at the next boot, which a resize is (as on 1cloud).
            let config = sys::VIR_DOMAIN_MEM_CONFIG;
            let kib = u64::from(size.ram) << 10;
            domain
                .set_memory_flags(kib, config | sys::VIR_DOMAIN_MEM_MAXIMUM)
                .and_then(|()| domain.set_memory_flags(kib, config))
                .map_err(lv(format!("change the memory of {name:?}")))?;
            let config = sys::VIR_DOMAIN_VCPU_CONFIG;
            let vcpus = if size.cpu > defined.vcpu.value {
                [config | sys::VIR_DOMAIN_VCPU_MAXIMUM, config]
            } else {
                [config, config | sys::VIR_DOMAIN_VCPU_MAXIMUM]
            };
            for flags in vcpus {
                domain
                    .set_vcpus_flags(size.cpu, flags)
                    .map_err(lv(format!("change the vCPUs of {name:?}")))?;
            }
            if domain.is_active().unwrap_or(false) {
                self.shut_down(&domain)?;
                domain
                    .create()
                    .map_err(lv(format!("start domain {name:?}")))?;
            }
        }
        Ok(())
    }

    /// Writes ict's metadata on a domain it owns.
    fn set_owner(domain: &Domain, owner: &xml::Owner) -> Result<(), ProviderError> {
        let mut element = owner.clone();
        element.xmlns = String::new();
        let element = quick_xml::se::to_string_with_root("server", &element)
            .map_err(|e| failed("write ict's metadata", &e.to_string()))?;
        domain
            .set_metadata(
                sys::VIR_DOMAIN_METADATA_ELEMENT,
                Some(&element),
                Some(xml::PREFIX),
                Some(xml::NAMESPACE),
                sys::VIR_DOMAIN_AFFECT_CONFIG,
            )
            .map_err(lv("write ict's metadata"))
    }

    fn delete_server(&self, id: ServerId) -> Result<(), ProviderError> {
        let (domain, owner) = match self.owned(id, "delete") {
            Ok(found) => found,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let name = domain.name().unwrap_or_default();
        if domain.is_active().unwrap_or(false) {
            domain
                .destroy()
                .map_err(lv(format!("power off domain {name:?}")))?;
        }
        // The volume first: a delete cut short leaves ict's domain (deleted by the next run),
        // never a volume nobody owns.
        if let Ok(pool) = self.pool(&owner.pool) {
            for name in [&owner.volume, &owner.seed]
                .into_iter()
                .filter(|n| !n.is_empty())
            {
                if let Some(volume) = Inner::volume(&pool, name) {
                    volume
                        .delete(0)
                        .map_err(lv(format!("delete volume {name:?}")))?;
                }
            }
        }
        domain
            .undefine_flags(
                sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                    | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                    | sys::VIR_DOMAIN_UNDEFINE_NVRAM,
            )
            .map_err(lv(format!("undefine domain {name:?}")))?;
        Ok(())
    }

    /// Finishes a create that was cut short after the domain was defined (its root volume
    /// missing): creates the volume as ict's metadata records it and starts the machine.
    fn finish_create(&self, id: ServerId) -> Result<ObservedServer, ProviderError> {
        let domain = self.domain(id)?;
        if let Some(owner) = Inner::owner(&domain).filter(|o| !o.started) {
            self.ensure_root(&owner, owner.disk, ImageId(owner.image_id))?;
            self.write_seed(&domain, &owner)?;
            Inner::first_start(&domain, owner)?;
        }
        self.observe_domain(&domain)
    }

    /// Starts a new machine and records that its create is complete.
    fn first_start(domain: &Domain, mut owner: xml::Owner) -> Result<(), ProviderError> {
        if !domain.is_active().unwrap_or(false) {
            domain.create().map_err(lv("start a domain"))?;
        }
        owner.started = true;
        Inner::set_owner(domain, &owner)
    }

    fn power(&self, id: ServerId, op: PowerOp) -> Result<(), ProviderError> {
        let (domain, _) = self.owned(id, "power")?;
        let name = domain.name().unwrap_or_default();
        let active = domain.is_active().unwrap_or(false);
        match op {
            PowerOp::On if !active => domain
                .create()
                .map(drop)
                .map_err(lv(format!("start domain {name:?}"))),
            PowerOp::Off if active => domain
                .destroy()
                .map_err(lv(format!("power off domain {name:?}"))),
            PowerOp::On | PowerOp::Off => Ok(()),
            PowerOp::Shutdown => self.shut_down(&domain),
            PowerOp::Reboot if active => domain
                .reboot(sys::VIR_DOMAIN_REBOOT_DEFAULT)
                .map_err(lv(format!("reboot domain {name:?}"))),
            PowerOp::Reboot => domain
                .create()
                .map(drop)
                .map_err(lv(format!("start domain {name:?}"))),
        }
    }

    fn rebuild(&self, id: ServerId, image: ImageId) -> Result<ObservedServer, ProviderError> {
        let (domain, mut owner) = self.owned(id, "rebuild")?;
        let name = domain.name().unwrap_or_default();
        let pool = self.pool(&owner.pool)?;
        let gib = Inner::volume(&pool, &owner.volume)
            .and_then(|v| v.info().ok())
            .map_or(10, |i| u32::try_from(i.capacity >> 30).unwrap_or(10));
        if domain.is_active().unwrap_or(false) {
            domain
                .destroy()
                .map_err(lv(format!("power off domain {name:?}")))?;
        }
        if let Some(volume) = Inner::volume(&pool, &owner.volume) {
            volume
                .delete(0)
                .map_err(lv(format!("delete volume {:?}", owner.volume)))?;
        }
        owner.image = self.image_name(image);
        Inner::set_owner(&domain, &owner)?;
        self.ensure_root(&owner, gib, image)?;
        domain
            .create()
            .map_err(lv(format!("start domain {name:?}")))?;
        self.observe_domain(&domain)
    }
}

fn unsupported(what: &'static str) -> ProviderError {
    ProviderError::Unsupported {
        provider: "libvirt",
        what,
    }
}

impl Provider for Libvirt {
    async fn observe(&self, kinds: Kinds) -> Result<Observed, ProviderError> {
        if kinds.dns {
            return Err(unsupported("DNS hosting"));
        }
        self.read("observe", move |inner| {
            Ok(Observed {
                servers: if kinds.servers {
                    inner.servers()?
                } else {
                    Vec::new()
                },
                networks: if kinds.networks {
                    inner.networks()?
                } else {
                    Vec::new()
                },
                ssh_keys: Vec::new(),
                domains: Vec::new(),
                pools: if kinds.storage {
                    inner.pools()?
                } else {
                    Vec::new()
                },
                volumes: if kinds.storage {
                    inner.volumes()?
                } else {
                    Vec::new()
                },
            })
        })
        .await
    }

    async fn server(&self, id: ServerId) -> Result<ObservedServer, ProviderError> {
        self.read("read a domain", move |inner| inner.observe_server(id))
            .await
    }

    async fn images(&self) -> Result<Vec<Image>, ProviderError> {
        self.read("list images", Inner::images).await
    }

    async fn create_image(
        &self,
        _server: ServerId,
        _name: &str,
        _before: &[u64],
    ) -> Result<Image, ProviderError> {
        Err(unsupported(
            "templates made from a server (upload a base image: image(name, #{ pool, file }))",
        ))
    }

    async fn delete_image(&self, id: ImageId) -> Result<(), ProviderError> {
        self.change("delete an image", move |inner| inner.delete_image(id))
            .await
    }

    async fn upload_image(
        &self,
        name: &str,
        pool: PoolId,
        file: &std::path::Path,
        before: &[u64],
    ) -> Result<Image, ProviderError> {
        let (name, file, before) = (name.to_owned(), file.to_path_buf(), before.to_vec());
        self.change("upload an image", move |inner| {
            inner.upload_image(&name, pool, &file, &before)
        })
        .await
    }

    async fn dc_locations(&self) -> Result<Vec<DcLocation>, ProviderError> {
        let host = self
            .read("read the host name", |inner| {
                inner.conn.hostname().map_err(lv("read the host name"))
            })
            .await?;
        Ok(vec![DcLocation {
            id: None,
            title: host,
            tech_title: LOCATION.to_owned(),
            short_title: None,
            country: None,
            city: None,
            low_pool: true,
            high_pool: true,
            backup: false,
            ipv6: false,
        }])
    }

    async fn create_server(
        &self,
        spec: &ServerSpec,
        before: &[u64],
    ) -> Result<ObservedServer, ProviderError> {
        let (spec, before) = (spec.clone(), before.to_vec());
        self.change("create a domain", move |inner| {
            inner.create_server(&spec, &before)
        })
        .await
    }

    async fn update_server(
        &self,
        id: ServerId,
        size: &ServerSize,
    ) -> Result<Action, ProviderError> {
        let size = size.clone();
        self.change("resize a domain", move |inner| {
            inner.update_server(id, &size)
        })
        .await?;
        Ok(self.done(id, "Resize"))
    }

    async fn delete_server(&self, id: ServerId) -> Result<(), ProviderError> {
        self.change("delete a domain", move |inner| inner.delete_server(id))
            .await
    }

    async fn power(&self, id: ServerId, op: PowerOp) -> Result<Action, ProviderError> {
        self.change("power a domain", move |inner| inner.power(id, op))
            .await?;
        Ok(self.done(id, op.api_name()))
    }

    async fn attach_network(
        &self,
        server: ServerId,
        network: NetworkId,
    ) -> Result<Action, ProviderError> {
        self.change("attach a network", move |inner| {
            inner.attach_network(server, network)
        })
        .await?;
        Ok(self.done(server, "AddNetwork"))
    }

    async fn detach_network(
        &self,
        server: ServerId,
        network: NetworkId,
    ) -> Result<Action, ProviderError> {
        self.change("detach a network", move |inner| {
            inner.detach_network(server, network)
        })
        .await?;
        Ok(self.done(server, "RemoveNetwork"))
    }

    async fn rebuild_server(
        &self,
        id: ServerId,
        image: ImageId,
    ) -> Result<ObservedServer, ProviderError> {
        self.change("rebuild a domain", move |inner| inner.rebuild(id, image))
            .await
    }

    async fn wait_action(
        &self,
        server: ServerId,
        action: ActionId,
        _deadline: Instant,
    ) -> Result<Action, ProviderError> {
        Ok(Action {
            id: action,
            server,
            kind: String::new(),
            state: ActionState::Completed,
            started: None,
            ended: None,
        })
    }

    async fn wait_idle(&self, _server: ServerId, _deadline: Instant) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn wait_server_active(
        &self,
        id: ServerId,
        _deadline: Instant,
    ) -> Result<ObservedServer, ProviderError> {
        self.change("finish creating a domain", move |inner| {
            inner.finish_create(id)
        })
        .await
    }

    async fn create_network(
        &self,
        spec: &super::NetworkSpec,
        before: &[u64],
    ) -> Result<ObservedNetwork, ProviderError> {
        let (spec, before) = (spec.clone(), before.to_vec());
        self.change("create a network", move |inner| {
            inner.create_network(&spec, &before)
        })
        .await
    }

    async fn wait_network_active(
        &self,
        id: NetworkId,
        _deadline: Instant,
    ) -> Result<ObservedNetwork, ProviderError> {
        self.change("start a network", move |inner| inner.finish_network(id))
            .await
    }

    async fn rename_network(
        &self,
        _id: NetworkId,
        _name: &str,
    ) -> Result<ObservedNetwork, ProviderError> {
        Err(unsupported("renaming networks"))
    }

    async fn delete_network(&self, id: NetworkId) -> Result<(), ProviderError> {
        self.change("delete a network", move |inner| inner.delete_network(id))
            .await
    }

    async fn create_ssh_key(
        &self,
        _spec: &SshKeySpec,
        _before: &[u64],
    ) -> Result<ObservedSshKey, ProviderError> {
        Err(unsupported("SSH keys"))
    }

    async fn delete_ssh_key(&self, _id: SshKeyId) -> Result<(), ProviderError> {
        Err(unsupported("SSH keys"))
    }

    async fn create_domain(
        &self,
        _name: &str,
        _before: &[u64],
    ) -> Result<ObservedDomain, ProviderError> {
        Err(unsupported("DNS hosting"))
    }

    async fn delete_domain(&self, _id: DomainId) -> Result<(), ProviderError> {
        Err(unsupported("DNS hosting"))
    }

    async fn create_record(
        &self,
        _spec: &RecordSpec,
        _before: &[u64],
    ) -> Result<ObservedRecord, ProviderError> {
        Err(unsupported("DNS hosting"))
    }

    async fn delete_record(
        &self,
        _domain: DomainId,
        _record: RecordId,
    ) -> Result<(), ProviderError> {
        Err(unsupported("DNS hosting"))
    }

    async fn create_pool(
        &self,
        spec: &PoolSpec,
        before: &[u64],
    ) -> Result<ObservedPool, ProviderError> {
        let (spec, before) = (spec.clone(), before.to_vec());
        self.change("create a storage pool", move |inner| {
            inner.create_pool(&spec, &before)
        })
        .await
    }

    async fn delete_pool(&self, id: PoolId) -> Result<(), ProviderError> {
        self.change("delete a storage pool", move |inner| inner.delete_pool(id))
            .await
    }

    async fn create_volume(
        &self,
        spec: &VolumeSpec,
        before: &[u64],
    ) -> Result<ObservedVolume, ProviderError> {
        let (spec, before) = (spec.clone(), before.to_vec());
        self.change("create a volume", move |inner| {
            inner.create_volume(&spec, &before)
        })
        .await
    }

    async fn resize_volume(&self, id: VolumeId, size: u32) -> Result<(), ProviderError> {
        self.change("grow a volume", move |inner| inner.resize_volume(id, size))
            .await
    }

    async fn attach_volume(&self, id: VolumeId, server: ServerId) -> Result<(), ProviderError> {
        self.change("attach a volume", move |inner| {
            inner.attach_volume(id, server)
        })
        .await
    }

    async fn detach_volume(&self, id: VolumeId, server: ServerId) -> Result<(), ProviderError> {
        self.change("detach a volume", move |inner| {
            inner.detach_volume(id, server)
        })
        .await
    }

    async fn delete_volume(&self, id: VolumeId) -> Result<(), ProviderError> {
        self.change("delete a volume", move |inner| inner.delete_volume(id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_fit_in_48_bits() {
        let uuid = [
            0x0b, 0x0c, 0x5a, 0x3e, 0x4a, 0x1b, 0x4f, 0x7e, 0x9a, 0x0e, 0x2b, 0x5e, 0x8f, 0x1c,
            0x2d, 0x3e,
        ];
        assert_eq!(id_of(&uuid), 0x0b0c_5a3e_4a1b);
        assert!(volume_id("/var/lib/libvirt/images/debian.qcow2") < 1 << 48);
        assert_eq!(volume_id("a"), volume_id("a"));
        assert_ne!(volume_id("a"), volume_id("b"));
    }
}
