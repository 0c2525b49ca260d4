//! The API work of each kind of step, every mutating call journaled (intent, call, result).
//!
//! A create first lists the objects of its kind and name, and the journal records their IDs
//! before the request is sent: after a crash, only an object not among them can be the one
//! this create made. A replacement creates the new object before it deletes the old one.

use crate::provider::{
    Action, ImageId, Kinds, NetworkId, NetworkSpec, Observed, ObservedServer, PoolId, PowerOp,
    Provider, ProviderError, RecordSpec, ServerId, ServerSpec, SshKeyId, SshKeySpec, VolumeId,
    VolumeSpec,
};
use crate::state::{Action as JournalAction, Address, JournalOp};

use super::super::step::{NewServer, RecordValue, Step, Work};
use super::{Shared, StepError};
use crate::state::Kind;

pub(super) async fn run_step<P: Provider>(
    shared: &Shared<P>,
    step: &Step,
) -> Result<String, StepError> {
    let address = &step.address;
    match &step.work {
        Work::Server { .. } => server(shared, address, &step.work).await,
        Work::CreateSshKey {
            title,
            public_key,
            replaces,
        } => {
            let spec = SshKeySpec {
                title: title.clone(),
                public_key: public_key.clone(),
            };
            let before = shared
                .same_name(Kinds::SSH_KEYS, |o| o.ssh_keys_titled(title))
                .await?;
            let op = JournalOp::new(address.clone(), JournalAction::Create)
                .with("name", title)
                .with_existing(before.iter().copied())
                .replacing(replaces.map(|k| k.0));
            let key = shared
                .journaled(op, shared.provider.create_ssh_key(&spec, &before), |k| {
                    k.id.0
                })
                .await?;
            shared.set_id(address, key.id.0);
            if let Some(old) = replaces {
                retire(shared, address, old.0).await?;
            }
            Ok(format!("id {}", key.id))
        }
        Work::CreateImage { name, server } => {
            let server = shared.resolve::<ServerId>(server)?;
            let before: Vec<u64> = shared
                .provider
                .images()
                .await?
                .into_iter()
                .filter(|i| i.name == *name)
                .map(|i| i.id.0)
                .collect();
            let op = JournalOp::new(address.clone(), JournalAction::Create)
                .with("name", name)
                .with_existing(before.iter().copied());
            let image = shared
                .journaled(
                    op,
                    shared.provider.create_image(server, name, &before),
                    |i| i.id.0,
                )
                .await?;
            shared.set_id(address, image.id.0);
            Ok(format!("id {}", image.id))
        }
        Work::UploadImage {
            name,
            pool,
            pool_name,
            file,
        } => {
            let pool = shared.resolve::<PoolId>(pool)?;
            let before = shared
                .same_name(Kinds::STORAGE, |o| o.volumes_named(name, pool))
                .await?;
            let op = JournalOp::new(address.clone(), JournalAction::Create)
                .with("name", name)
                .with("pool", pool_name)
                .with_existing(before.iter().copied());
            let image = shared
                .journaled(
                    op,
                    shared.provider.upload_image(name, pool, file, &before),
                    |i| i.id.0,
                )
                .await?;
            shared.set_id(address, image.id.0);
            Ok(format!("id {}", image.id))
        }
        Work::CreatePool { spec } => {
            let before = shared
                .same_name(Kinds::STORAGE, |o| {
                    o.pools
                        .iter()
                        .filter(|p| p.name == spec.name)
                        .map(|p| p.id.0)
                        .collect()
                })
                .await?;
            let op = JournalOp::new(address.clone(), JournalAction::Create)
                .with("name", &spec.name)
                .with("path", &spec.path)
                .with_existing(before.iter().copied());
            let pool = shared
                .journaled(op, shared.provider.create_pool(spec, &before), |p| p.id.0)
                .await?;
            shared.set_id(address, pool.id.0);
            Ok(format!("id {}", pool.id))
        }
        Work::CreateVolume {
            name,
            pool,
            pool_name,
            size,
            format,
            attach,
        } => {
            let spec = VolumeSpec {
                name: name.clone(),
                pool: shared.resolve::<PoolId>(pool)?,
                size: *size,
                format: format.clone(),
            };
            let before = shared
                .same_name(Kinds::STORAGE, |o| o.volumes_named(name, spec.pool))
                .await?;
            let op = JournalOp::new(address.clone(), JournalAction::Create)
                .with("name", name)
                .with("pool", pool_name)
                .with("size", size)
                .with_existing(before.iter().copied());
            let volume = shared
                .journaled(op, shared.provider.create_volume(&spec, &before), |v| {
                    v.id.0
                })
                .await?;
            shared.set_id(address, volume.id.0);
            if let Some(server) = attach {
                attach_volume(shared, address, volume.id, shared.resolve(server)?).await?;
            }
            Ok(format!("id {}", volume.id))
        }
        Work::ChangeVolume {
            id,
            grow,
            detach,
            attach,
        } => {
            if let Some(size) = grow {
                let op = JournalOp::new(address.clone(), JournalAction::Update)
                    .on_id(id.0)
                    .with("size", size);
                shared
                    .journaled(op, shared.provider.resize_volume(*id, *size), |()| id.0)
                    .await?;
            }
            if let Some(server) = detach {
                let op = JournalOp::new(address.clone(), JournalAction::Detach)
                    .on_id(id.0)
                    .with("server", server);
                shared
                    .journaled(
                        op,
                        gone_is_done(shared.provider.detach_volume(*id, *server)),
                        |()| id.0,
                    )
                    .await?;
            }
            if let Some(server) = attach {
                attach_volume(shared, address, *id, shared.resolve(server)?).await?;
            }
            Ok(format!("id {id}"))
        }
        Work::CreateNetwork { name, dc, dhcp } => {
            let spec = NetworkSpec {
                name: name.clone(),
                dc: Some(dc.clone()),
                dhcp: *dhcp,
            };
            let before = shared
                .same_name(Kinds::NETWORKS, |o| o.networks_named(name))
                .await?;
            let op = JournalOp::new(address.clone(), JournalAction::Create)
                .with("name", name)
                .with("dc", dc)
                .with_existing(before.iter().copied());
            let net = shared
                .journaled(op, shared.provider.create_network(&spec, &before), |n| {
                    n.id.0
                })
                .await?;
            shared.set_id(address, net.id.0);
            shared
                .provider
                .wait_network_active(net.id, shared.deadline())
                .await?;
            Ok(format!("id {}", net.id))
        }
        Work::WaitNetwork { id } => {
            shared
                .provider
                .wait_network_active(*id, shared.deadline())
                .await?;
            Ok(format!("id {id}, active"))
        }
        Work::RenameNetwork { id, name } => {
            let op = JournalOp::new(address.clone(), JournalAction::Update)
                .on_id(id.0)
                .with("name", name);
            shared
                .journaled(op, shared.provider.rename_network(*id, name), |n| n.id.0)
                .await?;
            Ok(format!("id {id}, named {name}"))
        }
        Work::CreateDomain { name } => {
            let before = shared
                .same_name(Kinds::DNS, |o| o.domains_named(name))
                .await?;
            let op = JournalOp::new(address.clone(), JournalAction::Create)
                .with("name", name)
                .with_existing(before.iter().copied());
            let domain = shared
                .journaled(op, shared.provider.create_domain(name, &before), |d| d.id.0)
                .await?;
            shared.set_id(address, domain.id.0);
            Ok(format!("id {}", domain.id))
        }
        Work::CreateRecord {
            domain,
            record_kind,
            name,
            value,
            ttl,
            priority,
            replaces,
        } => {
            let domain = shared.resolve(domain)?;
            let value = match value {
                RecordValue::Literal(v) => v.clone(),
                RecordValue::ServerIp(server) => shared
                    .ips
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(server)
                    .cloned()
                    .ok_or_else(|| StepError::Missing(server.clone()))?,
            };
            // A record is replaced delete-first: the same name and type may not be allowed
            // twice in a zone.
            if let Some((d, r)) = replaces {
                let op = JournalOp::new(address.clone(), JournalAction::Delete).on_id(r.0);
                let call = gone_is_done(shared.provider.delete_record(*d, *r));
                shared.journaled(op, call, |()| r.0).await?;
            }
            let spec = RecordSpec {
                domain,
                kind: record_kind.kind(),
                name: name.clone(),
                value: value.clone(),
                ttl: *ttl,
                priority: *priority,
            };
            let observed = shared.provider.observe(Kinds::DNS).await?;
            let (zone, before) = observed
                .domains
                .iter()
                .find(|d| d.id == domain)
                .map(|d| (d.name.clone(), d.records_named(record_kind.0, name)))
                .unwrap_or_default();
            let op = JournalOp::new(address.clone(), JournalAction::Create)
                .with("zone", zone)
                .with("type", record_kind.0)
                .with("host", name)
                .with("value", &value)
                .with_existing(before.iter().copied());
            let record = shared
                .journaled(op, shared.provider.create_record(&spec, &before), |r| {
                    r.id.0
                })
                .await?;
            Ok(format!("id {}, {value}", record.id))
        }
        Work::Delete {
            object,
            ids,
            gone,
            domain,
        } => {
            for &id in ids {
                let op = JournalOp::new(object.clone(), JournalAction::Delete).on_id(id);
                let call = async {
                    match (object.kind(), domain) {
                        (Kind::Server, _) => shared.provider.delete_server(ServerId(id)).await,
                        (Kind::Network, _) => shared.provider.delete_network(NetworkId(id)).await,
                        (Kind::SshKey, _) => shared.provider.delete_ssh_key(SshKeyId(id)).await,
                        (Kind::Image, _) => shared.provider.delete_image(ImageId(id)).await,
                        (Kind::Pool, _) => shared.provider.delete_pool(PoolId(id)).await,
                        (Kind::Volume, _) => shared.provider.delete_volume(VolumeId(id)).await,
                        (Kind::DnsRecord, Some(d)) => {
                            shared
                                .provider
                                .delete_record(*d, crate::provider::RecordId(id))
                                .await
                        }
                        _ => Ok(()),
                    }
                };
                shared.journaled(op, gone_is_done(call), |()| id).await?;
            }
            if !gone.is_empty() {
                shared.with_store(|store| {
                    store.commit(|s| {
                        for &id in gone {
                            s.forget_object(object, id);
                        }
                        Ok(())
                    })
                })?;
            }
            Ok(String::new())
        }
    }
}

