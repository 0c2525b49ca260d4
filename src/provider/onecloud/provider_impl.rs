//! [`Provider`] for the 1cloud [`Client`]: `observe` fetches servers, networks, SSH keys and
//! DNS domains concurrently (four calls in all); the rest delegates to the client's methods.

use tokio::time::Instant;

use super::Client;
use crate::provider::{
    Action, ActionId, DcLocation, DomainId, Image, ImageId, Kinds, NetworkId, NetworkSpec,
    Observed, ObservedDomain, ObservedNetwork, ObservedRecord, ObservedServer, ObservedSshKey,
    PowerOp, Provider, ProviderError, RecordId, RecordSpec, ServerId, ServerSize, ServerSpec,
    SshKeyId, SshKeySpec,
};

impl Provider for Client {
    async fn observe(&self, kinds: Kinds) -> Result<Observed, ProviderError> {
        // Each list only when asked for; a failure names what could not be read.
        async fn list<T>(
            wanted: bool,
            what: &'static str,
            call: impl std::future::Future<Output = Result<Vec<T>, ProviderError>>,
        ) -> Result<Vec<T>, ProviderError> {
            if !wanted {
                return Ok(Vec::new());
            }
            call.await.map_err(|source| ProviderError::List {
                what,
                source: Box::new(source),
            })
        }
        if kinds.storage {
            return Err(ProviderError::List {
                what: "storage pools",
                source: Box::new(super::super::no_storage()),
            });
        }
        let (servers, networks, ssh_keys, domains) = tokio::try_join!(
            list(kinds.servers, "servers", self.servers()),
            list(kinds.networks, "private networks", self.networks()),
            list(kinds.ssh_keys, "SSH keys", self.ssh_keys()),
            list(kinds.dns, "DNS domains", self.domains())
        )?;
        Ok(Observed {
            servers,
            networks,
            ssh_keys,
            domains,
            pools: Vec::new(),
            volumes: Vec::new(),
        })
    }

    async fn server(&self, id: ServerId) -> Result<ObservedServer, ProviderError> {
        Client::server(self, id).await
    }

    async fn images(&self) -> Result<Vec<Image>, ProviderError> {
        Client::images(self).await
    }

    async fn create_image(
        &self,
        server: ServerId,
        name: &str,
        before: &[u64],
    ) -> Result<Image, ProviderError> {
        Client::create_image(self, server, name, before).await
    }

    async fn delete_image(&self, id: ImageId) -> Result<(), ProviderError> {
        Client::delete_image(self, id).await
    }

    async fn dc_locations(&self) -> Result<Vec<DcLocation>, ProviderError> {
        Client::dc_locations(self).await
    }

    async fn create_server(
        &self,
        spec: &ServerSpec,
        before: &[u64],
    ) -> Result<ObservedServer, ProviderError> {
        Client::create_server(self, spec, before).await
    }

    async fn update_server(
        &self,
        id: ServerId,
        size: &ServerSize,
    ) -> Result<Action, ProviderError> {
        Client::resize_server(self, id, size).await
    }

    async fn delete_server(&self, id: ServerId) -> Result<(), ProviderError> {
        Client::delete_server(self, id).await
    }

    async fn power(&self, id: ServerId, op: PowerOp) -> Result<Action, ProviderError> {
        Client::power(self, id, op).await
    }

    async fn attach_network(
        &self,
        server: ServerId,
        network: NetworkId,
    ) -> Result<Action, ProviderError> {
        Client::attach_network(self, server, network).await
    }

    async fn detach_network(
        &self,
        server: ServerId,
        network: NetworkId,
    ) -> Result<Action, ProviderError> {
        Client::detach_network(self, server, network).await
    }

    async fn rebuild_server(
        &self,
        id: ServerId,
        image: ImageId,
    ) -> Result<ObservedServer, ProviderError> {
        Client::rebuild_server(self, id, image).await
    }

    async fn wait_action(
        &self,
        server: ServerId,
        action: ActionId,
        deadline: Instant,
    ) -> Result<Action, ProviderError> {
        Client::wait_action(self, server, action, deadline).await
    }

    async fn wait_idle(&self, server: ServerId, deadline: Instant) -> Result<(), ProviderError> {
        Client::wait_idle(self, server, deadline).await
    }

    async fn wait_server_active(
        &self,
        id: ServerId,
        deadline: Instant,
    ) -> Result<ObservedServer, ProviderError> {
        Client::wait_server_active(self, id, deadline).await
    }

    async fn create_network(
        &self,
        spec: &NetworkSpec,
        before: &[u64],
    ) -> Result<ObservedNetwork, ProviderError> {
        Client::create_network(self, spec, before).await
    }

    async fn wait_network_active(
        &self,
        id: NetworkId,
        deadline: Instant,
    ) -> Result<ObservedNetwork, ProviderError> {
        Client::wait_network_active(self, id, deadline).await
    }

    async fn rename_network(
        &self,
        id: NetworkId,
        name: &str,
    ) -> Result<ObservedNetwork, ProviderError> {
        Client::rename_network(self, id, name).await
    }

    async fn delete_network(&self, id: NetworkId) -> Result<(), ProviderError> {
        Client::delete_network(self, id).await
    }

    async fn create_ssh_key(
        &self,
        spec: &SshKeySpec,
        before: &[u64],
    ) -> Result<ObservedSshKey, ProviderError> {
        Client::create_ssh_key(self, spec, before).await
    }

    async fn delete_ssh_key(&self, id: SshKeyId) -> Result<(), ProviderError> {
        Client::delete_ssh_key(self, id).await
    }

    async fn create_domain(
        &self,
        name: &str,
        before: &[u64],
    ) -> Result<ObservedDomain, ProviderError> {
        Client::create_domain(self, name, before).await
    }

    async fn delete_domain(&self, id: DomainId) -> Result<(), ProviderError> {
        Client::delete_domain(self, id).await
    }

    async fn create_record(
        &self,
        spec: &RecordSpec,
        before: &[u64],
    ) -> Result<ObservedRecord, ProviderError> {
        Client::create_record(self, spec, before).await
    }

    async fn delete_record(&self, domain: DomainId, record: RecordId) -> Result<(), ProviderError> {
        Client::delete_record(self, domain, record).await
    }
}
