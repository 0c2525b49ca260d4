//! Unit tests of the parser: the real `node_exporter` samples, escapes, special values,
//! timestamps, `OpenMetrics`, error lines and a randomized no-panic run.

#![allow(
    clippy::float_cmp,
    reason = "parsed values must be exactly the written ones"
)]

use std::borrow::Cow;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::parse;
use crate::metrics::{figures, MetricType, Reason};

const SAMPLE: &str = include_str!("../../../tests/data/node_exporter_sample.prom");
const BIGHOST: &str = include_str!("../../../tests/data/node_exporter_bighost_sample.prom");

/// (name, value token) of every sample line, found without the parser: the name ends at the
/// first `{` or space, the value is the last space-separated token (no timestamps in these files).
fn naive_samples(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let name_end = line.find(['{', ' ']).unwrap();
            let value = line.rsplit(' ').next().unwrap();
            (&line[..name_end], value)
        })
        .collect()
}

fn same_value(parsed: f64, token: &str) -> bool {
    let expected: f64 = token.parse().unwrap();
    parsed == expected || (parsed.is_nan() && expected.is_nan())
}

fn check_whole_file(text: &str) {
    let scrape = parse(text).unwrap();
    let expected = naive_samples(text);
    let type_lines = text
        .lines()
        .filter(|line| line.starts_with("# TYPE "))
        .count();
    assert!(type_lines > 100, "the sample has its families");
    assert_eq!(scrape.family_count(), type_lines);
    assert_eq!(scrape.sample_count(), expected.len());
    for (sample, (name, value)) in scrape.all_samples().zip(&expected) {
        assert_eq!(sample.name(), *name);
        assert!(
            same_value(sample.value(), value),
            "{name}: {} vs {value}",
            sample.value()
        );
    }
    // Every sample sits in the family whose name it extends, and families cover all samples.
    let mut covered = 0;
    for family in scrape.families() {
        assert!(family.help().is_some(), "{} has HELP", family.name());
        for sample in family.samples() {
            assert!(
                sample.name().starts_with(family.name()),
                "{} in {}",
                sample.name(),
                family.name()
            );
        }
        covered += family.samples().len();
    }
    assert_eq!(covered, expected.len());
    // Every label pair is walked back from the stored spans.
    let pairs = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.matches("=\"").count());
    let walked = scrape.all_samples().map(|s| s.labels().count());
    assert_eq!(walked.sum::<usize>(), pairs.sum::<usize>());
}

#[test]
fn reads_every_family_and_sample_of_the_real_scrape() {
    check_whole_file(SAMPLE);
}

#[test]
fn reads_every_family_and_sample_of_the_big_host_scrape() {
    check_whole_file(BIGHOST);
}

#[test]
fn families_keep_their_type_help_and_suffixed_samples() {
    let scrape = parse(SAMPLE).unwrap();
    let gc = scrape.family("go_gc_duration_seconds").unwrap();
    assert_eq!(gc.kind(), MetricType::Summary);
    let names: Vec<_> = gc.samples().map(|s| s.name()).collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "go_gc_duration_seconds")
            .count(),
        5
    );
    assert!(names.contains(&"go_gc_duration_seconds_sum"));
    assert!(names.contains(&"go_gc_duration_seconds_count"));
    assert_eq!(scrape.value("go_gc_duration_seconds_count", &[]), Some(0.0));
    assert_eq!(
        scrape.family("node_load1").unwrap().kind(),
        MetricType::Gauge
    );
    let cpus = SAMPLE
        .lines()
        .filter(|l| l.starts_with("node_cpu_seconds_total{"))
        .count();
    assert_eq!(scrape.samples("node_cpu_seconds_total").count(), cpus);
    assert!(scrape.family("no_such_metric").is_none());
    assert_eq!(scrape.samples("no_such_metric_total").count(), 0);
}

