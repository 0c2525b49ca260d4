#!/usr/bin/env bash
# bench-fanout.sh — `ict exec --hosts` on the shared bench's sshd farm, next to the incumbents,
# timed exactly like shared/bench/fanout.sh (hyperfine, 5 runs, farm-side CPU from /proc). A copy
# of fanout.sh with an `ict_exec` case and only what that needs; the farm, CPU snapshot and
# summary scripts are used unchanged from $BENCH_DIR.
#
#   scripts/bench-fanout.sh                                   # N=10,50: ict_exec ssh_xargs_x25519 pyinfra_exec
#   CASES="ict_exec" SIZES="50" RUNS=10 scripts/bench-fanout.sh
#   ICT=target/release/ict scripts/bench-fanout.sh            # a given binary (default: release build)
#
# Starts its own farm (FARM_DIR=/tmp/ict-sshd-farm-fanout, ports BASE_PORT+1.., default 24000,
# so it does not collide with a farm someone else runs) and always stops it (trap). pyinfra and
# ansible cases need the venv from $BENCH_DIR/setup.sh; they are skipped without it. Results go
# to $RESULTS (default /tmp/ict-bench-fanout): raw/*.json, cpu/*.txt, results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BENCH_DIR=${BENCH_DIR:-$(cd .. && pwd)/shared/bench}
FARM=$BENCH_DIR/sshd-farm.sh
export FARM_DIR=${FARM_DIR:-/tmp/ict-sshd-farm-fanout}
export BASE_PORT=${BASE_PORT:-24000}
VENV=${VENV:-/tmp/ict-bench-venv}
RESULTS=${RESULTS:-/tmp/ict-bench-fanout}
SIZES=${SIZES:-"10 50"}
RUNS=${RUNS:-5}
CASE_TIMEOUT=${CASE_TIMEOUT:-300}   # seconds; bounds every hyperfine invocation
CASES=${CASES:-"ict_exec ssh_xargs_x25519 pyinfra_exec"}
SSH_CFG=$FARM_DIR/ssh_config
[[ -f $FARM ]] || { echo "bench-fanout: $FARM not found (set BENCH_DIR)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench-fanout: hyperfine missing (apt-get install hyperfine)" >&2; exit 1; }
PY=python3
[[ -x $VENV/bin/python ]] && PY=$VENV/bin/python && export PATH=$VENV/bin:$PATH

if [[ -z ${ICT:-} ]]; then
  cargo build --release --bin ict
  ICT=${CARGO_TARGET_DIR:-$ROOT/target}/release/ict
fi
[[ -x $ICT ]] || { echo "bench-fanout: $ICT not found" >&2; exit 1; }

case_cmd() {   # NAME N -> the command line
  local name=$1 n=$2 inv=$FARM_DIR/inv/$2
  case $name in
    ict_exec) echo "$ICT exec --hosts $inv/hosts.txt --known-hosts $FARM_DIR/known_hosts --identity $FARM_DIR/client_ed25519 -f $n -- true" ;;
    ssh_xargs) echo "xargs -P $n -a $inv/aliases.txt -I{} ssh -F $SSH_CFG {} true" ;;
    ssh_xargs_x25519) echo "xargs -P $n -a $inv/aliases.txt -I{} ssh -F $SSH_CFG -o KexAlgorithms=curve25519-sha256 {} true" ;;
    pyinfra_exec) echo "pyinfra $inv/inventory.py exec --parallel $n -y -- true" ;;
    ansible_raw_cold) echo "env ANSIBLE_SSH_ARGS='-C -o ControlMaster=no' ansible all -i $inv/hosts.yml -m raw -a true -f $n" ;;
    *) echo "bench-fanout: unknown case $name" >&2; return 1 ;;
  esac
}
available() {   # NAME -> true if the tool is installed
  case $1 in
    pyinfra_*) command -v pyinfra >/dev/null ;;
    ansible_*) command -v ansible >/dev/null ;;
    *) true ;;
  esac
}

maxn=0
for n in $SIZES; do (( n > maxn )) && maxn=$n; done
mkdir -p "$RESULTS/raw" "$RESULTS/cpu" "$RESULTS/logs"
rm -f "$RESULTS"/raw/*.json "$RESULTS"/cpu/*.txt

bash "$FARM" stop >/dev/null 2>&1 || true
trap 'bash "$FARM" stop' EXIT
bash "$FARM" start "$maxn"
eval "$(bash "$FARM" env)"
for n in $SIZES; do bash "$FARM" inventory "$n" >/dev/null; done

snap() { "$PY" "$BENCH_DIR/cpu-snap.py" "$FARM_DIR"; }

echo "== ict $("$ICT" --version | cut -d' ' -f2) ($ICT); $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $SIZES; do
  for c in $CASES; do
    available "$c" || { echo "== N=$n $c: skipped (not installed; run $BENCH_DIR/setup.sh)"; continue; }
    cmd=$(case_cmd "$c" "$n")
    # One untimed run first: a failure shows here, with its output.
    eval "$cmd" >"$RESULTS/logs/$n-$c.check.log" 2>&1 || {
      cat "$RESULTS/logs/$n-$c.check.log"; echo "bench-fanout: $c N=$n FAILED" >&2; exit 1; }
    b=$(snap)
    echo "== N=$n $c: $cmd"
    timeout "$CASE_TIMEOUT" hyperfine --style basic --warmup 1 --runs "$RUNS" --command-name "$c" \
      --export-json "$RESULTS/raw/$n-$c.json" "$cmd" >"$RESULTS/logs/$n-$c.log" 2>&1 ||
      { cat "$RESULTS/logs/$n-$c.log"; echo "bench-fanout: $c N=$n FAILED" >&2; exit 1; }
    a=$(snap)
    echo "$b $a $((RUNS + 1)) cold" >"$RESULTS/cpu/$n-$c.txt"
    "$PY" - "$RESULTS/raw/$n-$c.json" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
n = int(sys.argv[2])
cpu = r["user"] + r["system"]
print(f"   wall mean {r['mean']:.3f} s, min {r['min']:.3f} s, median {r['median']:.3f} s, max {r['max']:.3f} s; "
      f"client CPU {cpu:.3f} s/run = {1000 * cpu / n:.1f} ms per host")
PY
  done
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$BENCH_DIR/summarize.py" "$RESULTS" >/dev/null
echo "== $RESULTS/results.md"
cat "$RESULTS/results.md"
