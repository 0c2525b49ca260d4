//! Storage pools and volumes on libvirt: listing them (with the server each volume is a disk
//! of), and the changes the planner asks for. ict deletes a pool only when it is empty, and
//! detaches a volume from every machine before deleting it. May depend on `provider` only.

use super::sys::Domain;
use super::sys::StoragePool;
use super::sys::StorageVol;

use super::{affect, definition, failed, id_of, lv, volume_id, xml, Inner};
use crate::provider::{
    ObservedPool, ObservedVolume, PoolId, PoolSpec, ProviderError, ServerId, VolumeId, VolumeSpec,
};

/// The disk names a further volume may take, in order.
const DEVICES: &[&str] = &[
    "vdb", "vdc", "vdd", "vde", "vdf", "vdg", "vdh", "vdi", "vdj", "vdk", "vdl", "vdm",
];

/// Where a volume is a disk: the machine, its device, and whether it runs.
struct Disk {
    domain: Domain,
    dev: String,
}

impl Inner {
    fn all_pools(&self) -> Result<Vec<StoragePool>, ProviderError> {
        self.conn
            .list_all_storage_pools(0)
            .map_err(lv("list storage pools"))
    }

    fn observe_pool(pool: &StoragePool) -> Result<ObservedPool, ProviderError> {
        let name = pool.name().map_err(lv("read a pool's name"))?;
        let uuid = pool.uuid().map_err(lv("read a pool's UUID"))?;
        let text = pool
            .xml_desc(0)
            .map_err(lv(format!("read pool {name:?}")))?;
        let def = xml::PoolDef::parse(&text)
            .map_err(|e| failed(&format!("read pool {name:?}"), &e.to_string()))?;
        let info = pool.info().ok();
        Ok(ObservedPool {
            id: PoolId(id_of(&uuid)),
            name,
            kind: def.kind,
            path: def.target.path,
            active: pool.is_active().unwrap_or(false),
            capacity: info.as_ref().map_or(0, |i| i.capacity >> 30),
            available: info.as_ref().map_or(0, |i| i.available >> 30),
        })
    }

