//! Private networks (docs/1cloud-api.md §2.5) and SSH keys (§2.4): list, get, create (never twice),
//! delete.

use super::wire::{WireNetwork, WireSshKey};
use super::{requests, Client};
use crate::provider::{
    NetworkId, NetworkSpec, ObservedNetwork, ObservedSshKey, ProviderError, SshKeyId, SshKeySpec,
};

impl Client {
    /// `GET /network`.
    pub async fn networks(&self) -> Result<Vec<ObservedNetwork>, ProviderError> {
        let networks: Vec<WireNetwork> = self.get("/network").await?;
        Ok(networks.into_iter().map(ObservedNetwork::from).collect())
    }

    /// `GET /network/{id}`.
    pub async fn network(&self, id: NetworkId) -> Result<ObservedNetwork, ProviderError> {
        let network: WireNetwork = self.get(&format!("/network/{id}")).await?;
        Ok(network.into())
    }

    /// `POST /network`, adopting a network of that name that appeared if the answer is lost
    /// (one not in `before`, the IDs of the networks of that name that existed before).
    pub async fn create_network(
        &self,
        spec: &NetworkSpec,
        before: &[u64],
    ) -> Result<ObservedNetwork, ProviderError> {
        let name = spec.name.as_str();
        let network: WireNetwork = self
            .post_checked(
                "/network",
                &requests::create_network(spec),
                move || async move {
                    let now: Vec<WireNetwork> = self.get("/network").await?;
                    Ok(now
                        .into_iter()
                        .filter(|n| n.name == name && !before.contains(&n.id))
                        .max_by_key(|n| n.id))
                },
            )
            .await?;
        Ok(network.into())
    }

    /// `PUT /network/{id}` with a new `Name` (the one change 1cloud's network update takes).
    pub async fn rename_network(
        &self,
        id: NetworkId,
        name: &str,
    ) -> Result<ObservedNetwork, ProviderError> {
        let network: WireNetwork = self
            .put(
                &format!("/network/{id}"),
                &serde_json::json!({ "Name": name }),
            )
            .await?;
        Ok(network.into())
    }

    /// `DELETE /network/{id}`.
    pub async fn delete_network(&self, id: NetworkId) -> Result<(), ProviderError> {
        self.delete(&format!("/network/{id}")).await
    }

    /// `GET /sshkey`.
    pub async fn ssh_keys(&self) -> Result<Vec<ObservedSshKey>, ProviderError> {
        let keys: Vec<WireSshKey> = self.get("/sshkey").await?;
        Ok(keys.into_iter().map(ObservedSshKey::from).collect())
    }

    /// `POST /sshkey`, adopting a key of that title that appeared if the answer is lost (one
    /// not in `before`, the IDs of the keys of that title that existed before).
    pub async fn create_ssh_key(
        &self,
        spec: &SshKeySpec,
        before: &[u64],
    ) -> Result<ObservedSshKey, ProviderError> {
        let title = spec.title.as_str();
        let key: WireSshKey = self
            .post_checked(
                "/sshkey",
                &requests::create_ssh_key(spec),
                move || async move {
                    let now: Vec<WireSshKey> = self.get("/sshkey").await?;
                    Ok(now
                        .into_iter()
                        .filter(|k| k.title == title && !before.contains(&k.id))
                        .max_by_key(|k| k.id))
                },
            )
            .await?;
        Ok(key.into())
    }

    /// `DELETE /sshkey/{id}`.
    pub async fn delete_ssh_key(&self, id: SshKeyId) -> Result<(), ProviderError> {
        self.delete(&format!("/sshkey/{id}")).await
    }
}