/// One server: adopt, wait, create (a replacement first), resize, networks, power, then
/// delete what it replaces.
async fn server<P: Provider>(
    shared: &Shared<P>,
    address: &Address,
    work: &Work,
) -> Result<String, StepError> {
    let Work::Server {
        existing,
        adopt,
        wait,
        create,
        resize,
        attach,
        detach,
        power,
        retire: old,
    } = work
    else {
        unreachable!("called for server steps only");
    };
    let mut id = *existing;
    let mut detail = String::new();
    if let (Some(existing), true) = (existing, adopt) {
        let attrs = serde_json::json!({ "adopted": true });
        shared.with_store(|store| {
            store.commit(|s| {
                s.record_adopted(address, existing.0, attrs);
                Ok(())
            })
        })?;
        shared.set_id(address, existing.0);
    }
    if let (Some(existing), true) = (existing, *wait || (*adopt && create.is_none())) {
        // Being created (or found after an interrupted run): wait for it and record its
        // address, as a create would have.
        let ready = shared
            .provider
            .wait_server_active(*existing, shared.deadline())
            .await?;
        if let Some(ip) = &ready.ip {
            remember_ip(shared, address, ip, ready.admin_user.as_deref())?;
            detail = format!("id {existing}, ip {ip}");
        }
    }
    if let Some(new) = create {
        let server = create_server(shared, address, new, *existing).await?;
        let ready = shared
            .provider
            .wait_server_active(server, shared.deadline())
            .await?;
        if let Some(ip) = &ready.ip {
            remember_ip(shared, address, ip, ready.admin_user.as_deref())?;
            detail = format!("id {}, ip {ip}", server.0);
        }
        id = Some(server);
    }
    let id = id.ok_or_else(|| StepError::Missing(address.clone()))?;
    if let Some(size) = resize {
        let op = JournalOp::new(address.clone(), JournalAction::Update)
            .on_id(id.0)
            .with("cpu", size.cpu)
            .with("ram", size.ram)
            .with("disk", size.disk);
        let done =
            |s: &ObservedServer| s.cpu == size.cpu && s.ram == size.ram && s.disk == size.disk;
        act(
            shared,
            op,
            id,
            || shared.provider.update_server(id, size),
            done,
        )
        .await?;
    }
    for net in attach {
        let net: NetworkId = shared.resolve(net)?;
        let op = JournalOp::new(address.clone(), JournalAction::Attach)
            .on_id(id.0)
            .with("network", net);
        let done = |s: &ObservedServer| s.link_to(net).is_some();
        act(
            shared,
            op,
            id,
            || shared.provider.attach_network(id, net),
            done,
        )
        .await?;
    }
    for net in detach {
        let op = JournalOp::new(address.clone(), JournalAction::Detach)
            .on_id(id.0)
            .with("network", net);
        let done = |s: &ObservedServer| s.link_to(*net).is_none();
        act(
            shared,
            op,
            id,
            || shared.provider.detach_network(id, *net),
            done,
        )
        .await?;
    }
    if let Some(on) = power {
        let op_kind = if *on { PowerOp::On } else { PowerOp::Off };
        let op = JournalOp::new(address.clone(), JournalAction::Power)
            .on_id(id.0)
            .with("power", op_kind.api_name());
        let done = |s: &ObservedServer| s.power_on == *on;
        act(shared, op, id, || shared.provider.power(id, op_kind), done).await?;
    }
    for old in old {
        retire(shared, address, old.0).await?;
    }
    Ok(detail)
}

