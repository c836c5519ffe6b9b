#!/bin/bash
# Writes what an mspbyte-redis VM's redis.conf includes and user data must never carry:
# the password (and TLS files) from Secrets Manager, and `bind` to this instance's private
# address and loopback, read from the instance metadata service (IMDSv2).
# Every path and command can be pointed elsewhere through the environment, for tests.
set -euo pipefail

secret_id="${MSPBYTE_SECRET_ID:?set MSPBYTE_SECRET_ID}"
region="${MSPBYTE_REGION:?set MSPBYTE_REGION}"
conf_dir="${MSPBYTE_CONF_DIR:-/etc/redis}"
group="${MSPBYTE_CONF_GROUP:-redis}"
private_ip="${MSPBYTE_PRIVATE_IP:-}"

if [ -z "$private_ip" ]; then
    token="$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)"
    private_ip="$(curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/local-ipv4)"
fi

secret="$(aws secretsmanager get-secret-value --secret-id "$secret_id" --region "$region" --query SecretString --output text)"
password="$(jq -er .password <<<"$secret")"
# redis.conf reads a double-quoted string with backslash escapes.
escaped="${password//\\/\\\\}"
escaped="${escaped//\"/\\\"}"

umask 027
local_conf="$conf_dir/mspbyte-local.conf"
{
    echo "# Written at boot by configure-redis.sh; not in user data, not in the AMI."
    echo "bind $private_ip 127.0.0.1"
    printf 'requirepass "%s"\n' "$escaped"
} > "$local_conf.tmp"
mv "$local_conf.tmp" "$local_conf"

if jq -e '.tlsKey' <<<"$secret" >/dev/null; then
    mkdir -p "$conf_dir/tls"
    jq -er .tlsCert <<<"$secret" > "$conf_dir/tls/server.crt"
    jq -er .tlsKey <<<"$secret" > "$conf_dir/tls/server.key"
    jq -er .tlsCa <<<"$secret" > "$conf_dir/tls/ca.crt"
    chgrp -R "$group" "$conf_dir/tls"
    chmod 0750 "$conf_dir/tls"
    chmod 0640 "$conf_dir/tls/"*
fi
chgrp "$group" "$local_conf"
chmod 0640 "$local_conf"
echo "configure-redis: wrote $local_conf (bind $private_ip 127.0.0.1)"
