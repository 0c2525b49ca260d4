//! `provider(name, #{...})`: which cloud a script's environment lives on — 1cloud (the default,
//! or its built-in emulator without a token) or a libvirt daemon on hosts of your own. Pure
//! data; depends on nothing else in ict.

use super::Span;

/// The kinds of provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// 1cloud.ru (or, without `ONECLOUD_TOKEN`, ict's emulator of it).
    OneCloud,
    /// A libvirt daemon.
    Libvirt,
}

impl ProviderKind {
    /// Every kind, by the name a script uses.
    pub const NAMES: &'static [&'static str] = &["1cloud", "libvirt"];

    /// The kind a script names, if any.
    pub fn parse(name: &str) -> Option<ProviderKind> {
        match name {
            "1cloud" | "onecloud" => Some(ProviderKind::OneCloud),
            "libvirt" => Some(ProviderKind::Libvirt),
            _ => None,
        }
    }

    /// The settings this kind accepts.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            ProviderKind::OneCloud => &[],
            ProviderKind::Libvirt => &["uri", "pool", "network", "shutdown_timeout", "virt_type"],
        }
    }
}

/// The declared provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub kind: ProviderKind,
    /// libvirt: the daemon's URI (`qemu:///system`).
    pub uri: Option<String>,
    /// libvirt: the storage pool of the root volumes.
    pub pool: Option<String>,
    /// libvirt: a network (not ict's) every server joins first, like 1cloud's public interface.
    pub network: Option<String>,
    /// libvirt: seconds a clean shutdown may take before the machine is powered off.
    pub shutdown_timeout: Option<u32>,
    /// libvirt: the domain type, `kvm` or `qemu` (TCG); the host's best when not given.
    pub virt_type: Option<String>,
    pub span: Span,
}

/// Makes the model one of libvirt's (also when `--provider libvirt` overrides the script):
/// every server and network that names no data centre (`dc`) is placed in `location`, the
/// provider's one place (libvirt's host has no 1cloud data centres).
pub fn on_host(desired: &mut super::Desired, location: &str) {
    match &mut desired.provider {
        Some(provider) => provider.kind = ProviderKind::Libvirt,
        None => {
            desired.provider = Some(Provider {
                kind: ProviderKind::Libvirt,
                uri: None,
                pool: None,
                network: None,
                shutdown_timeout: None,
                virt_type: None,
                span: Span::default(),
            });
        }
    }
    for server in desired.servers.values_mut() {
        if !server.fields.contains_key("dc") {
            location.clone_into(&mut server.dc);
        }
    }
    for network in desired.networks.values_mut() {
        if !network.fields.contains_key("dc") {
            location.clone_into(&mut network.dc);
        }
    }
}
