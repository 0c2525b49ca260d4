//! The bounded on-disk history of samples: one JSON-lines file per host under
//! `.ict/<env>/watch/history/`, newest last, holding at most `keep` entries once compacted.
//!
//! Each tick appends one line per host (cheap, crash-tolerant: a torn last line is skipped on
//! load). When a file reaches twice `keep` lines it is rewritten with the last `keep` (temp
//! file + rename), and [`History::flush`] does the same for every host at shutdown. Loading
//! keeps the last `keep` valid lines, so the history survives restarts.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One sample of one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix seconds.
    pub at: u64,
    pub up: bool,
    /// The node figures (as JSON), when the host answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<serde_json::Value>,
    /// Why the host did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The last samples of every host, mirrored on disk.
#[derive(Debug)]
pub struct History {
    dir: PathBuf,
    keep: usize,
    hosts: BTreeMap<String, HostLog>,
}

#[derive(Debug, Default)]
struct HostLog {
    entries: VecDeque<Entry>,
    /// Lines in the file (compacted when it reaches `2 * keep`).
    lines: usize,
}

impl History {
    /// Opens (creating) `dir` and loads what earlier runs kept.
    pub fn open(dir: &Path, keep: usize) -> std::io::Result<History> {
        fs::create_dir_all(dir)?;
        let keep = keep.max(1);
        let mut hosts = BTreeMap::new();
        for item in fs::read_dir(dir)? {
            let path = item?.path();
            let (Some(host), Some("jsonl")) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            let text = fs::read_to_string(&path)?;
            let lines = text.lines().count();
            let parsed: Vec<Entry> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            let entries = parsed[parsed.len().saturating_sub(keep)..]
                .iter()
                .cloned()
                .collect();
            hosts.insert(host.to_owned(), HostLog { entries, lines });
        }
        Ok(History {
            dir: dir.to_owned(),
            keep,
            hosts,
        })
    }

    /// The kept entries of `host`, oldest first.
    pub fn entries(&self, host: &str) -> impl Iterator<Item = &Entry> {
        self.hosts
            .get(host)
            .into_iter()
            .flat_map(|h| h.entries.iter())
    }

    /// Hosts with a history, sorted.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.keys().map(String::as_str)
    }

    /// Appends `entry` for `host`, in memory and on disk.
    pub fn push(&mut self, host: &str, entry: Entry) -> std::io::Result<()> {
        let Some(path) = self.file(host) else {
            return Ok(());
        };
        let log = self.hosts.entry(host.to_owned()).or_default();
        let mut line = serde_json::to_string(&entry).map_err(std::io::Error::other)?;
        line.push('\n');
        log.entries.push_back(entry);
        while log.entries.len() > self.keep {
            log.entries.pop_front();
        }
        if log.lines + 1 >= 2 * self.keep {
            rewrite(&path, &log.entries)?;
            log.lines = log.entries.len();
        } else {
            let mut file = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(line.as_bytes())?;
            log.lines += 1;
        }
        Ok(())
    }

    /// Rewrites every file with only the kept entries (at shutdown).
    pub fn flush(&mut self) -> std::io::Result<()> {
        let keys: Vec<String> = self.hosts.keys().cloned().collect();
        for host in keys {
            if let (Some(path), Some(log)) = (self.file(&host), self.hosts.get_mut(&host)) {
                if log.lines != log.entries.len() {
                    rewrite(&path, &log.entries)?;
                    log.lines = log.entries.len();
                }
            }
        }
        Ok(())
    }

    /// The file of `host`; `None` for a name that cannot be a plain file name.
    fn file(&self, host: &str) -> Option<PathBuf> {
        let plain = !host.is_empty()
            && !host.starts_with('.')
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        plain.then(|| self.dir.join(format!("{host}.jsonl")))
    }
}

/// Writes `entries` to `path` atomically.
fn rewrite(path: &Path, entries: &VecDeque<Entry>) -> std::io::Result<()> {
    let mut text = String::new();
    for entry in entries {
        text.push_str(&serde_json::to_string(entry).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    crate::atomic::atomic_write(path, text.as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: u64) -> Entry {
        Entry {
            at,
            up: at.is_multiple_of(2),
            figures: Some(serde_json::json!({ "cpu_busy_percent": at })),
            error: None,
        }
    }

    #[test]
    fn keeps_the_last_entries_across_restarts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut h = History::open(dir.path(), 3).expect("open");
        for at in 0..10 {
            h.push("web-1", entry(at)).expect("push");
            let lines = fs::read_to_string(dir.path().join("web-1.jsonl"))
                .expect("file")
                .lines()
                .count();
            assert!(lines < 6, "the file is bounded: {lines} lines");
        }
        h.push("../evil", entry(1)).expect("ignored");
        drop(h);
        // A torn line from a crash is skipped.
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("web-1.jsonl"))
            .expect("append");
        f.write_all(b"{\"at\": 11, \"u").expect("write");
        let mut h = History::open(dir.path(), 3).expect("reopen");
        let ats: Vec<u64> = h.entries("web-1").map(|e| e.at).collect();
        assert_eq!(ats, [7, 8, 9]);
        assert_eq!(h.hosts().collect::<Vec<_>>(), ["web-1"]);
        h.flush().expect("flush");
        let text = fs::read_to_string(dir.path().join("web-1.jsonl")).expect("file");
        assert_eq!(text.lines().count(), 3);
    }
}
