#!/usr/bin/env bash
# bench-quickstart.sh — the README's first command, `ict run examples/quickstart.ict --yes`,
# from an empty project (a fresh copy of examples/ each run, no .ict): the in-process emulator
# with its default task delay creates 4 servers and a network, boots each server's isolated
# machine, waits for SSH, pins the host keys, runs both playbooks over Ansible and shows the
# live metrics. Wall time of each run, then mean and max.
#
#   scripts/bench-quickstart.sh                   # debug build, 5 runs
#   PROFILE=release RUNS=5 scripts/bench-quickstart.sh
#
# Needs root, openssh-server, ansible-playbook and what `ict doctor` lists under
# emulator-isolation. Works in a temporary folder (removed on exit). Target: <= 8 s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PROFILE=${PROFILE:-debug}
RUNS=${RUNS:-5}
if [[ $PROFILE == release ]]; then cargo build --release --bin ict; else cargo build --bin ict; fi
ICT=${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/ict
[[ -x $ICT ]] || { echo "bench-quickstart: $ICT not found" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ict-bench-quickstart-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
unset ONECLOUD_TOKEN ICT_EMULATOR_TASK_DELAY_MS ICT_EMULATOR_SSH
export NO_COLOR=1

echo "== ict $("$ICT" --version | cut -d' ' -f2) ($PROFILE build), load $(cut -d' ' -f1-3 /proc/loadavg)"
times=()
for i in $(seq 1 "$RUNS"); do
  dir=$WORK/run$i
  mkdir -p "$dir"
  (cd "$ROOT/examples" && tar --exclude=.ict -cf - .) | (cd "$dir" && tar -xf -)
  start=$(date +%s.%N)
  (cd "$dir" && "$ICT" run quickstart.ict --yes >"$dir/out.log" 2>&1) ||
    { cat "$dir/out.log"; echo "bench-quickstart: run $i FAILED" >&2; exit 1; }
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  times+=("$t")
  printf '  run %d: %.2f s\n' "$i" "$t"
done
printf '%s\n' "${times[@]}" | awk '{s+=$1; if ($1>m) m=$1} END {printf "== mean %.2f s, max %.2f s over %d runs; load after: ", s/NR, m, NR}'
cut -d' ' -f1-3 /proc/loadavg
