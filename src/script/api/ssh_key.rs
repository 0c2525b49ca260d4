//! `ssh_key(name, #{ public_key | public_key_file })`: declares an SSH public key, uploaded to
//! 1cloud and authorised on the servers that list it in `ssh_keys`.
//!
//! ```rhai
//! let deploy = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
//! server("web-1", #{ ssh_keys: [deploy] });
//! ```

use rhai::{Engine, EvalAltResult, Map, NativeCallContext};

use super::fields::Fields;
use super::handles::SshKeyHandle;
use super::{function, Shared};
use crate::model::{ModelError, SshKey};

const FIELDS: &[&str] = &["public_key", "public_key_file"];

const DOC: &str = "Declares an SSH public key, given inline (`public_key`) or as a `.pub` file \
relative to the script (`public_key_file`); it is uploaded to 1cloud and authorised on the servers \
that list it in `ssh_keys`.";

pub(super) fn register(engine: &mut Engine, builder: &Shared) {
    let b = builder.clone();
    function("ssh_key", &["name: string", "options: map"], "SshKey", DOC).register_into_engine(
        engine,
        move |ctx: NativeCallContext,
              name: &str,
              options: Map|
              -> Result<SshKeyHandle, Box<EvalAltResult>> {
            declare(&b, &ctx, name, options);
            Ok(SshKeyHandle {
                name: name.to_owned(),
            })
        },
    );
}

fn declare(builder: &Shared, ctx: &NativeCallContext, name: &str, options: Map) {
    let mut b = builder.borrow_mut();
    let site = b.site(ctx);
    super::check_name(&mut b, &site, "ssh key", name);
    let mut f = Fields::new("ssh_key", FIELDS, options, &site, &mut b);
    let inline = f.string("public_key");
    let file = f.string("public_key_file");
    let public_key = match (&inline, &file) {
        (Some(key), None) => Some(key.trim().to_owned()),
        (None, Some(path)) => {
            let full = site.dir.join(path);
            match std::fs::read_to_string(&full) {
                Ok(text) => Some(text.trim().to_owned()),
                Err(e) => {
                    let at = f.span("public_key_file");
                    f.builder().error(ModelError::File {
                        path: path.clone(),
                        reason: e.to_string(),
                        at,
                    });
                    None
                }
            }
        }
        (Some(_), Some(_)) => {
            f.invalid(
                "public_key_file",
                "give either `public_key` or `public_key_file`, not both".into(),
                None,
            );
            None
        }
        (None, None) => {
            let at = site.call;
            f.builder().error(ModelError::MissingField {
                decl: "ssh_key",
                field: "public_key",
                at,
                help: "add `public_key: \"ssh-ed25519 AAAA...\"` or `public_key_file: \"path/to/key.pub\"`",
            });
            None
        }
    };
    if let Some(key) = &public_key {
        if !looks_like_public_key(key) {
            let field = if inline.is_some() {
                "public_key"
            } else {
                "public_key_file"
            };
            f.invalid(
                field,
                "this is not an OpenSSH public key".into(),
                Some("expected one line like `ssh-ed25519 AAAAC3Nza... user@host` (the .pub file, never the private key)".into()),
            );
        }
    }
    let fields = std::mem::take(&mut f.spans);
    drop(f);
    let key = SshKey {
        name: name.to_owned(),
        public_key: public_key.unwrap_or_default(),
        public_key_file: file,
        span: site.call,
        fields,
    };
    if let Err(e) = b.desired.add_ssh_key(key) {
        b.error(e);
    }
}

/// `ssh-ed25519 AAAA...`, `ssh-rsa AAAA...`, `ecdsa-sha2-nistp256 AAAA...`: one line, a known
/// algorithm, and a base64 body.
fn looks_like_public_key(key: &str) -> bool {
    let mut parts = key.split_whitespace();
    let (Some(algo), Some(body)) = (parts.next(), parts.next()) else {
        return false;
    };
    !key.contains('\n')
        && (algo.starts_with("ssh-") || algo.starts_with("ecdsa-") || algo.starts_with("sk-"))
        && body.starts_with("AAAA")
        && body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_keys() {
        assert!(super::looks_like_public_key(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx me@host"
        ));
        assert!(!super::looks_like_public_key(
            "-----BEGIN OPENSSH PRIVATE KEY-----"
        ));
        assert!(!super::looks_like_public_key("ssh-ed25519"));
    }
}
