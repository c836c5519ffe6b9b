#!/bin/bash
# Writes what an mspbyte-redis VM's redis.conf includes and user data must never carry:
# the password (and TLS files) from Secrets Manager, and `bind` to this instance's private
# address and loopback, read from the instance metadata service (IMDSv2).
# Run at every boot by mspbyte-redis-config.service, before redis-server, which requires it.
# The metadata service and the secret are retried with backoff until a deadline (the role's
# credentials or the secret's policy may not be there yet); then the unit fails and Redis
# stays stopped rather than start without its password.
# Every path and command can be pointed elsewhere through the environment, for tests.
set -euo pipefail

secret_id="${MSPBYTE_SECRET_ID:?set MSPBYTE_SECRET_ID}"
region="${MSPBYTE_REGION:?set MSPBYTE_REGION}"
conf_dir="${MSPBYTE_CONF_DIR:-/etc/redis}"
group="${MSPBYTE_CONF_GROUP:-redis}"
private_ip="${MSPBYTE_PRIVATE_IP:-}"
wait_seconds="${MSPBYTE_SECRET_WAIT_SECONDS:-600}"
imds="${MSPBYTE_IMDS:-http://169.254.169.254}"

deadline=$((SECONDS + wait_seconds))
# Runs "$@" until it succeeds, backing off 2, 4, 8 ... 30 s; gives up at the deadline.
retry() {
    local what="$1" delay=2
    shift
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "configure-redis: $what still failing after ${wait_seconds}s: Redis stays stopped" >&2
            return 1
        fi
        echo "configure-redis: $what failed; retrying in ${delay}s" >&2
        sleep "$delay"
        delay=$((delay * 2 > 30 ? 30 : delay * 2))
    done
}

read_private_ip() {
    local token
    token="$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$imds/latest/api/token")" &&
        private_ip="$(curl -fsS -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/local-ipv4")" &&
        [ -n "$private_ip" ]
}
read_secret() {
    secret="$(aws secretsmanager get-secret-value --secret-id "$secret_id" --region "$region" --query SecretString --output text)" &&
        jq -e '.password | strings' <<<"$secret" >/dev/null
}

if [ -z "$private_ip" ]; then
    retry "reading local-ipv4 from the instance metadata service" read_private_ip
fi
secret=""
retry "reading secret $secret_id" read_secret
password="$(jq -er .password <<<"$secret")"
# redis.conf reads a double-quoted string with backslash escapes.
quote() {
    local v="${1//\\/\\\\}"
    printf '"%s"' "${v//\"/\\\"}"
}

umask 027
local_conf="$conf_dir/mspbyte-local.conf"
{
    echo "# Written at boot by configure-redis.sh; not in user data, not in the AMI."
    echo "bind $private_ip 127.0.0.1"
    if previous="$(jq -er '.previousPassword | strings' <<<"$secret")"; then
        # Phase one of a password rotation (src/rotation.ts): the default user takes both.
        printf 'user default on %s %s ~* &* +@all\n' "$(quote ">$password")" "$(quote ">$previous")"
    else
        printf 'requirepass %s\n' "$(quote "$password")"
    fi
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