#[test]
fn openmetrics_counter_and_histogram_samples_join_their_family() {
    let text = "# TYPE req counter\n# HELP req Requests.\nreq_total 7\nreq_created 1.5e9\n\
                # TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 3\n\
                lat_sum 0.9\nlat_count 3\nstray 1\n# EOF\n";
    let scrape = parse(text).unwrap();
    let families: Vec<_> = scrape
        .families()
        .map(|f| (f.name(), f.kind(), f.samples().len()))
        .collect();
    assert_eq!(
        families,
        [
            ("req", MetricType::Counter, 2),
            ("lat", MetricType::Histogram, 4),
            ("stray", MetricType::Untyped, 1)
        ]
    );
    assert_eq!(scrape.family("req").unwrap().help(), Some("Requests."));
    assert_eq!(scrape.value("req_total", &[]), Some(7.0));
    assert_eq!(scrape.value("lat_bucket", &[("le", "+Inf")]), Some(3.0));
    // A suffix the type does not allow starts its own family.
    let scrape = parse("# TYPE g gauge\ng 1\ng_total 2\n").unwrap();
    assert_eq!(scrape.family_count(), 2);
}

#[test]
fn eof_ends_the_exposition_and_nothing_may_follow() {
    assert_eq!(parse("a 1\n# EOF\n\n").unwrap().sample_count(), 1);
    assert_eq!(parse("a 1\n# EOF").unwrap().sample_count(), 1);
    let error = parse("a 1\n# EOF\n\nb 2\n").unwrap_err();
    assert_eq!((error.line, error.reason), (4, Reason::AfterEof));
    // `# EOF something` is just a comment.
    assert_eq!(parse("# EOF x\nb 2\n").unwrap().sample_count(), 1);
}

#[test]
fn label_escapes_are_decoded_and_plain_values_borrowed() {
    let text = "m{path=\"C:\\\\dir\",say=\"\\\"hi\\\"\",nl=\"a\\nb\",plain=\"x y\",} 1\n";
    let scrape = parse(text).unwrap();
    let sample = scrape.all_samples().next().unwrap();
    let labels: Vec<_> = sample.labels().collect();
    let values: Vec<_> = labels.iter().map(|l| (l.name, l.value.as_ref())).collect();
    assert_eq!(
        values,
        [
            ("path", "C:\\dir"),
            ("say", "\"hi\""),
            ("nl", "a\nb"),
            ("plain", "x y")
        ]
    );
    assert!(matches!(labels[0].value, Cow::Owned(_)));
    assert!(matches!(labels[3].value, Cow::Borrowed(_)));
    assert_eq!(sample.label("say").as_deref(), Some("\"hi\""));
    assert_eq!(sample.label("missing"), None);
    assert!(sample.matches(&[("plain", "x y"), ("nl", "a\nb")]));
    assert!(!sample.matches(&[("plain", "x")]));
}

#[test]
fn blanks_inside_label_sets_are_allowed() {
    let scrape = parse("m { a = \"1\" ,\tb=\"2\" } 3\nn{} 4\n").unwrap();
    let mut samples = scrape.all_samples();
    let m = samples.next().unwrap();
    let pairs: Vec<_> = m.labels().map(|l| (l.name, l.value.into_owned())).collect();
    assert_eq!(pairs, [("a", "1".to_owned()), ("b", "2".to_owned())]);
    assert_eq!((m.value(), m.label("b").as_deref()), (3.0, Some("2")));
    assert_eq!(samples.next().unwrap().labels().count(), 0);
}

#[test]
fn help_text_is_unescaped() {
    let scrape = parse("# HELP m Line one\\nback\\\\slash \\d.\nm 1\n").unwrap();
    assert_eq!(
        scrape.family("m").unwrap().help(),
        Some("Line one\nback\\slash \\d.")
    );
}

#[test]
fn special_values_and_timestamps() {
    let text =
        "a NaN\nb +Inf\nc -Inf\nd 1.5e+06 1700000000123\ne{x=\"1\"} -2 -5\nf 3 # {id=\"x\"} 1\n\
                g\t4\t\t17  \r\n";
    let scrape = parse(text).unwrap();
    let got: Vec<_> = scrape
        .all_samples()
        .map(|s| (s.name(), s.value(), s.timestamp()))
        .collect();
    assert!(got[0].1.is_nan() && got[0].2.is_none());
    assert_eq!(got[1].1, f64::INFINITY);
    assert_eq!(got[2].1, f64::NEG_INFINITY);
    assert_eq!(got[3], ("d", 1_500_000.0, Some(1_700_000_000_123)));
    assert_eq!(got[4], ("e", -2.0, Some(-5)));
    assert_eq!(got[5], ("f", 3.0, None));
    assert_eq!(got[6], ("g", 4.0, Some(17)));
}

