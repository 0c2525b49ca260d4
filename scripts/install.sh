#!/usr/bin/env bash
# Installs everything ict and its tests need on a Debian or Ubuntu machine that has only the
# Rust toolchain: OpenSSH (the emulator backs its servers with a real sshd), ansible-core and
# Mitogen for Ansible (the playbooks, and faster), node_exporter, tmux, bubblewrap, PostgreSQL
# and Chromium with its chromedriver (the metrics, terminal, pipeline and dashboard tests),
# s3s-fs (the S3 server of the team-state tests, from crates.io), libvirt with QEMU (the libvirt
# provider's tests; its daemons are started when they do not answer), rustfmt and clippy, and —
# when scripts/install-contract-clients.sh is there — the published 1cloud clients the contract
# tests drive. Idempotent: what is already installed is left alone, so a second run installs
# nothing and needs no network.
#
# The README's first command (`bash scripts/install.sh && cargo test`) and .ci/run use it; `ict
# doctor` lists what a machine has and lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
# Root installs directly; anyone else through sudo.
sudo=()
if [ "$(id -u)" != 0 ]; then
  sudo=(sudo)
fi

need_apt=()
command -v git >/dev/null || need_apt+=(git)
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
command -v unshare >/dev/null || need_apt+=(util-linux)
[ -x /usr/bin/prometheus-node-exporter ] || need_apt+=(prometheus-node-exporter)
command -v tmux >/dev/null || need_apt+=(tmux)
# bubblewrap: the container pipeline stages run in (tests/pipeline).
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
# Chromium and its WebDriver for the dashboard tests (tests/dashboard).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
# libvirt with QEMU for the libvirt provider (tests/libvirt; ict loads libvirt's client library
# when a script uses it, so building needs no libvirt), mtools for the tests to read the
# cloud-init seeds ict writes.
[ -x /usr/sbin/libvirtd ] || need_apt+=(libvirt-daemon-system)
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
command -v mtype >/dev/null || need_apt+=(mtools)
# cpio and kmod for the initramfs of the libvirt tests' Debian guest (scripts/guest-image.sh),
# e2fsprogs for its /usr.
command -v cpio >/dev/null || need_apt+=(cpio)
[ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] || need_apt+=(kmod)
[ -x /usr/sbin/mke2fs ] || [ -x /sbin/mke2fs ] || need_apt+=(e2fsprogs)
# A qemu-utils from backports is newer than the release's QEMU accepts: take the release's.
apt_flags=()
if [[ " ${need_apt[*]} " == *" qemu-system-x86 "* ]] \
  && dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q '~bpo'; then
  need_apt+=("qemu-utils/$(. /etc/os-release && echo "$VERSION_CODENAME")")
  apt_flags+=(--allow-downgrades)
fi
# PostgreSQL for the pipeline database test: installed, never started here.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need_apt+=(postgresql)
# Python for ansible-core; its venv module where pip may not install system-wide (PEP 668).
command -v python3 >/dev/null || need_apt+=(python3)
if ! command -v ansible-playbook >/dev/null \
  && ! { command -v python3 >/dev/null && python3 -c 'import ensurepip' 2>/dev/null; }; then
  need_apt+=(python3-venv)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  "${sudo[@]}" apt-get update -qq
  # Start no service (a system sshd on 0.0.0.0:22 would clash with the emulator's sshds on
  # 127.x.y.z:22; PostgreSQL is started by ict when a test deploys a database).
  # A policy-rc.d already there (Docker images have one) is put back afterwards.
  [ ! -e /usr/sbin/policy-rc.d ] || "${sudo[@]}" mv /usr/sbin/policy-rc.d /usr/sbin/policy-rc.d.ict-saved
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
  "${sudo[@]}" apt-get install -y -qq "${apt_flags[@]}" "${need_apt[@]}"
  "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
  [ ! -e /usr/sbin/policy-rc.d.ict-saved ] || "${sudo[@]}" mv /usr/sbin/policy-rc.d.ict-saved /usr/sbin/policy-rc.d
