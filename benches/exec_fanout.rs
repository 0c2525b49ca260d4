//! Fan-out benchmark: `ict::ssh::exec_many` running `true` on the first N hosts of the bench
//! sshd farm (shared/bench/sshd-farm.sh), measured like shared/bench/README.md measures
//! pyinfra, Ansible and `xargs ssh`: wall time per run, and client CPU (user + sys of this
//! process, all threads, from /proc/self/stat) per run and per host.
//!
//! Usage (see scripts/bench-exec.sh, which starts and stops the farm):
//!   `exec_fanout --farm DIR [--sizes 1,10,50] [--runs 5] [--modes quickack,nodelay,plain]`
//! Every host must succeed; a failed host aborts the benchmark with its error.
//!
//! Measured 2026-11-22 (release, 10 runs, the 2-vCPU bench VM shared with other builds, load
//! 5–16; compare shared/bench/README.md):
//!
//! | N | socket mode | median s | client CPU ms/host | README reference |
//! |---:|---|---:|---:|---|
//! | 1 | nodelay+quickack | 0.036 | ~1 | paramiko nodelay+quickack 0.036, `ssh` x25519 0.148 |
//! | 1 | plain | 0.153 | ~2 | paramiko plain 0.120 |
//! | 10 | nodelay+quickack | 0.134 | 1.0 | floor 0.107, pyinfra 0.76, xargs ssh x25519 0.25 |
//! | 10 | plain | 0.218 | 1.0 | floor (plain) 0.217 |
//! | 50 | nodelay+quickack | 0.59–0.69 | 0.8 | floor 0.55–0.61, pyinfra 1.18, xargs ssh x25519 0.81 |
//! | 50 | plain | 0.59–0.60 | 0.7 | floor (plain) 0.545 |

#![allow(clippy::print_stdout, reason = "a benchmark binary reports on stdout")]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ict::ssh::{exec_many, Auth, ConnectOptions, FanoutOptions, KnownHosts, Target};

struct Args {
    farm: PathBuf,
    sizes: Vec<usize>,
    runs: usize,
    modes: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        farm: PathBuf::from("/tmp/ict-sshd-farm"),
        sizes: vec![10, 50],
        runs: 5,
        modes: vec!["quickack".to_owned()],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--farm" => args.farm = PathBuf::from(value()?),
            "--sizes" => {
                args.sizes = value()?
                    .split(',')
                    .map(|s| s.parse().map_err(|e| format!("--sizes {s}: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => args.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--modes" => args.modes = value()?.split(',').map(str::to_owned).collect(),
            "--bench" => {} // passed by `cargo bench`
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// `name addr port` lines of the farm's `inv/K/hosts.txt`.
fn read_hosts(path: &Path) -> Result<Vec<Target>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [name, addr, port] => Ok(Target::new(
                    *name,
                    *addr,
                    port.parse().map_err(|e| format!("{line}: {e}"))?,
                    "root",
                )),
                _ => Err(format!("bad hosts.txt line {line:?}")),
            }
        })
        .collect()
}

/// User + system CPU of this process (all threads), from /proc/self/stat (clock ticks).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`: state is field 3; utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    let ticks: u64 = fields.iter().sum();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

fn connect_options(mode: &str) -> Result<ConnectOptions, String> {
    let base = ConnectOptions::with_timeout(Duration::from_secs(30));
    match mode {
        "quickack" => Ok(ConnectOptions {
            nodelay: true,
            quickack: true,
            ..base
        }),
        "nodelay" => Ok(ConnectOptions {
            nodelay: true,
            quickack: false,
            ..base
        }),
        "plain" => Ok(ConnectOptions {
            nodelay: false,
            quickack: false,
            ..base
        }),
        other => Err(format!("unknown mode {other} (quickack, nodelay, plain)")),
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let auth = Auth::key_file(&args.farm.join("client_ed25519")).map_err(|e| e.to_string())?;
    let known = KnownHosts::load(&args.farm.join("known_hosts")).map_err(|e| e.to_string())?;
    let verifier: Arc<dyn ict::ssh::HostKeyVerifier> = Arc::new(known);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    println!(
        "| N | mode | runs | median s | min s | max s | client CPU s/run | client CPU ms/host |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for &n in &args.sizes {
        let hosts = read_hosts(&args.farm.join(format!("inv/{n}/hosts.txt")))?;
        for mode in &args.modes {
            let options = FanoutOptions {
                parallelism: n,
                connect: connect_options(mode)?,
                command_timeout: Duration::from_secs(30),
                pool: None,
            };
            // One untimed warm-up run (page cache, sshd's first fork), as hyperfine would.
            let warmup =
                runtime.block_on(exec_many(&hosts, &auth, verifier.clone(), "true", &options));
            check(&warmup)?;
            let (mut walls, mut cpus) = (Vec::new(), Vec::new());
            for _ in 0..args.runs {
                let cpu_before = process_cpu();
                let start = Instant::now();
                let results =
                    runtime.block_on(exec_many(&hosts, &auth, verifier.clone(), "true", &options));
                walls.push(start.elapsed().as_secs_f64());
                cpus.push(process_cpu().saturating_sub(cpu_before).as_secs_f64());
                check(&results)?;
            }
            let (min, max) = (
                walls.iter().copied().fold(f64::INFINITY, f64::min),
                walls.iter().copied().fold(0.0, f64::max),
            );
            let cpu = cpus.iter().sum::<f64>() / cpus.len() as f64;
            println!(
                "| {n} | {mode} | {} | {:.3} | {min:.3} | {max:.3} | {cpu:.3} | {:.1} |",
                args.runs,
                median(&mut walls),
                cpu * 1000.0 / n as f64
            );
        }
    }
    Ok(())
}

fn check(results: &[ict::ssh::HostResult]) -> Result<(), String> {
    for result in results {
        match &result.outcome {
            Ok(out) if out.success() => {}
            Ok(out) => return Err(format!("{}: exit {:?}", result.target, out.exit_status)),
            Err(e) => return Err(format!("{}: {e}", result.target)),
        }
    }
    Ok(())
}
