//! The shell scripts a run sends to each host, built as plain strings (pure, unit-tested).
//!
//! Layout on a host: `<path>/releases/<id>/` (one checkout per release, owned by the pipeline's
//! user, with its 0600 `.ict-env`), `<path>/current` (a symlink switched atomically with
//! `ln -s` to a temporary name + `mv -T`), `<path>/app.pid` and `<path>/app.log` when the
//! service is supervised without systemd. Every value that reaches the shell is quoted with
//! [`crate::shell::quote`]; `path` and `user` were checked when the script declared them.

use std::fmt::Write as _;
use std::path::Path;

use crate::model::{Pipeline, Sandbox};
use crate::shell::quote;

/// `PATH` for stages and the service (they start from an empty environment).
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The line [`Scripts::prepare`] prints when the host can run stages in a bubblewrap container.
pub const SANDBOX_READY: &str = "ict-sandbox: bubblewrap";

/// The stage container's system view: everything read-only, a fresh `/dev`, `/proc`, `/tmp`.
const CONTAINER_MOUNTS: &str = "--ro-bind / / --dev /dev --proc /proc --perms 1777 --tmpfs /tmp";

/// The stage container's own namespaces (the network is shared).
const CONTAINER_NAMESPACES: &str = "--unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try";

/// Builds the scripts of one pipeline on one host.
#[derive(Debug, Clone)]
pub struct Scripts<'a> {
    pub pipeline: &'a Pipeline,
    /// Whether the login user is root (else commands go through `sudo -n`).
    pub root: bool,
}

