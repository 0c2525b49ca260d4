//! OpenSSH `known_hosts` files: parsing, matching, rendering, and `KnownHosts` as a read-only
//! `HostKeyVerifier` (it never learns keys; unknown hosts are refused).
//!
//! Supported: comma-separated host patterns with `*`/`?` wildcards and `!` negation, the
//! `[host]:port` form, hashed names (`|1|salt|hmac`, OpenSSH's `HashKnownHosts yes`, Debian's
//! default) and `@revoked` lines. `@cert-authority` lines are skipped: ict does not trust host
//! certificates.
//! Depends on `ssh::host_keys` only for the trait.

use std::path::{Path, PathBuf};

use russh::keys::PublicKey;

use super::host_keys::{without_comment, HostKeyVerifier, Verdict};

/// A parsed `known_hosts` file.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
    origin: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct Entry {
    revoked: bool,
    patterns: Vec<String>,
    key: PublicKey,
}

impl KnownHosts {
    /// Parses `known_hosts` text. Lines that are blank, comments, hashed, `@cert-authority`, or
    /// unparsable are skipped (OpenSSH does the same for the last kind).
    pub fn parse(text: &str) -> Self {
        let entries = text.lines().filter_map(parse_line).collect();
        Self {
            entries,
            origin: None,
        }
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Ok(Self {
            origin: Some(path.to_owned()),
            ..Self::parse(&text)
        })
    }

    /// Like [`Self::load`], but a missing file is an empty one.
    pub fn load_or_empty(path: &Path) -> std::io::Result<Self> {
        match Self::load(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                entries: Vec::new(),
                origin: Some(path.to_owned()),
            }),
            other => other,
        }
    }

    /// The keys on record for `host` (a `known_hosts` name), in file order.
    pub fn keys_for(&self, host: &str) -> Vec<&PublicKey> {
        self.entries
            .iter()
            .filter(|e| !e.revoked && host_matches(host, &e.patterns))
            .map(|e| &e.key)
            .collect()
    }

    /// `(name, key)` for every plain entry: one literal name per pattern, no wildcard,
    /// negation or marker. These are the entries ict itself writes.
    pub fn plain_entries(&self) -> Vec<(String, PublicKey)> {
        self.entries
            .iter()
            .filter(|e| !e.revoked)
            .flat_map(|e| {
                e.patterns
                    .iter()
                    .filter(|p| !p.contains(['*', '?', '!', '|']))
                    .map(|p| (p.clone(), e.key.clone()))
            })
            .collect()
    }

    /// How many entries were parsed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry was parsed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl HostKeyVerifier for KnownHosts {
    fn check(&self, host: &str, key: &PublicKey) -> Verdict {
        let revoked = self
            .entries
            .iter()
            .any(|e| e.revoked && e.key.key_data() == key.key_data());
        if revoked {
            return Verdict::Revoked;
        }
        let known = self.keys_for(host);
        if known.iter().any(|k| k.key_data() == key.key_data()) {
            return Verdict::Known;
        }
        // Prefer the recorded key of the same algorithm for the "expected" fingerprint.
        let expected = known
            .iter()
            .find(|k| k.algorithm() == key.algorithm())
            .or_else(|| known.first());
        match expected {
            Some(expected) => Verdict::Changed {
                expected: (*expected).clone(),
            },
            None => Verdict::Unknown,
        }
    }

    fn source_name(&self) -> String {
        match &self.origin {
            Some(path) => path.display().to_string(),
            None => "the known_hosts data".to_owned(),
        }
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let mut revoked = false;
    if let Some(marker) = first.strip_prefix('@') {
        match marker {
            "revoked" => revoked = true,
            _ => return None, // @cert-authority: host certificates are not trusted by ict
        }
        first = fields.next()?;
    }
    let algorithm = fields.next()?;
    let base64 = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{algorithm} {base64}")).ok()?;
    let patterns = first.split(',').map(str::to_owned).collect();
    Some(Entry {
        revoked,
        patterns,
        key,
    })
}

/// OpenSSH semantics: the host matches when some positive pattern matches and no negated one.
fn host_matches(host: &str, patterns: &[String]) -> bool {
    let mut positive = false;
    for pattern in patterns {
        if let Some(hashed) = pattern.strip_prefix("|1|") {
            positive |= hashed_matches(host, hashed);
        } else if let Some(negated) = pattern.strip_prefix('!') {
            if glob(negated.as_bytes(), host.as_bytes()) {
                return false;
            }
        } else if glob(pattern.as_bytes(), host.as_bytes()) {
            positive = true;
        }
    }
    positive
}

/// `salt|hash` (both base64) of a hashed name: hash = HMAC-SHA1(key = salt, host).
fn hashed_matches(host: &str, salt_and_hash: &str) -> bool {
    use russh::keys::ssh_encoding::base64::{Base64, Encoding};
    let Some((salt, hash)) = salt_and_hash.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (Base64::decode_vec(salt), Base64::decode_vec(hash)) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salt);
    ring::hmac::verify(&key, host.as_bytes(), &hash).is_ok()
}

