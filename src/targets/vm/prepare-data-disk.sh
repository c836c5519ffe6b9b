#!/bin/bash
# Prepares the Redis data disk of an mspbyte-redis VM. Run at every boot by
# mspbyte-data-disk.service, before redis-server, which requires it:
#  - waits for the EBS volume to appear, retrying with backoff until a deadline, then fails
#    (the unit fails, redis-server does not start, `systemctl --failed` lists it);
#  - formats it only when `blkid -p` finds no signature at all (a new, blank volume), never
#    when it holds one (a reboot, or the volume re-attached to a replacement instance);
#  - mounts it at the data directory, records it in fstab by UUID, and leaves a marker naming
#    the volume on it, which redis-server's start check (check-data-dir.sh) looks for.
# Every path and command can be pointed elsewhere through the environment, for tests.
set -euo pipefail

volume_id="${MSPBYTE_VOLUME_ID:-}"
device="${MSPBYTE_DATA_DEVICE:-}"
by_id="${MSPBYTE_BY_ID_DIR:-/dev/disk/by-id}"
data_dir="${MSPBYTE_DATA_DIR:-/var/lib/redis}"
fstab="${MSPBYTE_FSTAB:-/etc/fstab}"
owner="${MSPBYTE_DATA_OWNER:-redis:redis}"
wait_seconds="${MSPBYTE_DISK_WAIT_SECONDS:-600}"
mount_cmd="${MSPBYTE_MOUNT:-mount}"
label="redis-data"
marker=".mspbyte-data-volume"

log() { echo "prepare-data-disk: $*"; }

if [ -z "$volume_id" ] && [ -z "$device" ]; then
    log "set MSPBYTE_VOLUME_ID (vol-...) or MSPBYTE_DATA_DEVICE"
    exit 2
fi

# On Nitro instances the volume shows up as an NVMe device whose serial is the volume id
# without its dash; udev links it under /dev/disk/by-id.
if [ -z "$device" ]; then
    link="$by_id/nvme-Amazon_Elastic_Block_Store_${volume_id//-/}"
    deadline=$((SECONDS + wait_seconds))
    delay=1
    until [ -b "$(readlink -f "$link")" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "volume $volume_id did not appear at $link within ${wait_seconds}s: Redis stays stopped"
            exit 1
        fi
        log "waiting for volume $volume_id at $link (next look in ${delay}s)"
        sleep "$delay"
        delay=$((delay * 2 > 30 ? 30 : delay * 2))
    done
    device="$(readlink -f "$link")"
fi
# The expected identity of what is mounted at the data directory.
identity="${volume_id:-$device}"

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
    # nofail: a missing disk must not stop the boot (Session Manager must still come up);
    # redis-server's own checks keep it from starting on the empty directory instead.
    echo "UUID=$uuid $data_dir ext4 defaults,nofail,noatime 0 2" >> "$fstab"
    log "recorded UUID=$uuid in $fstab"
fi
if ! mountpoint -q "$data_dir"; then
    "$mount_cmd" -o noatime "$device" "$data_dir"
fi
if [ -e "$data_dir/$marker" ]; then
    recorded="$(cat "$data_dir/$marker")"
    if [ "$recorded" != "$identity" ]; then
        # A snapshot restored into a new volume carries the old volume's marker: that is the
        # same data, so the marker follows the volume now holding it.
        log "marker names $recorded; this volume is $identity: updating it"
        echo "$identity" > "$data_dir/$marker"
    fi
else
    echo "$identity" > "$data_dir/$marker"
    log "marked $data_dir as volume $identity"
fi
chown "$owner" "$data_dir"
chmod 0750 "$data_dir"
log "$device (UUID=$uuid) mounted at $data_dir"
