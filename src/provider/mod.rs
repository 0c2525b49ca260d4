//! The boundary between the reconciler and the cloud: the [`Provider`] trait, the observed-state
//! types it returns ([`Observed`] and friends), the requests it accepts ([`ServerSpec`], ...) and
//! its typed errors ([`ProviderError`]).
//!
//! Two implementations: [`onecloud`], the real 1cloud REST client (the emulator speaks the same
//! HTTP API, so the same client drives it), and [`libvirt`], VMs on a libvirt daemon; [`Cloud`]
//! is whichever one a project uses. Observed types are plain data (no I/O) and are what
//! `ict cloud ... --json` prints. May depend on nothing else in ict.

mod cloud;
mod error;
mod ids;
pub mod libvirt;
pub(crate) mod observed;
pub mod onecloud;
mod secret;
mod spec;

use std::future::Future;

use tokio::time::Instant;

pub use cloud::Cloud;
pub use error::ProviderError;
pub use ids::{
    ActionId, DomainId, ImageId, NetworkId, PoolId, RecordId, ServerId, SshKeyId, VolumeId,
};
pub use observed::{
    Action, ActionState, DcLocation, Image, Kinds, NetworkMember, Observed, ObservedDomain,
    ObservedNetwork, ObservedPool, ObservedRecord, ObservedServer, ObservedSshKey, ObservedVolume,
    ServerLink, ServerState,
};
pub use secret::Secret;
pub use spec::{
    NetworkSpec, PoolSpec, PowerOp, RecordKind, RecordSpec, ServerSize, ServerSpec, SshKeySpec,
    VolumeSpec,
};

/// What the reconciler needs from a cloud. Every method is one logical operation; retries,
/// timeouts and "did my create go through?" checks happen inside the implementation, so a
/// returned error means the operation really failed (or its outcome could not be established).
///
/// Methods return `Send` futures so that the reconciler can run them on spawned tasks.
pub trait Provider: Send + Sync {
    /// The objects of the given kinds in the account, in one bulk call per kind (never one per
    /// server). Kinds not asked for are left empty and are not read at all, so a kind the
    /// caller does not use cannot fail it.
    fn observe(&self, kinds: Kinds)
        -> impl Future<Output = Result<Observed, ProviderError>> + Send;

    /// One server as the cloud shows it now.
    fn server(
        &self,
        id: ServerId,
    ) -> impl Future<Output = Result<ObservedServer, ProviderError>> + Send;

    /// The image catalogue (public images and the account's own templates).
    fn images(&self) -> impl Future<Output = Result<Vec<Image>, ProviderError>> + Send;

    /// Makes a template named `name` of server `server` (it then shows in [`Provider::images`]
    /// and servers can be created from it). Never makes it twice: `before` holds the IDs of
    /// the images of that name that existed before.
    fn create_image(
        &self,
        server: ServerId,
        name: &str,
        before: &[u64],
    ) -> impl Future<Output = Result<Image, ProviderError>> + Send;

    /// Deletes one of the account's own templates.
    fn delete_image(&self, id: ImageId) -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// The data centres servers and networks can be placed in.
    fn dc_locations(&self) -> impl Future<Output = Result<Vec<DcLocation>, ProviderError>> + Send;

    /// Creates a server. Returns at once with the server in state `New`; follow with
    /// [`Provider::wait_server_active`]. Never creates the server twice: `before` holds the
    /// IDs of the servers of that name that existed before (see [`Observed::same_name`]), and
    /// a server whose answer was lost is looked for among the others.
    fn create_server(
        &self,
        spec: &ServerSpec,
        before: &[u64],
    ) -> impl Future<Output = Result<ObservedServer, ProviderError>> + Send;

    /// Changes CPU, RAM, disk, disk type or pool. Returns the `Resize` action to wait for.
    fn update_server(
        &self,
        id: ServerId,
        size: &ServerSize,
    ) -> impl Future<Output = Result<Action, ProviderError>> + Send;

    /// Deletes a server. A server that is already gone after a retried call counts as deleted.
    fn delete_server(&self, id: ServerId)
        -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Powers a server on, off, shuts it down or reboots it. Returns the action to wait for.
    fn power(
        &self,
        id: ServerId,
        op: PowerOp,
    ) -> impl Future<Output = Result<Action, ProviderError>> + Send;

    /// Attaches a server to a private network (`AddNetwork`).
    fn attach_network(
        &self,
        server: ServerId,
        network: NetworkId,
    ) -> impl Future<Output = Result<Action, ProviderError>> + Send;

    /// Detaches a server from a private network (`RemoveNetwork`).
    fn detach_network(
        &self,
        server: ServerId,
        network: NetworkId,
    ) -> impl Future<Output = Result<Action, ProviderError>> + Send;

    /// Reinstalls a server from an image. The server goes back to `New`.
    fn rebuild_server(
        &self,
        id: ServerId,
        image: ImageId,
    ) -> impl Future<Output = Result<ObservedServer, ProviderError>> + Send;

