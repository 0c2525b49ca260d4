//! The database side of a run: find the declared database host in the fleet, get the password
//! (the script's `secret(...)`, else the one generated once and kept in
//! `.ict/<env>/secrets/<pipeline>-db`), give every app host its `DATABASE_URL` and build the
//! setup job for `pipeline::run`. The password and the URL join the values to redact.

use std::path::Path;

use crate::app::hosts::Host as FleetHost;
use crate::app::Error;
use crate::model::{pattern, Desired, Pipeline};
use crate::pipeline::database::{self, Setup};
use crate::pipeline::{DbJob, Host};

/// Adds `DATABASE_URL` to `hosts` and returns the database job, when the pipeline has one.
pub(super) fn prepare(
    pipeline: &Pipeline,
    desired: &Desired,
    fleet: &[FleetHost],
    state_dir: &Path,
    hosts: &mut [Host],
    secrets: &mut Vec<String>,
) -> Result<Option<DbJob>, Error> {
    let Some(db) = &pipeline.database else {
        return Ok(None);
    };
    let selected = pattern::select(&db.host, desired);
    let [name] = selected.as_slice() else {
        return Err(Error::DatabaseHost {
            host: db.host.clone(),
            pipeline: pipeline.name.clone(),
            count: selected.len(),
        });
    };
    let server = fleet.iter().find(|h| h.name == *name);
    let (Some(target), Some(ip)) = (
        server.and_then(FleetHost::target),
        server.and_then(|h| h.ip.clone()),
    ) else {
        return Err(Error::NoAddress {
            role: "database server",
            name: (*name).to_owned(),
        });
    };
    let password = if let Some(value) = &db.password {
        let secret = |n: &str| std::env::var(n).ok();
        let json = crate::inventory::resolve_value(value, &secret, &|_| None)
            .map_err(|name| Error::SecretNotSet { name })?;
        match json {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }
    } else {
        let file = database::password_file(state_dir, &pipeline.name);
        database::generated_password(&file)
            .map_err(|error| Error::DatabasePassword { path: file, error })?
    };
    let url = database::url(db, &ip, &password);
    let clients: Vec<String> = hosts
        .iter()
        .filter_map(|h| {
            h.vars
                .iter()
                .find(|(k, _)| k == "ICT_HOST_IP")
                .map(|(_, v)| v.clone())
        })
        .collect();
    for host in hosts.iter_mut() {
        host.vars.push(("DATABASE_URL".to_owned(), url.clone()));
    }
    let script = database::setup(&Setup {
        pipeline: &pipeline.name,
        db,
        ip: &ip,
        clients: &clients,
        password: &password,
    });
    secrets.push(url);
    secrets.push(password);
    Ok(Some(DbJob { target, script }))
}