impl Scripts<'_> {
    fn path(&self) -> String {
        quote(&self.pipeline.path)
    }

    fn user(&self) -> String {
        quote(&self.pipeline.user)
    }

    fn release(&self, id: &str) -> String {
        quote(&format!("{}/releases/{id}", self.pipeline.path))
    }

    /// Wraps a script to run as root.
    pub(super) fn privileged(&self, script: &str) -> String {
        if self.root {
            script.to_owned()
        } else {
            format!("sudo -n sh -c {}", quote(script))
        }
    }

    /// Runs `command` as the pipeline's user, in an empty environment plus the release's
    /// `.ict-env` (from the current directory). `setpriv` switches user and then is the
    /// command, with no process of its own left above it: `runuser` would stay as its parent
    /// and, when stopped, wait 2 s and kill the command, however long its graceful stop takes.
    pub(super) fn as_user(&self, command: &str) -> String {
        let user = self.user();
        format!(
            "setpriv --reuid=\"$(id -u {user})\" --regid=\"$(id -g {user})\" --init-groups -- env -i HOME={} PATH={PATH} LANG=C.UTF-8 sh -c 'set -a; . ./.ict-env; set +a; eval \"$1\"' sh {}",
            self.path(),
            quote(command)
        )
    }

    /// Creates the system user and the folders if missing; checks that git is there and, unless
    /// `sandbox` is off, whether bubblewrap can make a container here (printing
    /// [`SANDBOX_READY`] if so; failing if not and `sandbox` is on).
    pub fn prepare(&self) -> String {
        let (user, path) = (self.user(), self.path());
        // [`Scripts::stage`]'s container, with nothing inside.
        let probe = format!("bwrap {CONTAINER_MOUNTS} {CONTAINER_NAMESPACES} true >/dev/null 2>&1");
        let sandbox = match self.pipeline.sandbox {
            Sandbox::Off => String::new(),
            Sandbox::Auto => format!("if {probe}; then echo '{SANDBOX_READY}'; fi\n"),
            Sandbox::On => format!(
                "if {probe}; then echo '{SANDBOX_READY}'; else echo 'bubblewrap (bwrap) is not installed or cannot make a container on this host: install it (apt-get install bubblewrap), or declare `sandbox: \"auto\"`' >&2; exit 1; fi\n"
            ),
        };
        self.privileged(&format!(
            "set -e\n\
             command -v git >/dev/null || {{ echo 'git is not installed on this host' >&2; exit 1; }}\n\
             command -v setpriv >/dev/null || {{ echo 'setpriv (util-linux) is not installed on this host' >&2; exit 1; }}\n\
             id -u {user} >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir {path} --shell /bin/sh {user}\n\
             mkdir -p {path}/releases\n\
             chown {user}: {path} {path}/releases\n\
             {sandbox}"
        ))
    }

    /// Checks `commit` out into a new release folder owned by the pipeline's user.
    pub fn fetch(&self, id: &str, repo: &str, ref_name: &str, commit: &str) -> String {
        let (dir, repo, commit) = (self.release(id), quote(repo), quote(commit));
        self.privileged(&format!(
            "set -e\n\
             rm -rf {dir}\nmkdir -p {dir}\ncd {dir}\n\
             git init -q .\n\
             export GIT_TERMINAL_PROMPT=0\n\
             git fetch -q --depth 1 {repo} {commit} 2>/dev/null || git fetch -q {repo} {}\n\
             git -c advice.detachedHead=false checkout -q --detach {commit}\n\
             chown -R {}: {dir}\n",
            quote(ref_name),
            self.user()
        ))
    }

    /// The command that runs, as root, a script sent on standard input — for scripts that
    /// carry secrets, which must not show in any process list: the script is saved to a 0600
    /// temporary file, run with no input, and removed.
    pub(super) fn stdin_script(&self) -> String {
        self.privileged(
            "f=$(mktemp) && cat > \"$f\" && sh \"$f\" < /dev/null; rc=$?; rm -f \"$f\"; exit $rc",
        )
    }

    /// Writes the release's 0600 `.ict-env` (`KEY='value'` lines), owned by the user. Holds
    /// secrets: run it with [`Scripts::stdin_script`].
    pub fn env_file(&self, id: &str, vars: &[(String, String)], delimiter: &str) -> String {
        let dir = self.release(id);
        let mut body = String::new();
        for (k, v) in vars {
            let _ = writeln!(body, "{k}={}", quote(v));
        }
        format!(
            "set -e\numask 077\ncat > {dir}/.ict-env <<'{delimiter}'\n{body}{delimiter}\n\
             chown {}: {dir}/.ict-env\nchmod 600 {dir}/.ict-env\n",
            self.user()
        )
    }

    /// Runs one stage in the release folder as the user; stderr is merged into stdout. In a
    /// bubblewrap container when `sandboxed`: the system read-only, the pipeline's folder
    /// writable but its other releases read-only, a private `/tmp`, `/dev` and process table;
    /// the network is shared (builds download their dependencies).
    pub fn stage(&self, id: &str, command: &str, sandboxed: bool) -> String {
        let release = self.release(id);
        let run = self.as_user(command);
        let run = if sandboxed {
            let path = self.path();
            // A pipeline folder under /tmp: its parents in the private /tmp must be passable.
            let tmp = Path::new("/tmp");
            let mut dirs: Vec<&Path> = Path::new(&self.pipeline.path)
                .ancestors()
                .skip(1)
                .take_while(|d| d.starts_with(tmp) && *d != tmp)
                .collect();
            dirs.reverse();
            let mut parents = String::new();
            for dir in dirs {
                let _ = write!(
                    parents,
                    "--perms 0755 --dir {} ",
                    quote(&dir.to_string_lossy())
                );
            }
            format!(
                "bwrap {CONTAINER_MOUNTS} {parents}\
                 --bind {path} {path} --ro-bind {path}/releases {path}/releases \
                 --bind {release} {release} --chdir {release} \
                 {CONTAINER_NAMESPACES} --die-with-parent -- {run}"
            )
        } else {
            run
        };
        self.privileged(&format!("cd {release} && {run} 2>&1"))
    }

    /// Points `current` at the release, atomically.
    pub fn switch(&self, id: &str) -> String {
        let path = self.path();
        let link = quote(&format!(".current-{id}"));
        let target = quote(&format!("releases/{id}"));
        self.privileged(&format!(
            "set -e\ncd {path}\n[ -d {target} ]\nln -sfn {target} {link}\nmv -T {link} current\n"
        ))
    }

    /// (Re)starts the service from `current`: a systemd unit when systemd is PID 1, else a
    /// process in its own session whose PID is kept in `app.pid`. Fails when the new process
    /// is gone a second later.
    pub fn restart(&self, command: &str) -> String {
        let p = &self.pipeline;
        let (path, user, name) = (self.path(), self.user(), quote(&format!("ict-{}", p.name)));
        let unit = format!(
            "[Unit]\nDescription=ict pipeline {}\nAfter=network.target\n\n[Service]\nUser={}\n\
             WorkingDirectory={}/current\nEnvironmentFile={}/current/.ict-env\n\
             Environment=HOME={} PATH={PATH}\nExecStart=/bin/sh -c {}\nRestart=on-failure\n\n\
             [Install]\nWantedBy=multi-user.target\n",
            p.name,
            p.user,
            p.path,
            p.path,
            p.path,
            quote(command)
        );
        let start = self.as_user(command);
        self.privileged(&format!(
            "set -e\n\
             if [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ]; then\n\
             cat > /etc/systemd/system/{name}.service <<'ICT_UNIT'\n{unit}ICT_UNIT\n\
             systemctl daemon-reload\nsystemctl enable -q {name}\nsystemctl restart {name}\n\
             sleep 1\nsystemctl is-active -q {name} || {{ journalctl -u {name} -n 20 --no-pager; exit 1; }}\n\
             exit 0\nfi\n\
             {stop}\
             cd {path}/current\n\
             setsid {start} >> {path}/app.log 2>&1 < /dev/null &\n\
             echo $! > {path}/app.pid\n\
             sleep 1\n\
             kill -0 \"$(cat {path}/app.pid)\" 2>/dev/null || {{ echo 'the service exited at once; the end of app.log:'; tail -n 20 {path}/app.log; exit 1; }}\n\
             chown {user}: {path}/app.log\n",
            stop = self.stop_script()
        ))
    }

    /// Stops the supervised process (its whole process group), if running.
    fn stop_script(&self) -> String {
        let path = self.path();
        format!(
            "if [ -f {path}/app.pid ]; then\n\
             pid=$(cat {path}/app.pid)\n\
             if [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null; then\n\
             kill -TERM -- \"-$pid\" 2>/dev/null || kill -TERM \"$pid\" 2>/dev/null || true\n\
             i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done\n\
             kill -KILL -- \"-$pid\" 2>/dev/null || true\n\
             fi\n\
             rm -f {path}/app.pid\n\
             fi\n"
        )
    }

    /// Prints the release `current` points at (nothing when there is none).
    pub fn current(&self) -> String {
        self.privileged(&format!(
            "[ -L {path}/current ] && basename \"$(readlink {path}/current)\" || true",
            path = self.path()
        ))
    }

    /// Stops the service and removes `current` (a first release that never came up).
    pub fn stop(&self) -> String {
        let name = quote(&format!("ict-{}", self.pipeline.name));
        self.privileged(&format!(
            "if [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ]; then systemctl disable -q --now {name} || true\n\
             else\n{stop}fi\nrm -f {path}/current\n",
            stop = self.stop_script(),
            path = self.path()
        ))
    }

    /// Removes all but the newest `keep` releases, never the current one.
    pub fn prune(&self) -> String {
        let path = self.path();
        self.privileged(&format!(
            "cd {path}/releases || exit 0\n\
             cur=$(basename \"$(readlink {path}/current)\")\n\
             ls -1 | sort | head -n -{} | while read -r r; do [ \"$r\" = \"$cur\" ] || rm -rf -- \"$r\"; done\n",
            self.pipeline.keep
        ))
    }

    /// Removes a release that did not pass (never the current one).
    pub fn discard(&self, id: &str) -> String {
        let path = self.path();
        self.privileged(&format!(
            "cur=$(basename \"$(readlink {path}/current 2>/dev/null)\")\n\
             [ \"$cur\" = {} ] || rm -rf -- {}\n",
            quote(id),
            self.release(id)
        ))
    }

    /// Whether the release is still kept: exits 0 if so.
    pub fn has_release(&self, id: &str) -> String {
        self.privileged(&format!("[ -d {} ]", self.release(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> Pipeline {
        let d = crate::script::evaluate_text(
            r#"server("web-1");
            pipeline("app", #{ repo: "file:///r.git", preset: "python", path: "/srv/app", keep: 2,
                environments: #{ dev: #{ refs: ["main"] } } });"#,
        )
        .expect("valid");
        d.pipelines["app"].clone()
    }

    #[test]
    fn scripts_name_the_release_and_switch_atomically() {
        let p = pipeline();
        let s = Scripts {
            pipeline: &p,
            root: true,
        };
        let switch = s.switch("20250101T000000Z-abc1234");
        assert!(
            switch.contains(
                "ln -sfn 'releases/20250101T000000Z-abc1234' '.current-20250101T000000Z-abc1234'"
            ),
            "{switch}"
        );
        assert!(
            switch.contains("mv -T '.current-20250101T000000Z-abc1234' current"),
            "{switch}"
        );
        assert!(s.prune().contains("head -n -2"));
        let stage = s.stage("r1", "python3 -m unittest", false);
        assert!(
            stage.starts_with("cd '/srv/app/releases/r1' && setpriv --reuid=\"$(id -u 'app')\" --regid=\"$(id -g 'app')\" --init-groups -- env -i"),
            "{stage}"
        );
        let contained = s.stage("r1", "python3 -m unittest", true);
        assert!(
            contained.starts_with("cd '/srv/app/releases/r1' && bwrap --ro-bind / / "),
            "{contained}"
        );
        for part in [
            "--bind '/srv/app' '/srv/app' --ro-bind '/srv/app'/releases '/srv/app'/releases --bind '/srv/app/releases/r1' '/srv/app/releases/r1' ",
            "--perms 1777 --tmpfs /tmp ",
            "--unshare-pid ",
            "-- setpriv --reuid=\"$(id -u 'app')\" --regid=\"$(id -g 'app')\" --init-groups -- env -i",
        ] {
            assert!(contained.contains(part), "{part}: {contained}");
        }
        assert!(s.prepare().contains(SANDBOX_READY));
        let mut under_tmp = p.clone();
        under_tmp.path = "/tmp/ci/srv/app".into();
        let stage = Scripts {
            pipeline: &under_tmp,
            root: true,
        }
        .stage("r1", "true", true);
        assert!(
            stage.contains("--tmpfs /tmp --perms 0755 --dir '/tmp/ci' --perms 0755 --dir '/tmp/ci/srv' --bind '/tmp/ci/srv/app' "),
            "{stage}"
        );
        let sudo = Scripts {
            pipeline: &p,
            root: false,
        };
        assert!(sudo.prepare().starts_with("sudo -n sh -c 'set -e"));
    }

    #[test]
    fn a_script_on_standard_input_runs_without_input_and_leaves_no_file() {
        let p = pipeline();
        let s = Scripts {
            pipeline: &p,
            root: true,
        };
        let mut child = std::process::Command::new("sh")
            .args(["-c", &s.stdin_script()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            b"echo \"file $0\"; cat; echo done; exit 4\n",
        )
        .unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(4), "{text}");
        let file = text.lines().next().unwrap().trim_start_matches("file ");
        assert!(text.ends_with("done\n"), "{text}");
        assert!(!std::path::Path::new(file).exists(), "{file} is removed");
    }

    #[test]
    fn env_files_are_shell_readable() {
        let p = pipeline();
        let s = Scripts {
            pipeline: &p,
            root: true,
        };
        let dir = tempfile::tempdir().expect("tmp");
        let script = s.env_file(
            "r1",
            &[("A".into(), "x y'z".into()), ("B".into(), "$HOME".into())],
            "ICT_END",
        );
        // Run the heredoc part locally against a temp folder.
        let local = script
            .replace(
                "'/srv/app/releases/r1'",
                &quote(&dir.path().display().to_string()),
            )
            .lines()
            .filter(|l| !l.starts_with("chown"))
            .collect::<Vec<_>>()
            .join("\n");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{local}\n. {}/.ict-env; printf '%s|%s' \"$A\" \"$B\"",
                dir.path().display()
            ))
            .output()
            .expect("sh");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "x y'z|$HOME",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