/// Deletes an old object a replacement deposed (journaled; one already gone counts).
async fn retire<P: Provider>(
    shared: &Shared<P>,
    address: &Address,
    id: u64,
) -> Result<(), StepError> {
    let op = JournalOp::new(address.clone(), JournalAction::Delete).on_id(id);
    let call = async {
        match address.kind() {
            Kind::Server => shared.provider.delete_server(ServerId(id)).await,
            Kind::SshKey => shared.provider.delete_ssh_key(SshKeyId(id)).await,
            Kind::Network => shared.provider.delete_network(NetworkId(id)).await,
            _ => Ok(()),
        }
    };
    shared.journaled(op, gone_is_done(call), |()| id).await?;
    Ok(())
}

/// Attaches volume `id` to `server`, journaled.
async fn attach_volume<P: Provider>(
    shared: &Shared<P>,
    address: &Address,
    id: VolumeId,
    server: ServerId,
) -> Result<(), StepError> {
    let op = JournalOp::new(address.clone(), JournalAction::Attach)
        .on_id(id.0)
        .with("server", server);
    shared
        .journaled(op, shared.provider.attach_volume(id, server), |()| id.0)
        .await?;
    Ok(())
}

/// A delete that finds the object gone has done its job.
async fn gone_is_done(
    call: impl std::future::Future<Output = Result<(), ProviderError>>,
) -> Result<(), ProviderError> {
    match call.await {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// One journaled server action, waited for until it completes. If the API refuses it (a task
/// another run or the panel started is still running on the server), waits until the server
/// is idle: when that task already did what was asked (`done`), nothing more is sent;
/// otherwise the action is asked once more.
async fn act<P, F, C>(
    shared: &Shared<P>,
    op: JournalOp,
    id: ServerId,
    call: C,
    done: impl Fn(&ObservedServer) -> bool,
) -> Result<(), StepError>
where
    P: Provider,
    C: Fn() -> F,
    F: std::future::Future<Output = Result<Action, ProviderError>>,
{
    let attempt = async {
        match call().await {
            Err(ProviderError::Http { status: 400, .. }) => {
                shared.provider.wait_idle(id, shared.deadline()).await?;
                if done(&shared.provider.server(id).await?) {
                    return Ok(None);
                }
                call().await.map(Some)
            }
            other => other.map(Some),
        }
    };
    let action = shared.journaled(op, attempt, |_| id.0).await?;
    if let Some(action) = action {
        shared
            .provider
            .wait_action(id, action.id, shared.deadline())
            .await?;
    }
    Ok(())
}

/// Records a server's public IP and admin user: in the state, and for DNS records later in
/// this apply.
fn remember_ip<P: Provider>(
    shared: &Shared<P>,
    address: &Address,
    ip: &str,
    user: Option<&str>,
) -> Result<(), StepError> {
    shared
        .ips
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(address.clone(), ip.to_owned());
    let attrs = serde_json::json!({ "ip": ip, "user": user });
    shared.with_store(|store| {
        store.commit(|s| {
            s.set_attributes(address, attrs);
            Ok(())
        })
    })?;
    Ok(())
}

async fn create_server<P: Provider>(
    shared: &Shared<P>,
    address: &Address,
    new: &NewServer,
    replaces: Option<ServerId>,
) -> Result<ServerId, StepError> {
    let ssh_keys = new
        .ssh_keys
        .iter()
        .map(|k| shared.resolve::<SshKeyId>(k))
        .collect::<Result<Vec<_>, _>>()?;
    let spec = ServerSpec {
        name: new.name.clone(),
        size: new.size.clone(),
        image: shared.resolve::<ImageId>(&new.image)?,
        dc: Some(new.dc.clone()),
        backup_days: new.backup_days,
        ssh_keys,
        authorized_keys: new.authorized_keys.clone(),
    };
    let before = shared
        .same_name(Kinds::SERVERS, |o| o.servers_named(&new.name))
        .await?;
    let op = JournalOp::new(address.clone(), JournalAction::Create)
        .with("name", &new.name)
        .with("image", &new.image_name)
        .with("cpu", new.size.cpu)
        .with("ram", new.size.ram)
        .with("disk", new.size.disk)
        .with_existing(before.iter().copied())
        .replacing(replaces.map(|s| s.0));
    let server = shared
        .journaled(op, shared.provider.create_server(&spec, &before), |s| {
            s.id.0
        })
        .await?;
    shared.set_id(address, server.id.0);
    Ok(server.id)
}

impl<P: Provider> Shared<P> {
    /// The IDs of the objects of one kind and name that exist now (read just before a create
    /// is journaled and sent).
    async fn same_name(
        &self,
        kind: Kinds,
        pick: impl FnOnce(&Observed) -> Vec<u64>,
    ) -> Result<Vec<u64>, StepError> {
        let observed = self.provider.observe(kind).await?;
        Ok(pick(&observed))
    }
}
