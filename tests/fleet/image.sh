#!/usr/bin/env bash
# The rehearsal's host image: Debian 12 as a stand-in for the Debian AMI, with
# systemd, sshd, cloud-init (NoCloud), the AWS CLI, and PostgreSQL for the
# warehouse host. Built once with debootstrap and kept outside the clone.
#   usage: tests/fleet/image.sh DIR      (prints DIR/rootfs when ready)
# Rebuilt when IMAGE_VERSION changes: bump it with any change below.
set -euo pipefail
IMAGE_VERSION=2
dir=$1
stamp="v$IMAGE_VERSION"
rootfs=$dir/rootfs
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp" ] && [ -d "$rootfs/usr" ]; then
    echo "$rootfs"
    exit 0
fi
command -v debootstrap >/dev/null && command -v systemd-nspawn >/dev/null || {
    echo "image.sh: installing debootstrap and systemd-container" >&2
    apt-get update -q >/dev/null && apt-get install -y -q debootstrap systemd-container >/dev/null
}
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
rm -rf "$dir"
mkdir -p "$dir"
started=$(date +%s)
echo "image.sh: debootstrap bookworm from $mirror (once; a few minutes)" >&2
# python3-cffi-backend must be named or python3-cryptography's install fails.
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,iproute2,openssh-server,python3,python3-cffi-backend,curl,procps,ca-certificates,util-linux,sudo \
    bookworm "$rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
    { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
# Services must not start inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
chroot "$rootfs" /bin/sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends cloud-init awscli postgresql-15 && apt-get clean' \
    >"$dir/apt.log" 2>&1 || { tail -20 "$dir/apt.log" >&2; exit 1; }
rm -f "$rootfs/usr/sbin/policy-rc.d"
# As on EC2's Debian AMI: cloud-init reads a seed (NoCloud here) and makes the
# login user `admin` with the instance's key; no network config (the
# rehearsal sets addresses); no locale step (it exits 255 in a container).
cat >"$rootfs/etc/cloud/cloud.cfg.d/99-fleet.cfg" <<'CFG'
datasource_list: [ NoCloud ]
network: {config: disabled}
locale: false
system_info:
  default_user:
    name: admin
    lock_passwd: true
    groups: [adm, sudo]
    shell: /bin/bash
CFG
# The warehouse host enables PostgreSQL itself; other hosts never run it.
chroot "$rootfs" systemctl disable postgresql.service >/dev/null 2>&1 || true
# Every host gets its own identity when it is booted.
: >"$rootfs/etc/machine-id"
rm -f "$rootfs"/etc/ssh/ssh_host_*
chroot "$rootfs" systemctl enable ssh.service >/dev/null 2>&1 || true
echo "$stamp" >"$dir/stamp"
echo "image.sh: image ready in $(( $(date +%s) - started )) s, $(du -sh "$rootfs" | cut -f1)" >&2
echo "$rootfs"
