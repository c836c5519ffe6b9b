#!/usr/bin/python3
"""Applies this instance's CURRENT user data at every boot (mspbyte-apply-user-data.service).

cloud-init writes `write_files` once per instance. When the user data changes on a stopped
instance (a redis.conf edit, maxmemory, TLS), the next boot must run the new configuration,
not the one from the first boot: this reads the user data from the instance metadata service
(IMDSv2) and rewrites the files this program manages, before the data disk, the secret and
redis-server are handled. Files outside those paths are left to cloud-init.
Runs with Debian's python3 and python3-yaml (cloud-init's own dependencies).
"""
import grp
import gzip
import os
import pwd
import subprocess
import sys
import time
import urllib.request

import yaml

IMDS = os.environ.get("MSPBYTE_IMDS", "http://169.254.169.254")
WAIT_SECONDS = int(os.environ.get("MSPBYTE_USER_DATA_WAIT_SECONDS", "300"))
ROOT = os.environ.get("MSPBYTE_ROOT", "/")
# What this program manages; everything else in the document is cloud-init's, once.
MANAGED = (
    "/etc/redis/",
    "/etc/mspbyte/",
    "/usr/local/sbin/mspbyte-",
    "/etc/systemd/system/mspbyte-",
    "/etc/systemd/system/redis-server.service.d/",
    "/etc/sysctl.d/60-mspbyte",
)


def log(msg):
    print(f"apply-user-data: {msg}", flush=True)


def fetch_user_data():
    token_req = urllib.request.Request(f"{IMDS}/latest/api/token", method="PUT",
                                       headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    with urllib.request.urlopen(token_req, timeout=5) as r:
        token = r.read().decode()
    req = urllib.request.Request(f"{IMDS}/latest/user-data", headers={"X-aws-ec2-metadata-token": token})
    with urllib.request.urlopen(req, timeout=5) as r:
        data = r.read()
    # The program sends the document gzipped (EC2's 16 KB limit); cloud-init reads both forms.
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode()


def fetch_with_retry():
    deadline = time.monotonic() + WAIT_SECONDS
    delay = 1
    while True:
        try:
            return fetch_user_data()
        except OSError as e:
            if time.monotonic() >= deadline:
                log(f"user data still unreadable after {WAIT_SECONDS}s ({e}): Redis stays stopped")
                sys.exit(1)
            log(f"reading user data failed ({e}); retrying in {delay}s")
            time.sleep(delay)
            delay = min(delay * 2, 30)


def apply(entry):
    """Writes one write_files entry if its content, mode or owner differ; True when it did."""
    target = os.path.join(ROOT, entry["path"].lstrip("/"))
    content = entry.get("content", "").encode()
    mode = int(str(entry.get("permissions", "0644")), 8)
    user, _, group = entry.get("owner", "root:root").partition(":")
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group or user).gr_gid
    try:
        st = os.stat(target)
        with open(target, "rb") as f:
            if f.read() == content and (st.st_mode & 0o7777) == mode and (st.st_uid, st.st_gid) == (uid, gid):
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.mspbyte-new"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.chown(tmp, uid, gid)
    os.chmod(tmp, mode)
    os.replace(tmp, target)
    return True


def main():
    text = fetch_with_retry()
    if not text.startswith("#cloud-config"):
        log("user data is not a #cloud-config document: refusing to apply it")
        sys.exit(1)
    doc = yaml.safe_load(text) or {}
    entries = [e for e in doc.get("write_files", []) if e["path"].startswith(MANAGED)]
    changed = [e["path"] for e in entries if apply(e)]
    for path in changed:
        log(f"updated {path}")
    if any(p.startswith("/etc/systemd/") for p in changed):
        subprocess.run(["systemctl", "daemon-reload"], check=True)
    if any(p.startswith("/etc/sysctl.d/") for p in changed):
        # Skipped by its own condition where /proc/sys is read-only (containers).
        subprocess.run(["systemctl", "restart", "systemd-sysctl.service"], check=True)
    log(f"{len(entries)} managed files match the current user data ({len(changed)} updated)")


if __name__ == "__main__":
    main()