/// `*` and `?` wildcards, case-sensitive (`known_hosts` names are lower-case addresses/names).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Renders `host key-type base64` lines (no comments), in the order given.
pub fn render(entries: &[(String, PublicKey)]) -> String {
    let mut out = String::new();
    for (host, key) in entries {
        // Encoding a key that was decoded or negotiated cannot fail; skip it defensively.
        if let Ok(text) = without_comment(key).to_openssh() {
            out.push_str(host);
            out.push(' ');
            out.push_str(text.trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::host_keys::fingerprint;

    const A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIGW6m3twJMyFXyFINNTLIVcZUNQJ6EligRcGn7eer+AA";
    const B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIKlyv1DkJV9koeZEJ8FupvL1W5gdUvXhxa/P6toALZbP";

    fn key(b64: &str) -> PublicKey {
        PublicKey::from_openssh(&format!("ssh-ed25519 {b64}")).expect("test key parses")
    }

    #[test]
    fn verdicts_for_bracketed_port_form() {
        let file = KnownHosts::parse(&format!(
            "# comment\n\n[127.0.0.1]:22001 ssh-ed25519 {A} host1\n10.0.0.1 ssh-ed25519 {B}\n"
        ));
        assert_eq!(file.len(), 2);
        assert_eq!(file.check("[127.0.0.1]:22001", &key(A)), Verdict::Known);
        assert_eq!(file.check("10.0.0.1", &key(B)), Verdict::Known);
        assert_eq!(
            file.check("[127.0.0.1]:22001", &key(B)),
            Verdict::Changed { expected: key(A) }
        );
        assert_eq!(file.check("[127.0.0.1]:22002", &key(A)), Verdict::Unknown);
        assert_eq!(
            file.check("127.0.0.1", &key(A)),
            Verdict::Unknown,
            "port 22 is a different name"
        );
    }

    #[test]
    fn patterns_wildcards_and_negation() {
        let file = KnownHosts::parse(&format!("web-*,!web-9,db ssh-ed25519 {A}\n"));
        assert_eq!(file.check("web-1", &key(A)), Verdict::Known);
        assert_eq!(file.check("db", &key(A)), Verdict::Known);
        assert_eq!(file.check("web-9", &key(A)), Verdict::Unknown);
        assert_eq!(file.check("dbx", &key(A)), Verdict::Unknown);
        assert!(glob(b"a?c*", b"abcdef"));
        assert!(!glob(b"a?c", b"abcd"));
        assert!(glob(b"*", b""));
    }

    #[test]
    fn revoked_and_skipped_lines() {
        let file = KnownHosts::parse(&format!(
            "@revoked * ssh-ed25519 {B}\n@cert-authority *.example ssh-ed25519 {A}\n\
             |1|c2FsdA==|aGFzaA== ssh-ed25519 {A}\nbroken line\nh ssh-ed25519 not-base64\n\
             h ssh-ed25519 {B}\n"
        ));
        assert_eq!(
            file.len(),
            3,
            "the @revoked, the hashed and the last line parse"
        );
        assert_eq!(file.check("h", &key(B)), Verdict::Revoked);
        assert_eq!(file.check("x.example", &key(A)), Verdict::Unknown);
    }

    #[test]
    fn hashed_names_written_by_ssh_keygen_match() {
        // `ssh-keygen -H` of "[127.0.0.1]:2222 … A" and "web-1 … B".
        let file = KnownHosts::parse(&format!(
            "|1|wwnQin+gCcJJxxA8YhpEmZHDkzo=|x7cs2HFZOLJ3PvDrTHMMn1gyKBE= ssh-ed25519 {A}\n\
             |1|mPIQ1rtuuamwgGys78Oru49Qgws=|l2IEQL04b8tJ+Kx7b/y08PjVO58= ssh-ed25519 {B}\n"
        ));
        assert_eq!(file.check("[127.0.0.1]:2222", &key(A)), Verdict::Known);
        assert_eq!(file.check("web-1", &key(B)), Verdict::Known);
        assert_eq!(
            file.check("web-1", &key(A)),
            Verdict::Changed { expected: key(B) }
        );
        assert_eq!(file.check("web-2", &key(B)), Verdict::Unknown);
        assert_eq!(file.check("[127.0.0.1]:2223", &key(A)), Verdict::Unknown);
        assert!(
            file.plain_entries().is_empty(),
            "hashed names are not plain entries"
        );
    }

    #[test]
    fn render_then_parse_round_trips() {
        let entries = vec![("[h]:2222".to_owned(), key(A)), ("g".to_owned(), key(B))];
        let text = render(&entries);
        assert_eq!(
            text,
            format!("[h]:2222 ssh-ed25519 {A}\ng ssh-ed25519 {B}\n")
        );
        let back = KnownHosts::parse(&text).plain_entries();
        let fps: Vec<(String, String)> = back
            .iter()
            .map(|(h, k)| (h.clone(), fingerprint(k)))
            .collect();
        assert_eq!(
            fps,
            vec![
                ("[h]:2222".to_owned(), fingerprint(&key(A))),
                ("g".to_owned(), fingerprint(&key(B)))
            ]
        );
    }
}
