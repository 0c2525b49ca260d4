//! `pool(name, #{...})` and `volume(name, #{...})`: storage on libvirt — a pool (a directory, or
//! an NFS export libvirt mounts) and volumes in it, attached to servers or not.
//!
//! ```rhai
//! let data = pool("data", #{ type: "dir", path: "/var/lib/ict/data" });
//! let web = server("web-1", #{ image: "blank" });
//! volume("web-1-data", #{ pool: data, size: 20, attach_to: web });
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::{PoolHandle, ServerHandle, VolumeHandle};
use super::{function, Shared};
use crate::model::{ModelError, NameRef, Pool, Volume};

const POOL_FIELDS: &[&str] = &["type", "path", "source_host", "source_path"];
const VOLUME_FIELDS: &[&str] = &["pool", "size", "format", "attach_to"];

const POOL_DOC: &str = "Declares a libvirt storage pool: `type` `\"dir\"` (a folder, `path`) or \
`\"netfs\"` (an NFS export `source_host`:`source_path`, mounted at `path`). Made, started and \
kept by ict; deleted when no longer declared (its volumes first).";
const VOLUME_DOC: &str = "Declares a libvirt volume in a declared `pool`: `size` in GB (it only \
grows), `format` `\"qcow2\"` (default) or `\"raw\"`, and `attach_to` a declared server (a second \
disk, `vdb`...). Detached when `attach_to` goes, deleted when no longer declared.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("pool", &["name: string", "options: map"], "Pool", POOL_DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<PoolHandle, Box<EvalAltResult>> {
            declare_pool(&b, &ctx, name, options);
            Ok(PoolHandle {
                name: name.to_owned(),
            })
        },
    );
    let b = builder.clone();
    function(
        "volume",
        &["name: string", "options: map"],
        "Volume",
        VOLUME_DOC,
    )
    .register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<VolumeHandle, Box<EvalAltResult>> {
            declare_volume(&b, &ctx, name, options);
            Ok(VolumeHandle {
                name: name.to_owned(),
            })
        },
    );
}

fn declare_pool(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    super::check_name(&mut b, &site, "pool", name);
    let mut f = Fields::new("pool", POOL_FIELDS, options, &site, &mut b);
    let kind = ["dir", "netfs"][f.choice("type", &["dir", "netfs"], 0)].to_owned();
    let path = f.string("path");
    let source_host = f.string("source_host");
    let source_path = f.string("source_path");
    if kind == "netfs" && (source_host.is_none() || source_path.is_none()) {
        f.invalid(
            "type",
            "a `netfs` pool needs `source_host` and `source_path`".into(),
            Some("the NFS server and the folder it exports, e.g. source_host: \"nas\", source_path: \"/export/vms\"".into()),
        );
    }
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let Some(path) = path else {
        b.error(ModelError::MissingField {
            decl: "pool",
            field: "path",
            at: site.call,
            help: "add `path: \"/var/lib/ict/pool\"` (the folder of the pool's volumes)",
        });
        return;
    };
    let pool = Pool {
        name: name.to_owned(),
        kind,
        path,
        source_host,
        source_path,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_pool(pool) {
        b.error(e);
    }
}

fn declare_volume(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    super::check_name(&mut b, &site, "volume", name);
    let mut f = Fields::new("volume", VOLUME_FIELDS, options, &site, &mut b);
    let pool = f.refs::<PoolHandle>("pool");
    let pool = one(&mut f, "pool", pool);
    let attach_to = f.refs::<ServerHandle>("attach_to");
    let attach_to = one(&mut f, "attach_to", attach_to);
    let size = f.uint("size", 10);
    if size == 0 {
        f.invalid("size", "`size` must be at least 1 GB".into(), None);
    }
    let format = ["qcow2", "raw"][f.choice("format", &["qcow2", "raw"], 0)].to_owned();
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let Some(pool) = pool else {
        b.error(ModelError::MissingField {
            decl: "volume",
            field: "pool",
            at: site.call,
            help: "add `pool: a_pool` (a declared pool or its name)",
        });
        return;
    };
    let volume = Volume {
        name: name.to_owned(),
        pool,
        size,
        format,
        attach_to,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_volume(volume) {
        b.error(e);
    }
}

/// The one reference a field may hold.
fn one(f: &mut Fields<'_>, key: &str, refs: Vec<NameRef>) -> Option<NameRef> {
    let mut refs = refs.into_iter();
    let first = refs.next();
    if refs.next().is_some() {
        f.invalid(key, format!("`{key}` names one declaration"), None);
    }
    first
}

#[cfg(test)]
mod tests {
    use crate::script::evaluate_text;

    #[test]
    fn a_volume_is_in_a_declared_pool_and_attached_to_a_declared_server() {
        let script = r#"
            let data = pool("data", #{ path: "/srv/pool" });
            let web = server("web-1", #{});
            volume("web-data", #{ pool: data, size: 20, attach_to: web });
            volume("spare", #{ pool: "data", format: "raw" });
        "#;
        let desired = evaluate_text(script).expect("evaluates");
        assert_eq!(desired.pools["data"].kind, "dir");
        let volume = &desired.volumes["web-data"];
        assert_eq!((volume.pool.name.as_str(), volume.size), ("data", 20));
        assert_eq!(
            volume.attach_to.as_ref().map(|s| s.name.as_str()),
            Some("web-1")
        );
        assert_eq!(desired.volumes["spare"].format, "raw");
    }

    #[test]
    fn storage_needs_its_pool_its_path_and_nfs_its_source() {
        let problems =
            evaluate_text(r#"volume("v", #{ pool: "nope", size: 1 });"#).expect_err("invalid");
        assert!(problems.iter().any(|p| p.contains("nope")), "{problems:?}");
        let problems = evaluate_text(r#"pool("p", #{});"#).expect_err("invalid");
        assert!(problems.iter().any(|p| p.contains("path")), "{problems:?}");
        let problems =
            evaluate_text(r#"pool("p", #{ type: "netfs", path: "/mnt" });"#).expect_err("invalid");
        assert!(
            problems.iter().any(|p| p.contains("source_host")),
            "{problems:?}"
        );
    }
}