fi

# Ansible for the playbook tests: ansible-core from PyPI. Where the system Python refuses a
# system-wide pip install (Debian 12, Ubuntu 23.04 and later), in a venv of its own, linked
# into /usr/local/bin.
if ! command -v ansible-playbook >/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check ansible-core 2>/dev/null || true
  hash -r
  if ! command -v ansible-playbook >/dev/null; then
    venv=/opt/ict/ansible
    "${sudo[@]}" python3 -m venv "$venv"
    "${sudo[@]}" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ansible-core
    for tool in "$venv"/bin/ansible*; do
      "${sudo[@]}" ln -sf "$tool" /usr/local/bin/
    done
    hash -r
  fi
  command -v ansible-playbook >/dev/null || {
    echo "install.sh: ansible-core is installed, but ansible-playbook is not on PATH" >&2
    exit 1
  }
fi

# Mitogen for Ansible (`ict run` uses its strategy: one Python per host for the whole run), into
# the Python that runs ansible-playbook (the venv above, the pip install's, or whichever runs an
# ansible-playbook found on PATH), pinned to the range ict knows to work with ansible-core
# (src/ansible/mitogen.rs); left alone when a version in the range is there already.
mitogen_pin='mitogen>=0.3.54,<0.4'
mitogen_in_range='import sys, mitogen, ansible_mitogen; sys.exit(not (0, 3, 54) <= mitogen.__version__ < (0, 4))'
ansible_python=$(ansible-playbook --version 2>/dev/null | sed -n 's/^ *python version = .*(\(\/[^()]*\))$/\1/p' || true)
if [ -z "$ansible_python" ]; then
  echo "install.sh: cannot tell which Python runs ansible-playbook; Mitogen not installed" >&2
elif ! "$ansible_python" -c "$mitogen_in_range" 2>/dev/null; then
  pip=("$ansible_python" -m pip install --quiet --disable-pip-version-check "$mitogen_pin")
  # A Python whose packages the user cannot write (root's venv, the system's) through sudo.
  purelib=$("$ansible_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  [ -w "$purelib" ] || pip=("${sudo[@]}" "${pip[@]}")
  "${pip[@]}" || echo "install.sh: could not install $mitogen_pin into $ansible_python;" \
    "ict runs Ansible without Mitogen (slower)" >&2
fi

# libvirt's daemons, started when they do not answer (nothing starts them in a container).
if [ -x /usr/sbin/libvirtd ] && ! virsh -c qemu:///system version >/dev/null 2>&1; then
  pgrep -x virtlogd >/dev/null || "${sudo[@]}" virtlogd -d
  pgrep -x libvirtd >/dev/null || "${sudo[@]}" libvirtd -d
  for _ in $(seq 100); do
    virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.1
  done
  virsh -c qemu:///system version >/dev/null || {
    echo "install.sh: libvirtd was started but does not answer on qemu:///system" >&2
    exit 1
  }
fi

# A small Debian guest (Debian's cloud kernel, busybox, this machine's sshd and Python) that the libvirt
# tests boot to configure a VM over SSH with Ansible (tests/libvirt/guest.rs); built once. Its name
# changes with what scripts/guest-image.sh makes, so that an older guest is not used.
guest=$HOME/.cache/ict/guest/debian-guest-4.img
if [ -x /usr/sbin/libvirtd ] && [ ! -s "$guest" ]; then
  apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1 || "${sudo[@]}" apt-get update -qq
  bash scripts/guest-image.sh "$guest"
fi

rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

# An S3-protocol server for the team-state tests (tests/team): s3s-fs from crates.io, pinned
# to a version that builds with the toolchain of rust-toolchain/Cargo.toml's rust-version.
if ! command -v s3s-fs >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
  cargo install --locked s3s-fs --version 0.14.1 --features binary
fi

# The published 1cloud clients of the contract tests, in their own venv.
if [ -f scripts/install-contract-clients.sh ]; then
  bash scripts/install-contract-clients.sh
fi
