#!/usr/bin/env python3
"""Puts what the vm stack's instance reads from AWS into moto_server (the established AWS
emulator): the stack's auth secret in Secrets Manager, and the Session Manager agent package in
the S3 bucket AWS publishes it from. Prints the secret's ARN (moto assigns its own suffix, as
AWS does).
  moto-setup.py ENDPOINT CA_FILE secret NAME [SECRET_JSON_FILE]   (no file: a secret with no value yet)
  moto-setup.py ENDPOINT CA_FILE value ARN SECRET_JSON_FILE
  moto-setup.py ENDPOINT CA_FILE object BUCKET KEY FILE
"""
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
else:
    sys.exit(f"unknown: {what}")
