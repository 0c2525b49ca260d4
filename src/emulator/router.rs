//! Maps a request (method, path, body) to a handler, the way the real API does: paths are
//! matched case-insensitively, extra and trailing slashes are ignored. Pure over the
//! [`World`]; the HTTP layer (auth, faults, persistence) is in `http`. Depends on every
//! handler module.

use super::dns_shape::DnsQuirk;
use super::input::Input;
use super::reply::{ApiError, ApiResult, Reply};
use super::world::{When, World};
use super::{account, catalogue, dns, images, networks, servers};

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Put,
    Delete,
    Other,
}

impl Verb {
    pub(crate) fn from_method(method: &axum::http::Method) -> Verb {
        match method.as_str() {
            "GET" | "HEAD" => Verb::Get,
            "POST" => Verb::Post,
            "PUT" => Verb::Put,
            "DELETE" => Verb::Delete,
            _ => Verb::Other,
        }
    }
}

/// The lower-cased, non-empty segments of a path.
pub(crate) fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Runs the handler for a request. `body` is parsed only by routes that read one; DNS answers
/// take the shape `dns_quirk` picks.
pub(crate) fn route(
    world: &mut World,
    verb: Verb,
    path: &str,
    body: impl FnOnce() -> Result<Input, ApiError>,
    when: When,
    dns_quirk: DnsQuirk,
) -> ApiResult {
    use Verb::{Delete, Get, Post, Put};
    let segments = segments(path);
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let no_route = || ApiError::no_route(path);
    let id = |text: &str| text.parse::<u64>().map_err(|_| no_route());
    match (verb, segs.as_slice()) {
        (Get, ["server"]) => servers::list(world),
        (Post, ["server"]) => servers::create(world, &body()?, when),
        (Get, ["server", s]) => servers::get(world, id(s)?),
        (Put, ["server", s]) => servers::resize(world, id(s)?, &body()?, when),
        (Delete, ["server", s]) => servers::delete(world, id(s)?),
        (Get, ["server", s, "action"]) => servers::actions(world, id(s)?),
        (Post, ["server", s, "action"]) => servers::start(world, id(s)?, &body()?, when),
        (Get, ["server", s, "action", a]) => servers::action(world, id(s)?, id(a)?),
        (Post, ["server", s, "rebuild"]) => servers::rebuild(world, id(s)?, &body()?, when),
        (Get, ["image"]) => images::list(world),
        (Post, ["image"]) => images::create(world, &body()?),
        (Delete, ["image", i]) => images::delete(world, id(i)?),
        (Get, ["dclocation"]) => Reply::json(catalogue::DCS),
        (Get, ["network"]) => networks::list(world),
        (Post, ["network"]) => networks::create(world, &body()?, when),
        (Get, ["network", n]) => networks::get(world, id(n)?),
        (Put, ["network", n]) => networks::rename(world, id(n)?, &body()?),
        (Delete, ["network", n]) => networks::delete(world, id(n)?),
        (Get, ["sshkey"]) => networks::list_keys(world),
        (Post, ["sshkey"]) => networks::create_key(world, &body()?),
        (Get, ["sshkey", k]) => networks::get_key(world, id(k)?),
        (Delete, ["sshkey", k]) => networks::delete_key(world, id(k)?),
        (Get, ["dns"]) => dns::list(world, dns_quirk),
        (Post, ["dns"]) => dns::create(world, &body()?, when),
        (Get, ["dns", "record", r]) => dns::get_record(world, id(r)?, dns_quirk),
        (Post, ["dns", kind]) if kind.starts_with("record") => {
            dns::create_record(world, &kind["record".len()..], &body()?, when, dns_quirk)
        }
        (Put, ["dns", kind, r]) if kind.starts_with("record") => {
            let kind = &kind["record".len()..];
            dns::update_record(world, kind, id(r)?, &body()?, when, dns_quirk)
        }
        (Get, ["dns", d]) => dns::get(world, id(d)?, dns_quirk),
        (Delete, ["dns", d]) => dns::delete(world, id(d)?),
        (Delete, ["dns", d, r]) => dns::delete_record(world, id(d)?, id(r)?),
        (Get, ["customer", "balance"]) => account::balance(),
        (Get, ["account"]) => account::account(),
        (Get, ["project"]) => account::project(),
        _ => Err(no_route()),
    }
}