#[test]
fn blank_lines_comments_and_leading_blanks_are_skipped() {
    let text = "\n   \n# just a comment\n#\n  # HELP m x\n  m 1\n\t\n";
    let scrape = parse(text).unwrap();
    assert_eq!((scrape.family_count(), scrape.sample_count()), (1, 1));
    assert_eq!(parse("").unwrap().family_count(), 0);
}

#[test]
fn bad_inputs_report_their_line_and_reason() {
    let table: &[(&str, usize, Reason)] = &[
        ("1abc 1\n", 1, Reason::MetricName),
        ("ok 1\n{a=\"b\"} 1\n", 2, Reason::MetricName),
        ("ok 1\n\nm{1=\"x\"} 1\n", 3, Reason::LabelName),
        ("m{a \"x\"} 1\n", 1, Reason::LabelEquals),
        ("m{a=x} 1\n", 1, Reason::LabelQuote),
        ("m{a=\"x} 1\n", 1, Reason::UnterminatedLabelValue),
        ("m{a=\"x\\", 1, Reason::InvalidEscape),
        ("m{a=\"\\t\"} 1\n", 1, Reason::InvalidEscape),
        ("m{a=\"x\" b=\"y\"} 1\n", 1, Reason::LabelSeparator),
        ("# TYPE m gauge\nm\n", 2, Reason::MissingValue),
        ("m{a=\"b\"}\n", 1, Reason::MissingValue),
        ("m one\n", 1, Reason::InvalidValue),
        ("a 1\nb 2\nm 1 12.5\n", 3, Reason::InvalidTimestamp),
        ("m 1 2 3\n", 1, Reason::TrailingText),
        ("# TYPE m gauge extra\n", 1, Reason::TrailingText),
        ("# TYPE m bogus\n", 1, Reason::UnknownType),
        ("# HELP\n", 1, Reason::CommentMetricName),
        ("# TYPE 9m gauge\n", 1, Reason::CommentMetricName),
        ("a 1\r\nb 2\r\n# EOF\r\nc 3\r\n", 4, Reason::AfterEof),
    ];
    for (input, line, reason) in table {
        let error = parse(input).expect_err(input);
        assert_eq!(
            (error.line, error.reason),
            (*line, *reason),
            "input {input:?}"
        );
        assert!(error
            .to_string()
            .starts_with(&format!("metrics line {line}: ")));
    }
}

/// Bytes that steer the parser into its branches when inserted at random.
const INTERESTING: &[u8] = b"{}\",=\\\n\r\t #+-.eEIinfNa0123456789_:\xc3\xa9";

fn mutate(rng: &mut StdRng, base: &[u8]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for _ in 0..rng.random_range(0..6) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..4) {
            0 if at < bytes.len() => bytes[at] = rng.random(),
            1 => bytes.insert(at, INTERESTING[rng.random_range(0..INTERESTING.len())]),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = StdRng::seed_from_u64(0x001c_100d);
    let lines: Vec<&str> = SAMPLE.split_inclusive('\n').collect();
    let (mut ok, mut failed) = (0, 0);
    for round in 0..3000 {
        let bytes = if round % 10 == 0 {
            (0..rng.random_range(0..200))
                .map(|_| rng.random::<u8>())
                .collect()
        } else {
            let start = rng.random_range(0..lines.len());
            let end = (start + rng.random_range(1..20)).min(lines.len());
            mutate(&mut rng, lines[start..end].concat().as_bytes())
        };
        let text = String::from_utf8_lossy(&bytes);
        let lines = text.split('\n').count();
        match parse(&text) {
            Ok(scrape) => {
                ok += 1;
                assert!(scrape.sample_count() <= lines);
                assert!(scrape.families().map(|f| f.samples().len()).sum::<usize>() <= lines);
                // The figures must not panic on whatever parsed either.
                let figures = figures(&scrape, &scrape, Duration::from_secs(1));
                assert!(figures.mounts.len() <= scrape.sample_count());
                for sample in scrape.all_samples() {
                    assert!(sample.labels().all(|label| !label.name.is_empty()));
                }
            }
            Err(error) => {
                failed += 1;
                assert!(
                    (1..=lines).contains(&error.line),
                    "{error} in {lines} lines"
                );
            }
        }
    }
    // Both outcomes were exercised, so the run explored more than one path.
    assert!(ok > 100 && failed > 100, "ok {ok}, failed {failed}");
}
