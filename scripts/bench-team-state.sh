#!/usr/bin/env bash
# bench-team-state.sh — what keeping the state in a shared backend costs a plan (issue 19):
# `ict plan` of N declared servers against N existing ones, with the state in .ict/<env>/, then
# (after `ict state migrate`) in a PostgreSQL 15 server on a loopback Unix socket, then in an
# S3 bucket served by s3s-fs on loopback (when installed). Hyperfine times each; the difference
# of the means is the backend's overhead (target: <= 50 ms for PostgreSQL at N=1000).
#
#   scripts/bench-team-state.sh                 # N=1000, release build
#   SIZES=100,1000 RUNS=10 scripts/bench-team-state.sh
#
# Needs PostgreSQL 15 (/usr/lib/postgresql/15/bin) and hyperfine; s3s-fs for the S3 figures. Works in a temporary folder
# (removed on exit, after its emulator and PostgreSQL are stopped); run as root, PostgreSQL
# runs as nobody.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SIZES=${SIZES:-1000}
RUNS=${RUNS:-10}
PG=/usr/lib/postgresql/15/bin
command -v hyperfine >/dev/null || { echo "bench-team-state: needs hyperfine (apt-get install -y hyperfine)" >&2; exit 1; }
[ -x "$PG/postgres" ] || { echo "bench-team-state: needs PostgreSQL 15 (apt-get install -y postgresql-15)" >&2; exit 1; }
cargo build --release --bin ict
ICT=${CARGO_TARGET_DIR:-$ROOT/target}/release/ict

WORK=$(mktemp -d /tmp/ict-bench-state-XXXXXX)
chmod 755 "$WORK" # PostgreSQL runs as nobody, inside it
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
S3_PID=
cleanup() {
  [ -z "$S3_PID" ] || kill "$S3_PID" 2>/dev/null || true
  for d in "$WORK"/n*/; do [ -d "$d" ] && "$ICT" emulator stop "$d" >/dev/null 2>&1 || true; done
  as_owner "$PG/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown nobody:nogroup "$WORK/pg"
as_owner "$PG/initdb" -D "$WORK/pg/data" -U ict --auth=trust -E UTF8 >/dev/null
as_owner "$PG/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-k $WORK/pg -c listen_addresses= -p 5432" start >/dev/null
export ICT_STATE_URL="host=$WORK/pg port=5432 user=ict dbname=postgres"
S3FS=$(command -v s3s-fs || echo "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs")
if [ -x "$S3FS" ]; then
  mkdir -p "$WORK/s3/ict-state"
  RUST_LOG=s3s_fs=info "$S3FS" --host 127.0.0.1 --port 0 --access-key bench --secret-key bench-secret \
    "$WORK/s3" >"$WORK/s3.log" 2>&1 &
  S3_PID=$!
  for _ in $(seq 100); do grep -q "server is running at" "$WORK/s3.log" && break; sleep 0.1; done
  S3_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/s3.log" | head -1)
  export ICT_S3_KEY=bench ICT_S3_SECRET=bench-secret
else
  echo "bench-team-state: no s3s-fs, no S3 figures (cargo install s3s-fs --version 0.14.1 --features binary)" >&2
fi
export ICT_EMULATOR_TASK_DELAY_MS=0 NO_COLOR=1
unset ONECLOUD_TOKEN

echo "== ict $("$ICT" --version | cut -d' ' -f2) (release), PostgreSQL $("$PG/postgres" --version | awk '{print $3}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in ${SIZES//,/ }; do
  dir=$WORK/n$n
  mkdir -p "$dir"
  servers="for i in 1..=$n { server(\`web-\${i}\`, #{ cpu: 1, ram: 1024, disk: 10 }); }"
  echo "$servers" >"$dir/infra.ict"
  (cd "$dir" && "$ICT" apply infra.ict --yes >/dev/null)
  echo "== $n declared, $n existing: local state"
  (cd "$dir" && hyperfine --warmup 2 --runs "$RUNS" --command-name "plan-local-$n" \
    "$ICT plan infra.ict --detailed-exitcode" --export-json "$WORK/local-$n.json" | sed -n '/Time/,/Range/p')
  printf 'backend("postgres", #{ url: secret("ICT_STATE_URL"), project: "bench-%s" });\n%s\n' "$n" "$servers" >"$dir/infra.ict"
  (cd "$dir" && "$ICT" state migrate infra.ict | sed "s/^/  /")
  echo "== $n declared, $n existing: PostgreSQL state"
  (cd "$dir" && hyperfine --warmup 2 --runs "$RUNS" --command-name "plan-postgres-$n" \
    "$ICT plan infra.ict --detailed-exitcode" --export-json "$WORK/pg-$n.json" | sed -n '/Time/,/Range/p')
  if [ -n "$S3_PID" ]; then
    (cd "$dir" && "$ICT" state migrate infra.ict --to-local >/dev/null)
    printf 'backend("s3", #{ bucket: "ict-state", prefix: "bench-%s", endpoint: "%s", access_key: secret("ICT_S3_KEY"), secret_key: secret("ICT_S3_SECRET") });\n%s\n' \
      "$n" "$S3_URL" "$servers" >"$dir/infra.ict"
    (cd "$dir" && "$ICT" state migrate infra.ict | sed "s/^/  /")
    echo "== $n declared, $n existing: S3 state"
    (cd "$dir" && hyperfine --warmup 2 --runs "$RUNS" --command-name "plan-s3-$n" \
      "$ICT plan infra.ict --detailed-exitcode" --export-json "$WORK/s3-$n.json" | sed -n '/Time/,/Range/p')
  fi
  python3 - "$WORK" "$n" <<'PY'
import json, os, sys
work, n = sys.argv[1], sys.argv[2]
mean = lambda name: json.load(open(f"{work}/{name}-{n}.json"))["results"][0]["mean"] * 1000
local = mean("local")
for name, label in (("pg", "PostgreSQL"), ("s3", "S3")):
    if os.path.exists(f"{work}/{name}-{n}.json"):
        print(f"  {label} overhead on {n} servers: {mean(name) - local:.0f} ms "
              f"(local {local:.0f} ms, {label} {mean(name):.0f} ms)")
PY
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
