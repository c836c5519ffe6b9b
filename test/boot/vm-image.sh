#!/bin/bash
# Builds the QEMU boot test's disk image from the boot tests' root filesystem (rootfs.sh): adds
# what a VM needs and a container does not (a kernel and its initramfs, udev, networkd), then
# makes a raw ext4 image of it. Test-image only, named as such:
#  - a udev rule gives the data volume the by-id link EC2's NVMe driver gives an EBS volume
#    (QEMU's NVMe controller cannot take Amazon's model name; its serial is the volume id);
#  - a networkd file gives the instance its private address (EC2 would by DHCP), the gateway
#    being the test's network namespace, which holds the metadata service, AWS and the mirror;
#  - mspbyte-boot-report.service prints, once the boot is done, what the test asserts on the
#    serial console (there is no SSH into the test VM).
#  - the data disk step waits DISK_WAIT_SECONDS for the volume instead of EC2's 600 s.
#   vm-image.sh ROOTFS OUT_DIR MIRROR DISK_WAIT_SECONDS
set -euo pipefail
rootfs="$1"
out="$2"
mirror="$3"
disk_wait="$4"
build="$out/tree"

rm -rf "$build"
cp -a "$rootfs" "$build"
cp /etc/resolv.conf "$build/etc/resolv.conf"
mount --bind /proc "$build/proc"
trap 'umount "$build/proc" 2>/dev/null || true' EXIT
# No daemon may start in the chroot.
printf '#!/bin/sh\nexit 101\n' > "$build/usr/sbin/policy-rc.d"
chmod 755 "$build/usr/sbin/policy-rc.d"
echo "deb $mirror bookworm main" > "$build/etc/apt/sources.list"
chroot "$build" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$build" apt-get install -y -qq --no-install-recommends linux-image-cloud-amd64 initramfs-tools udev kmod
rm -f "$build/usr/sbin/policy-rc.d"
umount "$build/proc"
trap - EXIT
: > "$build/etc/resolv.conf"

echo "/dev/vda / ext4 defaults 0 1" > "$build/etc/fstab"
echo "ip-10-0-1-23" > "$build/etc/hostname"
cat > "$build/etc/udev/rules.d/61-boot-test-ebs-nvme.rules" <<'RULES'
# Boot test image only: the link EC2 gives an EBS volume (nvme-Amazon_Elastic_Block_Store_<id>),
# from the serial 60-persistent-storage.rules read.
KERNEL=="nvme[0-9]*n[0-9]*", ENV{DEVTYPE}=="disk", ENV{ID_SERIAL_SHORT}=="?*", SYMLINK+="disk/by-id/nvme-Amazon_Elastic_Block_Store_$env{ID_SERIAL_SHORT}"
RULES
mkdir -p "$build/etc/systemd/network"
cat > "$build/etc/systemd/network/10-boot-test.network" <<'NET'
# Boot test image only: the instance's private address; the gateway is the test's namespace.
[Match]
Type=ether
[Network]
Address=10.0.1.23/24
Gateway=10.0.1.1
NET
chroot "$build" systemctl enable systemd-networkd.service
mkdir -p "$build/etc/systemd/system/mspbyte-data-disk.service.d"
printf '# Boot test image only: a shorter deadline than on EC2.\n[Service]\nEnvironment=MSPBYTE_DISK_WAIT_SECONDS=%s\n' "$disk_wait" \
    > "$build/etc/systemd/system/mspbyte-data-disk.service.d/50-boot-test.conf"
cat > "$build/etc/systemd/system/mspbyte-boot-report.service" <<'UNIT'
[Unit]
Description=Boot test image only: report the boot on the serial console
After=multi-user.target cloud-final.service
[Service]
# simple: the report waits for the boot to finish, which a oneshot (itself part of it) would block.
Type=simple
StandardOutput=tty
TTYPath=/dev/ttyS0
ExecStart=/bin/sh -c 'systemctl is-system-running --wait >/dev/null; echo "BOOT-REPORT-BEGIN"; echo "system: $(systemctl is-system-running)"; echo "failed: $(systemctl --failed --plain --no-legend | cut -d" " -f1 | tr "\\n" " ")"; cloud-init status | sed "s/^/cloud-init /"; echo "redis-server: $(systemctl is-active redis-server)"; echo "mount: $(findmnt -n -o SOURCE,FSTYPE --target /var/lib/redis)"; echo "fstab: $(grep /var/lib/redis /etc/fstab)"; echo "mounted-by: $(systemctl is-active var-lib-redis.mount)"; echo "sysctl: $(sysctl -n vm.overcommit_memory) $(sysctl -n net.core.somaxconn)"; echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled) $(cat /sys/kernel/mm/transparent_hugepage/defrag)"; echo "disk-log:"; journalctl -b -o cat -u mspbyte-data-disk | sed "s/^/  /"; echo "BOOT-REPORT-END"'
[Install]
WantedBy=multi-user.target
UNIT
chroot "$build" systemctl enable mspbyte-boot-report.service
cp "$build"/boot/vmlinuz-* "$out/vmlinuz"
cp "$build"/boot/initrd.img-* "$out/initrd.img"
rm -f "$out/root.img"
truncate -s 4G "$out/root.img"
mkfs.ext4 -q -F -d "$build" "$out/root.img"
rm -rf "$build"
