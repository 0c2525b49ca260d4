//! The libvirt provider on a real libvirtd of the tests' own (QEMU; VMs with no operating
//! system, so the lifecycle is what is tested), shared by the tests that run at the same time as
//! two projects would share one, each with names of its own: a declared pool, a network, VMs on
//! it with their cloud-init seeds and a volume attached to one; plan, resize, power, metrics
//! from the hypervisor, destroy that leaves what ict did not make alone, and `kill -9` in the
//! middle of an apply.

use std::process::Stdio;
use std::time::{Duration, Instant};

mod guest;

use crate::support::libvirt::Lab;
use crate::test::{Outcome, Test};

/// Runs `ict` in the lab's folder.
fn ict(lab: &Lab, args: &[&str]) -> Outcome {
    Test::new().current_dir(lab.path()).args(args).run()
}

#[track_caller]
fn ok(out: &Outcome) {
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
}

/// The VMs run under QEMU's emulator (`virt_type: "qemu"`): on a machine whose KVM is nested
/// (CI's), a KVM machine with nothing to boot spins a whole core, while under TCG it halts.
///
/// The lab's pool, a base image uploaded into it from `base.qcow2`, a network with DHCP, `count`
/// VMs of `ram` MB on it with an SSH key and their root volumes in the pool (the second made
/// from the base image, the others blank), and a volume of `data` GB attached to the first VM.
fn script(lab: &Lab, count: u32, ram: u32, data: u32) -> String {
    format!(
        "provider(\"libvirt\", #{{ uri: \"{uri}\", pool: \"{pool}\", shutdown_timeout: 1, virt_type: \"qemu\" }});\n\
         let lab = pool(\"{pool}\", #{{ type: \"dir\", path: \"{path}\" }});\n\
         let base = image(\"{prefix}-base\", #{{ pool: lab, file: \"base.qcow2\" }});\n\
         let lan = network(\"{prefix}-lan\", #{{ dhcp: true }});\n\
         let key = ssh_key(\"deploy\", #{{ public_key: \"{KEY}\" }});\n\
         for i in 1..={count} {{\n    \
         let image = if i == 2 {{ base }} else {{ \"blank\" }};\n    \
         server(`{prefix}-vm-${{i}}`, #{{ image: image, cpu: 1, ram: {ram}, disk: 10,\n        \
         networks: [lan], ssh_keys: [key] }});\n\
         }}\n\
         volume(\"{prefix}-data\", #{{ pool: lab, size: {data}, attach_to: \"{prefix}-vm-1\" }});\n",
        uri = lab.uri(),
        pool = lab.pool(),
        path = lab.pool_path(),
        prefix = lab.prefix,
    )
}

/// [`script`] for 2 VMs that also join a network defined by hand (`<prefix>-not-ict-net`) as
/// the provider's `network`.
fn lifecycle(lab: &Lab, ram: u32, data: u32) -> String {
    script(lab, 2, ram, data).replace(
        "shutdown_timeout: 1",
        &format!(
            "network: \"{}-not-ict-net\", shutdown_timeout: 1",
            lab.prefix
        ),
    )
}

/// The SSH key the VMs' seeds carry.
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKw2v9oH4j2mGZ8G1q0jzYwqzCq7lN0b0i6m8l4Yy3kQ deploy@ict";

/// Writes the script, and the base image it uploads (an empty 1 GB qcow2) if not there yet.
fn write(lab: &Lab, text: &str) {
    std::fs::write(lab.path().join("infra.ict"), text).expect("write infra.ict");
    let base = lab.path().join("base.qcow2");
    if !base.exists() {
        let made = std::process::Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&base)
            .arg("1G")
            .status()
            .expect("qemu-img");
        assert!(made.success(), "qemu-img create");
    }
}

