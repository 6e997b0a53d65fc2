#!/usr/bin/env python3
"""Starts moto servers by fork, for a test suite that starts sixty of them.

`moto_server` spends about 2.4 s of CPU before it answers its first request as AWS would: Python
imports moto, then the warm-up (sim/moto.ts warmUp) builds the backends of the services the
runbook uses (EC2's default VPC, AMIs and instance types; IAM's AWS managed policies). This process
does that once, then forks a server per request: each child is a real moto server (moto.server.main,
the function `moto_server` runs) whose backends were built by the same warm-up requests, on a
socket of its own, with its own state from then on. Only the start is shared.

Usage: python3 sim/moto-zygote.py SOCKET
One JSON line per connection: {"port": N, "log": FILE, "env": {...}}; the answer is {"pid": N}
or {"error": "..."}. The child runs with the given environment and writes to FILE, as a spawned
moto_server would, in a session of its own; it is reaped by this process (SIGCHLD ignored), so a
stopped server leaves no zombie. Ends on SIGTERM or when SOCKET is removed.
"""

import json
import os
import signal
import socket
import sys

REGION = os.environ.get("AWS_REGION", "ap-northeast-1")
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

from moto import backends, server  # noqa: E402  (after the environment moto reads at import)
from moto.moto_api._internal import mock_random  # noqa: E402
from werkzeug.test import Client  # noqa: E402

# moto lists its package's folders on every request to find the service a host names (moto 5.2.1
# moto_server/werkzeug_app.py:77, backends.py:186): a seventh of a request's time. The folders do
# not change while the servers run; listed once here.
_MODULES = list(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _MODULES


def warm_up() -> None:
    """The requests of sim/moto.ts warmUp, made in-process: each builds its service's backend."""
    app = server.DomainDispatcherApplication(server.create_backend_app)
    client = Client(app)

    def send(service: str, method: str, path: str, body: str, headers: dict) -> None:
        # As over HTTP, where an action moto lacks answers 500 once its backend is built.
        try:
            client.open(path, method=method, data=body, headers={"Authorization": auth(service), **headers})
        except NotImplementedError:
            pass

    def auth(service: str) -> str:
        return (
            f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )

    form = "application/x-www-form-urlencoded; charset=utf-8"
    queries = [
        ("ec2", "Action=DescribeAvailabilityZones&Version=2016-11-15"),
        ("sts", "Action=GetCallerIdentity&Version=2011-06-15"),
        ("iam", "Action=ListRoles&Version=2010-05-08"),
        ("monitoring", "Action=ListMetrics&Version=2010-08-01"),
    ]
    for service, body in queries:
        send(service, "POST", "/", body, {"Content-Type": form})
    targets = [
        ("dynamodb", "DynamoDB_20120810.ListTables"),
        ("logs", "Logs_20140328.DescribeLogGroups"),
        ("ssm", "AmazonSSM.DescribeInstanceInformation"),
    ]
    for service, target in targets:
        send(service, "POST", "/", "{}", {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    send("eks", "GET", "/clusters", "", {})


def child(request: dict) -> None:
    """In the forked child: become the moto server the request asked for."""
    os.setsid()
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(request.get("env") or {})
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    os.environ["MOTO_PORT"] = str(request["port"])
    # Ids of its own from here: the parent's random state would give every child the same ones.
    mock_random.seed()
    __import__("random").seed()
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    # Stopped at once: moto's handler (sys.exit) then waits about 3 s for the interpreter to tear
    # down the warm backends, which nothing reads again.
    server.signal_handler = lambda *_: os._exit(0)
    server.main(["-H", "127.0.0.1", "-p", str(request["port"])])
    os._exit(0)


def main() -> None:
    path = sys.argv[1]
    warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    listener.settimeout(5)
    print(f"moto zygote ready on {path}", flush=True)
    while os.path.exists(path):
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        with conn:
            try:
                line = conn.makefile("r").readline()
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    conn.close()
                    try:
                        child(request)
                    finally:
                        os._exit(1)
                conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
            except Exception as err:  # an answer, not a dead zygote
                conn.sendall((json.dumps({"error": str(err)}) + "\n").encode())


if __name__ == "__main__":
    main()
