//! [`Cloud`]: the provider a project uses — the 1cloud API (or its emulator) or a libvirt
//! daemon — behind the one [`Provider`] boundary, for the reconciler, `ict cloud`, the REPL and
//! metrics alike. May depend on `provider` only.

use tokio::time::Instant;

use super::libvirt::Libvirt;
use super::onecloud::{Client, SendGuard};
use super::{
    Action, ActionId, DcLocation, DomainId, Image, ImageId, Kinds, NetworkId, NetworkSpec,
    Observed, ObservedDomain, ObservedNetwork, ObservedRecord, ObservedServer, ObservedSshKey,
    PowerOp, Provider, ProviderError, RecordId, RecordSpec, ServerId, ServerSize, ServerSpec,
    SshKeyId, SshKeySpec,
};
use super::{ObservedPool, ObservedVolume, PoolId, PoolSpec, VolumeId, VolumeSpec};

/// A connected provider. Cheap to clone.
#[derive(Clone)]
pub enum Cloud {
    /// The 1cloud API, or ict's emulator of it.
    OneCloud(Client),
    /// A libvirt daemon.
    Libvirt(Libvirt),
}

/// The same call on whichever provider this is.
macro_rules! each {
    ($self:ident, $p:ident => $call:expr) => {
        match $self {
            Cloud::OneCloud($p) => $call,
            Cloud::Libvirt($p) => $call,
        }
    };
}

impl Cloud {
    /// This provider, asking `guard` before it sends each change.
    #[must_use]
    pub fn with_send_guard(&self, guard: Option<SendGuard>) -> Cloud {
        match self {
            Cloud::OneCloud(c) => Cloud::OneCloud(c.with_send_guard(guard)),
            Cloud::Libvirt(l) => Cloud::Libvirt(l.with_send_guard(guard)),
        }
    }

    /// The libvirt connection, when this is one.
    pub fn libvirt(&self) -> Option<&Libvirt> {
        match self {
            Cloud::Libvirt(l) => Some(l),
            Cloud::OneCloud(_) => None,
        }
    }

    /// The 1cloud client, when this is one.
    pub fn onecloud(&self) -> Option<&Client> {
        match self {
            Cloud::OneCloud(c) => Some(c),
            Cloud::Libvirt(_) => None,
        }
    }

    /// Every server (libvirt: every domain, ict's or not).
    pub async fn servers(&self) -> Result<Vec<ObservedServer>, ProviderError> {
        Ok(self.observe(Kinds::SERVERS).await?.servers)
    }

    /// Every private network (libvirt: every network).
    pub async fn networks(&self) -> Result<Vec<ObservedNetwork>, ProviderError> {
        Ok(self.observe(Kinds::NETWORKS).await?.networks)
    }

    /// Every uploaded SSH key.
    pub async fn ssh_keys(&self) -> Result<Vec<ObservedSshKey>, ProviderError> {
        Ok(self.observe(Kinds::SSH_KEYS).await?.ssh_keys)
    }

    /// Every DNS domain with its records.
    pub async fn domains(&self) -> Result<Vec<ObservedDomain>, ProviderError> {
        Ok(self.observe(Kinds::DNS).await?.domains)
    }

    /// The account's balance (1cloud only).
    pub async fn balance(&self) -> Result<f64, ProviderError> {
        match self {
            Cloud::OneCloud(c) => c.balance().await,
            Cloud::Libvirt(_) => Err(ProviderError::Unsupported {
                provider: "libvirt",
                what: "an account balance",
            }),
        }
    }
}

impl Provider for Cloud {
    async fn observe(&self, kinds: Kinds) -> Result<Observed, ProviderError> {
        each!(self, p => p.observe(kinds).await)
    }

    async fn server(&self, id: ServerId) -> Result<ObservedServer, ProviderError> {
        each!(self, p => p.server(id).await)
    }

    async fn images(&self) -> Result<Vec<Image>, ProviderError> {
        each!(self, p => p.images().await)
    }

    async fn create_image(
        &self,
        server: ServerId,
        name: &str,
        before: &[u64],
    ) -> Result<Image, ProviderError> {
        each!(self, p => p.create_image(server, name, before).await)
    }

    async fn delete_image(&self, id: ImageId) -> Result<(), ProviderError> {
        each!(self, p => p.delete_image(id).await)
    }

    async fn dc_locations(&self) -> Result<Vec<DcLocation>, ProviderError> {
        each!(self, p => p.dc_locations().await)
    }

    async fn create_server(
        &self,
        spec: &ServerSpec,
        before: &[u64],
    ) -> Result<ObservedServer, ProviderError> {
        each!(self, p => p.create_server(spec, before).await)
    }

    async fn update_server(
        &self,
        id: ServerId,
        size: &ServerSize,
    ) -> Result<Action, ProviderError> {
        each!(self, p => p.update_server(id, size).await)
    }

