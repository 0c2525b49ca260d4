//! `backend(kind, #{...})`: where the script's state is kept when a team shares it — a
//! `PostgreSQL` database or an S3 bucket — instead of `.ict/<env>/` next to the script.
//!
//! Settings stay [`Value`]s so that credentials given with `secret(...)` remain references to
//! the process environment, resolved only when the backend is opened and never stored.

use indexmap::IndexMap;

use super::{Span, Value};

/// The kinds of shared backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    S3,
}

impl BackendKind {
    /// Every kind, by the name a script uses.
    pub const NAMES: &'static [&'static str] = &["postgres", "s3"];

    /// The kind a script names, if any.
    pub fn parse(name: &str) -> Option<BackendKind> {
        match name {
            "postgres" => Some(BackendKind::Postgres),
            "s3" => Some(BackendKind::S3),
            _ => None,
        }
    }

    /// The name a script uses.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Postgres => "postgres",
            BackendKind::S3 => "s3",
        }
    }

    /// The settings this kind accepts, and which of them are required.
    pub fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            BackendKind::Postgres => (&["url", "project", "lease"], &["url"]),
            BackendKind::S3 => (
                &[
                    "bucket",
                    "prefix",
                    "endpoint",
                    "region",
                    "access_key",
                    "secret_key",
                    "lease",
                ],
                &["bucket"],
            ),
        }
    }
}

/// The declared backend.
#[derive(Debug, Clone)]
pub struct Backend {
    pub kind: BackendKind,
    /// Text settings by name (`url`, `bucket`, ...): strings, or templates holding secrets.
    pub settings: IndexMap<String, Value>,
    /// How long a lock stays valid without its holder renewing it, in seconds.
    pub lease_secs: u32,
    pub span: Span,
}

impl Backend {
    /// The default lease: long enough to ride out a slow network, short enough that a team
    /// does not wait long after a crash.
    pub const DEFAULT_LEASE_SECS: u32 = 30;
}
