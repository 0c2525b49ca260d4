#!/usr/bin/env bash
# bench-exec.sh — ict's SSH fan-out (`ict::ssh::exec_many`, command `true`) against the bench
# sshd farm, the same harness as shared/bench/README.md (pyinfra 1.18 s, xargs ssh x25519
# 0.81 s, floor ~0.55 s at N=50).
#
#   scripts/bench-exec.sh                 # N=1,10,50; 5 runs; socket modes quickack,nodelay,plain
#   SIZES=10,50 RUNS=5 MODES=quickack scripts/bench-exec.sh
#
# Starts a 50-host farm in its own FARM_DIR/BASE_PORT (so it does not collide with a farm
# someone else runs), builds the benchmark in release, runs it under /usr/bin/time -v, and
# always stops the farm (trap). Needs: openssh-server, openssh-client, time; root (sshd).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-$(cd .. && pwd)/shared/bench}
FARM=$BENCH_DIR/sshd-farm.sh
export FARM_DIR=${FARM_DIR:-/tmp/ict-sshd-farm-exec}
export BASE_PORT=${BASE_PORT:-23000}
SIZES=${SIZES:-1,10,50}
RUNS=${RUNS:-5}
MODES=${MODES:-quickack,nodelay,plain}
[[ -x $FARM || -f $FARM ]] || { echo "bench-exec: $FARM not found (set BENCH_DIR)" >&2; exit 1; }

cargo bench --no-run --bench exec_fanout
bin=$(cargo bench --no-run --bench exec_fanout --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*exec_fanout[^"]*\)".*/\1/p' | tail -1)
[[ -x $bin ]] || { echo "bench-exec: benchmark binary not found" >&2; exit 1; }

max=0
for n in ${SIZES//,/ }; do (( n > max )) && max=$n; done
trap 'bash "$FARM" stop' EXIT
bash "$FARM" start "$max"
for n in ${SIZES//,/ }; do bash "$FARM" inventory "$n" >/dev/null; done

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -v "$bin" --farm "$FARM_DIR" --sizes "$SIZES" --runs "$RUNS" --modes "$MODES" \
  2> >(grep -E 'Elapsed|User time|System time|Maximum resident' >&2)
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
