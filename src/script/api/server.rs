//! `server(name, #{...})`: declares a 1cloud server.
//!
//! ```rhai
//! let web = server("web-1", #{ cpu: 2, ram: 2048, disk: 40, groups: ["web"] });
//! print(web.ip);   // ${server.web-1.ip}: known after apply
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::{self, GroupHandle, ImageHandle, NetworkHandle, ServerHandle, SshKeyHandle};
use super::{function, Shared};
use crate::model::{
    defaults, limits, Adopt, DiskType, ImageRef, MetricsSource, MetricsVia, Power, Server,
};

const FIELDS: &[&str] = &[
    "cpu",
    "ram",
    "disk",
    "disk_type",
    "image",
    "dc",
    "high_performance",
    "backup",
    "groups",
    "ssh_keys",
    "networks",
    "vars",
    "power",
    "protect",
    "adopt",
    "depends_on",
    "user",
    "metrics",
];

const DOC: &str = "Declares a 1cloud server: its size, image, data centre, power, private \
networks, SSH keys, Ansible groups and host variables. `ip`, `private_ip` and `id` are known \
after apply.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("server", &["name: string", "options: map"], "Server", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<ServerHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, name, options))
        },
    );
    let b = builder.clone();
    function("server", &["name: string"], "Server", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext, name: &str| -> Result<ServerHandle, Box<EvalAltResult>> {
            Ok(declare(&b, &ctx, name, Map::new()))
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) -> ServerHandle {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    super::check_name(&mut b, &site, "server", name);
    let mut f = Fields::new("server", FIELDS, options, &site, &mut b);

    let cpu = f.uint("cpu", defaults::CPU);
    let ram = f.uint("ram", defaults::RAM_MB);
    let disk = f.uint("disk", defaults::DISK_GB);
    let disk_type = if f.choice("disk_type", limits::DISK_TYPES, 0) == 0 {
        DiskType::Ssd
    } else {
        DiskType::Sas
    };
    let image = match f.raw("image") {
        None => ImageRef::Name(defaults::IMAGE.to_owned()),
        Some(v) if v.is_string() => ImageRef::Name(v.to_string()),
        Some(v) => {
            if let Some(name) = handles::name_of::<ImageHandle>(&v) {
                ImageRef::Name(name)
            } else if let Some(id) = v.as_int().ok().and_then(|i| u32::try_from(i).ok()) {
                ImageRef::Id(id)
            } else {
                f.wrong_type(
                    "image",
                    "an image (a name like \"Ubuntu20.04x64\", a catalogue ID or an `image(...)`)",
                    &v,
                );
                ImageRef::Name(defaults::IMAGE.to_owned())
            }
        }
    };
    let windows = matches!(&image, ImageRef::Name(n) if n.to_ascii_lowercase().starts_with("win"));
    for (field, message) in limits::check_server(cpu, ram, disk, windows) {
        if f.spans.contains_key(field) {
            f.limit(field, message);
        } else {
            // A default broke a limit (e.g. Windows minimums): point at the image.
            f.limit("image", message);
        }
    }
    let dc = f
        .string("dc")
        .unwrap_or_else(|| limits::DEFAULT_DC.to_owned());
    let high_performance = f.bool("high_performance", false);
    let backup = backup(&mut f);
    let groups = f.refs::<GroupHandle>("groups");
    let ssh_keys = f.refs::<SshKeyHandle>("ssh_keys");
    let networks = f.refs::<NetworkHandle>("networks");
    let depends_on = f.refs::<ServerHandle>("depends_on");
    let vars = f.vars("vars");
    let power = if f.choice("power", &["on", "off"], 0) == 0 {
        Power::On
    } else {
        Power::Off
    };
    let protect = f.bool("protect", false);
    let adopt = adopt(&mut f);
    let user = f
        .string("user")
        .unwrap_or_else(|| defaults::USER.to_owned());
    let metrics = metrics(&mut f);
    let fields = std::mem::take(&mut f.spans);
    drop(f);

    let handle = ServerHandle {
        name: name.to_owned(),
        cpu: cpu.into(),
        ram: ram.into(),
        disk: disk.into(),
        image: image.to_string(),
        dc: dc.clone(),
    };
    let server = Server {
        name: name.to_owned(),
        cpu,
        ram,
        disk,
        disk_type,
        image,
        dc,
        high_performance,
        backup,
        groups,
        ssh_keys,
        networks,
        depends_on,
        vars,
        power,
        protect,
        adopt,
        user,
        metrics,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_server(server) {
        b.error(e);
    }
    handle
}

/// `backup: false` (the default) or a period in days.
fn backup(f: &mut Fields<'_>) -> Option<u32> {
    let v = f.raw("backup")?;
    if let Ok(on) = v.as_bool() {
        if on {
            f.invalid(
                "backup",
                "`backup` takes a period in days, not `true`".into(),
                Some(format!(
                    "write e.g. `backup: 7`; periods: {:?}",
                    limits::BACKUP_PERIODS_DAYS
                )),
            );
        }
        return None;
    }
    match v.as_int() {
        Ok(days) if u32::try_from(days).is_ok_and(|d| limits::BACKUP_PERIODS_DAYS.contains(&d)) => {
            u32::try_from(days).ok()
        }
        Ok(days) => {
            f.limit(
                "backup",
                format!(
                    "backup period must be one of {:?} days, got {days}",
                    limits::BACKUP_PERIODS_DAYS
                ),
            );
            None
        }
        Err(_) => {
            f.wrong_type("backup", "a period in days or false", &v);
            None
        }
    }
}

/// `metrics: #{ via: "ssh" | "http", port: 9100 }`: how `ict metrics` reaches `node_exporter`.
fn metrics(f: &mut Fields<'_>) -> MetricsSource {
    let mut source = MetricsSource::default();
    let Some(v) = f.raw("metrics") else {
        return source;
    };
    let Some(map) = v.clone().try_cast::<Map>() else {
        f.wrong_type("metrics", "a map like #{ via: \"http\", port: 9100 }", &v);
        return source;
    };
    for (key, value) in map {
        match key.as_str() {
            "via" => match value.clone().into_string().as_deref() {
                Ok("ssh") => source.via = MetricsVia::Ssh,
                Ok("http") => source.via = MetricsVia::Http,
                _ => f.invalid(
                    "metrics",
                    format!("`metrics.via` must be \"ssh\" or \"http\", got {value}"),
                    Some("\"ssh\" tunnels to the exporter on the server's 127.0.0.1; \"http\" connects to its public IP".into()),
                ),
            },
            "port" => match value.as_int().ok().and_then(|p| u16::try_from(p).ok()) {
                Some(port) if port > 0 => source.port = port,
                _ => f.invalid(
                    "metrics",
                    format!("`metrics.port` must be a TCP port (1-65535), got {value}"),
                    None,
                ),
            },
            other => f.invalid(
                "metrics",
                format!("unknown field `{other}` in `metrics`"),
                Some("`metrics` takes `via` (\"ssh\" or \"http\") and `port`".into()),
            ),
        }
    }
    source
}

/// `adopt: true` (by name) or `adopt: 12345` (by cloud ID).
fn adopt(f: &mut Fields<'_>) -> Adopt {
    let Some(v) = f.raw("adopt") else {
        return Adopt::No;
    };
    if let Ok(flag) = v.as_bool() {
        return if flag { Adopt::ByName } else { Adopt::No };
    }
    match v.as_int() {
        Ok(id) if id > 0 => Adopt::ById(id.unsigned_abs()),
        Ok(id) => {
            f.invalid(
                "adopt",
                format!("`adopt` must be a server's cloud ID (a positive number), got {id}"),
                Some("`ict cloud servers` lists the IDs".into()),
            );
            Adopt::No
        }
        Err(_) => {
            f.wrong_type("adopt", "true, false or a server's cloud ID", &v);
            Adopt::No
        }
    }
}
