//! The stretch of the libvirt provider: a real Linux guest (Debian's cloud kernel with a small
//! initramfs and a /usr image, built from Debian's packages by scripts/guest-image.sh) made from
//! an uploaded image, on a network of ict's, with its SSH key in its cloud-init seed; `ict run`
//! waits for its SSH and runs a playbook on it with Ansible, and `ict exec` reads the result back.

use std::process::Command;

use super::{ict, ok};
use crate::support::libvirt::Lab;
use crate::test::{Outcome, Test};

/// Where scripts/install.sh builds the guest image.
fn guest_image() -> Option<std::path::PathBuf> {
    let image = std::env::var_os("ICT_GUEST_IMAGE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| std::path::Path::new(&home).join(".cache/ict/guest/debian-guest-4.img"))
        })?;
    if image.is_file() {
        Some(image)
    } else {
        crate::test::skipped_without(
            "the libvirt guest image",
            "bash scripts/install.sh builds it with scripts/guest-image.sh",
        );
        None
    }
}

/// `ict` in the lab's network namespace, where the VMs are. The guest runs under TCG, where a
/// Python start costs seconds of CPU (about 4 CPU-s for Mitogen's bootstrap or for one module
/// with plain Ansible), so the playbook runs a `raw` task over plain Ansible's SSH: it proves
/// what this test is for (the guest answers SSH with its seed's key, and ict's inventory and
/// Ansible reach it), while Python modules and Mitogen are tested on the emulator's servers.
fn ict_near(lab: &Lab, args: &[&str]) -> Outcome {
    let command = Test::new()
        .current_dir(lab.path())
        .env("ICT_ANSIBLE_MITOGEN", "0")
        .args(args)
        .command();
    lab.in_netns(&command).output().expect("run ict").into()
}

#[test]
fn a_debian_guest_boots_with_its_seed_and_ict_run_configures_it_over_ssh() {
    let Some(lab) = Lab::start() else { return };
    let Some(image) = guest_image() else { return };
    let p = lab.prefix.clone();
    let keys = lab.path().join("keys");
    std::fs::create_dir(&keys).expect("mkdir keys");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "deploy", "-f"])
        .arg(keys.join("deploy"))
        .status()
        .expect("ssh-keygen");
    assert!(made.success(), "ssh-keygen");
    std::fs::create_dir(lab.path().join("playbooks")).expect("mkdir playbooks");
    std::fs::write(
        lab.path().join("playbooks/site.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: a file written by Ansible\n      \
         ansible.builtin.raw: echo '{{ inventory_hostname }} configured by ict' > /root/configured\n",
    )
    .expect("write playbook");
    let script = format!(
        // TCG: nested KVM on these machines runs no real guest.
        "provider(\"libvirt\", #{{ uri: \"{uri}\", pool: \"{pool}\", shutdown_timeout: 1, virt_type: \"qemu\" }});\n\
         let lab = pool(\"{pool}\", #{{ type: \"dir\", path: \"{path}\" }});\n\
         let guest = image(\"{p}-guest\", #{{ pool: lab, file: \"{image}\" }});\n\
         let lan = network(\"{p}-lan\", #{{ dhcp: true }});\n\
         let key = ssh_key(\"deploy\", #{{ public_key_file: \"keys/deploy.pub\" }});\n\
         server(\"{p}-vm\", #{{ image: guest, cpu: 1, ram: 1024, disk: 10, networks: [lan], ssh_keys: [key] }});\n\
         playbook(\"playbooks/site.yml\", #{{ hosts: \"all\" }});\n",
        uri = lab.uri(),
        pool = lab.pool(),
        path = lab.pool_path(),
        image = image.display(),
    );
    std::fs::write(lab.path().join("infra.ict"), script).expect("write infra.ict");

    let run = ict_near(&lab, &["run", "infra.ict", "--yes"]);
    ok(&run);
    let read = ict_near(
        &lab,
        &["exec", "infra.ict", "--", "cat /root/configured; hostname"],
    );
    ok(&read);
    // The file the playbook wrote, and the host name the seed gave.
    assert!(
        read.stdout.starts_with(&format!(
            "{p}-vm | {p}-vm configured by ict\n{p}-vm | {p}-vm\n"
        )),
        "{}",
        read.stdout
    );
    ok(&ict(&lab, &["destroy", "infra.ict", "--yes"]));
    assert_eq!(lab.domains(), Vec::<(String, bool)>::new());
}
