#!/usr/bin/env bash
# bench-exec-ict.sh — the whole `ict exec infra.ict -- true` on 10 and 50 emulated servers
# (the built-in emulator backs each with a real sshd on its own loopback IP, inetd style: a
# listening socket per server and `sshd -i` per connection). `exec-N` runs against the
# project's emulator already running (as every command after the first does); `exec-cold-N`
# stops it before each run, so a run includes starting it and restoring the servers' SSH
# (binding their sockets); `emulator-start-N` is that start alone (`ict emulator start`).
#
#   scripts/bench-exec-ict.sh                  # N=10,50; debug build
#   PROFILE=release SIZES=10,50 RUNS=10 scripts/bench-exec-ict.sh
#
# Uses hyperfine when present (apt-get install -y hyperfine), else /usr/bin/time -v. Works in
# a temporary folder (removed on exit, after its emulators are stopped with `ict emulator stop`).
# Needs root (sshd on port 22), openssh-server, openssh-client. Targets: 50 hosts <= 0.7 s,
# 10 hosts <= 0.2 s.
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
stop_emulators() { for dir in "$WORK"/*/; do "$ICT" emulator stop "$dir" > /dev/null 2>&1 || true; done; }
trap 'stop_emulators; rm -rf "$WORK"' EXIT
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

# Times command $2 (in folder $1) under label $3; command $4, if given, runs before each run.
measure() {
  local dir=$1 cmd=$2 label=$3 prepare=${4:-true}
  if command -v hyperfine >/dev/null; then
    (cd "$dir" && hyperfine -N --warmup 2 --runs "$RUNS" --command-name "$label" --prepare "$prepare" "$cmd" \
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
      (cd "$dir" && $prepare >/dev/null && /usr/bin/time -f "  $label: wall %e s, user %U s, sys %S s, max RSS %M KB" $cmd >/dev/null)
    done
  fi
}

echo "== ict $("$ICT" --version | cut -d' ' -f2) ($PROFILE build), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in ${SIZES//,/ }; do
  dir=$WORK/n$n
  setup "$dir" "$n"
  echo "== $n servers"
  measure "$dir" "$ICT exec infra.ict -- true" "exec-$n"
  measure "$dir" "$ICT exec infra.ict -- true" "exec-cold-$n" "$ICT emulator stop"
  measure "$dir" "$ICT emulator start" "emulator-start-$n" "$ICT emulator stop"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
