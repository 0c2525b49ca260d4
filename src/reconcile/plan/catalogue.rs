//! The live catalogue as a plan-time check: a server's image and data centre, and the pool it
//! asks for, must be what 1cloud offers now. Refusing them here, with the valid choices, is
//! what keeps a typo from reaching the API (which was seen to answer an unknown data centre by
//! quietly creating the server in its default one, so that every later plan would replace it).

use crate::model::{self, ImageRef, ModelError, Network, Server};
use crate::provider::{DcLocation, Image};

use super::Ctx;

impl<'a> Ctx<'a> {
    /// The image a server asks for (one the script declares, or one of the catalogue), or an
    /// error at its `image` field.
    pub(super) fn image(&mut self, server: &Server) -> Option<Image> {
        if let Some((image, _)) = self.server_image(server) {
            return Some(image);
        }
        let images = self.input.images;
        let found = match &server.image {
            ImageRef::Id(id) => images.iter().find(|i| u64::from(*id) == i.id.0),
            ImageRef::Name(name) => images.iter().find(|i| {
                i.name.eq_ignore_ascii_case(name) || i.display_name.eq_ignore_ascii_case(name)
            }),
        };
        if found.is_none() {
            let value = server.image.to_string();
            self.errors.push(ModelError::NotInCatalogue {
                what: "image",
                suggestion: model::suggest(&value, images.iter().map(|i| i.name.as_str())),
                valid: images.iter().map(|i| i.name.clone()).collect(),
                value,
                at: server.fields.get("image").copied().unwrap_or(server.span),
            });
        }
        found.cloned()
    }

    /// Whether a server's data centre exists and offers the pool it asks for (base or high
    /// performance); records an error at the field otherwise.
    pub(super) fn placement(&mut self, server: &Server) -> bool {
        let Some(dc) = self.dc(
            &server.dc,
            server.fields.get("dc").copied().unwrap_or(server.span),
        ) else {
            return false;
        };
        let (offered, pool, other) = if server.high_performance {
            (dc.high_pool, "high-performance", "base")
        } else {
            (dc.low_pool, "base", "high-performance")
        };
        if offered {
            return true;
        }
        let alternatives: Vec<&str> = self
            .input
            .dcs
            .iter()
            .filter(|d| {
                if server.high_performance {
                    d.high_pool
                } else {
                    d.low_pool
                }
            })
            .map(|d| d.tech_title.as_str())
            .collect();
        self.errors.push(ModelError::InvalidValue {
            field: "high_performance".into(),
            message: format!(
                "data centre `{}` has no {pool} pool for server `{}`",
                dc.tech_title, server.name
            ),
            help: Some(format!(
                "set `high_performance: {}` to use its {other} pool, or choose a data centre with a {pool} pool: {}",
                !server.high_performance,
                alternatives.join(", ")
            )),
            at: server
                .fields
                .get("high_performance")
                .or_else(|| server.fields.get("dc"))
                .copied()
                .unwrap_or(server.span),
        });
        false
    }

    /// Whether a network's data centre exists; records an error at the field otherwise.
    pub(super) fn network_placement(&mut self, network: &Network) -> bool {
        let at = network.fields.get("dc").copied().unwrap_or(network.span);
        self.dc(&network.dc, at).is_some()
    }

    /// The data centre with this technical name (`SdnSpb`), or an error at `at`.
    fn dc(&mut self, name: &str, at: model::Span) -> Option<&'a DcLocation> {
        let dcs = self.input.dcs;
        let found = dcs.iter().find(|d| d.tech_title.eq_ignore_ascii_case(name));
        if found.is_none() {
            // A public title (`Xelent`) is a common mistake: suggest its technical name.
            let by_title = dcs
                .iter()
                .find(|d| d.title.eq_ignore_ascii_case(name))
                .map(|d| d.tech_title.clone());
            self.errors.push(ModelError::NotInCatalogue {
                what: "data centre",
                value: name.to_owned(),
                suggestion: by_title
                    .or_else(|| model::suggest(name, dcs.iter().map(|d| d.tech_title.as_str()))),
                valid: dcs.iter().map(|d| d.tech_title.clone()).collect(),
                at,
            });
        }
        found
    }
}
