#!/usr/bin/env bash
# Builds a small Linux guest for libvirt VMs, from Debian's packages, as a bootable raw disk
# image: a FAT disk that SYSLINUX boots, holding Debian's cloud kernel, a small initramfs (busybox, the
# init script, /etc and the kernel modules that reach the disks) and an ext2 image of /usr with
# this machine's OpenSSH server and Python (so Ansible can configure it), its library compiled to
# bytecode. At boot it asks for an address by DHCP on each network interface, mounts /usr, reads
# its cloud-init NoCloud seed (the `CIDATA` disk ict attaches: host name and SSH keys) and starts
# sshd. It is what the libvirt tests boot, under emulation, to reach a VM over SSH and run
# playbooks on it; any real cloud image (with cloud-init) does the same job for users.
#
#   scripts/guest-image.sh OUT.img
#
# Needs apt (to download the packages, no install), dpkg-deb, depmod/modprobe, cpio, mke2fs,
# mtools, ssh-keygen and no root; scripts/install.sh runs it once into ~/.cache/ict/guest/.
# Idempotent: an OUT that exists is kept.
set -euo pipefail
# depmod and modprobe live in sbin, which a user's PATH may lack.
export PATH=$PATH:/usr/sbin:/sbin

out=${1:?usage: scripts/guest-image.sh OUT.img}
[ -s "$out" ] && { echo "guest image $out is there"; exit 0; }
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# Debian's cloud kernel, the one its genericcloud images boot: LZ4-compressed (unpacked in half a
# second under emulation, where XZ takes several) and with only the drivers of virtual machines.
kernel=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$kernel" ] || { echo "guest-image: apt knows no linux-image-cloud-amd64 (run apt-get update)" >&2; exit 1; }
version=${kernel#linux-image-}
# As root, apt downloads as its sandbox user, who cannot write in this folder: download as root.
apt_opts=()
[ "$(id -u)" != 0 ] || apt_opts=(-o APT::Sandbox::User=root)
apt-get download -q "${apt_opts[@]}" "$kernel" busybox-static syslinux syslinux-common >/dev/null
for deb in ./*.deb; do dpkg-deb -x "$deb" debs; done

# Two trees: the initramfs, which SYSLINUX reads whole through the BIOS (slow under emulation, so
# it is small), and /usr (sshd, Python and the libraries they link), an ext2 image file on the
# boot disk that init mounts read-only through a loop device: the kernel reads it over virtio,
# only what is used. /lib and /lib64 lead into /usr, as on a merged-/usr Debian.
root=$work/initramfs
usr=$work/usr
mkdir -p "$root"/{bin,sbin,usr,etc/ssh,modules,proc,sys,dev,run,tmp,root,var/empty,seed,boot}
mkdir -p "$usr"/{bin,sbin,lib,lib64}
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
busybox=debs/bin/busybox
[ -e "$busybox" ] || busybox=debs/usr/bin/busybox
cp "$busybox" "$root/bin/busybox"

# Kernel modules, in load order, in three groups that init loads as soon as it can: the virtio
# network (to ask for an address first), the seed disk on virtio-scsi (probed while the rest boots) and the
# virtio boot disk with its FAT filesystem, loop devices and ext4 (which mounts /usr's ext2).
depmod -b debs "$version"
group() {
  local name=$1
  shift
  for module; do
    modprobe -d debs -S "$version" --show-depends "$module"
  done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r path; do
    cp "$path" "$root/modules/"
    basename "$path" >>"$root/modules/$name"
  done
}
group net virtio_pci virtio_net
group scsi virtio_scsi sd_mod
group disk virtio_pci virtio_blk vfat nls_cp437 nls_ascii loop ext4

# A file of this machine into /usr: /usr/x, /lib/x and /lib64/x go to /usr/x, /usr/lib/x and
# /usr/lib64/x.
to_usr() {
  local file=$1 target=$usr${1#/usr}
  mkdir -p "$(dirname "$target")"
  [ -e "$target" ] || cp -L "$file" "$target"
}
# A program of this machine with the libraries it links.
copy_program() {
  to_usr "$1"
  ldd "$1" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
    to_usr "$lib"
  done
}
copy_program /usr/sbin/sshd
# A newer OpenSSH runs its sessions in helper programs.
for helper in /usr/lib/openssh/sshd-session /usr/lib/openssh/sshd-auth; do
  [ ! -e "$helper" ] || copy_program "$helper"
done
python=$(readlink -f /usr/bin/python3)
copy_program "$python"
ln -sf "$(basename "$python")" "$usr/bin/python3"
pylib=/usr/lib/$(basename "$python")
mkdir -p "$usr${pylib#/usr}"
# The library without its tests, GUI and static libraries.
tar -C "$pylib" -cf - --exclude=__pycache__ --exclude=test --exclude=idlelib --exclude=tkinter \
  --exclude=turtledemo --exclude=ensurepip --exclude=lib2to3 --exclude=pydoc_data \
  --exclude='config-*' . |
  tar -C "$usr${pylib#/usr}" -xf -
find "$usr${pylib#/usr}/lib-dynload" -name '*.so' -exec ldd {} \; | awk '/=> \// { print $3 }' |
  sort -u | while read -r lib; do to_usr "$lib"; done
# The bytecode of the whole library, compiled here: /usr is read-only in the guest, where Python
# could neither keep what it compiles nor afford to compile it again at every start. Used
# without looking at the sources' times.
"$python" -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$usr" -p /usr \
  "$usr${pylib#/usr}"

# Busybox's applets, linked where busybox would put them (/bin and /sbin in the initramfs,
# /usr/bin and /usr/sbin in /usr) unless a program of that name is there.
"$busybox" --list-full | while read -r applet; do
  case $applet in
    usr/*) link=$usr/${applet#usr/} ;;
    *) link=$root/$applet ;;
  esac
  [ -e "$link" ] || [ -L "$link" ] || ln -s /bin/busybox "$link"
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
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run/sshd
mount -t devpts devpts /dev/pts
# The boot's steps on the console, with the seconds since the kernel started.
mark() { echo "ict guest: $(cut -d' ' -f1 /proc/uptime) $*"; }
mark init
load() { while read -r module; do insmod "/modules/$module" 2>/dev/null; done <"/modules/$1"; }
# An address by DHCP on each network interface, asked for first: libvirt's DHCP server offers one
# only some seconds later (it pings the address first), while the rest boots.
load net
mark net
ip link set lo up
for dev in /sys/class/net/eth*; do
  dev=${dev##*/}
  ip link set "$dev" up
  udhcpc -i "$dev" -s /etc/udhcpc.sh -t 30 -T 1 -q &
