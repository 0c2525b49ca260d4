#!/usr/bin/env bash
# Benchmark (not a test): scrape N emulated servers (default 200) with `ict metrics`.
#
# Applies a script of N servers to the built-in emulator in a temporary folder (no SSH backing;
# every server serves node_exporter-style /metrics on its loopback IP, port 9100), then times
#   ict metrics bench.ict --interval 0 --json   (one scrape of every server)
#   ict metrics bench.ict --interval 1 --json   (two scrapes 1 s apart: rates)
# and prints the slowest per-server scrape. Everything stays on 127.0.0.0/8; the folder and
# every process are gone when the script ends.
#
# Usage: scripts/bench-metrics.sh [N]   (ICT=path/to/ict to use another binary)
set -euo pipefail
N=${1:-200}
ICT=${ICT:-$(cd "$(dirname "$0")/.." && pwd)/target/release/ict}
[[ -x $ICT ]] || { echo "build first: cargo build --release (or set ICT=...)" >&2; exit 1; }
WORK=$(mktemp -d)
trap '"$ICT" emulator stop "$WORK" > /dev/null 2>&1; rm -rf "$WORK"' EXIT
cd "$WORK"
cat > bench.ict <<ICT
for i in 1..=$N { server(\`m-\${i}\`, #{ cpu: 2, ram: 2048, disk: 20 }); }
ICT
export ICT_EMULATOR_SSH=0 ICT_EMULATOR_TASK_DELAY_MS=20 NO_COLOR=1
"$ICT" apply -y --parallelism 50 bench.ict > apply.log
echo "applied $N servers ($(grep -c 'created' apply.log) created)"
if command -v hyperfine > /dev/null; then
    hyperfine --warmup 1 --runs 5 \
        "$ICT metrics bench.ict --interval 0 --json" \
        "$ICT metrics bench.ict --interval 1 --json"
else
    for interval in 0 1; do
        start=$(date +%s.%N)
        "$ICT" metrics bench.ict --interval "$interval" --json > /dev/null
        end=$(date +%s.%N)
        echo "ict metrics --interval $interval: $(echo "$end - $start" | bc) s"
    done
fi
"$ICT" metrics bench.ict --interval 0 --json > rows.json
python3 - rows.json <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
ok = [r for r in rows if r["figures"]]
print(f"{len(ok)}/{len(rows)} servers scraped; slowest scrape {max(r['scrape_ms'] for r in rows):.1f} ms")
PY