    async fn delete_server(&self, id: ServerId) -> Result<(), ProviderError> {
        each!(self, p => p.delete_server(id).await)
    }

    async fn power(&self, id: ServerId, op: PowerOp) -> Result<Action, ProviderError> {
        each!(self, p => p.power(id, op).await)
    }

    async fn attach_network(
        &self,
        server: ServerId,
        network: NetworkId,
    ) -> Result<Action, ProviderError> {
        each!(self, p => p.attach_network(server, network).await)
    }

    async fn detach_network(
        &self,
        server: ServerId,
        network: NetworkId,
    ) -> Result<Action, ProviderError> {
        each!(self, p => p.detach_network(server, network).await)
    }

    async fn rebuild_server(
        &self,
        id: ServerId,
        image: ImageId,
    ) -> Result<ObservedServer, ProviderError> {
        each!(self, p => p.rebuild_server(id, image).await)
    }

    async fn wait_action(
        &self,
        server: ServerId,
        action: ActionId,
        deadline: Instant,
    ) -> Result<Action, ProviderError> {
        each!(self, p => p.wait_action(server, action, deadline).await)
    }

    async fn wait_idle(&self, server: ServerId, deadline: Instant) -> Result<(), ProviderError> {
        each!(self, p => p.wait_idle(server, deadline).await)
    }

    async fn wait_server_active(
        &self,
        id: ServerId,
        deadline: Instant,
    ) -> Result<ObservedServer, ProviderError> {
        each!(self, p => p.wait_server_active(id, deadline).await)
    }

    async fn create_network(
        &self,
        spec: &NetworkSpec,
        before: &[u64],
    ) -> Result<ObservedNetwork, ProviderError> {
        each!(self, p => p.create_network(spec, before).await)
    }

    async fn wait_network_active(
        &self,
        id: NetworkId,
        deadline: Instant,
    ) -> Result<ObservedNetwork, ProviderError> {
        each!(self, p => p.wait_network_active(id, deadline).await)
    }

    async fn rename_network(
        &self,
        id: NetworkId,
        name: &str,
    ) -> Result<ObservedNetwork, ProviderError> {
        each!(self, p => p.rename_network(id, name).await)
    }

    async fn delete_network(&self, id: NetworkId) -> Result<(), ProviderError> {
        each!(self, p => p.delete_network(id).await)
    }

    async fn create_ssh_key(
        &self,
        spec: &SshKeySpec,
        before: &[u64],
    ) -> Result<ObservedSshKey, ProviderError> {
        each!(self, p => p.create_ssh_key(spec, before).await)
    }

    async fn delete_ssh_key(&self, id: SshKeyId) -> Result<(), ProviderError> {
        each!(self, p => p.delete_ssh_key(id).await)
    }

    async fn create_domain(
        &self,
        name: &str,
        before: &[u64],
    ) -> Result<ObservedDomain, ProviderError> {
        each!(self, p => p.create_domain(name, before).await)
    }

    async fn delete_domain(&self, id: DomainId) -> Result<(), ProviderError> {
        each!(self, p => p.delete_domain(id).await)
    }

    async fn create_record(
        &self,
        spec: &RecordSpec,
        before: &[u64],
    ) -> Result<ObservedRecord, ProviderError> {
        each!(self, p => p.create_record(spec, before).await)
    }

    async fn delete_record(&self, domain: DomainId, record: RecordId) -> Result<(), ProviderError> {
        each!(self, p => p.delete_record(domain, record).await)
    }

    async fn upload_image(
        &self,
        name: &str,
        pool: PoolId,
        file: &std::path::Path,
        before: &[u64],
    ) -> Result<Image, ProviderError> {
        each!(self, p => p.upload_image(name, pool, file, before).await)
    }

    async fn create_pool(
        &self,
        spec: &PoolSpec,
        before: &[u64],
    ) -> Result<ObservedPool, ProviderError> {
        each!(self, p => p.create_pool(spec, before).await)
    }

    async fn delete_pool(&self, id: PoolId) -> Result<(), ProviderError> {
        each!(self, p => p.delete_pool(id).await)
    }

    async fn create_volume(
        &self,
        spec: &VolumeSpec,
        before: &[u64],
    ) -> Result<ObservedVolume, ProviderError> {
        each!(self, p => p.create_volume(spec, before).await)
    }

    async fn resize_volume(&self, id: VolumeId, size: u32) -> Result<(), ProviderError> {
        each!(self, p => p.resize_volume(id, size).await)
    }

    async fn attach_volume(&self, id: VolumeId, server: ServerId) -> Result<(), ProviderError> {
        each!(self, p => p.attach_volume(id, server).await)
    }

    async fn detach_volume(&self, id: VolumeId, server: ServerId) -> Result<(), ProviderError> {
        each!(self, p => p.detach_volume(id, server).await)
    }

    async fn delete_volume(&self, id: VolumeId) -> Result<(), ProviderError> {
        each!(self, p => p.delete_volume(id).await)
    }
}
