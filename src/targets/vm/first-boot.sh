#!/bin/bash
# cloud-init's runcmd, once per instance: systemd booted before cloud-init wrote the units, so
# this enables them and starts Redis through them. Every later boot runs the same units from
# multi-user.target. Exits non-zero when a step failed, so `cloud-init status` reports an
# error rather than "done".
set -uo pipefail

# shellcheck source=/dev/null
. "${MSPBYTE_ENV_FILE:-/etc/mspbyte/redis-vm.env}"
status=0
step() {
    if ! "$@"; then
        echo "first-boot: failed: $*" >&2
        status=1
    fi
}

# The package was installed with Redis's start held back (policy-rc.d from user data): it never
# ran on the root disk's /var/lib/redis.
step rm -f /usr/sbin/policy-rc.d
step systemctl daemon-reload
step systemctl enable mspbyte-apply-user-data.service mspbyte-data-disk.service mspbyte-redis-config.service mspbyte-disable-thp.service redis-server.service
# Applies /etc/sysctl.d now (skipped by its own condition in containers, where /proc/sys is read-only).
step systemctl restart systemd-sysctl.service
step systemctl start mspbyte-disable-thp.service
# Session Manager is the only way in (no SSH port), also to look at a Redis that did not start;
# Debian does not package its agent.
ssm_deb="$(mktemp --suffix=.deb)"
step curl -fsSL --retry 5 --retry-all-errors -o "$ssm_deb" "https://s3.${MSPBYTE_REGION}.amazonaws.com/amazon-ssm-${MSPBYTE_REGION}/latest/debian_${MSPBYTE_DEB_ARCH}/amazon-ssm-agent.deb"
step dpkg -i "$ssm_deb"
step systemctl enable --now amazon-ssm-agent
rm -f "$ssm_deb"
# Reports RedisServing every minute from now on (and from every later boot): 0 or no report alarms.
step systemctl enable --now mspbyte-report.timer
# Blocks until Redis runs or a boot step gives up (see `systemctl --failed`).
step systemctl start redis-server.service
exit "$status"
