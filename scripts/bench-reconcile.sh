#!/usr/bin/env bash
# Benchmarks of ict's reconciler, end to end through the real binary and the built-in emulator:
#   1. `ict plan` of 10,000 declared servers against 10,000 existing ones (target <= 0.5 s);
#   2. `ict apply` of 200 new servers with --parallelism 50 and a 1 s task delay (target <= 6 s).
# Usage: scripts/bench-reconcile.sh [debug|release]   (default: release)
# Needs python3 (to grow a small applied account into a 10,000-server one).
set -euo pipefail

profile="${1:-release}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
if [ "$profile" = release ]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
else
    cargo build --quiet --manifest-path "$root/Cargo.toml"
fi
ict="$target/$profile/ict"
work="$(mktemp -d)"
# Each project's emulator runs in the background until stopped (docs/emulator.md).
stop_emulators() { for dir in "$work"/*/; do "$ict" emulator stop "$dir" > /dev/null 2>&1 || true; done; }
if [ -z "${KEEP:-}" ]; then trap 'stop_emulators; rm -rf "$work"' EXIT; else trap stop_emulators EXIT; echo "work dir: $work"; fi
unset ONECLOUD_TOKEN ONECLOUD_API_URL RUST_LOG
# 10,000 emulated servers must not each start an sshd (or a metrics endpoint).
export ICT_EMULATOR_SSH=0 ICT_EMULATOR_METRICS=0
export NO_COLOR=1

seconds() { python3 -c 'import time; print(f"{time.time():.3f}")'; }

# --- 1. plan: 10,000 declared vs 10,000 existing -------------------------------------------
plan_dir="$work/plan"
mkdir -p "$plan_dir"
script="$plan_dir/servers-10k.ict"
cp "$root/benches/data/servers-10k.ict" "$script"
# Apply the same script with 2 servers, then grow the emulated account and ict's state to
# 10,000 servers shaped exactly like the ones the script declares.
sed 's/for i in 0..10000/for i in 0..2/' "$script" > "$plan_dir/small.ict"
ICT_EMULATOR_TASK_DELAY_MS=10 "$ict" apply "$plan_dir/small.ict" --yes > /dev/null
# The account file is edited below: stop the emulator holding it (the plans start it again,
# so they are timed against a running emulator that has loaded the 10,000 servers).
"$ict" emulator stop "$plan_dir" > /dev/null
python3 - "$plan_dir/.ict" <<'PY'
import copy, json, sys
root = sys.argv[1]
world = json.load(open(f"{root}/emulator.json"))
state = json.load(open(f"{root}/dev/state.json"))
template = next(s for s in world["servers"].values() if s["Name"] == "node-0")
record = state["resources"]["server.node-0"]
first_id = 1_000_000
for name in ("node-0", "node-1"):
    old = state["resources"].pop(f"server.{name}")
    world["servers"].pop(str(old["id"]))
    world["actions"].pop(str(old["id"]), None)
for i in range(10_000):
    sid = first_id + i
    server = copy.deepcopy(template)
    server.update({
        "ID": sid, "Name": f"node-{i}", "HostName": f"vm{sid}",
        "CPU": 1 + i % 4, "RAM": 1024 * (1 + i % 8), "HDD": 20 + 10 * (i % 5),
        "IP": f"127.{2 + i // 65536}.{(i // 256) % 256}.{i % 256}",
    })
    server["PrimaryNetworkIp"] = server["IP"]
    for link in server["LinkedNetworks"]:
        link["LinkID"] = sid * 10 + (1 if link["NetworkType"] == "Private" else 0)
    world["servers"][str(sid)] = server
    entry = copy.deepcopy(record)
    entry.update({"name": f"node-{i}", "id": sid, "attributes": {"ip": server["IP"], "user": "root"}})
    state["resources"][f"server.node-{i}"] = entry
state["resources"] = dict(sorted(state["resources"].items()))
world["next_id"] = first_id + 10_000
json.dump(world, open(f"{root}/emulator.json", "w"))
json.dump(state, open(f"{root}/dev/state.json", "w"))
PY
"$ict" plan "$script" --detailed-exitcode > "$plan_dir/warmup.txt" || {
    echo "the 10,000-server plan is not empty:"; tail -5 "$plan_dir/warmup.txt"; exit 1; }
best=""
for run in 1 2 3; do
    start=$(seconds)
    "$ict" plan "$script" --detailed-exitcode > /dev/null
    end=$(seconds)
    took=$(python3 -c "print(f'{$end - $start:.3f}')")
    echo "plan 10k vs 10k, run $run: ${took} s"
done

# --- 2. apply: 200 new servers, --parallelism 50, 1 s tasks ---------------------------------
apply_dir="$work/apply"
mkdir -p "$apply_dir"
cat > "$apply_dir/fleet.ict" <<'ICT'
for i in 1..=200 {
    server(`app-${i}`, #{ cpu: 1, ram: 1024, disk: 10 });
}
ICT
start=$(seconds)
ICT_EMULATOR_TASK_DELAY_MS=1000 "$ict" apply "$apply_dir/fleet.ict" --yes --parallelism 50 > "$apply_dir/out.txt"
end=$(seconds)
tail -1 "$apply_dir/out.txt"
echo "apply 200 servers, --parallelism 50, 1 s tasks: $(python3 -c "print(f'{$end - $start:.3f}')") s"
