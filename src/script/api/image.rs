//! `image(name, #{ from })`: declares an image made from one of the script's servers (on
//! 1cloud, a template, `POST /image`); `image(name, #{ pool, file })`: one uploaded from a local
//! file as a base volume of a libvirt pool. Servers are created from it with `image: ...`.
//!
//! ```rhai
//! let db = server("db-1", #{});
//! let golden = image("db-golden", #{ from: db });
//! server("db-2", #{ image: golden, disk: 20 });
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::{ImageHandle, PoolHandle, ServerHandle};
use super::{function, Shared};
use crate::model::{Image, ImageSource, ModelError};

const FIELDS: &[&str] = &["from", "pool", "file"];

const DOC: &str = "Declares an image made from a declared server (`from`, a server or its name): \
on 1cloud a template of that server's disk, made once after the server exists and deleted when \
no longer declared; or, on libvirt, a base volume of a declared `pool` uploaded from a local \
qcow2 or raw `file` (relative to the script). Servers are created from it with `image: ...` (the \
image or its name).";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("image", &["name: string", "options: map"], "Image", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<ImageHandle, Box<EvalAltResult>> {
            declare(&b, &ctx, name, options);
            Ok(ImageHandle {
                name: name.to_owned(),
            })
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    super::check_name(&mut b, &site, "image", name);
    let mut f = Fields::new("image", FIELDS, options, &site, &mut b);
    if f.has("file") || f.has("pool") {
        let pool = f.refs::<PoolHandle>("pool");
        let file = f.string("file");
        let fields = std::mem::take(&mut f.spans);
        drop(f);
        let (Ok([pool]), Some(file)) = (<[_; 1]>::try_from(pool), file) else {
            b.error(ModelError::MissingField {
                decl: "image",
                field: "file",
                at: site.call,
                help: "an uploaded image needs `pool: a_pool` and `file: \"path/to/image.qcow2\"`",
            });
            return;
        };
        let path = site.dir.join(&file);
        if !path.is_file() {
            let at = fields.get("file").copied().unwrap_or(site.call);
            b.error(ModelError::InvalidValue {
                field: "file".into(),
                message: format!("no file {} to upload", path.display()),
                help: Some("give a qcow2 or raw disk image, relative to the script".into()),
                at,
            });
            return;
        }
        let image = Image {
            name: name.to_owned(),
            source: ImageSource::File { pool, file, path },
            span: site.call,
            fields,
        };
        if let Err(e) = b.desired.add_image(image) {
            b.error(e);
        }
        return;
    }
    let from = f.refs::<ServerHandle>("from");
    let at = site.call;
    let from = match <[_; 1]>::try_from(from) {
        Ok([from]) => Some(from),
        Err(many) if many.is_empty() => {
            if !f.has("from") {
                f.builder().error(ModelError::MissingField {
                    decl: "image",
                    field: "from",
                    at,
                    help: "add `from: a_server` (the server the image is made of), or `pool` and `file` (a file uploaded to a libvirt pool)",
                });
            }
            None
        }
        Err(_) => {
            f.invalid("from", "an image is made of one server".into(), None);
            None
        }
    };
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let Some(from) = from else {
        return;
    };
    let image = Image {
        name: name.to_owned(),
        source: ImageSource::Server(from),
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_image(image) {
        b.error(e);
    }
}

#[cfg(test)]
mod tests {
    use crate::script::evaluate_text;

    #[test]
    fn an_image_is_made_of_one_declared_server() {
        let script = r#"
            let db = server("db-1", #{});
            let golden = image("db-golden", #{ from: db });
            server("db-2", #{ image: golden, disk: 20 });
            image("by-name", #{ from: "db-1" });
        "#;
        let desired = evaluate_text(script).expect("evaluates");
        let images = &desired.images;
        assert_eq!(images["db-golden"].from_server().unwrap().name, "db-1");
        assert_eq!(images["by-name"].from_server().unwrap().name, "db-1");
        assert_eq!(desired.servers["db-2"].image.to_string(), "db-golden");
    }

    #[test]
    fn an_image_needs_a_declared_server() {
        let problems = evaluate_text(r#"image("x", #{ from: "db-9" });"#).expect_err("invalid");
        assert!(problems.iter().any(|p| p.contains("db-9")), "{problems:?}");
        let problems = evaluate_text(r#"image("x", #{});"#).expect_err("invalid");
        assert!(problems.iter().any(|p| p.contains("from")), "{problems:?}");
    }
}
