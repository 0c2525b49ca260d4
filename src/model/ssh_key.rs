//! A declared SSH public key, uploaded to 1cloud and authorised on servers that list it.

use super::{FieldSpans, Span};

/// `ssh_key(name, #{ public_key | public_key_file })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SshKey {
    pub name: String,
    /// The OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
    pub public_key: String,
    /// The file it was read from, if any, as written in the script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_file: Option<String>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}
