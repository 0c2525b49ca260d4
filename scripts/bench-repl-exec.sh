#!/usr/bin/env bash
# bench-repl-exec.sh — what a second `exec("all", "true")` costs in one `ict repl` session on N
# emulated servers (issue 23: the REPL keeps its SSH sessions, so the second exec makes no
# handshakes). Times `ict repl infra.ict` fed one exec and fed two, with hyperfine; the
# difference of the means is the second exec. The project's emulator (with SSH) keeps running
# between runs, as it does for a user.
#
#   scripts/bench-repl-exec.sh                      # N=50; release build
#   SIZES=10,50 RUNS=10 scripts/bench-repl-exec.sh
#
# Needs root (sshd inside each emulated server), openssh-server and hyperfine. Works in a
# temporary folder (removed on exit, after its emulator is stopped). Target: <= 50 ms at N=50.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SIZES=${SIZES:-50}
RUNS=${RUNS:-10}
command -v hyperfine >/dev/null || { echo "bench-repl-exec: needs hyperfine (apt-get install -y hyperfine)" >&2; exit 1; }
cargo build --release --bin ict
ICT=${CARGO_TARGET_DIR:-$ROOT/target}/release/ict

WORK=$(mktemp -d /tmp/ict-bench-repl-XXXXXX)
trap 'for d in "$WORK"/*/; do "$ICT" emulator stop "$d" >/dev/null 2>&1 || true; done; rm -rf "$WORK"' EXIT
export ICT_EMULATOR_SSH=1 ICT_EMULATOR_TASK_DELAY_MS=20 NO_COLOR=1
unset ONECLOUD_TOKEN

echo "== ict $("$ICT" --version | cut -d' ' -f2) (release), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in ${SIZES//,/ }; do
  dir=$WORK/n$n
  mkdir -p "$dir/keys"
  cp "$ROOT/examples/keys/deploy" "$ROOT/examples/keys/deploy.pub" "$dir/keys/"
  chmod 600 "$dir/keys/deploy"
  cat >"$dir/infra.ict" <<ICT
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
for i in 1..=$n { server(\`host-\${i}\`, #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }); }
ICT
  printf 'exec("all", "true").len()\n' >"$dir/one.txt"
  printf 'exec("all", "true").len()\nexec("all", "true").len()\n' >"$dir/two.txt"
  (cd "$dir" && "$ICT" apply infra.ict --yes >/dev/null && "$ICT" exec infra.ict -- true >/dev/null)
  echo "== $n servers"
  (cd "$dir" && hyperfine --warmup 2 --runs "$RUNS" --command-name "repl-one-exec-$n" \
    "$ICT repl infra.ict < one.txt" --export-json "$WORK/one-$n.json" | sed -n '/Time/,/Range/p')
  (cd "$dir" && hyperfine --warmup 2 --runs "$RUNS" --command-name "repl-two-execs-$n" \
    "$ICT repl infra.ict < two.txt" --export-json "$WORK/two-$n.json" | sed -n '/Time/,/Range/p')
  python3 - "$WORK/one-$n.json" "$WORK/two-$n.json" "$n" <<'PY'
import json, sys
one = json.load(open(sys.argv[1]))["results"][0]
two = json.load(open(sys.argv[2]))["results"][0]
print(f"  second exec on {sys.argv[3]} servers: {(two['mean'] - one['mean']) * 1000:.0f} ms "
      f"(one exec {one['mean']:.3f} s, two {two['mean']:.3f} s)")
PY
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
