//! The libvirt provider on the machine's real libvirtd (QEMU; VMs with no operating system, so
//! the lifecycle is what is tested): a declared pool, VMs and a volume attached to one; plan,
//! resize, power, metrics from the hypervisor, destroy that leaves a domain ict did not make
//! alone, and `kill -9` in the middle of an apply.

use std::process::Stdio;
use std::time::{Duration, Instant};

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

/// The lab's pool, a base image uploaded into it from `base.qcow2`, `count` VMs of `ram` MB
/// with their root volumes in it (the second made from the base image, the others blank), and
/// a volume of `data` GB attached to the first VM.
fn script(lab: &Lab, count: u32, ram: u32, data: u32) -> String {
    format!(
        "provider(\"libvirt\", #{{ pool: \"{pool}\", shutdown_timeout: 1 }});\n\
         let lab = pool(\"{pool}\", #{{ type: \"dir\", path: \"{path}\" }});\n\
         let base = image(\"{prefix}-base\", #{{ pool: lab, file: \"base.qcow2\" }});\n\
         for i in 1..={count} {{\n    \
         let image = if i == 2 {{ base }} else {{ \"blank\" }};\n    \
         server(`{prefix}-vm-${{i}}`, #{{ image: image, cpu: 1, ram: {ram}, disk: 10 }});\n\
         }}\n\
         volume(\"{prefix}-data\", #{{ pool: lab, size: {data}, attach_to: \"{prefix}-vm-1\" }});\n",
        pool = lab.pool(),
        path = lab.pool_path(),
        prefix = lab.prefix,
    )
}

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
    write(&lab, &script(&lab, 2, 512, 1));

    ok(&ict(&lab, &["apply", "infra.ict", "--yes"]));
    assert_eq!(lab.pools(), [lab.pool()]);
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
            format!("{p}-vm-1.qcow2"),
            format!("{p}-vm-2.qcow2")
        ]
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

    // Nothing to do; the hand-made domain is listed as not ict's.
    let plan = ict(&lab, &["plan", "infra.ict", "--detailed-exitcode"]);
    ok(&plan);
    assert!(
        plan.stdout
            .contains("No changes. The infrastructure matches the script."),
        "{}",
        plan.stdout
    );
    let unmanaged = format!("  server     {other} (ID ");
    assert!(plan.stdout.contains(&unmanaged), "{}", plan.stdout);

    // More memory and a bigger volume: planned as changes, applied, shown by libvirt.
    write(&lab, &script(&lab, 2, 1024, 2));
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
    assert_eq!(rows[0]["endpoint"], "libvirt qemu:///system");
    assert!(
        rows[0]["figures"]["cpu_busy_percent"].is_f64(),
        "{}",
        metrics.stdout
    );

    // Destroy removes what ict made, and only that.
    ok(&ict(&lab, &["destroy", "infra.ict", "--yes"]));
    assert_eq!(lab.domains(), [(format!("{p}-not-ict"), false)]);
    assert_eq!(lab.pools(), Vec::<String>::new());
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
    let mut volumes: Vec<String> = (1..=4).map(|i| format!("{p}-vm-{i}.qcow2")).collect();
    volumes.insert(0, format!("{p}-data"));
    volumes.insert(0, format!("{p}-base"));
    assert_eq!(lab.volumes(), volumes);
    assert_eq!(
        ict(&lab, &["plan", "infra.ict", "--detailed-exitcode"]).status,
        0
    );
    ok(&ict(&lab, &["destroy", "infra.ict", "--yes"]));
    assert_eq!(lab.domains(), Vec::<(String, bool)>::new());
    assert_eq!(lab.pools(), Vec::<String>::new());
}
