//! A declared image: on 1cloud a template made from one of the script's servers, from which
//! other servers can be created (`server(..., #{ image: the_image })`).

use super::{FieldSpans, NameRef, Span};

/// `image(name, #{ from })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Image {
    /// The template's name in the catalogue (its technical name), what servers made from it
    /// show as their image.
    pub name: String,
    /// The declared server it is made of.
    pub from: NameRef,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}
