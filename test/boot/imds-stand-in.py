#!/usr/bin/env python3
"""A stand-in for the EC2 instance metadata service (IMDSv2 only, as the vm stack requires:
httpTokens "required"), for the boot tests. It serves what the user data reads: a session
token, local-ipv4, the instance id (a stand-in's), the instance role's credentials, and the user data (re-read from a file at
each request, so a test can change it between boots). Every request is logged as one JSON line
so the test can check it against the documented IMDSv2 protocol.
  imds-stand-in.py ADDRESS PORT USER_DATA_FILE PRIVATE_IP LOG_FILE
"""
import http.server
import json
import secrets
import sys
import time

address, port, user_data_file, private_ip, log_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ROLE = "mspbyte-redis-vm-role"
INSTANCE_ID = "i-0standin00000001"
tokens = {}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def record(self, status, **extra):
        with open(log_file, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "status": status, **extra}) + "\n")

    def reply(self, status, body=b"", content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if self.path != "/latest/api/token" or ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            self.record(400, ttl=ttl)
            return self.reply(400)
        token = secrets.token_urlsafe(32)
        tokens[token] = time.time() + int(ttl)
        self.record(200, ttl=int(ttl))
        self.reply(200, token.encode())

    def do_GET(self):
        token = self.headers.get("X-aws-ec2-metadata-token")
        if token not in tokens or tokens[token] < time.time():
            # IMDSv2 only: a request without a valid session token is refused.
            self.record(401, token=token is not None)
            return self.reply(401)
        now = time.time()
        routes = {
            "/latest/meta-data/local-ipv4": lambda: private_ip.encode(),
            "/latest/meta-data/instance-id": lambda: INSTANCE_ID.encode(),
            "/latest/meta-data/iam/security-credentials/": lambda: ROLE.encode(),
            f"/latest/meta-data/iam/security-credentials/{ROLE}": lambda: json.dumps({
                "Code": "Success", "Type": "AWS-HMAC",
                "AccessKeyId": "ASIASTANDIN000000000", "SecretAccessKey": "stand-in-secret-access-key",
                "Token": "stand-in-session-token",
                "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 6 * 3600)),
            }).encode(),
            "/latest/user-data": lambda: open(user_data_file, "rb").read(),
        }
        if self.path not in routes:
            self.record(404, token=True)
            return self.reply(404)
        self.record(200, token=True)
        self.reply(200, routes[self.path]())


http.server.ThreadingHTTPServer((address, port), Handler).serve_forever()
