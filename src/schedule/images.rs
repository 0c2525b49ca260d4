//! The images an `image` schedule made, kept in the state's `extra` section under
//! `schedule_images`: per schedule, the templates it made (by ID: a name is not an identity)
//! and the ones it asked for whose answer is not recorded yet. A make is recorded as pending
//! before it is sent, with the IDs of the images of that name that existed before, so a crash
//! between the request and its record is resolved at the next run: an image of that name that
//! is not among those IDs is the one it made. Which ones to delete so that the newest `keep`
//! of each server stay is decided here too. Pure.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::State;

const KEY: &str = "schedule_images";

/// An image a schedule made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    pub id: u64,
    pub name: String,
    pub server: String,
    pub made: DateTime<Utc>,
}

/// An image asked for whose answer is not recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub name: String,
    pub server: String,
    pub asked: DateTime<Utc>,
    /// The IDs of the images named `name` before it was asked for.
    pub before: Vec<u64>,
}

/// One schedule's images.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Images {
    #[serde(default)]
    pub made: Vec<Made>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
}

impl Images {
    /// Schedule `name`'s images in `state` (none when missing or unreadable).
    pub fn read(state: &State, name: &str) -> Images {
        all(state).remove(name).unwrap_or_default()
    }

    /// Stores these as schedule `name`'s images in `state`.
    pub fn write(self, state: &mut State, name: &str) {
        let mut all = all(state);
        if self.made.is_empty() && self.pending.is_empty() {
            all.remove(name);
        } else {
            all.insert(name.to_owned(), self);
        }
        let value = (!all.is_empty())
            .then(|| serde_json::to_value(&all).ok())
            .flatten();
        state.set_extra(KEY, value);
    }

    /// Settles the pending makes against the images that exist now (`(id, name)`): one whose
    /// image appeared is recorded as made, one whose did not is dropped (it never happened).
    pub fn settle(&mut self, existing: &[(u64, String)]) {
        for pending in std::mem::take(&mut self.pending) {
            let known = |id: &u64| self.made.iter().any(|m| m.id == *id);
            let appeared = existing
                .iter()
                .filter(|(id, name)| {
                    *name == pending.name && !pending.before.contains(id) && !known(id)
                })
                .map(|(id, _)| *id)
                .max();
            if let Some(id) = appeared {
                self.made.push(Made {
                    id,
                    name: pending.name,
                    server: pending.server,
                    made: pending.asked,
                });
            }
        }
    }

    /// The made images beyond the newest `keep` of each server, oldest first.
    pub fn beyond(&self, keep: u32) -> Vec<Made> {
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let mut by_server: BTreeMap<&str, Vec<&Made>> = BTreeMap::new();
        for made in &self.made {
            by_server.entry(&made.server).or_default().push(made);
        }
        let mut out: Vec<Made> = by_server
            .into_values()
            .flat_map(|mut made| {
                made.sort_by(|a, b| b.made.cmp(&a.made).then(b.id.cmp(&a.id)));
                made.into_iter().skip(keep).cloned().collect::<Vec<_>>()
            })
            .collect();
        out.sort_by(|a, b| a.made.cmp(&b.made).then(a.id.cmp(&b.id)));
        out
    }
}

/// Every schedule's images.
fn all(state: &State) -> BTreeMap<String, Images> {
    state
        .extra(KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The name of the image `schedule` makes of `server` for its run due at `due`.
pub fn image_name(server: &str, schedule: &str, due: DateTime<Utc>) -> String {
    format!("{server}-{schedule}-{}", due.format("%Y%m%d-%H%M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        use chrono::TimeZone as _;
        Utc.with_ymd_and_hms(2026, 12, 7, hour, 0, 0)
            .single()
            .expect("a time")
    }

    fn made(id: u64, server: &str, hour: u32) -> Made {
        Made {
            id,
            name: image_name(server, "nightly", at(hour)),
            server: server.to_owned(),
            made: at(hour),
        }
    }

    #[test]
    fn the_newest_keep_of_each_server_stay() {
        let images = Images {
            made: vec![
                made(1, "db-1", 1),
                made(2, "db-2", 1),
                made(3, "db-1", 2),
                made(4, "db-1", 3),
                made(5, "db-2", 2),
            ],
            pending: Vec::new(),
        };
        let ids = |v: Vec<Made>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids(images.beyond(2)), [1]);
        assert_eq!(ids(images.beyond(1)), [1, 2, 3]);
        assert_eq!(ids(images.beyond(0)), [1, 2, 3, 5, 4]);
        assert!(images.beyond(5).is_empty());
    }

    #[test]
    fn a_pending_make_is_adopted_by_id_only_if_its_image_appeared() {
        let name = image_name("db-1", "nightly", at(3));
        assert_eq!(name, "db-1-nightly-20261207-0300");
        let pending = |before: Vec<u64>| Pending {
            name: name.clone(),
            server: "db-1".to_owned(),
            asked: at(3),
            before,
        };
        let mut images = Images {
            made: Vec::new(),
            pending: vec![pending(vec![7])],
        };
        // Image 7 of that name was there before: not the one asked for.
        images.settle(&[(7, name.clone()), (8, "other".to_owned())]);
        assert_eq!(images, Images::default());

        images.pending.push(pending(vec![7]));
        images.settle(&[(7, name.clone()), (9, name.clone())]);
        assert_eq!(images.made, [made(9, "db-1", 3)]);
        assert!(images.pending.is_empty());
    }

    #[test]
    fn images_round_trip_through_the_state() {
        let mut state = State::new("dev");
        let images = Images {
            made: vec![made(1, "db-1", 1)],
            pending: Vec::new(),
        };
        images.clone().write(&mut state, "nightly");
        assert_eq!(Images::read(&state, "nightly"), images);
        assert_eq!(Images::read(&state, "other"), Images::default());
        Images::default().write(&mut state, "nightly");
        assert!(state.extra(KEY).is_none());
    }
}
