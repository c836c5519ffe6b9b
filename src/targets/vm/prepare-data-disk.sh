#!/bin/bash
# Prepares the Redis data disk of an mspbyte-redis VM, at every boot:
#  - waits for the EBS volume to appear;
#  - formats it only when it holds no filesystem at all (a new, blank volume), never when it
#    holds one (a reboot, or the volume re-attached to a replacement instance);
#  - mounts it at the data directory, by UUID, and records it in fstab once.
# Every path and command can be pointed elsewhere through the environment, for tests.
set -euo pipefail

volume_id="${MSPBYTE_VOLUME_ID:-}"
device="${MSPBYTE_DATA_DEVICE:-}"
data_dir="${MSPBYTE_DATA_DIR:-/var/lib/redis}"
fstab="${MSPBYTE_FSTAB:-/etc/fstab}"
owner="${MSPBYTE_DATA_OWNER:-redis:redis}"
wait_seconds="${MSPBYTE_WAIT_SECONDS:-300}"
mount_cmd="${MSPBYTE_MOUNT:-mount}"
label="redis-data"

log() { echo "prepare-data-disk: $*"; }

# On Nitro instances the volume shows up as an NVMe device whose serial is the volume id
# without its dash; udev links it under /dev/disk/by-id.
if [ -z "$device" ]; then
    if [ -z "$volume_id" ]; then
        log "set MSPBYTE_VOLUME_ID (vol-...) or MSPBYTE_DATA_DEVICE"
        exit 2
    fi
    link="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volume_id//-/}"
    for _ in $(seq "$wait_seconds"); do
        [ -e "$link" ] && break
        sleep 1
    done
    if [ ! -e "$link" ]; then
        log "volume $volume_id did not appear at $link within ${wait_seconds}s"
        exit 1
    fi
    device="$(readlink -f "$link")"
fi

# blkid -p probes the device itself (not a cache): exit 2 means no signature of any kind.
set +e
blkid -p "$device" >/dev/null 2>&1
probe=$?
set -e
if [ "$probe" -eq 2 ]; then
    log "$device is blank: formatting it (ext4, label $label)"
    mkfs.ext4 -q -L "$label" -m 0 "$device"
elif [ "$probe" -eq 0 ]; then
    log "$device already holds a filesystem: leaving its data as it is"
else
    log "blkid could not probe $device (exit $probe): refusing to touch it"
    exit 1
fi

uuid="$(blkid -p -s UUID -o value "$device")"
if [ -z "$uuid" ]; then
    log "$device has a signature but no filesystem UUID: refusing to mount it"
    exit 1
fi
mkdir -p "$data_dir"
if ! grep -q "^UUID=$uuid " "$fstab" 2>/dev/null; then
    echo "UUID=$uuid $data_dir ext4 defaults,nofail,noatime 0 2" >> "$fstab"
    log "recorded UUID=$uuid in $fstab"
fi
if ! mountpoint -q "$data_dir"; then
    "$mount_cmd" -o noatime "$device" "$data_dir"
fi
chown "$owner" "$data_dir"
chmod 0750 "$data_dir"
log "$device (UUID=$uuid) mounted at $data_dir"
