//! Server endpoints (docs/1cloud-api.md §2.1, §2.2): list, get, create, resize, delete, power and
//! network actions, action history, rebuild.

use super::wire::{WireAction, WireServer};
use super::{requests, Client};
use crate::provider::{
    Action, ActionId, ActionState, ImageId, NetworkId, ObservedServer, PowerOp, ProviderError,
    ServerId, ServerSize, ServerSpec,
};

impl Client {
    /// `GET /server`: every server of the account, in one call.
    pub async fn servers(&self) -> Result<Vec<ObservedServer>, ProviderError> {
        let servers: Vec<WireServer> = self.get("/server").await?;
        Ok(servers.into_iter().map(ObservedServer::from).collect())
    }

    /// `GET /server/{id}`.
    pub async fn server(&self, id: ServerId) -> Result<ObservedServer, ProviderError> {
        let server: WireServer = self.get(&format!("/server/{id}")).await?;
        Ok(server.into())
    }

    /// `POST /server`, never twice: on a lost answer the server is looked up by name among the
    /// servers that are not in `before` (the IDs of the servers of that name that existed
    /// before), and adopted if found.
    pub async fn create_server(
        &self,
        spec: &ServerSpec,
        before: &[u64],
    ) -> Result<ObservedServer, ProviderError> {
        let name = spec.name.as_str();
        let body = requests::create_server(spec);
        let server: WireServer = self
            .post_checked("/server", &body, move || async move {
                let now: Vec<WireServer> = self.get("/server").await?;
                Ok(now
                    .into_iter()
                    .filter(|s| s.name == name && !before.contains(&s.id))
                    .max_by_key(|s| s.id))
            })
            .await?;
        Ok(server.into())
    }

    /// `PUT /server/{id}`: change CPU, RAM, disk, disk type or pool. Returns the `Resize` task.
    pub async fn resize_server(
        &self,
        id: ServerId,
        size: &ServerSize,
    ) -> Result<Action, ProviderError> {
        let action: WireAction = self
            .put(&format!("/server/{id}"), &requests::resize_server(size))
            .await?;
        Ok(action.observed(id))
    }

    /// `DELETE /server/{id}`.
    pub async fn delete_server(&self, id: ServerId) -> Result<(), ProviderError> {
        self.delete(&format!("/server/{id}")).await
    }

    /// `GET /server/{id}/action`: the server's task history.
    pub async fn actions(&self, id: ServerId) -> Result<Vec<Action>, ProviderError> {
        let actions: Vec<WireAction> = self.get(&format!("/server/{id}/action")).await?;
        Ok(actions.into_iter().map(|a| a.observed(id)).collect())
    }

    /// `GET /server/{id}/action/{action}`.
    pub async fn action(&self, id: ServerId, action: ActionId) -> Result<Action, ProviderError> {
        let action: WireAction = self.get(&format!("/server/{id}/action/{action}")).await?;
        Ok(action.observed(id))
    }

    /// `POST /server/{id}/action` with a power `Type`.
    pub async fn power(&self, id: ServerId, op: PowerOp) -> Result<Action, ProviderError> {
        self.server_action(id, requests::power(op), op.api_name(), |server| {
            op.target_power() == Some(server.power_on)
        })
        .await
    }

    /// `POST /server/{id}/action` with `AddNetwork`.
    pub async fn attach_network(
        &self,
        id: ServerId,
        network: NetworkId,
    ) -> Result<Action, ProviderError> {
        let body = requests::network_action("AddNetwork", network);
        self.server_action(id, body, "AddNetwork", |server| {
            server.link_to(network).is_some()
        })
        .await
    }

    /// `POST /server/{id}/action` with `RemoveNetwork`.
    pub async fn detach_network(
        &self,
        id: ServerId,
        network: NetworkId,
    ) -> Result<Action, ProviderError> {
        let body = requests::network_action("RemoveNetwork", network);
        self.server_action(id, body, "RemoveNetwork", |server| {
            server.link_to(network).is_none()
        })
        .await
    }

    /// `POST /server/{id}/rebuild`. On a lost answer, a server back in state `New` shows the
    /// rebuild started, and is not asked again.
    pub async fn rebuild_server(
        &self,
        id: ServerId,
        image: ImageId,
    ) -> Result<ObservedServer, ProviderError> {
        let path = format!("/server/{id}/rebuild");
        let server: WireServer = self
            .post_checked(&path, &requests::rebuild(image.0), move || async move {
                let server: WireServer = self.get(&format!("/server/{id}")).await?;
                Ok(server.state.eq_ignore_ascii_case("New").then_some(server))
            })
            .await?;
        Ok(server.into())
    }

    /// Sends a server action. Before re-sending after a lost answer, it looks for a running
    /// action of the same type (adopted), then at the server: if `done` already holds, the
    /// newest action of that type is adopted instead of asking again.
    async fn server_action(
        &self,
        id: ServerId,
        body: serde_json::Value,
        kind: &str,
        done: impl Fn(&ObservedServer) -> bool,
    ) -> Result<Action, ProviderError> {
        let path = format!("/server/{id}/action");
        let (path, done) = (path.as_str(), &done);
        let action: WireAction = self
            .post_checked(path, &body, move || async move {
                let actions: Vec<WireAction> = self.get(path).await?;
                let same = || actions.iter().filter(|a| a.kind.eq_ignore_ascii_case(kind));
                let running = same()
                    .filter(|a| {
                        matches!(
                            ActionState::parse(&a.state),
                            ActionState::InProgress | ActionState::Postponed
                        )
                    })
                    .max_by_key(|a| a.id);
                if let Some(running) = running {
                    return Ok(Some(running.clone()));
                }
                if done(&self.server(id).await?) {
                    return Ok(same().max_by_key(|a| a.id).cloned());
                }
                Ok(None)
            })
            .await?;
        Ok(action.observed(id))
    }
}
