//! The Ansible settings ict chooses for a run, and how the user's own settings win over them.
//!
//! ict hands its settings to `ansible-playbook` as environment variables (`ANSIBLE_PIPELINING`
//! and so on), each only when the user's configuration does not set it: neither the
//! `ansible.cfg` Ansible reads (found as Ansible finds it: `$ANSIBLE_CONFIG`, `./ansible.cfg`,
//! `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`) nor an `ANSIBLE_*` variable of ict's own
//! environment. The user's file is read by Ansible where it is (so its relative paths keep
//! meaning what they mean), and whatever it sets wins. [`Settings::env`] is pure; only
//! [`UserConfig::find`] reads files. May depend on nothing else in ict.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// At most this many hosts at once: Ansible forks a worker per host.
pub const FORKS_MAX: usize = 50;

/// The key exchanges Ansible's OpenSSH offers, curve25519 first: OpenSSH's default puts a
/// post-quantum hybrid first, which costs about 65 ms of client CPU per handshake (see the
/// bench README) — a second of a run on 50 hosts. Every name is known to OpenSSH 7.4 and
/// later (an unknown name is an error), the others are fallbacks for servers without
/// curve25519.
const KEX: &str = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,\
ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,\
diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";

/// The variables ict gives every host of a run (in the `all` group of the run's inventory, so a
/// group or host variable of the script's or the playbooks' own wins): Mitogen's SSH without
/// compression, as ict's `ssh_args` leave it off for Ansible's own SSH (whose default has `-C`).
/// Compressing costs CPU at both ends — a tenth of the controller's in a run on 50 hosts — and
/// the code Mitogen sends is compressed already.
pub const HOST_VARS: [(&str, bool); 1] = [("mitogen_ssh_compression", false)];

/// What ict chooses for one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How many hosts the run reaches (forks are sized to it, at most [`FORKS_MAX`]).
    pub hosts: usize,
    /// The folder of the SSH control sockets (short: a socket path has at most 107 bytes).
    pub control_dir: PathBuf,
    /// The fact cache (`.ict/<env>/facts`).
    pub fact_cache: PathBuf,
    /// Ansible's local temporary folder (inside the run's private folder).
    pub local_temp: PathBuf,
    /// Mitogen's strategy plugins, when Ansible can use them (see `mitogen`).
    pub mitogen: Option<PathBuf>,
}

/// One Ansible setting ict chooses: where a user sets it (any of `ini` as `section.key`, any of
/// the environment variables `env`; the first is the one ict sets), and ict's value.
struct Choice {
    ini: &'static [&'static str],
    env: &'static [&'static str],
    value: String,
}

impl Settings {
    /// The environment variables that carry ict's choices, leaving out every setting the user
    /// set (`user`). Also sets a related setting's variable only when the user set none of them
    /// (the fact cache plugin and its folder go together).
    pub fn env(&self, user: &UserConfig) -> Vec<(String, String)> {
        let forks = self.hosts.clamp(1, FORKS_MAX);
        let choices = [
            Choice {
                ini: &["defaults.forks"],
                env: &["ANSIBLE_FORKS"],
                value: forks.to_string(),
            },
            // One SSH command per task instead of five (no temporary files on the host).
            Choice {
                ini: &["ssh_connection.pipelining", "connection.pipelining"],
                env: &["ANSIBLE_PIPELINING", "ANSIBLE_SSH_PIPELINING"],
                value: "True".into(),
            },
            // One SSH handshake per host for the whole run; the masters are closed at its end.
            // Each handshake with curve25519 first, as ict's own SSH does (`ssh::session`).
            Choice {
                ini: &["ssh_connection.ssh_args"],
                env: &["ANSIBLE_SSH_ARGS"],
                value: format!(
                    "-o ControlMaster=auto -o ControlPersist=60s -o PasswordAuthentication=no \
                     -o KexAlgorithms={KEX}"
                ),
            },
            Choice {
                ini: &[
                    "ssh_connection.control_path_dir",
                    "ssh_connection.control_path",
                ],
                env: &["ANSIBLE_SSH_CONTROL_PATH_DIR", "ANSIBLE_SSH_CONTROL_PATH"],
                value: self.control_dir.display().to_string(),
            },
            // Facts are gathered once per host and kept; a play that gathers them finds them.
            Choice {
                ini: &["defaults.gathering"],
                env: &["ANSIBLE_GATHERING"],
                value: "smart".into(),
            },
            Choice {
                ini: &["defaults.fact_caching", "defaults.fact_caching_connection"],
                env: &["ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION"],
                value: "jsonfile".into(),
            },
            Choice {
                ini: &["defaults.fact_caching", "defaults.fact_caching_connection"],
                env: &["ANSIBLE_CACHE_PLUGIN_CONNECTION", "ANSIBLE_CACHE_PLUGIN"],
                value: self.fact_cache.display().to_string(),
            },
            // The interpreter is found once per host (the finding is a fact, so it is cached).
            Choice {
                ini: &["defaults.interpreter_python"],
                env: &["ANSIBLE_PYTHON_INTERPRETER"],
                value: "auto_silent".into(),
            },
            Choice {
                ini: &["defaults.host_key_checking"],
                env: &["ANSIBLE_HOST_KEY_CHECKING"],
                value: "True".into(),
            },
            Choice {
                ini: &["defaults.local_tmp"],
                env: &["ANSIBLE_LOCAL_TEMP"],
                value: self.local_temp.display().to_string(),
            },
            Choice {
                ini: &["defaults.retry_files_enabled"],
                env: &["ANSIBLE_RETRY_FILES_ENABLED"],
                value: "False".into(),
            },
        ];
        // One Python per host for the whole run, when Mitogen is there.
        let mitogen = self.mitogen.iter().flat_map(|plugins| {
            [
                Choice {
                    ini: &["defaults.strategy", "defaults.strategy_plugins"],
                    env: &["ANSIBLE_STRATEGY", "ANSIBLE_STRATEGY_PLUGINS"],
                    value: "mitogen_linear".into(),
                },
                Choice {
                    ini: &["defaults.strategy", "defaults.strategy_plugins"],
                    env: &["ANSIBLE_STRATEGY_PLUGINS", "ANSIBLE_STRATEGY"],
                    value: plugins.display().to_string(),
                },
            ]
        });
        choices
            .into_iter()
            .chain(mitogen)
            .filter(|c| !c.ini.iter().any(|k| user.ini.contains(*k)))
            .filter(|c| !c.env.iter().any(|v| user.env.contains(*v)))
            .map(|c| (c.env[0].to_owned(), c.value))
            .collect()
    }
}

