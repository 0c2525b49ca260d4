#!/usr/bin/env bash
# bench-team-state.sh — what keeping the state in PostgreSQL costs a plan (issue 19): `ict plan`
# of N declared servers against N existing ones, with the state in .ict/<env>/ and then, after
# `ict state migrate`, in a PostgreSQL 15 server on a loopback Unix socket. Hyperfine times
# both; the difference of the means is the backend's overhead (target: <= 50 ms at N=1000).
#
#   scripts/bench-team-state.sh                 # N=1000, release build
#   SIZES=100,1000 RUNS=10 scripts/bench-team-state.sh
#
# Needs PostgreSQL 15 (/usr/lib/postgresql/15/bin) and hyperfine. Works in a temporary folder
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
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
cleanup() {
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
  (cd "$dir" && "$ICT" state migrate infra.ict >/dev/null)
  echo "== $n declared, $n existing: PostgreSQL state"
  (cd "$dir" && hyperfine --warmup 2 --runs "$RUNS" --command-name "plan-postgres-$n" \
    "$ICT plan infra.ict --detailed-exitcode" --export-json "$WORK/pg-$n.json" | sed -n '/Time/,/Range/p')
  python3 - "$WORK/local-$n.json" "$WORK/pg-$n.json" "$n" <<'PY'
import json, sys
local = json.load(open(sys.argv[1]))["results"][0]
pg = json.load(open(sys.argv[2]))["results"][0]
print(f"  PostgreSQL overhead on {sys.argv[3]} servers: {(pg['mean'] - local['mean']) * 1000:.0f} ms "
      f"(local {local['mean'] * 1000:.0f} ms, postgres {pg['mean'] * 1000:.0f} ms)")
PY
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
