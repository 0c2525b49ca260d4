//! The fact cache of an environment (`.ict/<env>/facts/`): Ansible's `jsonfile` cache in
//! `facts/ansible/`, and `facts/keys.json`, the pinned host key each host had when its facts
//! were kept. A host whose key is another now is another machine under the same name (a server
//! replaced): its facts (and the Python interpreter found on it) are forgotten before Ansible
//! runs. May depend on `atomic`.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// An environment's fact cache.
#[derive(Debug, Clone)]
pub struct FactCache {
    root: PathBuf,
}

impl FactCache {
    /// The cache in `root` (`.ict/<env>/facts`).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The folder Ansible's `jsonfile` cache plugin keeps facts in.
    pub fn ansible_dir(&self) -> PathBuf {
        self.root.join("ansible")
    }

    /// Forgets the facts of every host whose key (`keys`: host name → fingerprint of its
    /// pinned key) is not the one it had when they were kept, then records `keys`.
    pub fn forget_other_machines(&self, keys: &BTreeMap<String, String>) -> std::io::Result<()> {
        let record = self.root.join("keys.json");
        let before: BTreeMap<String, String> = std::fs::read_to_string(&record)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        if &before == keys {
            return Ok(());
        }
        let other = |host: &str| before.get(host) != keys.get(host);
        for entry in std::fs::read_dir(self.ansible_dir())
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            let file = entry.file_name().to_string_lossy().into_owned();
            // Ansible names a host's file after it, behind a prefix ending in `_`.
            let host = file.split_once('_').map_or(file.as_str(), |(_, host)| host);
            if other(host) || other(&file) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        std::fs::create_dir_all(&self.root)?;
        let text = serde_json::to_string_pretty(keys).unwrap_or_default();
        crate::atomic::atomic_write(&record, text.as_bytes(), 0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_servers_facts_are_forgotten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = FactCache::new(dir.path().join("facts"));
        let keys = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(h, k)| ((*h).to_owned(), (*k).to_owned()))
                .collect()
        };
        cache
            .forget_other_machines(&keys(&[("web-1", "A"), ("web-2", "B")]))
            .expect("record");
        std::fs::create_dir_all(cache.ansible_dir()).expect("mkdir");
        for host in ["web-1", "web-2"] {
            std::fs::write(cache.ansible_dir().join(format!("s1_{host}")), "{}").expect("write");
        }
        cache
            .forget_other_machines(&keys(&[("web-1", "A"), ("web-2", "C")]))
            .expect("record");
        let left: Vec<String> = std::fs::read_dir(cache.ansible_dir())
            .expect("cache")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["s1_web-1"]);
    }
}
