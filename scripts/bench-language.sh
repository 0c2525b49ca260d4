#!/usr/bin/env bash
# Benchmark (not a test) for the language and graph stage: evaluate, validate and build the graph
# of a script declaring 10,000 servers (benches/data/servers-10k.ict), in release; plus how fast
# an endless loop and an endless recursion are stopped. Target: 10,000 servers in <= 0.2 s.
# Uses hyperfine when installed, else /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin ict
ict=${CARGO_TARGET_DIR:-target}/release/ict
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
printf 'let i = 0;\nloop { i += 1; }\n' > "$work/loop.ict"
printf 'fn f(x) { f(x + 1) }\nf(1);\n' > "$work/recursion.ict"
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 2 --runs 10 -N \
    "$ict check benches/data/servers-10k.ict" \
    "$ict graph benches/data/servers-10k.ict --format json" \
    -i "$ict check $work/loop.ict" -i "$ict check $work/recursion.ict"
else
  for cmd in "check benches/data/servers-10k.ict" "graph benches/data/servers-10k.ict --format json" \
             "check $work/loop.ict" "check $work/recursion.ict"; do
    for _ in 1 2 3 4 5; do
      /usr/bin/time -f "%e s wall  %U s user  %M KB  ict $cmd" "$ict" $cmd >/dev/null 2>"$work/err" || true
      tail -1 "$work/err"
    done
  done
fi
