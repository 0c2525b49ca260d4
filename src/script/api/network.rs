//! `network(name, #{ dc, dhcp })`: declares a private network; servers join it with
//! `networks: [...]`.
//!
//! ```rhai
//! let backend = network("backend", #{ dc: "SdnSpb" });
//! server("db-1", #{ networks: [backend] });
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::NetworkHandle;
use super::{function, Shared};
use crate::model::{limits, Network};

const FIELDS: &[&str] = &["dc", "dhcp"];

const DOC: &str = "Declares a private network in one data centre; servers attach to it with \
`networks`.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("network", &["name: string", "options: map"], "Network", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<NetworkHandle, Box<EvalAltResult>> {
            declare(&b, &ctx, name, options);
            Ok(NetworkHandle {
                name: name.to_owned(),
            })
        },
    );
    let b = builder.clone();
    function("network", &["name: string"], "Network", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext, name: &str| -> Result<NetworkHandle, Box<EvalAltResult>> {
            declare(&b, &ctx, name, Map::new());
            Ok(NetworkHandle {
                name: name.to_owned(),
            })
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    super::check_name(&mut b, &site, "network", name);
    let mut f = Fields::new("network", FIELDS, options, &site, &mut b);
    let dc = f
        .string("dc")
        .unwrap_or_else(|| limits::DEFAULT_DC.to_owned());
    let dhcp = f.bool("dhcp", true);
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let network = Network {
        name: name.to_owned(),
        dc,
        dhcp,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_network(network) {
        b.error(e);
    }
}
