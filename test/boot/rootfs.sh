#!/bin/bash
# Builds the boot tests' Debian 12 root filesystem: what an official Debian cloud image has for
# the user data to work with (systemd, cloud-init, python3 with its yaml module), nothing of
# Redis. The packages the user data installs are only downloaded into apt's cache, so each boot
# installs them for real, through cloud-init, without fetching them again.
#   rootfs.sh DIR MIRROR PACKAGE...
set -euo pipefail
dir="$1"
mirror="$2"
shift 2

# python3-cffi-backend: named here or python3-cryptography (cloud-init's) stays unconfigured;
# locales with en_US.UTF-8: cloud-init's locale step fails without it.
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,cloud-init,python3-cffi-backend,locales,ca-certificates,iproute2,netbase,e2fsprogs \
    bookworm "$dir" "$mirror"
echo "en_US.UTF-8 UTF-8" > "$dir/etc/locale.gen"
chroot "$dir" locale-gen
echo "LANG=en_US.UTF-8" > "$dir/etc/default/locale"
cat > "$dir/etc/cloud/cloud.cfg.d/90-mspbyte-boot-test.cfg" <<'CFG'
# The boot tests seed the user data as NoCloud; the container's network is set up outside.
datasource_list: [NoCloud]
network: {config: disabled}
CFG
cp /etc/resolv.conf "$dir/etc/resolv.conf"
chroot "$dir" apt-get install -y -qq --download-only "$@"
: > "$dir/etc/resolv.conf"
