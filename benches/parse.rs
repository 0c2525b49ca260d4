//! Parse throughput of `ict::metrics::parse` against the `prometheus-parse` crate, on the two
//! `node_exporter` samples each repeated to about 50 MB (the same inputs as the Python baseline in
//! the shared bench README). Not a test: run `scripts/bench-parse.sh` (or
//! `cargo bench --bench parse`) and read the table.
//!
//! Every run but the "parse only" one visits every family, sample and label (ict decodes each
//! label pair from its stored span at that point). Wall time is the median of the runs; CPU
//! time (from `/proc/thread-self/schedstat`) is shown too because the machine is shared.
//! Environment: `BENCH_MB` (default 50) sets the input size, `BENCH_RUNS` (default 5) the runs.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark's job is to print its table"
)]

use std::hint::black_box;
use std::time::Instant;

/// One timed run: wall seconds, CPU seconds (if the kernel tells), samples seen.
struct Run {
    wall: f64,
    cpu: Option<f64>,
    samples: usize,
}

fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}

fn timed(work: impl FnOnce() -> usize) -> Run {
    let cpu_before = thread_cpu_seconds();
    let start = Instant::now();
    let samples = work();
    let wall = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    Run { wall, cpu, samples }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn report(label: &str, bytes: usize, runs: &[Run]) {
    let wall = median(runs.iter().map(|r| r.wall).collect());
    let cpu: Option<Vec<f64>> = runs.iter().map(|r| r.cpu).collect();
    let cpu = cpu.map(median);
    let samples = runs.first().map_or(0, |r| r.samples);
    let mb = bytes as f64 / 1e6;
    let cpu_column = cpu.map_or("n/a".to_owned(), |cpu| format!("{:.0}", mb / cpu));
    println!(
        "| {label} | {mb:.2} | {} | {wall:.4} | {:.0} | {cpu_column} | {:.2} M |",
        runs.len(),
        mb / wall,
        samples as f64 / wall / 1e6,
    );
}

/// ict: one parse of the whole text, nothing visited (label sets stay unparsed spans).
fn ict_parse_only(text: &str) -> usize {
    ict::metrics::parse(text)
        .expect("the sample parses")
        .sample_count()
}

/// ict: one parse of the whole text, then every family, sample and label visited.
fn ict_whole(text: &str) -> usize {
    let scrape = ict::metrics::parse(text).expect("the sample parses");
    let mut samples = 0;
    let mut sum = 0.0;
    for family in scrape.families() {
        for sample in family.samples() {
            samples += 1;
            sum += sample.value();
            sum += sample
                .labels()
                .map(|label| label.value.len())
                .sum::<usize>() as f64;
        }
    }
    black_box(sum);
    samples
}

/// ict: the realistic use, one scrape parsed at a time (memory is reused between scrapes).
fn ict_per_scrape(sample: &str, copies: usize) -> usize {
    (0..copies).map(|_| ict_whole(black_box(sample))).sum()
}

/// prometheus-parse, fed the way its README shows (owned lines).
fn prometheus_parse(text: &str) -> usize {
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the sample parses");
    let mut sum = 0.0;
    for sample in &scrape.samples {
        if let prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) = sample.value
        {
            sum += v;
        }
        sum += sample.labels.values().map(String::len).sum::<usize>() as f64;
    }
    black_box(sum);
    scrape.samples.len()
}

fn main() {
    let target_mb: f64 = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50.0);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    println!(
        "| parser / input | MB | runs | median wall s | MB/s (wall) | MB/s (CPU) | samples/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for file in [
        "node_exporter_sample.prom",
        "node_exporter_bighost_sample.prom",
    ] {
        let sample = std::fs::read_to_string(format!("{dir}/{file}")).expect("sample file");
        let copies = ((target_mb * 1e6) as usize / sample.len()).max(1);
        let text = sample.repeat(copies);
        let name = format!("{file} x{copies}");
        let whole: Vec<Run> = (0..runs).map(|_| timed(|| ict_whole(&text))).collect();
        report(&format!("ict, whole text, {name}"), text.len(), &whole);
        let bare: Vec<Run> = (0..runs).map(|_| timed(|| ict_parse_only(&text))).collect();
        report(
            &format!("ict, whole text, parse only, {name}"),
            text.len(),
            &bare,
        );
        let each: Vec<Run> = (0..runs)
            .map(|_| timed(|| ict_per_scrape(&sample, copies)))
            .collect();
        report(&format!("ict, per scrape, {name}"), text.len(), &each);
        let theirs: Vec<Run> = (0..runs.min(3))
            .map(|_| timed(|| prometheus_parse(&text)))
            .collect();
        report(
            &format!("prometheus-parse 0.2, {name}"),
            text.len(),
            &theirs,
        );
    }
    println!();
    println!("samples/s counts each parser's own samples: prometheus-parse folds a histogram or");
    println!("summary into one sample per label set, ict keeps every exposition line.");
    println!(
        "MB/s (CPU) divides by this thread's CPU time: the honest figure on a shared machine."
    );
}
