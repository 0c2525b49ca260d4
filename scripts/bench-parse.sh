#!/usr/bin/env bash
# bench-parse.sh — Prometheus text parse throughput: ict::metrics::parse vs prometheus-parse.
#
# Builds benches/parse.rs in release (the bench profile) and prints a Markdown table of MB/s and
# samples/s for tests/data/node_exporter_sample.prom and node_exporter_bighost_sample.prom, each
# repeated to about 50 MB. Compare with the Python baseline in the shared bench README
# (prometheus_client: 7.5–10 MB/s).
#
# Env: BENCH_MB (default 50), BENCH_RUNS (default 5), CARGO_TARGET_DIR (as usual).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "# $(date -u +%FT%TZ) $(uname -srm), $(nproc) CPUs, $(rustc --version)"
exec cargo bench --bench parse "$@"
