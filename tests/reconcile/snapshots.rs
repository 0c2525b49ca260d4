//! The quickstart's plan, as people and machines see it. Nothing in it depends on the machine:
//! the emulator path is relative to the script, and a first plan has no cloud IDs.

use super::{expect, local, quickstart};

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn quickstart_plan_text() {
    let dir = quickstart();
    let out = local(dir.path(), &["plan", "quickstart.ict", "--no-color"]);
    expect(&out, 0);
    snapshot("reconcile_quickstart_plan_text", &out.stdout);
}

#[test]
fn quickstart_plan_json() {
    let dir = quickstart();
    let out = local(dir.path(), &["plan", "quickstart.ict", "--json"]);
    expect(&out, 0);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("the plan is JSON");
    assert_eq!(
        plan["summary"],
        serde_json::json!({"add": 6, "change": 0, "destroy": 0})
    );
    snapshot("reconcile_quickstart_plan_json", &out.stdout);
}
