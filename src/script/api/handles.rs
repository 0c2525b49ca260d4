//! The handle types declarations return (`Server`, `SshKey`, `Network`, `Group`, `Playbook`,
//! `DnsRecord`). Their properties are read-only: they have getters and no setters, so a script
//! cannot pretend to change a declaration after the fact. Values that exist only after apply
//! (`ip`, `id`) are placeholders that print as `${server.web-1.ip}` and are resolved later.

use rhai::{Dynamic, Engine};

use crate::model::{Placeholder, Value};

/// A handle to a declared resource, usable wherever a reference by name is expected.
pub(crate) trait Handle: Clone + Send + Sync + 'static {
    /// The graph kind (`server`, `ssh_key`, ...).
    const KIND: &'static str;
    /// The declared name.
    fn name(&self) -> &str;
}

macro_rules! handle {
    ($ty:ident, $rhai:literal, $kind:literal) => {
        #[derive(Debug, Clone)]
        pub(crate) struct $ty {
            pub(crate) name: String,
        }
        impl Handle for $ty {
            const KIND: &'static str = $kind;
            fn name(&self) -> &str {
                &self.name
            }
        }
    };
}

/// `server(...)` returns this; it also carries the declared size for convenience.
#[derive(Debug, Clone)]
pub(crate) struct ServerHandle {
    pub(crate) name: String,
    pub(crate) cpu: i64,
    pub(crate) ram: i64,
    pub(crate) disk: i64,
    pub(crate) image: String,
    pub(crate) dc: String,
}

impl Handle for ServerHandle {
    const KIND: &'static str = "server";
    fn name(&self) -> &str {
        &self.name
    }
}

handle!(SshKeyHandle, "SshKey", "ssh_key");
handle!(ImageHandle, "Image", "image");
handle!(PoolHandle, "Pool", "pool");
handle!(VolumeHandle, "Volume", "volume");
handle!(NetworkHandle, "Network", "network");
handle!(GroupHandle, "Group", "group");
handle!(PlaybookHandle, "Playbook", "playbook");
handle!(DnsRecordHandle, "DnsRecord", "dns_record");

fn token<H: Handle>(h: &H, attr: &str) -> String {
    Placeholder::new(H::KIND, h.name(), attr).token()
}

fn register_common<H: Handle>(engine: &mut Engine, type_name: &str) {
    engine.register_type_with_name::<H>(type_name);
    engine.register_get("name", |h: &mut H| h.name().to_owned());
    engine.register_get("id", |h: &mut H| token(h, "id"));
    let tn = type_name.to_owned();
    engine.register_fn("to_string", move |h: &mut H| {
        format!("{tn}(\"{}\")", h.name())
    });
    let tn = type_name.to_owned();
    engine.register_fn("to_debug", move |h: &mut H| {
        format!("{tn}(\"{}\")", h.name())
    });
}

/// Registers the handle types and their read-only properties.
pub(crate) fn register(engine: &mut Engine) {
    register_common::<ServerHandle>(engine, "Server");
    engine
        .register_get("ip", |s: &mut ServerHandle| token(s, "ip"))
        .register_get("private_ip", |s: &mut ServerHandle| token(s, "private_ip"))
        .register_get("cpu", |s: &mut ServerHandle| s.cpu)
        .register_get("ram", |s: &mut ServerHandle| s.ram)
        .register_get("disk", |s: &mut ServerHandle| s.disk)
        .register_get("image", |s: &mut ServerHandle| s.image.clone())
        .register_get("dc", |s: &mut ServerHandle| s.dc.clone());
    register_common::<SshKeyHandle>(engine, "SshKey");
    register_common::<ImageHandle>(engine, "Image");
    register_common::<PoolHandle>(engine, "Pool");
    register_common::<VolumeHandle>(engine, "Volume");
    register_common::<NetworkHandle>(engine, "Network");
    register_common::<GroupHandle>(engine, "Group");
    register_common::<PlaybookHandle>(engine, "Playbook");
    register_common::<DnsRecordHandle>(engine, "DnsRecord");
    engine.register_get("fqdn", |r: &mut DnsRecordHandle| r.name.clone());
}

/// If `value` is a handle of kind `H`, its name.
pub(crate) fn name_of<H: Handle>(value: &Dynamic) -> Option<String> {
    value.read_lock::<H>().map(|h| h.name().to_owned())
}

/// If `value` is any handle, its kind and name (used to turn handles in `vars` into names).
pub(crate) fn any_handle(value: &Dynamic) -> Option<Value> {
    name_of::<ServerHandle>(value)
        .or_else(|| name_of::<SshKeyHandle>(value))
        .or_else(|| name_of::<ImageHandle>(value))
        .or_else(|| name_of::<PoolHandle>(value))
        .or_else(|| name_of::<VolumeHandle>(value))
        .or_else(|| name_of::<NetworkHandle>(value))
        .or_else(|| name_of::<GroupHandle>(value))
        .or_else(|| name_of::<PlaybookHandle>(value))
        .or_else(|| name_of::<DnsRecordHandle>(value))
        .map(Value::Str)
}