#[test]
fn vms_are_made_resized_stopped_measured_and_destroyed_and_others_left_alone() {
    let Some(lab) = Lab::start() else { return };
    let p = lab.prefix.clone();
    let other = format!("{p}-not-ict");
    lab.define_by_hand(&other);
    lab.define_network_by_hand(&format!("{p}-not-ict-net"));
    lab.define_pool_by_hand(&format!("{p}-not-ict-pool"));
    write(&lab, &lifecycle(&lab, 512, 1));

    ok(&ict(&lab, &["apply", "infra.ict", "--yes"]));
    assert_eq!(lab.pools(), [format!("{p}-not-ict-pool"), lab.pool()]);
    assert_eq!(
        lab.domains(),
        [
            (format!("{p}-not-ict"), false),
            (format!("{p}-vm-1"), true),
            (format!("{p}-vm-2"), true)
        ]
    );
    assert_eq!(
        lab.volumes(),
        [
            format!("{p}-base"),
            format!("{p}-data"),
            format!("{p}-vm-1-seed.img"),
            format!("{p}-vm-1.qcow2"),
            format!("{p}-vm-2-seed.img"),
            format!("{p}-vm-2.qcow2")
        ]
    );
    // The network: isolated, with DHCP, marked as ict's; both VMs are on it.
    let net = lab.virsh_ok(&["net-dumpxml", &format!("{p}-lan")]);
    assert!(
        net.contains("<ict:network xmlns:ict=\"https://github.com/ict-tool/ict/xmlns/libvirt/1\""),
        "{net}"
    );
    assert!(
        net.contains("<range start=") && !net.contains("<forward"),
        "{net}"
    );
    assert!(lab
        .virsh_ok(&["net-list", "--name"])
        .lines()
        .any(|n| n.trim() == format!("{p}-lan")));
    for vm in ["vm-1", "vm-2"] {
        let nics = lab.virsh_ok(&["domiflist", &format!("{p}-{vm}")]);
        assert!(nics.contains(&format!(" network   {p}-lan ")), "{nics}");
        // The provider's network, first.
        let first = nics.lines().nth(2).unwrap_or_default();
        assert!(
            first.contains(&format!(" network   {p}-not-ict-net ")),
            "{nics}"
        );
    }
    // vm-1's seed: a FAT filesystem labelled CIDATA with its name and the key, read back with
    // tools that are not ict's (blkid, mtools).
    let seed = lab.path().join("seed.img");
    lab.virsh_ok(&[
        "vol-download",
        &format!("{p}-vm-1-seed.img"),
        &seed.display().to_string(),
        "--pool",
        &lab.pool(),
    ]);
    let probed = std::process::Command::new("blkid")
        .args(["-p", "-o", "export"])
        .arg(&seed)
        .output()
        .expect("blkid");
    let probed = String::from_utf8_lossy(&probed.stdout);
    assert!(
        probed.contains("LABEL=CIDATA") && probed.contains("TYPE=vfat"),
        "{probed}"
    );
    let read = |file: &str| {
        let out = std::process::Command::new("mtype")
            .arg("-i")
            .arg(&seed)
            .arg(format!("::{file}"))
            .output()
            .expect("mtype (mtools; scripts/install.sh installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let user_data = read("user-data");
    assert!(user_data.starts_with("#cloud-config\n"), "{user_data}");
    assert!(user_data.contains(&format!("  - \"{KEY}\"")), "{user_data}");
    assert!(read("meta-data").contains(&format!("local-hostname: \"{p}-vm-1\"")));
    let seed_disk = lab.virsh_ok(&["domblklist", &format!("{p}-vm-1")]);
    assert!(
        seed_disk.contains(&format!(" sda      {p}-vm-1-seed.img")),
        "{seed_disk}"
    );
    // vm-2's disk is a copy-on-write layer over the uploaded image.
    let root = lab.virsh_ok(&[
        "vol-dumpxml",
        &format!("{p}-vm-2.qcow2"),
        "--pool",
        &lab.pool(),
    ]);
    assert!(
        root.contains(&format!("<path>{}/{p}-base</path>", lab.pool_path())),
        "{root}"
    );
    let disks = lab.virsh_ok(&["domblklist", &format!("{p}-vm-1")]);
    assert!(disks.contains(&format!(" vdb      {p}-data")), "{disks}");
    // The same through the provider boundary: `ict cloud volumes` names the VM it is a disk of.
    let listed = ict(&lab, &["cloud", "volumes", "infra.ict", "--json"]);
    ok(&listed);
    let volumes: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON");
    let data = volumes
        .as_array()
        .and_then(|all| all.iter().find(|v| v["name"] == format!("{p}-data")))
        .expect("the data volume is listed");
    assert_eq!(
        (&data["pool_name"], &data["size"]),
        (&lab.pool().into(), &1.into())
    );
    assert!(data["attached_to"].is_u64(), "{data}");
    let xml = lab.virsh_ok(&["dumpxml", &format!("{p}-vm-1")]);
    assert!(
        xml.contains("<ict:server xmlns:ict=\"https://github.com/ict-tool/ict/xmlns/libvirt/1\""),
        "{xml}"
    );

    // The same through the provider boundary: `ict cloud networks|images` and the REPL.
    let json = |args: &[&str]| -> serde_json::Value {
        let out = ict(&lab, args);
        ok(&out);
        serde_json::from_str(&out.stdout).expect("JSON")
    };
    let networks = json(&["cloud", "networks", "infra.ict", "--json"]);
    let lan = networks
        .as_array()
        .and_then(|all| all.iter().find(|n| n["name"] == format!("{p}-lan")))
        .expect("the network is listed");
    assert!(
        lan["gateway"]
            .as_str()
            .is_some_and(|g| g.starts_with("10.") && g.ends_with(".1")),
        "{lan}"
    );
    let images = json(&["cloud", "images", "infra.ict", "--json"]);
    let names: Vec<&str> = images
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert!(names.contains(&format!("{p}-base").as_str()), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains("-seed.img") || n.contains(".qcow2")),
        "roots and seeds are not images: {names:?}"
    );
    let repl = crate::repl::repl(
        lab.path(),
        &["infra.ict"],
        &format!(
            "cloud::networks().filter(|n| n.name == \"{p}-lan\").len()\ncloud::pools().map(|p| p.name)\n"
        ),
    );
    let stdout = repl.stdout;
    assert!(stdout.starts_with("1\n"), "{stdout}{}", repl.stderr);
    assert!(stdout.contains(&lab.pool()), "{stdout}");

    // ict's network stopped by hand: the script wants it running.
    lab.virsh_ok(&["net-destroy", &format!("{p}-lan")]);
    let plan = ict(&lab, &["plan", "infra.ict"]);
    ok(&plan);
    assert!(
        plan.stdout.contains(&format!(
            "    ~ network.{p}-lan  (stopped: apply starts it)\n        state  Inactive → Active\n"
        )),
        "{}",
        plan.stdout
    );
    ok(&ict(&lab, &["apply", "infra.ict", "--yes"]));
    assert!(lab
        .virsh_ok(&["net-list", "--name"])
        .lines()
        .any(|n| n.trim() == format!("{p}-lan")));

    // Nothing to do; the hand-made domain is listed as not ict's.
    let plan = ict(&lab, &["plan", "infra.ict", "--detailed-exitcode"]);
    ok(&plan);
    assert!(
        plan.stdout
            .contains("No changes. The infrastructure matches the script."),
        "{}",
        plan.stdout
    );
    for unmanaged in [
        format!("  server     {other} (ID "),
        format!("  network    {other}-net (ID "),
        format!("  pool       {other}-pool (ID "),
    ] {
        assert!(plan.stdout.contains(&unmanaged), "{}", plan.stdout);
    }

    // More memory and a bigger volume: planned as changes, applied, shown by libvirt.
    write(&lab, &lifecycle(&lab, 1024, 2));
    let plan = ict(&lab, &["plan", "infra.ict"]);
    ok(&plan);
    assert!(
        plan.stdout
            .contains(&format!("    ~ server.{p}-vm-1\n        ram  512 → 1024\n")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!(
            "    ~ volume.{p}-data\n        size  1 GB → 2 GB\n"
        )),
        "{}",
        plan.stdout
    );
    assert!(plan
        .stdout
        .contains("Plan: 0 to add, 3 to change, 0 to destroy."));
    ok(&ict(&lab, &["apply", "infra.ict", "--yes"]));
    let info = lab.virsh_ok(&["dominfo", &format!("{p}-vm-1")]);
    assert!(info.contains("Max memory:     1048576 KiB"), "{info}");
    assert_eq!(
        ict(&lab, &["plan", "infra.ict", "--detailed-exitcode"]).status,
        0
    );

    // The network no longer declared: the VMs leave it, then it is deleted.
    let off = lifecycle(&lab, 1024, 2)
        .replace("networks: [lan], ", "")
        .lines()
        .filter(|line| !line.starts_with("let lan"))
        .collect::<Vec<_>>()
        .join("\n");
    write(&lab, &off);
    let plan = ict(&lab, &["plan", "infra.ict"]);
    ok(&plan);
    assert!(
        plan.stdout.contains(&format!(
            "    ~ server.{p}-vm-1\n        networks  {p}-lan → - {p}-lan\n"
        )) && plan.stdout.contains(&format!("    - network.{p}-lan\n")),
        "{}",
        plan.stdout
    );
    ok(&ict(&lab, &["apply", "infra.ict", "--yes"]));
    for vm in ["vm-1", "vm-2"] {
        let nics = lab.virsh_ok(&["domiflist", &format!("{p}-{vm}"), "--inactive"]);
        assert!(!nics.contains(&format!("{p}-lan ")), "{nics}");
        assert!(nics.contains(&format!("{p}-not-ict-net")), "{nics}");
    }
    assert_eq!(lab.networks(), [format!("{p}-not-ict-net")]);
    assert_eq!(
        ict(&lab, &["plan", "infra.ict", "--detailed-exitcode"]).status,
        0
    );

    // Stopped through ict.
    ok(&ict(
        &lab,
        &["power", "infra.ict", "stop", "-l", &format!("{p}-vm-1")],
    ));
    assert_eq!(
        lab.virsh_ok(&["domstate", &format!("{p}-vm-1")]).trim(),
        "shut off"
    );

    // The running one's CPU, from the hypervisor (no exporter on a VM with no OS).
    let metrics = ict(
        &lab,
        &["metrics", "infra.ict", "--json", "-l", &format!("{p}-vm-2")],
    );
    ok(&metrics);
    let rows: serde_json::Value = serde_json::from_str(&metrics.stdout).expect("JSON");
    assert_eq!(rows[0]["name"], format!("{p}-vm-2"));
    assert_eq!(rows[0]["endpoint"], format!("libvirt {}", lab.uri()));
    assert!(
        rows[0]["figures"]["cpu_busy_percent"].is_f64(),
        "{}",
        metrics.stdout
    );

    // Destroy removes what ict made, and only that.
    ok(&ict(&lab, &["destroy", "infra.ict", "--yes"]));
    assert_eq!(lab.domains(), [(format!("{p}-not-ict"), false)]);
    assert_eq!(lab.pools(), [format!("{p}-not-ict-pool")]);
    assert_eq!(lab.networks(), [format!("{p}-not-ict-net")]);
}

#[test]
fn an_apply_killed_midway_converges_on_the_next_run_without_duplicates() {
    let Some(lab) = Lab::start() else { return };
    let p = lab.prefix.clone();
    write(&lab, &script(&lab, 4, 512, 1));
    let state_log = lab.path().join(".ict/dev/state.log");
    // Killed as soon as a create has begun, then a little later each time.
    for delay in [0, 30, 150, 400] {
        let mut apply = Test::new()
            .current_dir(lab.path())
            .args(&["apply", "infra.ict", "--yes"])
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start apply");
        let started = Instant::now();
        loop {
            let log = std::fs::read_to_string(&state_log).unwrap_or_default();
            let open = log.matches("{\"begin\"").count() > log.matches("{\"finish\"").count();
            let exited = apply.try_wait().expect("wait").is_some();
            if open || exited || started.elapsed() > Duration::from_secs(20) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(delay));
        let _ = apply.kill();
        apply.wait().expect("reaped");
    }
    ok(&ict(&lab, &["apply", "infra.ict", "--yes"]));
    let expected: Vec<(String, bool)> = (1..=4).map(|i| (format!("{p}-vm-{i}"), true)).collect();
    assert_eq!(lab.domains(), expected);
    let mut volumes: Vec<String> = (1..=4)
        .flat_map(|i| [format!("{p}-vm-{i}-seed.img"), format!("{p}-vm-{i}.qcow2")])
        .collect();
    volumes.insert(0, format!("{p}-data"));
    volumes.insert(0, format!("{p}-base"));
    assert_eq!(lab.volumes(), volumes);
    assert_eq!(lab.networks(), [format!("{p}-lan")]);
    assert_eq!(
        ict(&lab, &["plan", "infra.ict", "--detailed-exitcode"]).status,
        0
    );
    ok(&ict(&lab, &["destroy", "infra.ict", "--yes"]));
    assert_eq!(lab.domains(), Vec::<(String, bool)>::new());
    assert_eq!(lab.pools(), Vec::<String>::new());
    assert_eq!(lab.networks(), Vec::<String>::new());
}
