//! The shape of DNS answers, taken from what published clients saw the real API return
//! (docs/1cloud-api.md §2.6, §3.9): a TXT record's `HostName` is fully qualified with a trailing
//! dot (`_acme-challenge.example.ru.`, lego's fixture and certbot-dns-onecloud), the apex is
//! `@`, other records' names are relative to the zone; TXT `Text` comes back quoted with a
//! trailing space (`"\"value\" "`, certbot-dns-onecloud). The evidence disagrees on the text:
//! lego's fixture shows it bare and record creation answering with a list, which
//! [`DnsQuirk::Lego`] reproduces, so ict's client is tested against both. Records are stored
//! in the default shape; the quirk is applied when answering. Depends on `types`.

use std::borrow::Cow;

use super::types::{Domain, Record};

/// The environment variable that picks the quirk of the project's emulator (and the default
/// of `ict emulator --dns-quirk`).
pub(crate) const DNS_QUIRK_ENV: &str = "ICT_EMULATOR_DNS_QUIRK";

/// Which of the observed shapes the emulator's DNS answers take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DnsQuirk {
    /// No quirk: TXT `Text` quoted with a trailing space (`"\"value\" "`), as
    /// certbot-dns-onecloud relies on; record creation answers with the record.
    #[default]
    Off,
    /// As go-acme/lego's fixtures show: TXT `Text` bare, and record creation answers with a
    /// list holding the record.
    Lego,
}

impl DnsQuirk {
    /// The quirk a [`DNS_QUIRK_ENV`] value names (in any case); unset is [`DnsQuirk::Off`].
    /// The error says which values exist.
    pub fn from_setting(value: Option<&str>) -> Result<DnsQuirk, String> {
        let Some(value) = value else {
            return Ok(DnsQuirk::Off);
        };
        [DnsQuirk::Off, DnsQuirk::Lego]
            .into_iter()
            .find(|quirk| quirk.name().eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                format!("{DNS_QUIRK_ENV}={value} is not a DNS quirk (expected none or lego)")
            })
    }

    /// Its `--dns-quirk` name (`none`, `lego`).
    pub fn name(self) -> &'static str {
        match self {
            DnsQuirk::Off => "none",
            DnsQuirk::Lego => "lego",
        }
    }

    /// A domain as this shape answers it.
    pub(crate) fn domain(self, domain: &Domain) -> Cow<'_, Domain> {
        if self == DnsQuirk::Off {
            return Cow::Borrowed(domain);
        }
        Cow::Owned(Domain {
            linked_records: domain
                .linked_records
                .iter()
                .map(|r| self.record(r).into_owned())
                .collect(),
            ..domain.clone()
        })
    }

    /// A record as this shape answers it.
    pub(crate) fn record(self, record: &Record) -> Cow<'_, Record> {
        match (self, record.text.as_deref().and_then(bare_text)) {
            (DnsQuirk::Lego, Some(bare)) => Cow::Owned(Record {
                text: Some(bare.to_owned()),
                ..record.clone()
            }),
            _ => Cow::Borrowed(record),
        }
    }

    /// Whether record creation answers with a list rather than the record.
    pub(crate) fn creation_answers_a_list(self) -> bool {
        self == DnsQuirk::Lego
    }
}

/// TXT text as stored and answered by default: `"\"value\" "`.
pub(crate) fn quoted_text(text: &str) -> String {
    format!("\"{text}\" ")
}

/// The value inside [`quoted_text`]; `None` for text not in that form.
fn bare_text(text: &str) -> Option<&str> {
    text.strip_suffix(' ')?.strip_prefix('"')?.strip_suffix('"')
}

/// The `HostName` stored for a record of `kind` (`a`, `txt`...) named `given` in `zone`:
/// `@` for the apex (empty, `@` or the zone itself), a TXT name fully qualified with a
/// trailing dot, any other name relative to the zone. A name is accepted relative
/// (`_acme-challenge`, lego), qualified (`_acme-challenge.example.ru`, certbot-dns-onecloud) or
/// with a trailing dot.
pub(crate) fn host_name(kind: &str, given: &str, zone: &str) -> String {
    let name = given.trim().trim_end_matches('.');
    let relative = if name.is_empty() || name == "@" || name.to_lowercase() == zone {
        "@"
    } else {
        within(name, zone).unwrap_or(name)
    };
    if kind == "txt" && relative != "@" {
        format!("{relative}.{zone}.")
    } else {
        relative.to_owned()
    }
}

/// The part of `name` before `.zone`, if it ends with it (case-insensitively).
fn within<'a>(name: &'a str, zone: &str) -> Option<&'a str> {
    let cut = name.len().checked_sub(zone.len() + 1)?;
    let tail = name.get(cut..)?.strip_prefix('.')?;
    (tail.to_lowercase() == zone)
        .then(|| name.get(..cut))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_the_api_stores_them() {
        for (kind, given, stored) in [
            ("txt", "_acme-challenge", "_acme-challenge.example.ru."),
            (
                "txt",
                "_acme-challenge.example.ru",
                "_acme-challenge.example.ru.",
            ),
            (
                "txt",
                "_acme-challenge.Example.RU.",
                "_acme-challenge.example.ru.",
            ),
            ("txt", "@", "@"),
            ("txt", "", "@"),
            ("txt", "example.ru.", "@"),
            ("a", "www", "www"),
            ("a", "www.example.ru", "www"),
            ("a", "www.example.ru.", "www"),
            ("a", "example.ru", "@"),
            ("cname", "blog.other.org", "blog.other.org"),
            ("a", "xexample.ru", "xexample.ru"),
        ] {
            assert_eq!(
                host_name(kind, given, "example.ru"),
                stored,
                "{kind} {given}"
            );
        }
        assert_eq!(
            host_name("txt", "_acme-challenge.пример.рф", "пример.рф"),
            "_acme-challenge.пример.рф."
        );
    }

    #[test]
    fn text_is_quoted_by_default_and_bare_under_the_lego_quirk() {
        let stored = quoted_text("challenge-value-123");
        assert_eq!(stored, "\"challenge-value-123\" ");
        assert_eq!(bare_text(&stored), Some("challenge-value-123"));
        assert_eq!(bare_text("unquoted"), None);
    }
}
