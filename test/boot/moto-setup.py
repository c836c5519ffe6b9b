#!/usr/bin/env python3
"""Puts what the vm stack's instance reads from AWS into moto_server (the established AWS
emulator): the stack's auth secret in Secrets Manager, and the Session Manager agent package in
the S3 bucket AWS publishes it from. Prints the secret's ARN (moto assigns its own suffix, as
AWS does).
  moto-setup.py ENDPOINT CA_FILE secret NAME [SECRET_JSON_FILE]   (no file: a secret with no value yet)
  moto-setup.py ENDPOINT CA_FILE value ARN SECRET_JSON_FILE
  moto-setup.py ENDPOINT CA_FILE object BUCKET KEY FILE
  moto-setup.py ENDPOINT CA_FILE metric NAMESPACE NAME DIMENSION=VALUE STAT   (the per-minute STAT of the values put, newest first, as JSON)
"""
import datetime
import json
import sys

import boto3

endpoint, ca_file, what = sys.argv[1], sys.argv[2], sys.argv[3]
session = boto3.session.Session(aws_access_key_id="moto", aws_secret_access_key="moto", region_name="us-east-1")
if what == "secret":
    name = sys.argv[4]
    value = {"SecretString": open(sys.argv[5]).read()} if len(sys.argv) > 5 else {}
    sm = session.client("secretsmanager", endpoint_url=endpoint, verify=ca_file)
    print(sm.create_secret(Name=name, **value)["ARN"])
elif what == "value":
    # As Pulumi's SecretVersion does, after the Secret (and possibly after the instance booted).
    arn, secret_file = sys.argv[4], sys.argv[5]
    sm = session.client("secretsmanager", endpoint_url=endpoint, verify=ca_file)
    sm.put_secret_value(SecretId=arn, SecretString=open(secret_file).read())
elif what == "object":
    bucket, key, file = sys.argv[4], sys.argv[5], sys.argv[6]
    s3 = session.client("s3", endpoint_url=endpoint, verify=ca_file, config=boto3.session.Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=bucket)
    # AWS's agent bucket is world-readable: the instance downloads it without signing.
    s3.put_object(Bucket=bucket, Key=key, Body=open(file, "rb").read(), ACL="public-read")
elif what == "metric":
    namespace, name, dimension, stat = sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
    dim_name, dim_value = dimension.split("=", 1)
    cw = session.client("cloudwatch", endpoint_url=endpoint, verify=ca_file)
    now = datetime.datetime.now(datetime.timezone.utc)
    r = cw.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": [{"Name": dim_name, "Value": dim_value}]}, "Period": 60, "Stat": stat}}],
        StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=5))
    print(json.dumps(r["MetricDataResults"][0]["Values"]))
else:
    sys.exit(f"unknown: {what}")
