//! What the reconciler asks the provider to create or change: plain data, in ict's terms. The
//! client turns these into the API's request bodies (`onecloud/wire.rs`).

use super::{DomainId, ImageId, PoolId, SshKeyId};
use crate::model::DiskType;

/// A server to create (`POST /server`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// Not unique in 1cloud; ict keeps names unique within what it manages.
    pub name: String,
    pub size: ServerSize,
    pub image: ImageId,
    /// Data centre tech name (`SdnSpb`); `None` lets 1cloud choose its default.
    pub dc: Option<String>,
    /// Backup period in days, `None` for no backups.
    pub backup_days: Option<u32>,
    pub ssh_keys: Vec<SshKeyId>,
    /// The public key lines of `ssh_keys`, for a provider without a key store (libvirt writes
    /// them into the server's cloud-init seed).
    pub authorized_keys: Vec<String>,
}

/// The resizable part of a server (`PUT /server/{id}`), also part of [`ServerSpec`]; plans
/// carry it as it is (serialized in `plan --json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerSize {
    pub cpu: u32,
    /// MB.
    pub ram: u32,
    /// GB.
    pub disk: u32,
    pub disk_type: DiskType,
    pub high_performance: bool,
}

/// A power action (`POST /server/{id}/action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerOp {
    /// `PowerOn`.
    On,
    /// `PowerOff`: a hard power-off.
    Off,
    /// `ShutDownGuestOS`: a clean shutdown through the guest.
    Shutdown,
    /// `PowerReboot`.
    Reboot,
}

impl PowerOp {
    /// The action `Type` the API expects.
    pub fn api_name(self) -> &'static str {
        match self {
            PowerOp::On => "PowerOn",
            PowerOp::Off => "PowerOff",
            PowerOp::Shutdown => "ShutDownGuestOS",
            PowerOp::Reboot => "PowerReboot",
        }
    }

    /// The power state the operation leads to, if it has one (a reboot ends where it began).
    pub fn target_power(self) -> Option<bool> {
        match self {
            PowerOp::On => Some(true),
            PowerOp::Off | PowerOp::Shutdown => Some(false),
            PowerOp::Reboot => None,
        }
    }
}

/// A private network to create (`POST /network`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    /// Data centre tech name; `None` for the API's default.
    pub dc: Option<String>,
    pub dhcp: bool,
}

/// An SSH key to upload (`POST /sshkey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKeySpec {
    pub title: String,
    /// The OpenSSH public key line.
    pub public_key: String,
}

/// DNS record types ict creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
}

impl RecordKind {
    /// The DNS spelling (`AAAA`), also the API's `TypeRecord`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
            RecordKind::Cname => "CNAME",
            RecordKind::Mx => "MX",
            RecordKind::Txt => "TXT",
        }
    }
}

/// A DNS record to create (`POST /dns/record{a,aaaa,cname,mx,txt}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSpec {
    pub domain: DomainId,
    pub kind: RecordKind,
    /// Host part: `@` for the apex, `www`, ... (MX records always sit at the apex.)
    pub name: String,
    /// Address (A/AAAA), target host (CNAME/MX) or text (TXT, unquoted).
    pub value: String,
    /// Seconds; one of the values 1cloud accepts (see `model::limits::DNS_TTLS`).
    pub ttl: u32,
    /// MX priority.
    pub priority: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_ops_use_the_api_names() {
        assert_eq!(PowerOp::Shutdown.api_name(), "ShutDownGuestOS");
        assert_eq!(PowerOp::Reboot.target_power(), None);
        assert_eq!(PowerOp::Off.target_power(), Some(false));
        assert_eq!(RecordKind::Aaaa.as_str(), "AAAA");
    }
}

/// A storage pool to create (libvirt).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PoolSpec {
    pub name: String,
    /// `dir` or `netfs`.
    pub kind: String,
    pub path: String,
    pub source_host: Option<String>,
    pub source_path: Option<String>,
}

/// A storage volume to create (libvirt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub name: String,
    pub pool: PoolId,
    /// GB.
    pub size: u32,
    /// `qcow2` or `raw`.
    pub format: String,
}
