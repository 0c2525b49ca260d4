#!/usr/bin/env bash
# bench-ansible.sh — `ict run`'s configuration step against plain Ansible, on 20 and 50 servers
# of the built-in emulator (each an isolated machine with a real sshd on its own loopback IP).
# The playbook has 5 tasks: file, template (notifying a handler), lineinfile, command with
# `changed_when: false`, and the handler; `gather_facts: false`. Every timed run is a second
# run: nothing changes, in the cloud or on the hosts. Cases, per size N:
#
#   start-up `ansible-playbook --version`: the cost of starting Ansible's Python once
#   ict-1    `ict run infra.ict --yes --no-metrics`, one playbook
#   ict-3    the same with three such playbooks (other files on the hosts): 15 tasks
#   ict-split  the 5 tasks of ict-1 split over three playbooks (file and template with its
#            handler; lineinfile; command): the same work, two playbooks more
#   stock-1  `ansible-playbook -i .ict/dev/inventory` (ict's inventory) with stock settings:
#            no ansible.cfg, no ANSIBLE_* variables (forks 5, no pipelining, ...)
#   stock-3  the same with the three playbooks (one ansible-playbook)
#   tuned-1  Ansible tuned by hand as in ../shared/bench/README.md: forks N, pipelining, fixed
#            interpreter_python, gathering explicit
#   mitogen-1  tuned-1 with Mitogen's strategy (`mitogen_linear`); needs MITOGEN
#
# ict uses Mitogen when ansible-playbook's Python has it (scripts/install.sh installs it; the ict
# lines then say "(mitogen)"); ICT_ANSIBLE_MITOGEN=0 measures ict without it.
# MITOGEN=DIR: a folder from which Python imports `ansible_mitogen` (e.g. an unpacked
# `pip download mitogen` wheel, or the site-packages it is installed in); it goes on PYTHONPATH,
# so ict finds it too, and adds the mitogen-1 case.
#
#   scripts/bench-ansible.sh                                   # debug build, N=20,50
#   PROFILE=release RUNS=3 STOCK_RUNS=1 scripts/bench-ansible.sh
#   CASES="ict-1 ict-3" SIZES=50 ICT_BIN=target/release/ict scripts/bench-ansible.sh
#
# Needs root, openssh-server, ansible-playbook and what `ict doctor` lists under
# emulator-isolation. Works in a temporary folder (removed on exit, after its emulators are
# stopped with `ict emulator stop`). Prints wall time (mean, min, max) and the CPU of the
# command's process tree (user+sys, mean) per case. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PROFILE=${PROFILE:-debug}
SIZES=${SIZES:-20,50}
RUNS=${RUNS:-3}
STOCK_RUNS=${STOCK_RUNS:-1}
MITOGEN=${MITOGEN:-}
CASES=${CASES:-start-up ict-1 ict-split ict-3 stock-1 stock-3 tuned-1${MITOGEN:+ mitogen-1}}
if [[ -n $MITOGEN ]]; then export PYTHONPATH=$MITOGEN${PYTHONPATH:+:$PYTHONPATH}; fi
# ICT_BIN=path: that ict binary, as it is (no build).
if [[ -n ${ICT_BIN:-} ]]; then ICT=$(realpath "$ICT_BIN")
elif [[ $PROFILE == release ]]; then cargo build --release --bin ict; ICT=${CARGO_TARGET_DIR:-$ROOT/target}/release/ict
else cargo build --bin ict; ICT=${CARGO_TARGET_DIR:-$ROOT/target}/debug/ict
fi
[[ -x $ICT ]] || { echo "bench-ansible: $ICT not found" >&2; exit 1; }
command -v ansible-playbook >/dev/null || { echo "bench-ansible: ansible-playbook not found" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ict-bench-ansible-XXXXXX)
stop_emulators() { for dir in "$WORK"/*/; do "$ICT" emulator stop "$dir" >/dev/null 2>&1 || true; done; }
trap 'stop_emulators; rm -rf "$WORK"' EXIT
export ICT_EMULATOR_SSH=1 ICT_EMULATOR_TASK_DELAY_MS=20 NO_COLOR=1
unset ONECLOUD_TOKEN
# Stock means stock: none of the caller's Ansible settings.
for v in $(env | sed -n 's/^\(ANSIBLE_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

# Writes playbook $2 (files under /tmp/ict-bench-$3 on each host) into project $1.
playbook() {
  cat >"$1/playbooks/$2.yml" <<YML
- name: Bench $3
  hosts: all
  gather_facts: false
  tasks:
    - name: Folder
      ansible.builtin.file:
        path: /tmp/ict-bench-$3
        state: directory
        mode: "0755"
    - name: Configuration from a template
      ansible.builtin.template:
        src: templates/app.conf.j2
        dest: /tmp/ict-bench-$3/app.conf
        mode: "0644"
      notify: Reload
    - name: A line
      ansible.builtin.lineinfile:
        path: /tmp/ict-bench-$3/lines.txt
        line: "extra = 1"
        create: true
        mode: "0644"
    - name: A command that changes nothing
      ansible.builtin.command: "true"
      changed_when: false
  handlers:
    - name: Reload
      ansible.builtin.command: "true"
YML
}

# Writes the tasks of playbook a (the same files) as three playbooks s1, s2, s3 into project $1.
split() {
  local at=$1/playbooks
  playbook "$1" whole a
  { sed -n '1,/^    - name: A line/p' "$at/whole.yml" | sed '$d'; sed -n '/^  handlers:/,$p' "$at/whole.yml"; } >"$at/s1.yml"
  { printf -- '- name: Bench a, line\n  hosts: all\n  gather_facts: false\n  tasks:\n'
    sed -n '/^    - name: A line/,/^    - name: A command/p' "$at/whole.yml" | sed '$d'; } >"$at/s2.yml"
  { printf -- '- name: Bench a, command\n  hosts: all\n  gather_facts: false\n  tasks:\n'
    sed -n '/^    - name: A command/,/^  handlers:/p' "$at/whole.yml" | sed '$d'; } >"$at/s3.yml"
  rm "$at/whole.yml"
}

# Writes infra.ict of project $1: $2 servers and playbooks $3... (names).
script() {
  local dir=$1 n=$2
  shift 2
  {
    echo 'let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });'
    echo "for i in 1..=$n { server(\`host-\${i}\`, #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }); }"
    for p in "$@"; do echo "playbook(\"playbooks/$p.yml\");"; done
  } >"$dir/infra.ict"
}

# Sets up project $1 with $2 servers, creates them and runs the three playbooks once.
setup() {
  local dir=$1 n=$2
  mkdir -p "$dir/keys" "$dir/playbooks/templates" "$dir/stock"
  cp "$ROOT/examples/keys/deploy" "$ROOT/examples/keys/deploy.pub" "$dir/keys/"
  chmod 600 "$dir/keys/deploy"
  printf 'host = {{ inventory_hostname }}\nport = 8080\n' >"$dir/playbooks/templates/app.conf.j2"
  for p in a b c; do playbook "$dir" "$p" "$p"; done
  split "$dir"
  script "$dir" "$n" a b c
  (cd "$dir" && "$ICT" run infra.ict --yes --no-metrics >"$dir/setup.log" 2>&1) ||
    { tail -30 "$dir/setup.log"; echo "bench-ansible: setup of $n servers FAILED" >&2; exit 1; }
  # The tuned configuration of ../shared/bench/README.md, for tuned-1.
  cat >"$dir/tuned.cfg" <<CFG
[defaults]
forks = $n
interpreter_python = /usr/bin/python3
gathering = explicit
[ssh_connection]
pipelining = True
CFG
  if [[ -n $MITOGEN ]]; then
    sed 's|^\[defaults\]$|[defaults]\nstrategy = mitogen_linear\nstrategy_plugins = '"$MITOGEN"'/ansible_mitogen/plugins/strategy|' \
      "$dir/tuned.cfg" >"$dir/mitogen.cfg"
  fi
}

# Stock Ansible keeps its SSH masters (ControlPersist 60 s) in ~/.ansible/cp: a HOME of its own
# (short, for the socket paths), whose masters are closed before each run, so that each run
# starts as ict's does, with no connection open.
STOCK_HOME=$(mktemp -d /tmp/ibhXXXXXX)
trap 'stop_emulators; close_masters; rm -rf "$WORK" "$STOCK_HOME"' EXIT
close_masters() {
  for s in "$STOCK_HOME"/.ansible/cp/*; do
    [[ -S $s ]] && timeout 5 ssh -O exit -o "ControlPath=$s" x >/dev/null 2>&1 || true
  done
}

# Times command $3 (a string, run by bash in folder $1) $4 times under label $2: each run's wall
# seconds and its process tree's CPU; then mean/min/max. Stock Ansible's SSH masters are closed
# before each run, untimed.
measure() {
  local dir=$1 label=$2 cmd=$3 runs=$4 log=$WORK/$2.log
  local walls=() cpus=() used=""
  for i in $(seq 1 "$runs"); do
    close_masters
    local t wall user sys
    (cd "$dir" && /usr/bin/time -o "$WORK/time" -f '%e %U %S' bash -c "$cmd" >"$log" 2>&1) ||
      { tail -30 "$log"; echo "bench-ansible: $label FAILED" >&2; exit 1; }
    t=$(tail -1 "$WORK/time")
    if grep -q 'changed=[1-9]\|failed=[1-9]\|unreachable=[1-9]' "$log"; then
      grep 'changed=[1-9]\|failed=[1-9]\|unreachable=[1-9]' "$log" | head -3
      echo "bench-ansible: $label changed or failed something" >&2
      exit 1
    fi
    read -r wall user sys <<<"$t"
    if grep -q 'mitogen' "$log" || grep -q 'third party strategy plugins' "$log"; then used=" (mitogen)"; fi
    walls+=("$wall")
    cpus+=("$(echo "$user + $sys" | bc)")
  done
  printf '%s\n' "${walls[@]}" | paste - <(printf '%s\n' "${cpus[@]}") |
    awk -v l="$label$used" '{s+=$1; c+=$2; if (NR==1||$1<mn) mn=$1; if ($1>mx) mx=$1}
      END {printf "  %-20s wall mean %6.2f s (min %6.2f, max %6.2f; %d runs), CPU %6.2f s\n", l, s/NR, mn, mx, NR, c/NR}'
}

run_case() {
  local dir=$1 n=$2 case=$3
  local stock="cd stock && HOME=$STOCK_HOME ansible-playbook -i ../.ict/dev/inventory"
  local tuned="cd stock && HOME=$STOCK_HOME ANSIBLE_CONFIG=$dir/tuned.cfg ansible-playbook -i ../.ict/dev/inventory"
  case $case in
    ict-1) script "$dir" "$n" a; measure "$dir" "ict-1-$n" "$ICT run infra.ict --yes --no-metrics" "$RUNS" ;;
    ict-3) script "$dir" "$n" a b c; measure "$dir" "ict-3-$n" "$ICT run infra.ict --yes --no-metrics" "$RUNS" ;;
    ict-split) script "$dir" "$n" s1 s2 s3; measure "$dir" "ict-split-$n" "$ICT run infra.ict --yes --no-metrics" "$RUNS" ;;
    start-up) measure "$dir" "start-up" "ansible-playbook --version" "$RUNS" ;;
    stock-1) measure "$dir" "stock-1-$n" "$stock ../playbooks/a.yml" "$STOCK_RUNS" ;;
    stock-3) measure "$dir" "stock-3-$n" "$stock ../playbooks/a.yml ../playbooks/b.yml ../playbooks/c.yml" "$STOCK_RUNS" ;;
    tuned-1) measure "$dir" "tuned-1-$n" "$tuned ../playbooks/a.yml" "$STOCK_RUNS" ;;
    mitogen-1) measure "$dir" "mitogen-1-$n" "${tuned/tuned.cfg/mitogen.cfg} ../playbooks/a.yml" "$STOCK_RUNS" ;;
    *) echo "bench-ansible: no case $case" >&2; exit 1 ;;
  esac
}

echo "== ict $("$ICT" --version | cut -d' ' -f2) ($ICT), $(ansible-playbook --version 2>/dev/null | sed -n 1p), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in ${SIZES//,/ }; do
  dir=$WORK/n$n
  setup "$dir" "$n"
  echo "== $n servers"
  for case in $CASES; do run_case "$dir" "$n" "$case"; done
  "$ICT" emulator stop "$dir" >/dev/null 2>&1 || true
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
