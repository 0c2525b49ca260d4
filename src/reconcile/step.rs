//! The plan's vocabulary: a [`Plan`] is a list of [`Step`]s, each about one resource address,
//! with the attribute [`Change`]s to show and the [`Work`] the executor must do.

use serde::Serialize;

use crate::provider::{
    DomainId, ImageId, NetworkId, PoolId, PoolSpec, RecordId, RecordKind, ServerId, ServerSize,
    SshKeyId, VolumeId,
};
use crate::state::{Address, Seq};

/// What a step does, in Terraform's symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `+`
    Create,
    /// `~`
    Update,
    /// `-/+`
    Replace,
    /// `-`
    Delete,
    /// Take over an existing object (`adopt: true`, or found after an interrupted run).
    Adopt,
}

impl Action {
    /// Terraform's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Adopt => "<=",
        }
    }
}

/// One attribute's change, for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub attr: String,
    /// `None` when the resource does not exist yet.
    pub before: Option<String>,
    pub after: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

/// A reference to an object that may not exist yet: known ID, or "created by the step for this
/// address earlier in this apply".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Ref<T> {
    Id(T),
    Address(Address),
}

/// Everything needed to create a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewServer {
    pub name: String,
    pub size: ServerSize,
    /// A catalogue image, or a declared image made earlier in this apply.
    pub image: Ref<ImageId>,
    pub image_name: String,
    pub dc: String,
    pub backup_days: Option<u32>,
    pub ssh_keys: Vec<Ref<SshKeyId>>,
    /// The keys' public key lines (see `ServerSpec::authorized_keys`).
    #[serde(skip)]
    pub authorized_keys: Vec<String>,
}

/// The API work of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// Converge one server: optionally create a new one (a replacement creates before it
    /// destroys), then resize, attach/detach networks, set power and delete the replaced
    /// server, in that order.
    Server {
        /// The existing server (before replacement), if any.
        existing: Option<ServerId>,
        /// Record the existing server as owned (adoption) before anything else.
        adopt: bool,
        /// The existing server is being created (or a task runs on it): wait until it is
        /// active, and record its addresses.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        wait: bool,
        /// Create this server (the replacement of `existing`, when there is one).
        create: Option<NewServer>,
        resize: Option<ServerSize>,
        attach: Vec<Ref<NetworkId>>,
        detach: Vec<NetworkId>,
        /// Desired power, when it differs (or for a new server declared off).
        power: Option<bool>,
        /// Old servers to delete last: the one this step replaces.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        retire: Vec<ServerId>,
    },
    CreateSshKey {
        title: String,
        public_key: String,
        replaces: Option<SshKeyId>,
    },
    /// Make a template of a server (`image(name, #{ from })`).
    CreateImage {
        name: String,
        server: Ref<ServerId>,
    },
    /// Upload a local file as a base volume of a pool (`image(name, #{ pool, file })`).
    UploadImage {
        name: String,
        pool: Ref<PoolId>,
        pool_name: String,
        file: std::path::PathBuf,
    },
    /// Make and start a storage pool (libvirt).
    CreatePool {
        spec: PoolSpec,
    },
    /// Make a volume in its pool, then attach it to its server.
    CreateVolume {
        name: String,
        pool: Ref<PoolId>,
        pool_name: String,
        size: u32,
        format: String,
        attach: Option<Ref<ServerId>>,
    },
    /// Grow a volume, detach it from one server, attach it to another.
    ChangeVolume {
        id: VolumeId,
        grow: Option<u32>,
        detach: Option<ServerId>,
        attach: Option<Ref<ServerId>>,
    },
    CreateNetwork {
        name: String,
        dc: String,
        dhcp: bool,
    },
    /// Wait until a network ict made is active (libvirt: start one whose create was cut short
    /// between its definition and its start).
    WaitNetwork {
        id: NetworkId,
    },
    /// Give a network its declared name (after a `moved`, or a rename in the panel).
    RenameNetwork {
        id: NetworkId,
        name: String,
    },
    CreateDomain {
        name: String,
    },
    CreateRecord {
        domain: Ref<DomainId>,
        record_kind: RecordKindName,
        name: String,
        /// The value, or a server whose IP it is (known after that server's step).
        value: RecordValue,
        ttl: u32,
        priority: Option<u32>,
        replaces: Option<(DomainId, RecordId)>,
    },
    /// Delete objects ict owns under `object` (its current one, or old ones a replacement
    /// deposed), and forget the ones already gone from the cloud without calling it.
    Delete {
        /// The state address the objects belong to.
        object: Address,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        ids: Vec<u64>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        gone: Vec<u64>,
        /// For DNS records: their domain.
        #[serde(skip_serializing_if = "Option::is_none")]
        domain: Option<DomainId>,
    },
}

/// A record value: literal, or the IP of a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RecordValue {
    Literal(String),
    ServerIp(Address),
}

/// Serializable record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecordKindName(pub &'static str);

impl RecordKindName {
    pub fn kind(self) -> RecordKind {
        match self.0 {
            "AAAA" => RecordKind::Aaaa,
            "CNAME" => RecordKind::Cname,
            "MX" => RecordKind::Mx,
            "TXT" => RecordKind::Txt,
            _ => RecordKind::A,
        }
    }
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub address: Address,
    pub action: Action,
    /// Why, when it is not obvious ("deleted outside ict", "image changed").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub changes: Vec<Change>,
    /// Addresses of steps that must finish first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Address>,
    pub work: Work,
}

/// An object in the account that ict does not own: shown, never touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmanaged {
    /// A server, network, SSH key or DNS record.
    pub kind: crate::state::Kind,
    pub id: u64,
    pub name: String,
}

/// Everything `apply` would do, in dependency order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Plan {
    pub env: String,
    pub steps: Vec<Step>,
    pub unmanaged: Vec<Unmanaged>,
    /// Journal entries an interrupted run left unfinished, and how this plan accounts for
    /// them; `apply` finishes them first, so the journal does not grow and a stale entry can
    /// never adopt a server made by someone else later.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settle: Vec<Settle>,
    /// Objects whose address the script renamed (`moved(...)`): rebound in the state first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<Moved>,
    /// Things to say that do not stop the plan (a `moved` whose source is not in the state).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why something differs from the script and is not a change, one line each
    /// (`server.dev-1: power off by schedule night-stop until 08:00`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// An object that keeps its identity under a new address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub from: Address,
    pub to: Address,
    pub id: u64,
}

/// How an unfinished journal entry is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settle {
    pub seq: Seq,
    /// The operation took effect on this object: the object an interrupted create made (one
    /// that did not exist before it), now owned; or the object an interrupted delete
    /// removed, now forgotten. `None`: the operation is superseded by this plan, which was
    /// made from what the cloud reports now.
    pub recovered: Option<u64>,
}

/// `Plan: 2 to add, 1 to change, 0 to destroy.` (and `1 to move.` when there are moves)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub moved: usize,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Plan {
    /// Counts in Terraform's terms (a replacement adds one and destroys one).
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            moved: self.moves.len(),
            ..Summary::default()
        };
        for step in &self.steps {
            match step.action {
                Action::Create => s.add += 1,
                Action::Update | Action::Adopt => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    /// Whether there is nothing to do in the cloud or the state (see [`Plan::settle`] for
    /// the journal).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.moves.is_empty()
    }
}
