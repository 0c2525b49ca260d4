//! The commands that start a server's machine and enter it, as plain programs and arguments
//! (pure; the scripts are constants). [`boot`] runs, with the server's folder as working
//! directory: `setpriv --pdeathsig KILL` (the machine dies with the emulator, even one that
//! was killed) `setsid` (a session of its own) `unshare --mount --uts --ipc --pid --fork
//! --kill-child` (new namespaces; the forked child is the machine's PID 1) `sh -c BOOT`.
//! [`enter`] is `setsid nsenter` into all of them, with the machine's root.
//!
//! A session of its own, for the machine and for each connection, is also what the scheduler
//! shares the CPU by (Linux's autogroups): each server gets its share next to this computer's
//! other work, as a machine of its own would, instead of all servers sharing the emulator's.
//! Depends on `needs`.

use std::ffi::OsString;
use std::path::Path;

/// The boot script, run as the new namespaces' PID 1 in the server's folder, with the hostname
/// as `$1`, the folder as `$2` and [`INIT`] as `$3`. It locks the disk (one machine per disk, even across
/// emulators), mounts it (`disk/`), the overlay of this computer's root and the disk's `upper/`
/// (`root/`, relative paths so that no folder name can break the mount options), then inside
/// it `/proc`, a read-only `/sys`, a minimal `/dev` (like bubblewrap's `--dev`), `/dev/shm` and
/// `/run`; installs ict's `sshd_config`, sets the hostname, switches root (`pivot_root`, then
/// detaches this computer's tree) and becomes [`INIT`]. Any failure ends it with the reason on
/// standard error (`boot.log`). Reads its own PID in this computer's `/proc` for [`INIT`] to
/// report, since inside the namespace it is 1.
pub(super) const BOOT: &str = r#"set -eu
exec 9<disk.img
flock -n 9 || { echo "disk.img is in use by another machine (is another emulator serving this server?)" >&2; exit 1; }
mount -o loop,noatime,noinit_itable,discard disk.img disk
if [ -d seed.d/upper ]; then cp -a seed.d/upper/. disk/upper/ && rm -rf seed.d; fi
mount -t overlay overlay -o lowerdir=/,upperdir=disk/upper,workdir=disk/work root
mount -t proc -o nosuid,nodev,noexec proc root/proc
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs root/sys
mount -t tmpfs -o mode=755,size=1m,nosuid tmpfs root/dev
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty root/dev/
mkdir root/dev/pts root/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts root/dev/pts
ln -s pts/ptmx root/dev/ptmx
ln -s /proc/self/fd root/dev/fd
ln -s /proc/self/fd/0 root/dev/stdin
ln -s /proc/self/fd/1 root/dev/stdout
ln -s /proc/self/fd/2 root/dev/stderr
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs root/dev/shm
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs root/run
mkdir -p root/run/sshd root/run/lock root/run/ict-old
install -D -m 644 sshd_config root/etc/ict/sshd_config
printf '%s\n' "$1" > /proc/sys/kernel/hostname
rc=; [ -f disk/upper/etc/rc.local ] && rc=1
read -r pid rest < /proc/self/stat
cd root
pivot_root . run/ict-old
exec chroot . /bin/bash -c "$3" ict-init "$pid" "$2" "$rc"
"#;

/// The machine's init (bash, which reaps the orphans it adopts): reports `ready <PID>` on
/// standard output, lets go of the emulator's pipes, starts the server's services — its own
/// `/etc/rc.local` (`$3` is 1 when the file is on the server's disk, not only beneath it on
/// this computer), run at every boot as on a Debian without systemd, its output in
/// `/var/log/rc.local.log` — and sleeps. On SIGTERM it sends SIGTERM to every process of the
/// machine and waits for them for up to 2 s; when it exits, the kernel kills what is left.
/// `$2` (the server's folder) only names the machine in `ps`.
pub(super) const INIT: &str = r#"umount -l /run/ict-old && rmdir /run/ict-old
echo "ready $1"
exec </dev/null >/dev/null 2>&1
if [ "$3" = 1 ] && [ -x /etc/rc.local ]; then setsid /etc/rc.local >>/var/log/rc.local.log 2>&1 & fi
trap 'kill -TERM -1; n=0; while kill -0 -1 && [ $n -lt 40 ]; do sleep 0.05; n=$((n+1)); done; exit 0' TERM
while :; do sleep 2147483647 & wait $!; done
"#;

/// The name the init process carries as its `$0`: with the folder after it, it tells a
/// machine's init from any other process.
pub(super) const INIT_NAME: &str = "ict-init";

/// Where ict's `sshd_config` is inside every machine.
pub(crate) const SSHD_CONFIG: &str = "/etc/ict/sshd_config";

