//! A server's disk: `disk.img` in its folder, a sparse file of the declared size holding an
//! ext4 filesystem with the overlay's `upper/` and `work/` folders. A new disk is made the way
//! a cloud personalises a fresh image: `mkfs.ext4 -d` fills it from a staging folder with the
//! server's first files — its host key, its hostname and `/etc/hosts` line, and a `/root`
//! of its own (an opaque folder, so this computer's `/root` does not show through) holding the
//! keys given at create as `.ssh/authorized_keys`. Only the blocks written take space on this
//! computer. A resize grows the disk at the next boot. Depends on `events` (for
//! [`ServerInfo`]) and `needs`.

use std::io;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::needs;
use super::MachineError;
use crate::emulator::ServerInfo;

/// The disk image in a server's folder.
pub(super) fn image(dir: &Path) -> PathBuf {
    dir.join("disk.img")
}

const GIB: u64 = 1024 * 1024 * 1024;

/// The folder of first files a disk copied from a template still has to take: the boot copies
/// its `upper/` over the disk's and removes it.
pub(super) const SEED: &str = "seed.d";

/// Makes the disk of a new (or rebuilt) server unless it has one; `host_key` is the pair
/// (`<path>` and `<path>.pub`) to install as `/etc/ssh/ssh_host_ed25519_key`. A server made
/// from one of the account's templates starts from a copy of the template's disk (`template`,
/// when it exists), its own first files laid over it at the first boot (see [`SEED`]).
pub(super) async fn ensure(
    dir: &Path,
    info: &ServerInfo,
    host_key: &Path,
    template: Option<&Path>,
) -> Result<(), MachineError> {
    let image = image(dir);
    if image.exists() {
        return grow(&image, info.disk_gb).await;
    }
    if let Some(template) = template.filter(|t| t.exists()) {
        let seed_dir = dir.join(SEED);
        let _ = std::fs::remove_dir_all(&seed_dir);
        seed(&seed_dir, info, host_key).map_err(|e| MachineError::Disk {
            path: image.clone(),
            reason: format!("cannot prepare its first files: {e}"),
        })?;
        copy_disk(template, &image).await?;
        return grow(&image, info.disk_gb).await;
    }
    let staging = dir.join("disk.new.d");
    let partial = dir.join("disk.img.new");
    let result = async {
        let _ = std::fs::remove_dir_all(&staging);
        seed(&staging, info, host_key).map_err(|e| MachineError::Disk {
            path: image.clone(),
            reason: format!("cannot prepare its first files: {e}"),
        })?;
        make(&partial, info.disk_gb, &staging).await?;
        std::fs::rename(&partial, &image).map_err(|e| MachineError::Disk {
            path: image.clone(),
            reason: e.to_string(),
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&staging);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Copies the disk `from` (when there is one) to `to`, sparse, through a temporary file: a
/// template of a server, or a server's first disk from a template. The filesystems are synced
/// first, so a copy of a running machine's disk is what a crash at that moment would leave
/// (its journal is replayed when the copy is mounted).
pub(super) async fn copy_disk(from: &Path, to: &Path) -> Result<(), MachineError> {
    if !from.exists() {
        return Ok(());
    }
    let failed = |reason: String| MachineError::Disk {
        path: to.to_owned(),
        reason,
    };
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| failed(e.to_string()))?;
    }
    rustix::fs::sync();
    let partial = to.with_extension("img.new");
    let from = from.to_string_lossy();
    if let Err(e) = run(&partial, "cp", &["--sparse=always", &from], 0).await {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, to).map_err(|e| failed(e.to_string()))
}

/// A sparse file of `disk_gb` GiB (at least 1) with an ext4 filesystem holding `staging`'s tree.
async fn make(file: &Path, disk_gb: u32, staging: &Path) -> Result<(), MachineError> {
    let size = u64::from(disk_gb.max(1)) * GIB;
    std::fs::File::create(file)
        .and_then(|f| f.set_len(size))
        .map_err(|e| MachineError::Disk {
            path: file.to_owned(),
            reason: e.to_string(),
        })?;
    // Lazy inode tables and journal, and no discard: quick on a sparse file, and nothing is
    // written until used (the boot mounts with `noinit_itable`, so the kernel does not
    // zero the tables in the background either).
    let options = "lazy_itable_init=1,lazy_journal_init=1,nodiscard";
    let staging = staging.to_string_lossy();
    let args = ["-q", "-F", "-m", "0", "-E", options, "-d", &staging];
    run(file, "mkfs.ext4", &args, 0).await
}

/// Grows the disk to `disk_gb` GiB if a resize made it larger (disks only grow): the file,
/// then its filesystem (checked first, as `resize2fs` wants).
async fn grow(image: &Path, disk_gb: u32) -> Result<(), MachineError> {
    let size = u64::from(disk_gb.max(1)) * GIB;
    let failed = |e: std::io::Error| MachineError::Disk {
        path: image.to_owned(),
        reason: e.to_string(),
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(image)
        .map_err(failed)?;
    if file.metadata().map_err(failed)?.len() >= size {
        return Ok(());
    }
    file.set_len(size).map_err(failed)?;
    tracing::info!(disk = %image.display(), disk_gb, "growing a resized server's disk");
    // e2fsck exits 1 when it corrected something: the filesystem is fine then too.
    run(image, "e2fsck", &["-f", "-p"], 1).await?;
    run(image, "resize2fs", &[], 0).await
}

/// Runs the system program `name` (e2fsprogs, `cp`) with `args`, then `file`; an exit code
/// above `worst` is a failure.
async fn run(file: &Path, name: &str, args: &[&str], worst: i32) -> Result<(), MachineError> {
    let failed = |reason: String| MachineError::Disk {
        path: file.to_owned(),
        reason,
    };
    let program = needs::program(name).ok_or_else(|| failed(format!("{name} is missing")))?;
    let output = tokio::process::Command::new(program)
        .args(args)
        .arg(file)
        .env_clear()
        .env("PATH", needs::SYSTEM_PATH)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| failed(format!("cannot run {name}: {e}")))?;
    if output.status.code().is_some_and(|code| code <= worst) {
        Ok(())
    } else {
        Err(failed(format!(
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// The staging tree: `upper/` (the server's first files) and `work/` (overlayfs's own).
fn seed(staging: &Path, info: &ServerInfo, host_key: &Path) -> io::Result<()> {
    let upper = staging.join("upper");
    mkdir(&staging.join("work"), 0o755)?;
    mkdir(&upper, 0o755)?;
    let etc = upper.join("etc");
    mkdir(&etc.join("ssh"), 0o755)?;
    mkdir(&etc, 0o755)?;
    copy(host_key, &etc.join("ssh/ssh_host_ed25519_key"), 0o600)?;
    copy(
        &host_key.with_extension("pub"),
        &etc.join("ssh/ssh_host_ed25519_key.pub"),
        0o644,
    )?;
    let name = super::hostname(&info.name);
    write(&etc.join("hostname"), &format!("{name}\n"), 0o644)?;
    let hosts = std::fs::read_to_string("/etc/hosts")
        .unwrap_or_else(|_| "127.0.0.1\tlocalhost\n".to_owned());
    write(&etc.join("hosts"), &hosts_text(&hosts, &name), 0o644)?;
    let home = upper.join(home(&info.user).trim_start_matches('/'));
    mkdir(&home.join(".ssh"), 0o700)?;
    mkdir(&home, 0o700)?;
    if home.ends_with("root") {
        // This computer's /root (its keys, its history) stays out of the server.
        rustix::fs::setxattr(
            &home,
            "trusted.overlay.opaque",
            b"y",
            rustix::fs::XattrFlags::empty(),
        )?;
    }
    write(
        &home.join(".ssh/authorized_keys"),
        &authorized_keys(&info.public_keys),
        0o600,
    )
}

/// The login user's home on the server.
pub(super) fn home(user: &str) -> String {
    match user {
        "" | "root" => "/root".to_owned(),
        user => format!("/home/{user}"),
    }
}

/// `/etc/hosts` with the server's name on `127.0.1.1`, as Debian's installer writes it.
fn hosts_text(hosts: &str, name: &str) -> String {
    let kept = hosts.lines().filter(|l| !l.starts_with("127.0.1.1"));
    lines(kept.chain(std::iter::once(format!("127.0.1.1\t{name}").as_str())))
}

/// One key per line, blank lines dropped.
fn authorized_keys(keys: &[String]) -> String {
    lines(
        keys.iter()
            .flat_map(|k| k.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty()),
    )
}

/// The lines, each ended by `\n`.
fn lines<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    lines.fold(String::new(), |mut text, line| {
        text.push_str(line);
        text.push('\n');
        text
    })
}

fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn write(path: &Path, text: &str, mode: u32) -> io::Result<()> {
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn copy(from: &Path, to: &Path, mode: u32) -> io::Result<()> {
    std::fs::copy(from, to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_file_names_the_server_once() {
        let host = "127.0.0.1\tlocalhost\n127.0.1.1\tlaptop\n::1\tlocalhost\n";
        assert_eq!(
            hosts_text(host, "web-1"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\tweb-1\n"
        );
    }

    #[test]
    fn keys_one_per_line_and_homes() {
        let keys = vec![
            "ssh-ed25519 A a@b\n\n".to_owned(),
            " ssh-rsa B c@d ".to_owned(),
        ];
        assert_eq!(authorized_keys(&keys), "ssh-ed25519 A a@b\nssh-rsa B c@d\n");
        assert_eq!(home("root"), "/root");
        assert_eq!(home(""), "/root");
        assert_eq!(home("admin"), "/home/admin");
    }
}