done
# sshd waits for the kernel's random numbers to be ready: the kernel makes them from CPU timing
# jitter once something waits for them, started here to overlap with the rest of the boot.
head -c 1 /dev/random >/dev/null &
load scsi &
load disk
mark disk
# The device of the filesystem labelled $1, once there (SCSI disks are probed in the background).
labelled() {
  n=0
  until findfs "LABEL=$1" 2>/dev/null || [ $n -ge 100 ]; do sleep 0.1; n=$((n + 1)); done
}
# /usr, from the boot disk.
boot=$(labelled GUEST) && mount -t vfat -o ro "$boot" /boot &&
  mount -t ext4 -o ro,loop /boot/usr.img /usr || echo "ict guest: no /usr" >&2
mark usr
# The cloud-init NoCloud seed: host name and SSH keys.
if seed=$(labelled CIDATA) && mount -t vfat -o ro "$seed" /seed; then
  name=$(sed -n 's/^local-hostname: "\(.*\)"$/\1/p' /seed/meta-data)
  [ -n "$name" ] && hostname "$name" && echo "$name" >/etc/hostname
  mkdir -p /root/.ssh
  sed -n 's/^  - "\(.*\)"$/\1/p' /seed/user-data >/root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
mark seed
/usr/sbin/sshd
mark up
while :; do sleep 3600; done
EOF
chmod 755 "$root/init"

(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -9) >initrd.img
# /usr as an ext2 filesystem (the guest reads it only) with a little room to spare.
blocks=$(du -s --block-size=4096 "$usr" | cut -f1)
inodes=$(find "$usr" | wc -l)
mke2fs -q -t ext2 -b 4096 -m 0 -N $((inodes + 64)) -L usr -d "$usr" usr.img \
  $((blocks + blocks / 10 + 1024)) >/dev/null

# A FAT disk (no partition table) that SYSLINUX boots.
cp "debs/boot/vmlinuz-$version" vmlinuz
# Without the speculative-execution mitigations and the crypto self-tests, which cost the most
# under emulation: the guest runs only what the tests send it.
cat >syslinux.cfg <<'EOF'
DEFAULT linux
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND console=ttyS0 quiet mitigations=off cryptomgr.notests
EOF
files=(vmlinuz initrd.img usr.img syslinux.cfg)
bytes=$(du -c -b "${files[@]}" | tail -n 1 | cut -f1)
megabytes=$((bytes / 1048576 + bytes / 33554432 + 4))
truncate -s "${megabytes}M" disk.img
mformat -i disk.img -v GUEST ::
debs/usr/bin/syslinux --install disk.img
mcopy -o -i disk.img "${files[@]}" ::
mv disk.img "$out.tmp"
mv "$out.tmp" "$out"
echo "built guest image $out (${megabytes} MB, kernel $version)"