/// Program and arguments that boot the machine of the server folder `dir` named `hostname`
/// (run with `dir` as working directory).
pub(super) fn boot(tools: &Tools, hostname: &str, dir: &Path) -> (OsString, Vec<OsString>) {
    let mut args: Vec<OsString> = ["--pdeathsig", "KILL", "--"].map(OsString::from).to_vec();
    args.push(tools.setsid.clone());
    args.push(tools.unshare.clone());
    args.extend(
        [
            "--mount",
            "--uts",
            "--ipc",
            "--pid",
            "--fork",
            "--kill-child",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            BOOT,
            "ict-boot",
            hostname,
        ]
        .map(OsString::from),
    );
    args.push(dir.as_os_str().to_owned());
    args.push(INIT.into());
    (tools.setpriv.clone(), args)
}

/// Program and arguments that run `command` inside the machine whose PID 1 is `pid` (in this
/// computer's numbering), in a session of its own: the machine's mount, UTS, IPC and PID
/// namespaces, its root and working folder.
pub(super) fn enter(
    tools: &Tools,
    pid: i32,
    command: &[&std::ffi::OsStr],
) -> (OsString, Vec<OsString>) {
    let mut args: Vec<OsString> = vec![
        tools.nsenter.clone(),
        "--target".into(),
        pid.to_string().into(),
        "--mount".into(),
        "--uts".into(),
        "--ipc".into(),
        "--pid".into(),
        "--root".into(),
        "--wd".into(),
        "--".into(),
    ];
    args.extend(command.iter().map(|&a| a.to_owned()));
    (tools.setsid.clone(), args)
}

/// The util-linux programs, found once.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub(super) setpriv: OsString,
    pub(super) setsid: OsString,
    pub(super) unshare: OsString,
    pub(super) nsenter: OsString,
}

impl Tools {
    /// The programs in the system folders; `None` if one is missing (see `needs`).
    pub(crate) fn find() -> Option<Tools> {
        let find = |name| super::needs::program(name).map(std::path::PathBuf::into_os_string);
        Some(Tools {
            setpriv: find("setpriv")?,
            setsid: find("setsid")?,
            unshare: find("unshare")?,
            nsenter: find("nsenter")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> Tools {
        Tools {
            setpriv: "/usr/bin/setpriv".into(),
            setsid: "/usr/bin/setsid".into(),
            unshare: "/usr/bin/unshare".into(),
            nsenter: "/usr/bin/nsenter".into(),
        }
    }

    #[test]
    fn boot_unshares_four_namespaces_in_a_session_and_dies_with_the_emulator() {
        let (program, args) = boot(&tools(), "web-1", Path::new("/p/.ict/emulator/servers/7"));
        assert_eq!(program, "/usr/bin/setpriv");
        let args: Vec<&str> = args.iter().map(|a| a.to_str().expect("utf-8")).collect();
        assert_eq!(
            args[..14],
            [
                "--pdeathsig",
                "KILL",
                "--",
                "/usr/bin/setsid",
                "/usr/bin/unshare",
                "--mount",
                "--uts",
                "--ipc",
                "--pid",
                "--fork",
                "--kill-child",
                "--propagation",
                "private",
                "--"
            ]
        );
        assert_eq!(args[14..17], ["/bin/sh", "-c", BOOT]);
        assert_eq!(
            args[17..],
            ["ict-boot", "web-1", "/p/.ict/emulator/servers/7", INIT]
        );
    }

    #[test]
    fn enter_takes_the_machine_root_and_namespaces_in_a_session() {
        let command = [
            std::ffi::OsStr::new("/usr/sbin/sshd"),
            std::ffi::OsStr::new("-i"),
        ];
        let (program, args) = enter(&tools(), 4242, &command);
        assert_eq!(program, "/usr/bin/setsid");
        let args: Vec<&str> = args.iter().map(|a| a.to_str().expect("utf-8")).collect();
        assert_eq!(
            args,
            [
                "/usr/bin/nsenter",
                "--target",
                "4242",
                "--mount",
                "--uts",
                "--ipc",
                "--pid",
                "--root",
                "--wd",
                "--",
                "/usr/sbin/sshd",
                "-i"
            ]
        );
    }

    #[test]
    fn the_boot_never_writes_outside_the_server_folder_before_switching_root() {
        // Every path the boot mounts on or writes to is relative (the server's folder) or
        // under the new root, except the hostname of its own UTS namespace.
        for line in BOOT.lines() {
            for word in line.split_whitespace() {
                let absolute = word.starts_with('/')
                    && !word.starts_with("/dev/")
                    && !word.starts_with("/proc/self");
                assert!(
                    !absolute || ["/bin/bash", "/proc/sys/kernel/hostname"].contains(&word),
                    "{line}"
                );
            }
        }
    }
}
