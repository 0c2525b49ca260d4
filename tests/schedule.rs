//! Schedules: `ict check` of a bad declaration, `ict schedule list`, and `ict schedule run` on
//! the emulator with the plan that follows it. The time is given with `ICT_NOW`; nothing waits
//! for a cron time.

use std::path::Path;

use crate::support::child::{Lines, Running};
use crate::test::{Outcome, Test};

const SCRIPT: &str = r#"
server("dev-1", #{ cpu: 1, ram: 1024, disk: 20 });
server("dev-2", #{ cpu: 1, ram: 1024, disk: 20 });
server("db-1", #{ cpu: 1, ram: 1024, disk: 20 });
schedule("night-stop", #{ cron: "0 20 * * 1-5", tz: "Europe/Moscow", action: "power_off", servers: "dev-*" });
schedule("morning",    #{ cron: "0 8 * * 1-5",  tz: "Europe/Moscow", action: "power_on",  servers: "dev-*" });
schedule("db-image",   #{ cron: "30 3 * * *", action: "image", servers: "db-1", keep: 7 });
"#;

/// Monday 2026-12-07, 21:00 in Moscow: after the night stop.
const MONDAY_NIGHT: &str = "2026-12-07T18:00:00Z";
/// Tuesday 2026-12-08, 08:00:30 in Moscow: just after the morning start.
const TUESDAY_MORNING: &str = "2026-12-08T05:00:30Z";

/// `ict ARGS` in `dir` at time `now`, asserting its exit code.
#[track_caller]
fn at(dir: &Path, now: &str, args: &[&str], code: i32) -> Outcome {
    let out = Test::new()
        .current_dir(dir)
        .env("ICT_NOW", now)
        .args(args)
        .run();
    assert_eq!(
        out.status, code,
        "ict {args:?} at {now} should exit with {code}:\n{}{}",
        out.stdout, out.stderr
    );
    out
}

/// The lines after the provider banner.
fn body(out: &Outcome) -> Vec<&str> {
    out.stdout.lines().skip(1).collect()
}

#[test]
fn schedule_run_night_stop_powers_off_and_plan_agrees_until_morning_starts_them() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let dir = test.path();
    at(dir, TUESDAY_MORNING, &["apply", "infra.ict", "--yes"], 0);

    let stop = at(
        dir,
        MONDAY_NIGHT,
        &["schedule", "run", "infra.ict", "night-stop"],
        0,
    );
    assert_eq!(
        body(&stop),
        [
            "dev-1: PowerOff",
            "dev-2: PowerOff",
            "schedule night-stop: ok (due 2026-12-07 18:00 UTC)"
        ]
    );
    // While the schedule says off, the stopped servers are not drift.
    let plan = at(
        dir,
        MONDAY_NIGHT,
        &["plan", "infra.ict", "--detailed-exitcode"],
        0,
    );
    assert_eq!(
        body(&plan)[1..],
        [
            "No changes. The infrastructure matches the script.",
            "",
            "# server.dev-1: power off by schedule night-stop until 08:00",
            "# server.dev-2: power off by schedule night-stop until 08:00",
        ]
    );
    // Once the morning schedule is due, the plan starts them (watch would run it)...
    let due = at(
        dir,
        TUESDAY_MORNING,
        &["plan", "infra.ict", "--detailed-exitcode"],
        2,
    );
    assert!(
        due.stdout.contains("0 to add, 2 to change, 0 to destroy"),
        "{}",
        due.stdout
    );
    // ...and running it leaves nothing to do.
    let start = at(
        dir,
        TUESDAY_MORNING,
        &["schedule", "run", "infra.ict", "morning"],
        0,
    );
    assert_eq!(
        body(&start),
        [
            "dev-1: PowerOn",
            "dev-2: PowerOn",
            "schedule morning: ok (due 2026-12-08 05:00 UTC)"
        ]
    );
    at(
        dir,
        TUESDAY_MORNING,
        &["plan", "infra.ict", "--detailed-exitcode"],
        0,
    );

    // The last runs are in the state.
    let list = at(
        dir,
        TUESDAY_MORNING,
        &["schedule", "list", "infra.ict", "--json"],
        0,
    );
    let json: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    let last = |i: usize| json["schedules"][i]["last_run"].clone();
    assert_eq!(last(0)["outcome"], "ok");
    assert_eq!(last(0)["due"], "2026-12-07T18:00:00Z");
    assert_eq!(last(1)["outcome"], "ok");
    assert_eq!(last(2), serde_json::Value::Null);
}

#[test]
fn schedule_list_shows_the_next_five_times_in_its_zone_and_utc() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let out = at(
        test.path(),
        MONDAY_NIGHT,
        &["schedule", "list", "infra.ict"],
        0,
    );
    assert_eq!(
        out.stdout,
        "night-stop  cron \"0 20 * * 1-5\" Europe/Moscow  power_off on dev-*
  next  Tue 2026-12-08 20:00 MSK  (2026-12-08 17:00 UTC)
        Wed 2026-12-09 20:00 MSK  (2026-12-09 17:00 UTC)
        Thu 2026-12-10 20:00 MSK  (2026-12-10 17:00 UTC)
        Fri 2026-12-11 20:00 MSK  (2026-12-11 17:00 UTC)
        Mon 2026-12-14 20:00 MSK  (2026-12-14 17:00 UTC)
  last  never run

morning  cron \"0 8 * * 1-5\" Europe/Moscow  power_on on dev-*
  next  Tue 2026-12-08 08:00 MSK  (2026-12-08 05:00 UTC)
        Wed 2026-12-09 08:00 MSK  (2026-12-09 05:00 UTC)
        Thu 2026-12-10 08:00 MSK  (2026-12-10 05:00 UTC)
        Fri 2026-12-11 08:00 MSK  (2026-12-11 05:00 UTC)
        Mon 2026-12-14 08:00 MSK  (2026-12-14 05:00 UTC)
  last  never run

db-image  cron \"30 3 * * *\" UTC  image on db-1, keep 7
  next  Tue 2026-12-08 03:30 UTC  (2026-12-08 03:30 UTC)
        Wed 2026-12-09 03:30 UTC  (2026-12-09 03:30 UTC)
        Thu 2026-12-10 03:30 UTC  (2026-12-10 03:30 UTC)
        Fri 2026-12-11 03:30 UTC  (2026-12-11 03:30 UTC)
        Sat 2026-12-12 03:30 UTC  (2026-12-12 03:30 UTC)
  last  never run
"
    );
    let json = at(
        test.path(),
        MONDAY_NIGHT,
        &["schedule", "list", "infra.ict", "--json"],
        0,
    );
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(
        json["schedules"][0],
        serde_json::json!({
            "name": "night-stop",
            "cron": "0 20 * * 1-5",
            "tz": "Europe/Moscow",
            "action": "power_off",
            "servers": "dev-*",
            "catch_up": false,
            "next": [
                { "local": "2026-12-08T20:00:00+03:00", "utc": "2026-12-08T17:00:00Z" },
                { "local": "2026-12-09T20:00:00+03:00", "utc": "2026-12-09T17:00:00Z" },
                { "local": "2026-12-10T20:00:00+03:00", "utc": "2026-12-10T17:00:00Z" },
                { "local": "2026-12-11T20:00:00+03:00", "utc": "2026-12-11T17:00:00Z" },
                { "local": "2026-12-14T20:00:00+03:00", "utc": "2026-12-14T17:00:00Z" },
            ],
            "last_run": null,
            "runs": [],
        })
    );
    assert_eq!(json["schedules"][2]["keep"], 7);
}

#[test]
fn check_points_at_a_bad_cron_and_an_unknown_time_zone() {
    let out = Test::new()
        .write(
            "infra.ict",
            "server(\"dev-1\", #{});\n\
             schedule(\"a\", #{ cron: \"0 25 * * *\", tz: \"Europe/Moskow\", action: \"reboot\", servers: \"dev-1\" });\n",
        )
        .args(&["check", "infra.ict"])
        .failure();
    assert_eq!(
        out.stderr,
        r#"ict::model::invalid_value

  × "0 25 * * *" is not a cron expression: Component error: Number out of bounds.
   ╭─[infra.ict:2:18]
 1 │ server("dev-1", #{});
 2 │ schedule("a", #{ cron: "0 25 * * *", tz: "Europe/Moskow", action: "reboot", servers: "dev-1" });
   ·                  ─────────┬────────
   ·                           ╰── invalid `cron`
   ╰────
  help: minute hour day month weekday, e.g. "0 20 * * 1-5"

ict::model::invalid_value

  × unknown time zone "Europe/Moskow"
   ╭─[infra.ict:2:42]
 1 │ server("dev-1", #{});
 2 │ schedule("a", #{ cron: "0 25 * * *", tz: "Europe/Moskow", action: "reboot", servers: "dev-1" });
   ·                                          ───────┬───────
   ·                                                 ╰── invalid `tz`
   ╰────
  help: did you mean "Europe/Moscow"?

error: 2 problems in infra.ict
"#
    );
}

#[test]
fn schedule_run_says_which_schedules_exist() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let unknown = at(
        test.path(),
        MONDAY_NIGHT,
        &["schedule", "run", "infra.ict", "night-stp"],
        1,
    );
    assert_eq!(
        unknown.stderr,
        "ict::command::no_schedule\n\n  × no schedule `night-stp` in infra.ict\n  help: did you \
         mean `night-stop`?\n"
    );
}

/// The names of the account's own templates (`ict cloud images --json`, public ones left out).
fn templates(dir: &Path) -> Vec<String> {
    let out = at(dir, MONDAY_NIGHT, &["cloud", "images", "--json"], 0);
    let images: serde_json::Value = serde_json::from_str(&out.stdout).expect("images JSON");
    images
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .filter(|name| name.starts_with("db-1-"))
        .map(str::to_owned)
        .collect()
}

/// An `image` schedule makes a template of each server it names, and deletes its own
/// templates (recorded by ID) beyond the newest `keep`.
#[test]
fn schedule_run_db_image_makes_templates_and_keeps_the_newest() {
    let script = SCRIPT.replace("keep: 7", "keep: 2");
    let test = Test::new().write("infra.ict", &script);
    let dir = test.path();
    at(dir, MONDAY_NIGHT, &["apply", "infra.ict", "--yes"], 0);
    let run = |now: &str| {
        let out = at(dir, now, &["schedule", "run", "infra.ict", "db-image"], 0);
        body(&out).join("\n")
    };
    assert_eq!(
        run("2026-12-07T03:30:00Z"),
        "db-1: image db-1-db-image-20261207-0330 made\n\
         schedule db-image: ok (due 2026-12-07 03:30 UTC)"
    );
    assert_eq!(
        run("2026-12-08T03:30:00Z"),
        "db-1: image db-1-db-image-20261208-0330 made\n\
         schedule db-image: ok (due 2026-12-08 03:30 UTC)"
    );
    assert_eq!(
        run("2026-12-09T03:30:00Z"),
        "db-1: image db-1-db-image-20261209-0330 made\n\
         db-1: image db-1-db-image-20261207-0330 deleted (beyond keep)\n\
         schedule db-image: ok (due 2026-12-09 03:30 UTC)"
    );
    assert_eq!(
        templates(dir),
        ["db-1-db-image-20261208-0330", "db-1-db-image-20261209-0330"]
    );
}

/// `SCRIPT` and a schedule due at 17:00:10 UTC every day (a cron with seconds).
const WATCHED: &str = r#"
schedule("tick", #{ cron: "10 0 17 * * *", action: "power_on", servers: "db-1" });
"#;

/// `ict watch` in `dir` from time `now` (no scraping, no drift checks).
fn watch(dir: &Path, now: &str) -> (Running, Lines) {
    std::fs::write(dir.join("figures.json"), "{}").expect("write figures");
    let test = Test::new()
        .current_dir(dir)
        .env("ICT_NOW", now)
        .env("ICT_WATCH_SOURCE", "figures.json")
        .args(&[
            "watch",
            "infra.ict",
            "--interval",
            "0.2",
            "--drift-every",
            "0",
        ]);
    crate::support::child::spawn(test.command())
}

/// Stops a watch with SIGTERM and waits for it; every line it wrote.
fn stop(mut running: Running, mut lines: Lines) -> Vec<String> {
    let pid = running.0.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = running.0.wait().expect("wait for ict watch");
    assert!(exit.success(), "{exit:?}");
    lines.until_closed();
    lines.seen
}

#[test]
fn watch_runs_a_due_schedule_once_across_a_restart_reports_a_missed_one_and_waits_for_the_lock() {
    let test = Test::new().write("infra.ict", &format!("{SCRIPT}{WATCHED}"));
    let dir = test.path();
    at(dir, TUESDAY_MORNING, &["apply", "infra.ict", "--yes"], 0);

    // A second before the night stop (the watch's clock starts at its given time, however
    // long it takes to start).
    let (first, mut lines) = watch(dir, "2026-12-07T16:59:59Z");
    lines.wait_for("schedule night-stop: ok (due 2026-12-07 17:00 UTC)");
    stop(first, lines);

    // Restarted just after it: the night stop is not run again; the 17:00:10 tick is.
    let (second, mut lines) = watch(dir, "2026-12-07T17:00:09Z");
    lines.wait_for("schedule tick: ok (due 2026-12-07 17:00 UTC)");
    let seen = stop(second, lines);
    assert!(
        !seen.iter().any(|l| l.contains("night-stop")),
        "{}",
        seen.join("\n")
    );

    // Down for a day: Tuesday's stop was missed and is reported, not run.
    let (third, mut lines) = watch(dir, "2026-12-08T17:00:30Z");
    lines.wait_for(
        "schedule night-stop: missed the run due 2026-12-08 17:00 UTC while watch was not running",
    );
    stop(third, lines);
    let list = at(
        dir,
        TUESDAY_MORNING,
        &["schedule", "list", "infra.ict", "--json"],
        0,
    );
    let json: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    assert_eq!(json["schedules"][0]["last_run"]["outcome"], "missed");

    // Wednesday's stop, while another command holds the lock: the run waits for it.
    let state = ict::state::StateDir::for_script(&dir.join("infra.ict"), "dev").expect("env");
    let held = ict::state::Lock::acquire(&state, "ict apply infra.ict").expect("free");
    let (fourth, mut lines) = watch(dir, "2026-12-09T16:59:59Z");
    lines.wait_for("schedule night-stop: waiting for the lock held by");
    held.lock.release().expect("release");
    lines.wait_for("schedule night-stop: ok (due 2026-12-09 17:00 UTC)");
    stop(fourth, lines);
}

/// An `image` run fails (and notifies) when a server it names does not exist yet.
#[test]
fn watch_notifies_the_schedules_targets_of_a_failed_run() {
    let script = r#"
server("db-1", #{ cpu: 1, ram: 1024, disk: 20 });
schedule("db-image", #{ cron: "30 3 * * *", action: "image", servers: "db-1",
    notify: command("echo \"$ICT_SCHEDULE $ICT_SCHEDULE_OUTCOME\" > notified.txt") });
"#;
    let test = Test::new().write("infra.ict", script);
    let dir = test.path();
    let (running, mut lines) = watch(dir, "2026-12-07T03:29:59Z");
    lines.wait_for("schedule db-image: FAILED (due 2026-12-07 03:30 UTC)");
    lines.wait_for("schedule db-image: notified command `echo");
    stop(running, lines);
    assert_eq!(
        std::fs::read_to_string(dir.join("notified.txt")).expect("notified"),
        "db-image failed\n"
    );
}
