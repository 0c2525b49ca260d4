#!/usr/bin/env bash
# bench-exec-ict.sh — the whole `ict exec infra.ict -- true` on 10 and 50 emulated servers
# (each an isolated machine — namespaces and an overlay root on its own disk — with a real
# sshd inside, inetd style: a listening socket per server and `sshd -i` per connection, run
# in the machine through nsenter). Three measurements per size:
#   exec-N            `ict exec` with its own in-process emulator: starting it, restoring the
#                     servers' SSH (binding their sockets), booting each machine with its first
#                     connection, logging in to every host, and stopping it all;
#   exec-warm-N       `ict exec` against a long-lived `ict emulator --ssh` whose machines are
#                     up (as with the project's emulator daemon): what compares with the plain
#                     sshd farm of scripts/bench-fanout.sh;
#   emulator-*-N      the emulator start alone (`ict inventory --list`), with the servers' SSH
#                     restored vs without SSH backing.
#
#   scripts/bench-exec-ict.sh                  # N=10,50; debug build
#   PROFILE=release SIZES=10,50 RUNS=10 scripts/bench-exec-ict.sh
#
# Uses hyperfine when present (apt-get install -y hyperfine), else /usr/bin/time -v. Works in
# a temporary folder (removed on exit); every machine stops with the ict command (or the
# emulator) that started it. Needs root, openssh-server, openssh-client and what `ict doctor`
# lists under emulator-isolation. Targets: emulator start with 50 servers' SSH <= 1 s;
# exec-warm-50 within 1.3x of `ict exec --hosts` on the 50-sshd farm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PROFILE=${PROFILE:-debug}
SIZES=${SIZES:-10,50}
RUNS=${RUNS:-10}
if [[ $PROFILE == release ]]; then cargo build --release --bin ict; else cargo build --bin ict; fi
ICT=${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/ict
[[ -x $ICT ]] || { echo "bench-exec-ict: $ICT not found" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ict-bench-exec-XXXXXX)
export ICT_EMULATOR_SSH=1 ICT_EMULATOR_TASK_DELAY_MS=20 NO_COLOR=1
unset ONECLOUD_TOKEN

# Sets up project $1 with $2 servers, creates them and pins their host keys.
setup() {
  local dir=$1 n=$2
  mkdir -p "$dir/keys"
  cp "$ROOT/examples/keys/deploy" "$ROOT/examples/keys/deploy.pub" "$dir/keys/"
  chmod 600 "$dir/keys/deploy"
  cat >"$dir/infra.ict" <<ICT
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
for i in 1..=$n { server(\`host-\${i}\`, #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }); }
ICT
  (cd "$dir" && "$ICT" apply infra.ict --yes >/dev/null)
  (cd "$dir" && "$ICT" exec infra.ict -- true >/dev/null)
}

# Times command $2 (in folder $1) under label $3.
measure() {
  local dir=$1 cmd=$2 label=$3
  if command -v hyperfine >/dev/null; then
    (cd "$dir" && hyperfine -N --warmup 2 --runs "$RUNS" --command-name "$label" "$cmd" \
      --export-json "$WORK/$label.json" | sed -n '/Time/,/Range/p')
    python3 - "$WORK/$label.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
n = int(sys.argv[2].split("-")[-1]) if sys.argv[2].split("-")[-1].isdigit() else 0
line = f"  {sys.argv[2]}: wall mean {r['mean']:.3f} s (min {r['min']:.3f}), CPU user {r['user']:.3f} s + sys {r['system']:.3f} s"
if n:
    line += f", CPU per host {(r['user'] + r['system']) / n * 1000:.1f} ms"
print(line)
PY
  else
    for _ in $(seq 1 "$RUNS"); do
      (cd "$dir" && /usr/bin/time -f "  $label: wall %e s, user %U s, sys %S s, max RSS %M KB" $cmd >/dev/null)
    done
  fi
}

# Starts `ict emulator --ssh` on project $1's account; sets EMULATOR_PID and EMULATOR_URL.
start_emulator() {
  local dir=$1 log=$1/emulator.log
  "$ICT" emulator --ssh --listen 127.0.0.1:0 --token "$TOKEN" --task-delay 20 \
    --state "$dir/.ict/emulator.json" 2>"$log" &
  EMULATOR_PID=$!
  for _ in $(seq 100); do
    EMULATOR_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
    [[ -n $EMULATOR_URL ]] && return
    sleep 0.1
  done
  echo "bench-exec-ict: the emulator did not start" >&2; cat "$log" >&2; exit 1
}

TOKEN=b3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nchb3nc
EMULATOR_PID=
trap 'rm -rf "$WORK"; [[ -n $EMULATOR_PID ]] && kill "$EMULATOR_PID" 2>/dev/null; wait' EXIT
echo "== ict $("$ICT" --version | cut -d' ' -f2) ($PROFILE build), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in ${SIZES//,/ }; do
  dir=$WORK/n$n
  setup "$dir" "$n"
  echo "== $n servers"
  measure "$dir" "$ICT exec infra.ict -- true" "exec-$n"
  ICT_EMULATOR_SSH=0 measure "$dir" "$ICT inventory --list infra.ict" "emulator-no-ssh-$n"
  measure "$dir" "$ICT inventory --list infra.ict" "emulator-with-ssh-$n"
  start_emulator "$dir"
  ONECLOUD_API_URL=$EMULATOR_URL ONECLOUD_TOKEN=$TOKEN \
    measure "$dir" "$ICT exec infra.ict -f $n -- true" "exec-warm-$n"
  kill "$EMULATOR_PID"; wait "$EMULATOR_PID" || true; EMULATOR_PID=
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
