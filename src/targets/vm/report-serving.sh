#!/bin/bash
# mspbyte-report.service, every minute from mspbyte-report.timer: publishes the CloudWatch
# metric MSPByte/Redis RedisServing (dimension InstanceId): 1 when redis-server is active and
# /var/lib/redis is the marked data volume (check-data-dir.sh), else 0. The alarm on it
# (src/targets/vm/vm.ts) also counts a minute without a report as failing, so a machine whose
# boot never got this far alarms too.
set -uo pipefail

imds="${MSPBYTE_IMDS:-http://169.254.169.254}"
check="${MSPBYTE_CHECK_DATA_DIR:-/usr/local/sbin/mspbyte-check-data-dir}"
region="${MSPBYTE_REGION:?MSPBYTE_REGION is not set (EnvironmentFile /etc/mspbyte/redis-vm.env)}"

token="$(curl -fsS -m 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" "$imds/latest/api/token")" \
    || { echo "report-serving: no token from the metadata service" >&2; exit 1; }
instance_id="$(curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/instance-id")" \
    || { echo "report-serving: no instance id from the metadata service" >&2; exit 1; }

value=0
if systemctl is-active --quiet redis-server.service && "$check"; then
    value=1
fi
aws cloudwatch put-metric-data --region "$region" --namespace MSPByte/Redis --metric-name RedisServing \
    --dimensions "InstanceId=$instance_id" --unit Count --value "$value" \
    || { echo "report-serving: put-metric-data failed (RedisServing=$value)" >&2; exit 1; }
echo "report-serving: RedisServing=$value for $instance_id"
