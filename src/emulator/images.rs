//! Image routes (docs/1cloud-api.md §2.3): the catalogue of public images followed by the
//! account's own templates, making a template of a server, and deleting one. A server can be
//! created or rebuilt from either kind; [`find`] is the one lookup for both. Depends on
//! `world`, `input`, `catalogue`, `types`.

use super::catalogue::{self, Image, Text};
use super::events::ServerEvent;
use super::input::Input;
use super::reply::{ApiError, ApiResult, Reply};
use super::types::state;
use super::world::World;

/// What a server made from an image takes from it.
pub(crate) struct Found {
    pub(crate) name: String,
    pub(crate) family: String,
    /// The smallest disk, in GB.
    pub(crate) hdd: u32,
    /// Whether it is one of the account's templates (its disk is the source server's).
    pub(crate) template: bool,
}

impl Found {
    /// Whether the Windows minimums apply.
    pub(crate) fn is_windows(&self) -> bool {
        self.family == "Windows"
    }
}

/// The public image or own template `id`.
pub(crate) fn find(world: &World, id: u64) -> Option<Found> {
    let (image, template) = match catalogue::find_image(id) {
        Some(public) => (public, false),
        None => (world.images.get(&id)?, true),
    };
    Some(Found {
        name: image.name.to_string(),
        family: image.family.to_string(),
        hdd: image.hdd,
        template,
    })
}

/// `GET /image`: the public images, then the account's templates.
pub(crate) fn list(world: &World) -> ApiResult {
    let all: Vec<&Image> = catalogue::IMAGES
        .iter()
        .chain(world.images.values())
        .collect();
    Reply::json(&all)
}

/// `POST /image` `{Name, TechName, ServerID}`: a template of an Active server with no task
/// running. `TechName` defaults to `Name`. The template is ready at once; the machine's disk is
/// copied as it is now.
pub(crate) fn create(world: &mut World, input: &Input) -> ApiResult {
    let display_name = input.required_string("Name")?;
    let name = input
        .string("TechName")?
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| display_name.clone());
    let server_id = input.required_u64("ServerID")?;
    let server = world.server(server_id)?;
    if world.server_busy(server_id) || server.state != state::ACTIVE {
        return Err(ApiError::bad_request(format!(
            "Server {server_id} is busy (State {}); a template can be made of an Active server \
             with no task in progress.",
            server.state
        )));
    }
    let os = find_by_name(world, &server.image).unwrap_or_default();
    let template = Image {
        id: 0,
        display_name: display_name.into(),
        name: name.into(),
        dc_location: server.dc_location.clone().into(),
        hdd: server.hdd,
        family: server.image_family.clone().into(),
        is_available_isp: false,
        is_isp_lite_enabled: false,
        is_isp_business_enabled: false,
        kind: "Template".into(),
        linked_ssh_keys: Vec::new().into(),
        operating_system_type: os,
    };
    let id = world.new_id();
    let template = Image { id, ..template };
    let reply = Reply::json(&template);
    world.images.insert(id, template);
    world.events.push(ServerEvent::Imaged {
        id: server_id,
        image: id,
    });
    reply
}

/// `DELETE /image/{id}`: one of the account's templates. Servers made from it keep running.
pub(crate) fn delete(world: &mut World, id: u64) -> ApiResult {
    if catalogue::find_image(id).is_some() {
        return Err(ApiError::bad_request(format!(
            "Image {id} is a public image; only the account's own templates can be deleted."
        )));
    }
    if world.images.remove(&id).is_none() {
        return Err(ApiError::not_found(format!("Image {id} not found.")));
    }
    world.events.push(ServerEvent::ImageDeleted { image: id });
    Ok(Reply::Empty)
}

/// The operating system of the image whose technical name is `name`.
fn find_by_name(world: &World, name: &str) -> Option<Text> {
    catalogue::IMAGES
        .iter()
        .chain(world.images.values())
        .find(|i| i.name == name)
        .map(|i| i.operating_system_type.clone())
}
