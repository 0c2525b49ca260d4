//! SSH keys: uploaded when missing, replaced (new key first, then the old one deleted) when
//! the public key changed.

use super::super::step::{Action, Step, Work};
use super::{addr, change, Ctx};
use crate::state::Kind;

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    // libvirt has no key store: a server's keys go into its cloud-init seed.
    if ctx.input.desired.on_libvirt() {
        return;
    }
    for key in ctx.input.desired.ssh_keys.values() {
        let address = addr(Kind::SshKey, &key.name);
        let owned = ctx.owned(&address);
        let existing =
            owned.and_then(|id| ctx.input.observed.ssh_keys.iter().find(|k| k.id.0 == id));
        let step = match existing {
            Some(k) if same_key(&k.public_key, &key.public_key) => continue,
            Some(k) => Step {
                address,
                action: Action::Replace,
                reason: Some("public key changed".into()),
                changes: vec![change(
                    "public_key",
                    Some(short_key(&k.public_key)),
                    short_key(&key.public_key),
                    true,
                )],
                after: vec![],
                work: Work::CreateSshKey {
                    title: key.name.clone(),
                    public_key: key.public_key.clone(),
                    replaces: Some(k.id),
                },
            },
            None => Step {
                address,
                action: Action::Create,
                reason: owned.map(|_| "deleted outside ict".to_owned()),
                changes: vec![change(
                    "public_key",
                    None,
                    short_key(&key.public_key),
                    false,
                )],
                after: vec![],
                work: Work::CreateSshKey {
                    title: key.name.clone(),
                    public_key: key.public_key.clone(),
                    replaces: None,
                },
            },
        };
        ctx.push(step);
    }
}

/// Public keys compare by algorithm and key body; comments may differ.
fn same_key(a: &str, b: &str) -> bool {
    let body = |k: &str| k.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let (a, b) = (body(a), body(b));
    a == b || a.split_whitespace().last() == b.split_whitespace().last()
}

fn short_key(key: &str) -> String {
    let mut parts = key.split_whitespace();
    let algo = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let tail = body.get(body.len().saturating_sub(8)..).unwrap_or(body);
    format!("{algo} …{tail}")
}
