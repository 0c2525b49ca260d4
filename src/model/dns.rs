//! A declared DNS record in a 1cloud DNS zone.

use super::{FieldSpans, Span, Value};

/// Record types ict manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum RecordType {
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "CNAME")]
    Cname,
    #[serde(rename = "MX")]
    Mx,
    #[serde(rename = "TXT")]
    Txt,
}

impl RecordType {
    /// All types, in the order shown in messages.
    pub const ALL: [RecordType; 5] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Txt,
    ];

    /// The DNS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
        }
    }

    /// Parses a type name, case-insensitively.
    pub fn parse(s: &str) -> Option<RecordType> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

/// `dns_record(#{ zone, name, type, value, ttl, priority })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DnsRecord {
    /// Graph name: `www.example.com/A`, with `#2`, `#3` for further records of that name and type.
    pub id: String,
    /// The zone (domain) in 1cloud DNS, e.g. `example.com`.
    pub zone: String,
    /// Host part: `@` for the apex, `www`, ...
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    /// An address, host name or text; may be a placeholder such as a server's IP.
    pub value: Value,
    pub ttl: u32,
    /// MX priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}

impl DnsRecord {
    /// The fully qualified name (`www.example.com`, or the zone for `@`).
    pub fn fqdn(&self) -> String {
        if self.name == "@" || self.name.is_empty() {
            self.zone.clone()
        } else {
            format!("{}.{}", self.name, self.zone)
        }
    }
}
