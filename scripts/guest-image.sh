#!/usr/bin/env bash
# Builds a small Linux guest for libvirt VMs, from Debian's packages, as a bootable raw disk
# image: Debian's kernel and SYSLINUX on a FAT disk, and an initramfs with busybox, this
# machine's OpenSSH server and Python (so Ansible can configure it). At boot it reads its
# cloud-init NoCloud seed (the `CIDATA` disk ict attaches: host name and SSH keys), takes an
# address by DHCP on each network interface and starts sshd. It is what the libvirt tests boot
# to reach a VM over SSH and run playbooks on it; any real cloud image (with cloud-init) does
# the same job for users.
#
#   scripts/guest-image.sh OUT.img
#
# Needs apt (to download the packages, no install), dpkg-deb, depmod/modprobe, cpio, mtools,
# ssh-keygen; scripts/install.sh runs it once into ~/.cache/ict/guest/. Idempotent: an OUT that
# exists is kept.
set -euo pipefail
# depmod and modprobe live in sbin, which a user's PATH may lack.
export PATH=$PATH:/usr/sbin:/sbin

out=${1:?usage: scripts/guest-image.sh OUT.img}
[ -s "$out" ] && { echo "guest image $out is there"; exit 0; }
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

kernel=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$kernel" ] || { echo "guest-image: apt knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
version=${kernel#linux-image-}
# As root, apt downloads as its sandbox user, who cannot write in this folder: download as root.
apt_opts=()
[ "$(id -u)" != 0 ] || apt_opts=(-o APT::Sandbox::User=root)
apt-get download -q "${apt_opts[@]}" "$kernel" busybox-static syslinux syslinux-common >/dev/null
for deb in ./*.deb; do dpkg-deb -x "$deb" debs; done

root=$work/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/ssh,lib/modules,proc,sys,dev,run,tmp,root,var/empty,seed}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp debs/bin/busybox "$root/bin/busybox"

# Kernel modules for virtio disks and network, the SATA seed disk and its FAT filesystem, in
# load order.
depmod -b debs "$version"
for module in virtio_pci virtio_net virtio_blk ahci sd_mod vfat nls_cp437 nls_ascii; do
  modprobe -d debs -S "$version" --show-depends "$module"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r path; do
  cp "$path" "$root/lib/modules/"
  basename "$path" >>"$root/lib/modules/order"
done

# A program of this machine with the libraries it links.
copy_program() {
  local program=$1
  mkdir -p "$root$(dirname "$program")"
  cp -L "$program" "$root$program"
  ldd "$program" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
copy_program /usr/sbin/sshd
python=$(readlink -f /usr/bin/python3)
copy_program "$python"
ln -s "$(basename "$python")" "$root/usr/bin/python3"
pylib=/usr/lib/$(basename "$python")
mkdir -p "$root$pylib"
tar -C "$pylib" -cf - --exclude=__pycache__ --exclude=test --exclude=idlelib --exclude=tkinter \
  --exclude=turtledemo --exclude=ensurepip --exclude=lib2to3 --exclude=pydoc_data . |
  tar -C "$root$pylib" -xf -
for lib in $(find "$root$pylib/lib-dynload" -name '*.so' -exec ldd {} \; | awk '/=> \// { print $3 }' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  [ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
sshd:x:101:65534::/run/sshd:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo 'root:*:19000:0:99999:7:::' >"$root/etc/shadow"
chmod 600 "$root/etc/shadow"
echo 'passwd: files' >"$root/etc/nsswitch.conf"
ssh-keygen -q -t ed25519 -N '' -f "$root/etc/ssh/ssh_host_ed25519_key"
cat >"$root/etc/ssh/sshd_config" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile /run/sshd.pid
Subsystem sftp internal-sftp
EOF

cat >"$root/etc/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in
  bound | renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    ;;
esac
EOF
chmod 755 "$root/etc/udhcpc.sh"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run/sshd
mount -t devpts devpts /dev/pts
while read -r module; do insmod "/lib/modules/$module" 2>/dev/null; done </lib/modules/order
# The cloud-init NoCloud seed: host name and SSH keys.
n=0
until [ -b /dev/disk/by-label/CIDATA ] || [ -b /dev/sda ] || [ $n -ge 100 ]; do sleep 0.1; n=$((n + 1)); done
if mount -t vfat -o ro /dev/sda /seed; then
  name=$(sed -n 's/^local-hostname: "\(.*\)"$/\1/p' /seed/meta-data)
  [ -n "$name" ] && hostname "$name" && echo "$name" >/etc/hostname
  mkdir -p /root/.ssh
  sed -n 's/^  - "\(.*\)"$/\1/p' /seed/user-data >/root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
ip link set lo up
for dev in /sys/class/net/eth*; do
  dev=${dev##*/}
  ip link set "$dev" up
  udhcpc -i "$dev" -s /etc/udhcpc.sh -t 30 -T 1 -b -q
done
/usr/sbin/sshd
echo "ict guest: up"
while :; do sleep 3600; done
EOF
chmod 755 "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >initrd.img

# A FAT disk (no partition table) that SYSLINUX boots.
cp "debs/boot/vmlinuz-$version" vmlinuz
cat >syslinux.cfg <<'EOF'
DEFAULT linux
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND console=ttyS0 quiet
EOF
megabytes=$((($(stat -c %s vmlinuz) + $(stat -c %s initrd.img)) / 1048576 + 8))
truncate -s "${megabytes}M" disk.img
mformat -i disk.img -v GUEST ::
debs/usr/bin/syslinux --install disk.img
mcopy -o -i disk.img vmlinuz initrd.img syslinux.cfg ::
mv disk.img "$out.tmp"
mv "$out.tmp" "$out"
echo "built guest image $out (${megabytes} MB, kernel $version)"
