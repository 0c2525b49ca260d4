#!/usr/bin/env bash
# Benchmark (not a test): what `ict watch --listen` costs while it samples N emulated servers
# (default 50) every S seconds (default 5) and serves its dashboard to one headless Chromium,
# for D seconds (default 120).
#
# Applies a script of N servers to the built-in emulator in a temporary folder (no SSH backing;
# every server serves node_exporter-style /metrics on its loopback IP), starts `ict watch`,
# opens the dashboard in `chromium --headless`, and reads `ict watch`'s CPU time and memory
# from /proc at the start and the end: the average share of one core over the run, the
# resident memory at the end and its peak. Everything stays on 127.0.0.0/8; the folder and
# every process are gone when the script ends.
#
# Usage: scripts/bench-dashboard.sh [N] [S] [D]   (ICT=path/to/ict to use another binary)
set -euo pipefail
N=${1:-50}
S=${2:-5}
D=${3:-120}
ICT=${ICT:-$(cd "$(dirname "$0")/.." && pwd)/target/release/ict}
[[ -x $ICT ]] || { echo "build first: cargo build --release (or set ICT=...)" >&2; exit 1; }
WORK=$(mktemp -d)
WATCH=
BROWSER=
cleanup() {
    [[ -z $BROWSER ]] || kill "$BROWSER" 2> /dev/null || true
    [[ -z $WATCH ]] || { kill -TERM "$WATCH" 2> /dev/null; wait "$WATCH" 2> /dev/null || true; }
    "$ICT" emulator stop "$WORK" > /dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
cat > bench.ict <<ICT
for i in 1..=$N { server(\`m-\${i}\`, #{ cpu: 2, ram: 2048, disk: 20 }); }
alert("hot", #{ when: "cpu > 90", hosts: "all" });
ICT
export ICT_EMULATOR_SSH=0 ICT_EMULATOR_TASK_DELAY_MS=20 NO_COLOR=1
"$ICT" apply -y --parallelism 50 bench.ict > apply.log
echo "applied $N servers ($(grep -c 'created' apply.log) created)"
"$ICT" watch bench.ict --interval "$S" --listen 127.0.0.1:0 2> watch.log &
WATCH=$!
for _ in $(seq 100); do grep -q 'dashboard on http' watch.log && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*/#token=[0-9a-f]*' watch.log)
chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$WORK/profile" \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    "$URL" > /dev/null 2>&1 &
BROWSER=$!
ticks() { awk '{ print $14 + $15 }' "/proc/$WATCH/stat"; }
hz=$(getconf CLK_TCK)
sleep "$S" # the first round and the page's first load
start=$(ticks)
sleep "$D"
end=$(ticks)
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$WATCH/status")
peak=$(awk '/VmHWM/ { print $2 }' "/proc/$WATCH/status")
anon=$(awk '/RssAnon/ { print $2 }' "/proc/$WATCH/status")
file=$(awk '/RssFile/ { print $2 }' "/proc/$WATCH/status")
rounds=$(curl -s "http://$(echo "$URL" | cut -d/ -f3)/api/servers" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ticks"], sum(1 for s in d["servers"] if s["up"]))')
echo "ict watch over ${D}s, every ${S}s, ${N} servers, one browser: rounds/servers up: $rounds"
echo "CPU: $(echo "scale=2; 100 * ($end - $start) / $hz / $D" | bc)% of one core on average"
echo "memory: RSS $((rss / 1024)) MB at the end ($((anon / 1024)) MB heap and stacks, $((file / 1024)) MB mapped binary and libraries), peak $((peak / 1024)) MB"
