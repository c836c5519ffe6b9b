#!/bin/bash
# redis-server's ExecStartPre (drop-in 10-mspbyte.conf): Redis starts only on the data volume.
# /var/lib/redis must be a mount point and carry the marker prepare-data-disk.sh left on the
# volume it vetted; otherwise it is the root disk's empty directory (volume missing, late, or
# detached) and Redis would serve an empty queue from a disk no snapshot covers.
set -euo pipefail

volume_id="${MSPBYTE_VOLUME_ID:-}"
data_dir="${MSPBYTE_DATA_DIR:-/var/lib/redis}"
marker="$data_dir/.mspbyte-data-volume"

fail() { echo "check-data-dir: $*: refusing to start Redis" >&2; exit 1; }

mountpoint -q "$data_dir" || fail "$data_dir is not a mount point (the data volume is not mounted)"
[ -f "$marker" ] || fail "$data_dir has no $(basename "$marker") (not a volume prepared for Redis)"
if [ -n "$volume_id" ]; then
    recorded="$(cat "$marker")"
    [ "$recorded" = "$volume_id" ] || fail "$data_dir holds volume $recorded, not $volume_id"
fi
echo "check-data-dir: $data_dir is volume ${volume_id:-$(cat "$marker")} ($(findmnt -n -o SOURCE --target "$data_dir"))"
