//! An `image` schedule's run: a template of each selected server through the provider, named
//! `<server>-<schedule>-<due time>`, recorded in the state by ID (pending before it is asked
//! for, made once answered; see [`crate::schedule::images`]), then the templates beyond the
//! newest `keep` of each server deleted. Only templates the schedule recorded are ever deleted.

use chrono::{DateTime, Utc};

use super::{Error, Session};
use crate::model::Schedule;
use crate::provider::{ImageId, Provider as _, ServerId};
use crate::schedule::images::{image_name, Images, Made, Pending};
use crate::state::Store;

/// What became of one server, or of an old template.
#[derive(Debug)]
pub enum Imaged {
    /// A template was made: its name.
    Made(String),
    /// The server cannot be imaged: not created yet, or deleted outside ict.
    Absent(&'static str),
    /// An old template beyond `keep` was deleted: its name.
    Deleted(String),
    Failed(String),
}

impl Imaged {
    /// Whether the run failed here. A server that is not there fails it too: a backup that
    /// could not be taken is worth a notification.
    pub fn failed(&self) -> bool {
        matches!(self, Imaged::Failed(_) | Imaged::Absent(_))
    }
}

impl Session<'_> {
    /// Makes a template of each server of `selected` for `schedule`'s run due at `due`, then
    /// deletes its templates beyond the newest `keep` of each server; what became of each
    /// server, then of each old template.
    pub(super) async fn take_images(
        &self,
        store: &mut Store,
        schedule: &Schedule,
        selected: &[String],
        keep: u32,
        due: DateTime<Utc>,
    ) -> Result<Vec<(String, Imaged)>, Error> {
        let client = &self.conn.client;
        let listed = |images: Vec<crate::provider::Image>| {
            images
                .into_iter()
                .map(|i| (i.id.0, i.name))
                .collect::<Vec<_>>()
        };
        let mut existing = listed(client.images().await?);
        let mut images = Images::read(store.state(), &schedule.name);
        images.settle(&existing);
        let mut out = Vec::new();
        let fleet = self.fleet(store.state()).await?;
        for host in fleet.iter().filter(|h| selected.contains(&h.name)) {
            let Some(id) = host.id else {
                let why = host.absence().unwrap_or("not created yet");
                out.push((host.name.clone(), Imaged::Absent(why)));
                continue;
            };
            let name = image_name(&host.name, &schedule.name, due);
            let before: Vec<u64> = existing
                .iter()
                .filter(|(_, n)| *n == name)
                .map(|(id, _)| *id)
                .collect();
            images.pending.push(Pending {
                name: name.clone(),
                server: host.name.clone(),
                asked: self.project.now(),
                before: before.clone(),
            });
            save(store, &schedule.name, &images)?;
            let made = client.create_image(ServerId(id), &name, &before).await;
            let pending = images.pending.pop();
            match made {
                Ok(image) => {
                    existing.push((image.id.0, image.name.clone()));
                    images.made.push(Made {
                        id: image.id.0,
                        name: image.name,
                        server: host.name.clone(),
                        made: pending.map_or_else(|| self.project.now(), |p| p.asked),
                    });
                    out.push((host.name.clone(), Imaged::Made(name)));
                }
                Err(e) => {
                    // Whether it took effect is settled at the next run, by what exists then.
                    images.pending.extend(pending);
                    out.push((host.name.clone(), Imaged::Failed(e.to_string())));
                }
            }
            save(store, &schedule.name, &images)?;
        }
        for old in images.beyond(keep) {
            let deleted = match client.delete_image(ImageId(old.id)).await {
                Ok(()) => Imaged::Deleted(old.name.clone()),
                Err(e) if e.is_not_found() => Imaged::Deleted(old.name.clone()),
                Err(e) => {
                    out.push((
                        old.server.clone(),
                        Imaged::Failed(format!("{}: {e}", old.name)),
                    ));
                    continue;
                }
            };
            images.made.retain(|m| m.id != old.id);
            save(store, &schedule.name, &images)?;
            out.push((old.server.clone(), deleted));
        }
        Ok(out)
    }
}

fn save(store: &mut Store, schedule: &str, images: &Images) -> Result<(), Error> {
    store.commit(|state| {
        images.clone().write(state, schedule);
        Ok(())
    })?;
    Ok(())
}