    /// Polls an action until it is `Completed`, or fails at `deadline` naming the server and task.
    fn wait_action(
        &self,
        server: ServerId,
        action: ActionId,
        deadline: Instant,
    ) -> impl Future<Output = Result<Action, ProviderError>> + Send;

    /// Waits until no task (another run's, or one started in the panel) runs on the server.
    fn wait_idle(
        &self,
        server: ServerId,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Polls a server until its state is `Active`; fails at once on `NeedMoney`/`Blocked`.
    fn wait_server_active(
        &self,
        id: ServerId,
        deadline: Instant,
    ) -> impl Future<Output = Result<ObservedServer, ProviderError>> + Send;

    /// Creates a private network (state `New`; see [`Provider::wait_network_active`]).
    fn create_network(
        &self,
        spec: &NetworkSpec,
        before: &[u64],
    ) -> impl Future<Output = Result<ObservedNetwork, ProviderError>> + Send;

    /// Polls a private network until its state is `Active`.
    fn wait_network_active(
        &self,
        id: NetworkId,
        deadline: Instant,
    ) -> impl Future<Output = Result<ObservedNetwork, ProviderError>> + Send;

    /// Renames a private network (`PUT /network/{id}`).
    fn rename_network(
        &self,
        id: NetworkId,
        name: &str,
    ) -> impl Future<Output = Result<ObservedNetwork, ProviderError>> + Send;

    /// Deletes a private network.
    fn delete_network(
        &self,
        id: NetworkId,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Uploads an SSH public key.
    fn create_ssh_key(
        &self,
        spec: &SshKeySpec,
        before: &[u64],
    ) -> impl Future<Output = Result<ObservedSshKey, ProviderError>> + Send;

    /// Deletes an SSH key.
    fn delete_ssh_key(
        &self,
        id: SshKeyId,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Adds a domain (zone) to 1cloud DNS hosting.
    fn create_domain(
        &self,
        name: &str,
        before: &[u64],
    ) -> impl Future<Output = Result<ObservedDomain, ProviderError>> + Send;

    /// Removes a domain and its records.
    fn delete_domain(&self, id: DomainId)
        -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Creates a DNS record.
    fn create_record(
        &self,
        spec: &RecordSpec,
        before: &[u64],
    ) -> impl Future<Output = Result<ObservedRecord, ProviderError>> + Send;

    /// Deletes a DNS record.
    fn delete_record(
        &self,
        domain: DomainId,
        record: RecordId,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Uploads the local disk image `file` as a volume named `name` of `pool` (libvirt), which
    /// then shows in [`Provider::images`]. Never twice (see [`Provider::create_pool`]).
    fn upload_image(
        &self,
        _name: &str,
        _pool: PoolId,
        _file: &std::path::Path,
        _before: &[u64],
    ) -> impl Future<Output = Result<Image, ProviderError>> + Send {
        async { Err(no_storage()) }
    }

    /// Creates and starts a storage pool (libvirt). Never twice: `before` holds the IDs of
    /// the pools of that name that existed before.
    fn create_pool(
        &self,
        _spec: &PoolSpec,
        _before: &[u64],
    ) -> impl Future<Output = Result<ObservedPool, ProviderError>> + Send {
        async { Err(no_storage()) }
    }

    /// Stops and removes a storage pool ict made (its folder too, when empty).
    fn delete_pool(&self, _id: PoolId) -> impl Future<Output = Result<(), ProviderError>> + Send {
        async { Err(no_storage()) }
    }

    /// Creates a volume (libvirt). Never twice (see [`Provider::create_pool`]).
    fn create_volume(
        &self,
        _spec: &VolumeSpec,
        _before: &[u64],
    ) -> impl Future<Output = Result<ObservedVolume, ProviderError>> + Send {
        async { Err(no_storage()) }
    }

    /// Grows a volume to `size` GB.
    fn resize_volume(
        &self,
        _id: VolumeId,
        _size: u32,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send {
        async { Err(no_storage()) }
    }

    /// Attaches a volume to a server as a further disk.
    fn attach_volume(
        &self,
        _id: VolumeId,
        _server: ServerId,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send {
        async { Err(no_storage()) }
    }

    /// Detaches a volume from the server it is a disk of.
    fn detach_volume(
        &self,
        _id: VolumeId,
        _server: ServerId,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send {
        async { Err(no_storage()) }
    }

    /// Deletes a volume.
    fn delete_volume(
        &self,
        _id: VolumeId,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send {
        async { Err(no_storage()) }
    }
}

/// 1cloud has no storage pools or volumes of its own (a server's disk is part of it).
pub(crate) fn no_storage() -> ProviderError {
    ProviderError::Unsupported {
        provider: "1cloud",
        what: "storage pools and volumes (declare them in an environment on libvirt)",
    }
}
