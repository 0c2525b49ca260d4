//! `provider(name)` / `provider(name, #{...})`: the cloud the environment lives on. Chosen per
//! environment with ordinary script logic; `--provider` and `ICT_LIBVIRT_URI` override it.
//!
//! ```rhai
//! if env == "lab" {
//!     provider("libvirt", #{ uri: "qemu:///system", pool: "default" });
//! }
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::{function, Shared};
use crate::model::{ModelError, Provider, ProviderKind};
use crate::script::error::HostError;

const DOC: &str = "The cloud this environment lives on: `\"1cloud\"` (the default; ict's emulator \
without ONECLOUD_TOKEN) or `\"libvirt\"` (`uri`, default `qemu:///system`; `pool`, the storage \
pool of the root volumes, default `default`; `network`, a libvirt network every server joins first \
(e.g. `\"default\"`, libvirt's NAT network), default none; `shutdown_timeout`, seconds a clean shutdown may take \
before the machine is powered off, default 60; `virt_type`, `\"kvm\"` or `\"qemu\"` (TCG, no \
hardware virtualisation), default KVM when the host offers it).";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("provider", &["name: string", "settings: map"], "", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext, name: &str, settings: Map| declare(&b, &ctx, name, settings),
    );
    let b = builder.clone();
    function("provider", &["name: string"], "", DOC)
        .register_into_engine(engine, move |ctx: NativeCallContext, name: &str| {
            declare(&b, &ctx, name, Map::new())
        });
}

fn declare(
    builder: &Shared,
    ctx: &NativeCallContext,
    name: &str,
    settings: Map,
) -> Result<(), Box<EvalAltResult>> {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    if let Some(first) = &b.desired.provider {
        let first = b.sources.location(first.span);
        return Err(HostError {
            code: "ict::script::provider_twice",
            message: "provider(...) is declared twice".into(),
            help: Some(format!(
                "first declared at {first}; an environment lives on one provider (choose it per \
                 environment with ordinary script logic)"
            )),
            span: Some(site.call),
        }
        .into_rhai(ctx.call_position()));
    }
    let Some(kind) = ProviderKind::parse(name) else {
        let at = site.string(name, site.call);
        b.error(ModelError::InvalidValue {
            field: "name".into(),
            message: format!("unknown provider `{name}`"),
            help: Some(format!("use one of: {}", ProviderKind::NAMES.join(", "))),
            at,
        });
        return Ok(());
    };
    let mut f = Fields::new("provider", kind.fields(), settings, &site, &mut b);
    let uri = f.string("uri");
    let pool = f.string("pool");
    let network = f.string("network");
    let shutdown_timeout = f
        .spans
        .contains_key("shutdown_timeout")
        .then(|| f.uint("shutdown_timeout", 60));
    let types = ["kvm", "qemu"];
    let virt_type = f
        .spans
        .contains_key("virt_type")
        .then(|| types[f.choice("virt_type", &types, 0)].to_owned());
    drop(f);
    b.desired.provider = Some(Provider {
        kind,
        uri,
        pool,
        network,
        shutdown_timeout,
        virt_type,
        span: site.call,
    });
    Ok(())
}
