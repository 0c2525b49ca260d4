//! Tests of schedule times (time zones, DST, weekdays, `every`), of when a schedule is due and
//! of the power schedules give servers. The time is always given; nothing waits.

use chrono::{DateTime, Utc};

use super::{declared_power, due, last_at_or_before, next_after, next_times, Due};
use crate::model::{Desired, Schedule};
use crate::script::evaluate_text;

/// The model of `text` (servers and schedules).
fn script(text: &str) -> Desired {
    evaluate_text(text).expect("valid script")
}

/// A lone schedule with `options` (a Rhai map body).
fn schedule(options: &str) -> Schedule {
    let d = script(&format!(
        "server(\"dev-1\", #{{}}); schedule(\"s\", #{{ {options}, servers: \"dev-1\", action: \"reboot\" }});"
    ));
    d.schedules["s"].clone()
}

fn t(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 time")
}

fn times(s: &Schedule, after: &str, n: usize) -> Vec<String> {
    next_times(s, t(after), n)
        .iter()
        .map(|t| t.format("%Y-%m-%dT%H:%MZ").to_string())
        .collect()
}

#[test]
fn cron_weekdays_in_moscow_skip_the_weekend() {
    // 2026-12-04 is a Friday; Moscow is UTC+3 all year.
    let s = schedule(r#"cron: "0 20 * * 1-5", tz: "Europe/Moscow""#);
    assert_eq!(
        times(&s, "2026-12-04T16:00:00Z", 3),
        [
            "2026-12-04T17:00Z",
            "2026-12-07T17:00Z",
            "2026-12-08T17:00Z"
        ]
    );
}

#[test]
fn cron_without_tz_is_utc() {
    let s = schedule(r#"cron: "30 3 * * *""#);
    assert_eq!(
        times(&s, "2026-12-06T03:30:00Z", 2),
        ["2026-12-07T03:30Z", "2026-12-08T03:30Z"]
    );
}

#[test]
fn cron_follows_the_zone_across_a_dst_change() {
    // New York moves to summer time on 2026-03-08: 09:00 local is 14:00 UTC, then 13:00 UTC.
    let s = schedule(r#"cron: "0 9 * * *", tz: "America/New_York""#);
    assert_eq!(
        times(&s, "2026-03-07T00:00:00Z", 3),
        [
            "2026-03-07T14:00Z",
            "2026-03-08T13:00Z",
            "2026-03-09T13:00Z"
        ]
    );
}

#[test]
fn cron_time_skipped_by_spring_forward_runs_once_that_day() {
    // Berlin skips 02:00–03:00 on 2026-03-29.
    let s = schedule(r#"cron: "30 2 * * *", tz: "Europe/Berlin""#);
    let got = times(&s, "2026-03-28T12:00:00Z", 3);
    assert_eq!(got[0], "2026-03-29T01:00Z", "{got:?}");
    assert_eq!(got[1..], ["2026-03-30T00:30Z", "2026-03-31T00:30Z"]);
}

#[test]
fn cron_time_repeated_by_fall_back_runs_once() {
    // Berlin repeats 02:00–03:00 on 2026-10-25 (02:30 CEST is 00:30 UTC, 02:30 CET 01:30 UTC).
    let s = schedule(r#"cron: "30 2 * * *", tz: "Europe/Berlin""#);
    assert_eq!(
        times(&s, "2026-10-24T12:00:00Z", 3),
        [
            "2026-10-25T00:30Z",
            "2026-10-26T01:30Z",
            "2026-10-27T01:30Z"
        ]
    );
}

#[test]
fn every_is_aligned_to_its_period() {
    let hourly = schedule(r#"every: "1h""#);
    assert_eq!(
        times(&hourly, "2026-12-06T10:20:00Z", 2),
        ["2026-12-06T11:00Z", "2026-12-06T12:00Z"]
    );
    assert_eq!(
        last_at_or_before(&hourly, t("2026-12-06T10:20:00Z")),
        Some(t("2026-12-06T10:00:00Z"))
    );
    let daily = schedule(r#"every: "1d""#);
    assert_eq!(
        next_after(&daily, t("2026-12-06T00:00:00Z")),
        Some(t("2026-12-07T00:00:00Z"))
    );
}

#[test]
fn last_at_or_before_includes_the_due_time_itself() {
    let s = schedule(r#"cron: "0 20 * * 1-5", tz: "Europe/Moscow""#);
    // Sunday: the last was Friday's.
    assert_eq!(
        last_at_or_before(&s, t("2026-12-06T12:00:00Z")),
        Some(t("2026-12-04T17:00:00Z"))
    );
    assert_eq!(
        last_at_or_before(&s, t("2026-12-07T17:00:00Z")),
        Some(t("2026-12-07T17:00:00Z"))
    );
}

#[test]
fn a_watch_restart_around_a_due_time_runs_it_exactly_once() {
    let s = schedule(r#"every: "1h""#);
    // The first watch sees 11:00 pass, runs it and records it; it stops at 11:00:30.
    let first = due(
        &s,
        None,
        t("2026-12-06T10:59:00Z"),
        t("2026-12-06T11:00:05Z"),
    );
    assert_eq!(first, Due::Now(t("2026-12-06T11:00:00Z")));
    // The second starts at 11:00:40 with the run in the state: nothing to do.
    let last = Some(t("2026-12-06T11:00:00Z"));
    assert_eq!(
        due(
            &s,
            last,
            t("2026-12-06T11:00:40Z"),
            t("2026-12-06T11:00:41Z")
        ),
        Due::No
    );
    // Stopped at 10:59:59 before running it, started at 11:00:02: it was due before the start,
    // and has run before, so it is a missed run (no catch-up) — never silently skipped.
    let before = Some(t("2026-12-06T10:00:00Z"));
    assert_eq!(
        due(
            &s,
            before,
            t("2026-12-06T11:00:02Z"),
            t("2026-12-06T11:00:03Z")
        ),
        Due::Missed(t("2026-12-06T11:00:00Z"))
    );
}

#[test]
fn a_missed_run_is_run_once_with_catch_up_and_reported_without() {
    let plain = schedule(r#"cron: "0 8 * * *""#);
    let eager = schedule(r#"cron: "0 8 * * *", catch_up: true"#);
    // Last run yesterday at 08:00; watch was down from 07:00 to 09:30 today.
    let last = Some(t("2026-12-05T08:00:00Z"));
    let (since, now) = (t("2026-12-06T09:30:00Z"), t("2026-12-06T09:30:01Z"));
    assert_eq!(
        due(&plain, last, since, now),
        Due::Missed(t("2026-12-06T08:00:00Z"))
    );
    assert_eq!(
        due(&eager, last, since, now),
        Due::Now(t("2026-12-06T08:00:00Z"))
    );
    // Down for three days: one catch-up run, for the latest time.
    let (since, now) = (t("2026-12-09T09:30:00Z"), t("2026-12-09T09:30:01Z"));
    assert_eq!(
        due(&eager, last, since, now),
        Due::Now(t("2026-12-09T08:00:00Z"))
    );
    // Once recorded, neither is due again until tomorrow.
    let ran = Some(t("2026-12-09T08:00:00Z"));
    assert_eq!(due(&eager, ran, now, t("2026-12-09T10:00:00Z")), Due::No);
    // A schedule that never ran does not catch up on times before watch started.
    assert_eq!(due(&eager, None, since, now), Due::No);
}

#[test]
fn two_schedules_due_at_once_are_both_due() {
    let d = script(
        r#"server("dev-1", #{});
        schedule("a", #{ cron: "0 * * * *", action: "reboot", servers: "dev-1" });
        schedule("b", #{ every: "1h", action: "apply" });"#,
    );
    let (since, now) = (t("2026-12-06T10:59:30Z"), t("2026-12-06T11:00:10Z"));
    let due_now: Vec<Due> = d
        .schedules
        .values()
        .map(|s| due(s, None, since, now))
        .collect();
    assert_eq!(due_now, [Due::Now(t("2026-12-06T11:00:00Z")); 2]);
}

const DEV: &str = r#"
    server("dev-1", #{}); server("dev-2", #{}); server("db-1", #{});
    schedule("night-stop", #{ cron: "0 20 * * 1-5", tz: "Europe/Moscow", action: "power_off", servers: "dev-*" });
    schedule("morning", #{ cron: "0 8 * * 1-5", tz: "Europe/Moscow", action: "power_on", servers: "dev-*" });
"#;

fn power_notes(now: &str) -> Vec<String> {
    let (desired, changed) = declared_power(&script(DEV), t(now));
    for by in &changed {
        assert_eq!(
            desired.servers[&by.server].power == crate::model::Power::On,
            by.on
        );
    }
    changed
        .iter()
        .map(|by| format!("{}: {by}", by.server))
        .collect()
}

#[test]
fn a_server_stopped_by_its_schedule_is_declared_off_until_the_morning() {
    // Monday 21:00 in Moscow.
    assert_eq!(
        power_notes("2026-12-07T18:00:00Z"),
        [
            "dev-1: power off by schedule night-stop until 08:00",
            "dev-2: power off by schedule night-stop until 08:00"
        ]
    );
    // Friday 21:00: off over the weekend, until Monday.
    assert_eq!(
        power_notes("2026-12-11T18:00:00Z")[0],
        "dev-1: power off by schedule night-stop until Mon 08:00"
    );
    // Tuesday 09:00: the morning schedule said on, as declared: nothing changes.
    assert!(power_notes("2026-12-08T06:00:00Z").is_empty());
}

#[test]
fn due_times_are_whole_seconds_whatever_the_fraction_of_now() {
    let s = schedule(r#"cron: "0 20 * * 1-5", tz: "Europe/Moscow""#);
    let a = last_at_or_before(&s, t("2026-12-07T17:00:05.123Z"));
    let b = last_at_or_before(&s, t("2026-12-07T17:00:05.987Z"));
    assert_eq!(a, Some(t("2026-12-07T17:00:00Z")));
    assert_eq!(a, b);
    assert_eq!(
        next_after(&s, t("2026-12-07T16:59:59.5Z")),
        Some(t("2026-12-07T17:00:00Z"))
    );
    // Recorded for the run at 17:00, it is not due again a moment later.
    let last = Some(t("2026-12-07T17:00:00Z"));
    let (since, now) = (t("2026-12-07T17:00:05.1Z"), t("2026-12-07T17:00:05.3Z"));
    assert_eq!(due(&s, last, since, now), Due::No);
}
