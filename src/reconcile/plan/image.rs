//! Images made from the script's servers: a template is made once the server exists, and made
//! again if it was deleted outside ict. A template is a snapshot, so it is not remade when
//! its server changes; deleting it when it is no longer declared is `delete.rs`'s. Servers
//! created from a declared image wait for it (`server.rs`).

use super::super::step::{Action, Ref, Step, Work};
use super::{addr, change, Ctx};
use crate::model::{ImageRef, ImageSource, Server};
use crate::provider::{Image, ImageId};
use crate::state::Kind;

pub(super) fn plan(ctx: &mut Ctx<'_>) {
    for image in ctx.input.desired.images.values() {
        let address = addr(Kind::Image, &image.name);
        if ctx.declared_image(&image.name).is_some() {
            continue;
        }
        let (depends, changes, work) = match &image.source {
            ImageSource::Server(from) => {
                let server = addr(Kind::Server, &from.name);
                (
                    server.clone(),
                    vec![change("from", None, from.name.clone(), false)],
                    Work::CreateImage {
                        name: image.name.clone(),
                        server: ctx.reference(&server),
                    },
                )
            }
            ImageSource::File { pool, file, path } => {
                let pool_address = addr(Kind::Pool, &pool.name);
                (
                    pool_address.clone(),
                    vec![
                        change("pool", None, pool.name.clone(), false),
                        change("file", None, file.clone(), false),
                    ],
                    Work::UploadImage {
                        name: image.name.clone(),
                        pool: ctx.reference(&pool_address),
                        pool_name: pool.name.clone(),
                        file: path.clone(),
                    },
                )
            }
        };
        let after = if ctx.pending.contains(&depends) {
            vec![depends]
        } else {
            vec![]
        };
        let step = Step {
            reason: ctx
                .owned(&address)
                .map(|_| "deleted outside ict".to_owned()),
            changes,
            after,
            action: Action::Create,
            work,
            address,
        };
        ctx.push(step);
    }
}

impl<'a> Ctx<'a> {
    /// The declared image `name` as the catalogue shows it, when ict owns it and it exists.
    pub(super) fn declared_image(&self, name: &str) -> Option<&'a Image> {
        let id = self.owned(&addr(Kind::Image, name))?;
        self.input.images.iter().find(|i| i.id.0 == id)
    }

    /// The image `server` is created from when it is one the script declares: the one that
    /// exists, or the one this apply makes first (`None` when it is a catalogue image).
    pub(super) fn server_image(&self, server: &Server) -> Option<(Image, Ref<ImageId>)> {
        let ImageRef::Name(name) = &server.image else {
            return None;
        };
        self.input.desired.images.get(name)?;
        let address = addr(Kind::Image, name);
        Some(match self.declared_image(name) {
            Some(image) => (image.clone(), Ref::Id(image.id)),
            None => (
                Image {
                    id: ImageId(0),
                    name: name.clone(),
                    display_name: name.clone(),
                    family: None,
                    min_disk: None,
                    dc: None,
                },
                Ref::Address(address),
            ),
        })
    }
}
