//! `group(name, #{ vars, children })`: declares an Ansible group. Servers join it with
//! `groups: [...]`; a group can contain other groups.
//!
//! ```rhai
//! let web = group("web", #{ vars: #{ http_port: 8080 } });
//! group("prod", #{ children: [web] });
//! server("web-1", #{ groups: [web] });
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::GroupHandle;
use super::{function, Shared};
use crate::model::Group;

const FIELDS: &[&str] = &["vars", "children"];

const DOC: &str = "Declares an Ansible group with group variables and child groups; servers join \
it with `groups`.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("group", &["name: string", "options: map"], "Group", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<GroupHandle, Box<EvalAltResult>> {
            declare(&b, &ctx, name, options);
            Ok(GroupHandle {
                name: name.to_owned(),
            })
        },
    );
    let b = builder.clone();
    function("group", &["name: string"], "Group", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext, name: &str| -> Result<GroupHandle, Box<EvalAltResult>> {
            declare(&b, &ctx, name, Map::new());
            Ok(GroupHandle {
                name: name.to_owned(),
            })
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    super::check_name(&mut b, &site, "group", name);
    let mut f = Fields::new("group", FIELDS, options, &site, &mut b);
    let vars = f.vars("vars");
    let children = f.refs::<GroupHandle>("children");
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let group = Group {
        name: name.to_owned(),
        vars,
        children,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_group(group) {
        b.error(e);
    }
}