    pub(super) fn pools(&self) -> Result<Vec<ObservedPool>, ProviderError> {
        let mut pools = Vec::new();
        for pool in self.all_pools()? {
            match Inner::observe_pool(&pool) {
                Ok(found) => pools.push(found),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(pools)
    }

    fn pool_by_id(&self, id: PoolId) -> Result<StoragePool, ProviderError> {
        for pool in self.all_pools()? {
            if pool.uuid().is_ok_and(|u| id_of(&u) == id.0) {
                super::start_pool(&pool, &pool.name().unwrap_or_default())?;
                return Ok(pool);
            }
        }
        Err(not_found(&format!("storage pool {id}")))
    }

    /// Every volume of the active pools, with the machine it is a disk of.
    pub(super) fn volumes(&self) -> Result<Vec<ObservedVolume>, ProviderError> {
        let domains = self.domains()?;
        let mut volumes = Vec::new();
        for pool in self.all_pools()? {
            if !pool.is_active().unwrap_or(false) {
                continue;
            }
            let _ = pool.refresh(0);
            let observed = Inner::observe_pool(&pool)?;
            for volume in pool.list_all_volumes(0).unwrap_or_default() {
                match self.observe_volume(&observed, &volume, &domains) {
                    Ok(found) => volumes.push(found),
                    // Removed while they are read, or its pool stopped meanwhile.
                    Err(e) if e.is_not_found() || !pool.is_active().unwrap_or(false) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(volumes)
    }

    fn observe_volume(
        &self,
        pool: &ObservedPool,
        volume: &StorageVol,
        domains: &[Domain],
    ) -> Result<ObservedVolume, ProviderError> {
        let name = volume.name().map_err(lv("read a volume's name"))?;
        let key = volume.key().map_err(lv("read a volume's key"))?;
        let info = volume.info().map_err(lv(format!("read volume {name:?}")))?;
        let format = format_of(volume);
        let path = volume.path().unwrap_or_default();
        let attached_to = domains
            .iter()
            .find(|d| disk_of(d, &pool.name, &name, &path).is_some())
            .and_then(|d| d.uuid().ok())
            .map(|u| ServerId(id_of(&u)));
        let _ = self;
        Ok(ObservedVolume {
            id: VolumeId(volume_id(&key)),
            name,
            pool: pool.id,
            pool_name: pool.name.clone(),
            size: u32::try_from(info.capacity.div_ceil(1 << 30)).unwrap_or(u32::MAX),
            format,
            attached_to,
        })
    }

    /// A volume by ID, with its pool.
    pub(super) fn volume_by_id(
        &self,
        id: VolumeId,
    ) -> Result<(StoragePool, StorageVol), ProviderError> {
        for pool in self.all_pools()? {
            if !pool.is_active().unwrap_or(false) {
                continue;
            }
            for volume in pool.list_all_volumes(0).unwrap_or_default() {
                if volume.key().is_ok_and(|k| volume_id(&k) == id.0) {
                    return Ok((pool, volume));
                }
            }
        }
        Err(not_found(&format!("volume {id}")))
    }

    /// The machines `volume` is a disk of.
    fn disks(&self, pool: &StoragePool, volume: &StorageVol) -> Result<Vec<Disk>, ProviderError> {
        let pool = pool.name().unwrap_or_default();
        let name = volume.name().unwrap_or_default();
        let path = volume.path().unwrap_or_default();
        Ok(self
            .domains()?
            .into_iter()
            .filter_map(|domain| {
                let dev = disk_of(&domain, &pool, &name, &path)?;
                Some(Disk { domain, dev })
            })
            .collect())
    }

    pub(super) fn create_pool(
        &self,
        spec: &PoolSpec,
        before: &[u64],
    ) -> Result<ObservedPool, ProviderError> {
        let pool = if let Ok(pool) = self.conn.lookup_storage_pool_by_name(&spec.name) {
            let id = pool.uuid().map(|u| id_of(&u)).ok();
            // Made by an earlier attempt whose answer was lost: carried on.
            if id.is_none_or(|id| before.contains(&id)) {
                return Err(ProviderError::NameTaken {
                    kind: "storage pool",
                    name: spec.name.clone(),
                });
            }
            pool
        } else {
            let nfs = spec.source_host.as_deref().zip(spec.source_path.as_deref());
            let definition = xml::PoolDef::new(&spec.name, &spec.kind, &spec.path, nfs)
                .to_xml()
                .map_err(|e| failed("write a pool definition", &e.to_string()))?;
            let pool = self
                .conn
                .define_storage_pool_xml(&definition, 0)
                .map_err(lv(format!("define storage pool {:?}", spec.name)))?;
            pool.build(0)
                .map_err(lv(format!("build storage pool {:?}", spec.name)))?;
            pool
        };
        super::start_pool(&pool, &spec.name)?;
        let _ = pool.set_autostart(true);
        Inner::observe_pool(&pool)
    }

    pub(super) fn delete_pool(&self, id: PoolId) -> Result<(), ProviderError> {
        let pool = self.pool_by_id(id)?;
        let name = pool.name().unwrap_or_default();
        let left: Vec<String> = pool
            .list_all_volumes(0)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.name().ok())
            .collect();
        if !left.is_empty() {
            return Err(failed(
                &format!("delete storage pool {name:?}"),
                &format!(
                    "it still holds volumes ict does not own ({}); ict deletes only an empty pool",
                    left.join(", ")
                ),
            ));
        }
        pool.destroy()
            .map_err(lv(format!("stop storage pool {name:?}")))?;
        // The folder goes too when empty; a netfs pool's mount point likewise.
        let _ = pool.delete(0);
        pool.undefine()
            .map_err(lv(format!("undefine storage pool {name:?}")))
    }

    pub(super) fn create_volume(
        &self,
        spec: &VolumeSpec,
        before: &[u64],
    ) -> Result<ObservedVolume, ProviderError> {
        let pool = self.pool_by_id(spec.pool)?;
        let pool_name = pool.name().unwrap_or_default();
        let volume = if let Ok(volume) = pool.lookup_storage_vol_by_name(&spec.name) {
            let id = volume.key().map(|k| volume_id(&k)).ok();
            if id.is_none_or(|id| before.contains(&id)) {
                return Err(ProviderError::NameTaken {
                    kind: "volume",
                    name: format!("{pool_name}/{}", spec.name),
                });
            }
            volume
        } else {
            let definition = xml::Volume::new(&spec.name, u64::from(spec.size), &spec.format, None)
                .to_xml()
                .map_err(|e| failed("write a volume definition", &e.to_string()))?;
            StorageVol::create_xml(&pool, &definition, 0).map_err(lv(format!(
                "create volume {:?} in pool {pool_name:?}",
                spec.name
            )))?
        };
        let observed = Inner::observe_pool(&pool)?;
        self.observe_volume(&observed, &volume, &self.domains()?)
    }

    pub(super) fn resize_volume(&self, id: VolumeId, size: u32) -> Result<(), ProviderError> {
        let (pool, volume) = self.volume_by_id(id)?;
        let name = volume.name().unwrap_or_default();
        let bytes = u64::from(size) << 30;
        // A disk of a running machine grows through it, so the guest sees the new size.
        for disk in self.disks(&pool, &volume)? {
            if disk.domain.is_active().unwrap_or(false) {
                return disk
                    .domain
                    .block_resize(&disk.dev, bytes, super::sys::VIR_DOMAIN_BLOCK_RESIZE_BYTES)
                    .map_err(lv(format!("grow volume {name:?}")));
            }
        }
        volume
            .resize(bytes, 0)
            .map_err(lv(format!("grow volume {name:?}")))
    }

    pub(super) fn attach_volume(
        &self,
        id: VolumeId,
        server: ServerId,
    ) -> Result<(), ProviderError> {
        let (domain, _) = self.owned(server, "attach a volume to")?;
        let (pool, volume) = self.volume_by_id(id)?;
        // libvirtd finishes a call whose client died: an attach of an interrupted run may land
        // while this one runs, so a failed attach looks again (the volume then holds its slot).
        Inner::attach_missing(&domain, &pool, &volume)
            .or_else(|first| Inner::attach_missing(&domain, &pool, &volume).map_err(|_| first))
    }

    /// Attaches `volume` to the definition and, when it runs, the running machine, where it is
    /// not yet.
    fn attach_missing(
        domain: &Domain,
        pool: &StoragePool,
        volume: &StorageVol,
    ) -> Result<(), ProviderError> {
        let (pool_name, name) = (
            pool.name().unwrap_or_default(),
            volume.name().unwrap_or_default(),
        );
        let path = volume.path().unwrap_or_default();
        // The definition and, when it runs, the running machine: each may have the disk
        // already (an attach cut short, or one side done before a start); only the missing
        // side is attached, under the device the other side uses.
        let read = |flags| {
            domain
                .xml_desc(flags)
                .ok()
                .and_then(|text| xml::Domain::parse(&text).ok())
        };
        let config = read(super::sys::VIR_DOMAIN_XML_INACTIVE)
            .ok_or_else(|| failed("attach a volume", "cannot read the machine's definition"))?;
        let active = domain.is_active().unwrap_or(false);
        let live = if active { read(0) } else { None };
        let holds = |d: &xml::Domain| device_of(d, &pool_name, &name, &path);
        let in_config = holds(&config);
        let in_live = live.as_ref().and_then(holds);
        let mut flags = 0;
        if in_config.is_none() {
            flags |= super::sys::VIR_DOMAIN_AFFECT_CONFIG;
        }
        if active && in_live.is_none() {
            flags |= super::sys::VIR_DOMAIN_AFFECT_LIVE;
        }
        if flags == 0 {
            return Ok(());
        }
        let used = |dev: &str| {
            config.devices.disks.iter().any(|d| d.target.dev == dev)
                || live
                    .as_ref()
                    .is_some_and(|l| l.devices.disks.iter().any(|d| d.target.dev == dev))
        };
        let dev = match in_config.or(in_live) {
            Some(dev) => dev,
            None => (*DEVICES
                .iter()
                .find(|dev| !used(dev))
                .ok_or_else(|| failed("attach a volume", "the machine has no free disk slot"))?)
            .to_owned(),
        };
        let format = format_of(volume);
        let disk = xml::Disk::volume(&pool_name, &name, &format, &dev)
            .to_xml()
            .map_err(|e| failed("write a disk definition", &e.to_string()))?;
        domain
            .attach_device_flags(&disk, flags)
            .map_err(lv("attach a volume"))
    }

    pub(super) fn detach_volume(
        &self,
        id: VolumeId,
        server: ServerId,
    ) -> Result<(), ProviderError> {
        let (domain, _) = self.owned(server, "detach a volume from")?;
        let (pool, volume) = self.volume_by_id(id)?;
        for disk in self.disks(&pool, &volume)? {
            if disk.domain.uuid().ok() == domain.uuid().ok() {
                detach(&disk)?;
            }
        }
        Ok(())
    }

    pub(super) fn delete_volume(&self, id: VolumeId) -> Result<(), ProviderError> {
        let (pool, volume) = self.volume_by_id(id)?;
        for disk in self.disks(&pool, &volume)? {
            detach(&disk)?;
        }
        let name = volume.name().unwrap_or_default();
        volume
            .delete(0)
            .map_err(lv(format!("delete volume {name:?}")))
    }
}

/// Takes a disk out of its machine, in its definition and, when it runs, live.
fn detach(disk: &Disk) -> Result<(), ProviderError> {
    let defined = definition(&disk.domain)?;
    let Some(found) = defined
        .devices
        .disks
        .iter()
        .find(|d| d.target.dev == disk.dev)
    else {
        return Ok(());
    };
    let xml = found
        .to_xml()
        .map_err(|e| failed("write a disk definition", &e.to_string()))?;
    disk.domain
        .detach_device_flags(&xml, affect(&disk.domain))
        .map_err(lv("detach a volume"))?;
    // A running machine lets go of the disk when its guest agrees (hot-unplug): wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while disk.domain.is_active().unwrap_or(false) {
        let live = disk.domain.xml_desc(0).ok();
        let held = live
            .and_then(|text| xml::Domain::parse(&text).ok())
            .is_some_and(|d| d.devices.disks.iter().any(|d| d.target.dev == disk.dev));
        if !held {
            break;
        }
        if std::time::Instant::now() > deadline {
            let name = disk.domain.name().unwrap_or_default();
            return Err(failed(
                "detach a volume",
                &format!(
                    "the running machine {name:?} did not let go of {} (its guest does not \
                     hot-unplug disks); stop it (`ict power FILE stop -l {name}`) and apply again",
                    disk.dev
                ),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(())
}

/// The device (`vdb`) through which `domain` uses the volume `name` of `pool` (or the file
/// `path`), if it does.
fn disk_of(domain: &Domain, pool: &str, name: &str, path: &str) -> Option<String> {
    device_of(&definition(domain).ok()?, pool, name, path)
}

/// The device through which a definition uses volume `name` of `pool` (or the file `path`).
fn device_of(defined: &xml::Domain, pool: &str, name: &str, path: &str) -> Option<String> {
    defined.devices.disks.iter().find_map(|disk| {
        let source = disk.source.as_ref()?;
        let by_volume =
            source.pool.as_deref() == Some(pool) && source.volume.as_deref() == Some(name);
        let by_file = !path.is_empty() && source.file.as_deref() == Some(path);
        (by_volume || by_file).then(|| disk.target.dev.clone())
    })
}

/// A volume's format (`qcow2`, `raw`), raw when libvirt does not say.
pub(super) fn format_of(volume: &StorageVol) -> String {
    volume
        .xml_desc(0)
        .ok()
        .and_then(|text| xml::volume_format(&text))
        .unwrap_or_else(|| "raw".to_owned())
}

fn not_found(what: &str) -> ProviderError {
    ProviderError::Missing {
        what: what.to_owned(),
        message: "no such object".to_owned(),
    }
}

/// A disk image file's format and the size of the disk it holds: qcow2 by its magic number
/// (the size from its header), raw otherwise (the file's length).
fn inspect(file: &std::path::Path) -> std::io::Result<(&'static str, u64)> {
    use std::io::Read as _;
    let mut header = [0u8; 32];
    let mut opened = std::fs::File::open(file)?;
    let length = opened.metadata()?.len();
    let read = opened.read(&mut header)?;
    if read == header.len() && header[..4] == *b"QFI\xfb" {
        let mut size = [0u8; 8];
        size.copy_from_slice(&header[24..32]);
        return Ok(("qcow2", u64::from_be_bytes(size)));
    }
    Ok(("raw", length))
}

impl Inner {
    /// Writes `length` bytes from `source` into `volume` through a libvirt stream (so it works
    /// on a remote daemon too); `shown` names the source in errors.
    pub(super) fn fill(
        &self,
        volume: &StorageVol,
        length: u64,
        mut source: impl std::io::Read,
        shown: &str,
    ) -> Result<(), ProviderError> {
        let read_failed = |e: std::io::Error| failed(&format!("read {shown}"), &e.to_string());
        let stream = super::sys::Stream::new(&self.conn, 0).map_err(lv("open a stream"))?;
        volume
            .upload(&stream, 0, length, 0)
            .map_err(lv(format!("upload {shown}")))?;
        let mut buffer = vec![0u8; 1 << 20];
        let mut send_all = || loop {
            let read = source.read(&mut buffer).map_err(read_failed)?;
            if read == 0 {
                return stream.finish().map_err(lv(format!("upload {shown}")));
            }
            let mut chunk = &buffer[..read];
            while !chunk.is_empty() {
                let sent = stream.send(chunk).map_err(lv(format!("upload {shown}")))?;
                chunk = &chunk[sent.min(chunk.len())..];
            }
        };
        let sent = send_all();
        if sent.is_err() {
            // A transfer left open would keep the volume busy until the connection closes.
            let _ = stream.abort();
        }
        sent
    }

    /// Uploads `file` as the volume `name` of the pool: created at the disk's size in the
    /// file's format, then filled through a libvirt stream. A volume of that name that was
    /// not there before is what an upload cut short left: made again.
    pub(super) fn upload_image(
        &self,
        name: &str,
        pool: PoolId,
        file: &std::path::Path,
        before: &[u64],
    ) -> Result<crate::provider::Image, ProviderError> {
        let pool = self.pool_by_id(pool)?;
        let pool_name = pool.name().unwrap_or_default();
        if let Ok(volume) = pool.lookup_storage_vol_by_name(name) {
            let id = volume.key().map(|k| volume_id(&k)).ok();
            if id.is_none_or(|id| before.contains(&id)) {
                return Err(ProviderError::NameTaken {
                    kind: "volume",
                    name: format!("{pool_name}/{name}"),
                });
            }
            volume
                .delete(0)
                .map_err(lv(format!("delete the unfinished upload {name:?}")))?;
        }
        let shown = file.display().to_string();
        let read_failed = |e: std::io::Error| failed(&format!("read {shown}"), &e.to_string());
        let (format, size) = inspect(file).map_err(read_failed)?;
        let length = std::fs::metadata(file).map_err(read_failed)?.len();
        let definition = xml::Volume::sized(name, size, format)
            .to_xml()
            .map_err(|e| failed("write a volume definition", &e.to_string()))?;
        let volume = StorageVol::create_xml(&pool, &definition, 0)
            .map_err(lv(format!("create volume {name:?} in pool {pool_name:?}")))?;
        let sent = std::fs::File::open(file)
            .map_err(read_failed)
            .and_then(|source| self.fill(&volume, length, source, &shown));
        if let Err(e) = sent {
            let _ = volume.delete(0);
            return Err(e);
        }
        let key = volume.key().map_err(lv("read a volume's key"))?;
        Ok(crate::provider::Image {
            id: crate::provider::ImageId(volume_id(&key)),
            name: name.to_owned(),
            display_name: format!("volume of pool {pool_name}"),
            family: Some("Linux".to_owned()),
            min_disk: Some(u32::try_from(size.div_ceil(1 << 30)).unwrap_or(u32::MAX)),
            dc: None,
        })
    }

    /// Deletes an uploaded image, unless a disk is made from it (its backing file).
    pub(super) fn delete_image(&self, id: crate::provider::ImageId) -> Result<(), ProviderError> {
        let (_, volume) = self.volume_by_id(VolumeId(id.0))?;
        let name = volume.name().unwrap_or_default();
        let path = volume.path().unwrap_or_default();
        for pool in self.all_pools()? {
            for other in pool.list_all_volumes(0).unwrap_or_default() {
                let backed = other
                    .xml_desc(0)
                    .ok()
                    .and_then(|text| xml::backing_path(&text))
                    .is_some_and(|backing| backing == path);
                if backed {
                    return Err(failed(
                        &format!("delete image {name:?}"),
                        &format!(
                            "the disk {} is made from it; delete the servers made from it first",
                            other.name().unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        volume
            .delete(0)
            .map_err(lv(format!("delete image {name:?}")))
    }
}