/// What the user's own Ansible configuration sets: the `section.key` names of the `ansible.cfg`
/// Ansible reads, and the `ANSIBLE_*` variables of the environment.
#[derive(Debug, Clone, Default)]
pub struct UserConfig {
    /// The file, if there is one.
    pub file: Option<PathBuf>,
    ini: BTreeSet<String>,
    env: BTreeSet<String>,
}

impl UserConfig {
    /// Whether the user chose Ansible's strategy (then ict does not look for Mitogen).
    pub fn sets_strategy(&self) -> bool {
        self.ini.contains("defaults.strategy") || self.env.contains("ANSIBLE_STRATEGY")
    }

    /// The configuration Ansible started in `cwd` with this environment would read.
    pub fn find(cwd: &Path, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let file = config_file(cwd, var("ANSIBLE_CONFIG"), var("HOME"));
        let text = file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .unwrap_or_default();
        Self {
            file,
            ini: set_keys(&text),
            env: vars
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| k.starts_with("ANSIBLE_"))
                .collect(),
        }
    }
}

/// The file Ansible reads its settings from, as it chooses it: `$ANSIBLE_CONFIG` (a file, or a
/// folder holding `ansible.cfg`), `ansible.cfg` in the working folder unless others can write
/// that folder, `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`; the first that exists.
fn config_file(cwd: &Path, from_env: Option<String>, home: Option<String>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let from_env = from_env.map(|p| {
        let p = PathBuf::from(p);
        if p.is_dir() {
            p.join("ansible.cfg")
        } else {
            p
        }
    });
    let world_writable = std::fs::metadata(cwd).is_ok_and(|m| m.permissions().mode() & 0o002 != 0);
    let here = (!world_writable).then(|| cwd.join("ansible.cfg"));
    let home = home.map(|h| Path::new(&h).join(".ansible.cfg"));
    [
        from_env,
        here,
        home,
        Some(PathBuf::from("/etc/ansible/ansible.cfg")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_file())
}

/// The `section.key` names an INI file sets (lower case, as Ansible's parser reads them);
/// comments (`#`, `;`) and continuation lines are skipped.
fn set_keys(text: &str) -> BTreeSet<String> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            name.trim().clone_into(&mut section);
            continue;
        }
        let key = line.split(['=', ':']).next().unwrap_or_default().trim();
        if !key.is_empty() {
            keys.insert(format!("{section}.{}", key.to_lowercase()));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            hosts: 80,
            control_dir: PathBuf::from("/tmp/cp"),
            fact_cache: PathBuf::from("/p/.ict/dev/facts"),
            local_temp: PathBuf::from("/p/.ict/dev/ansible-x/tmp"),
            mitogen: None,
        }
    }

    fn user(cfg: &str, env: &[&str]) -> UserConfig {
        UserConfig {
            file: None,
            ini: set_keys(cfg),
            env: env.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn value<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn ict_chooses_every_setting_the_user_leaves_unset() {
        let env = settings().env(&UserConfig::default());
        assert_eq!(
            env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            [
                "ANSIBLE_FORKS",
                "ANSIBLE_PIPELINING",
                "ANSIBLE_SSH_ARGS",
                "ANSIBLE_SSH_CONTROL_PATH_DIR",
                "ANSIBLE_GATHERING",
                "ANSIBLE_CACHE_PLUGIN",
                "ANSIBLE_CACHE_PLUGIN_CONNECTION",
                "ANSIBLE_PYTHON_INTERPRETER",
                "ANSIBLE_HOST_KEY_CHECKING",
                "ANSIBLE_LOCAL_TEMP",
                "ANSIBLE_RETRY_FILES_ENABLED",
            ]
        );
        assert_eq!(
            value(&env, "ANSIBLE_FORKS"),
            Some("50"),
            "at most FORKS_MAX"
        );
        assert_eq!(value(&env, "ANSIBLE_GATHERING"), Some("smart"));
        assert!(value(&env, "ANSIBLE_SSH_ARGS").is_some_and(|args| args.ends_with(
            " -o KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,\
             ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,\
             diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
        )));
        let few = Settings {
            hosts: 3,
            ..settings()
        };
        assert_eq!(
            value(&few.env(&UserConfig::default()), "ANSIBLE_FORKS"),
            Some("3")
        );
    }

    #[test]
    fn a_setting_in_the_users_ansible_cfg_or_environment_wins() {
        let cfg = "\
# mine
[defaults]
Forks = 7
; gathering = explicit
fact_caching = redis
  continued = line

[ssh_connection]
pipelining: False
";
        let env = settings().env(&user(cfg, &["ANSIBLE_PYTHON_INTERPRETER"]));
        for gone in [
            "ANSIBLE_FORKS",
            "ANSIBLE_PIPELINING",
            "ANSIBLE_CACHE_PLUGIN",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION",
            "ANSIBLE_PYTHON_INTERPRETER",
        ] {
            assert_eq!(value(&env, gone), None, "{gone}");
        }
        assert_eq!(
            value(&env, "ANSIBLE_GATHERING"),
            Some("smart"),
            "a comment sets nothing"
        );
        let env = settings().env(&user("", &["ANSIBLE_CACHE_PLUGIN_CONNECTION"]));
        assert_eq!(
            value(&env, "ANSIBLE_CACHE_PLUGIN"),
            None,
            "the cache goes as a pair"
        );
    }

    #[test]
    fn mitogen_s_strategy_is_used_when_it_is_there_and_the_user_chose_none() {
        let with = Settings {
            mitogen: Some(PathBuf::from("/m/ansible_mitogen/plugins/strategy")),
            ..settings()
        };
        let env = with.env(&UserConfig::default());
        assert_eq!(value(&env, "ANSIBLE_STRATEGY"), Some("mitogen_linear"));
        assert_eq!(
            value(&env, "ANSIBLE_STRATEGY_PLUGINS"),
            Some("/m/ansible_mitogen/plugins/strategy")
        );
        let env = with.env(&user("[defaults]\nstrategy = free\n", &[]));
        assert_eq!(value(&env, "ANSIBLE_STRATEGY"), None);
        assert_eq!(value(&env, "ANSIBLE_STRATEGY_PLUGINS"), None);
        assert_eq!(
            value(&settings().env(&UserConfig::default()), "ANSIBLE_STRATEGY"),
            None
        );
    }

    #[test]
    fn the_config_file_is_found_as_ansible_finds_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (project, home) = (dir.path().join("project"), dir.path().join("home"));
        std::fs::create_dir_all(&project).expect("mkdir");
        std::fs::create_dir_all(&home).expect("mkdir");
        let home_cfg = home.join(".ansible.cfg");
        std::fs::write(&home_cfg, "[defaults]\nforks = 2\n").expect("write");
        let home_var = Some(home.display().to_string());
        assert_eq!(
            config_file(&project, None, home_var.clone()),
            Some(home_cfg)
        );
        std::fs::write(project.join("ansible.cfg"), "").expect("write");
        assert_eq!(
            config_file(&project, None, home_var.clone()),
            Some(project.join("ansible.cfg"))
        );
        let custom = home.join("custom.cfg");
        std::fs::write(&custom, "").expect("write");
        assert_eq!(
            config_file(&project, Some(custom.display().to_string()), home_var),
            Some(custom)
        );
    }
}
