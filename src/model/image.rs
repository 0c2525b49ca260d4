//! A declared image: on 1cloud a template made from one of the script's servers; on libvirt a
//! base volume uploaded from a local file. Servers are created from it
//! (`server(..., #{ image: the_image })`).

use std::path::PathBuf;

use super::{FieldSpans, NameRef, Span};

/// `image(name, #{ from })` or `image(name, #{ pool, file })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Image {
    /// The image's name in the catalogue (on 1cloud its technical name; on libvirt the
    /// volume's), what servers made from it show as their image.
    pub name: String,
    pub source: ImageSource,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}

/// Where an image comes from.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageSource {
    /// A template of this declared server's disk (1cloud).
    Server(NameRef),
    /// A local qcow2 or raw file, uploaded as a volume of a declared pool (libvirt).
    File {
        pool: NameRef,
        /// As the script wrote it, and resolved against the script's folder.
        file: String,
        #[serde(skip)]
        path: PathBuf,
    },
}

impl Image {
    /// The server it is made of, for a template.
    pub fn from_server(&self) -> Option<&NameRef> {
        match &self.source {
            ImageSource::Server(server) => Some(server),
            ImageSource::File { .. } => None,
        }
    }
}
