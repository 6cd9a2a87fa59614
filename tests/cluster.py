#!/usr/bin/env python3
"""`make test-cluster`: three replicas of the release build behind HAProxy, sharing one Redis,
checked as a deployment runs them. Every process runs on 127.0.0.1, on ports picked here, and
is stopped by its id when the checks end, pass or fail.

The issuer is a fourth instance of the service with its development issuer on; the replicas run
the production profile and trust it. Tokens and DPoP proofs come from the project's own
binaries (`dev-token`, `dpop-proof`), so nothing here signs anything by hand.

Checks:
  1. a proof accepted at one replica is refused at every other, through the balancer and
     at each replica directly;
  2. with server nonces and a shared nonce key, a client that follows `DPoP-Nonce` succeeds in
     one retry at most, whichever replica it lands on;
  3. 32 copies of one proof sent at once across the three replicas: exactly one accepted;
  4. Redis stopped under DPoP and bearer load: DPoP answers 503 with Retry-After, bearer stays
     200, no other 5xx, no replica exits; Redis restarted: DPoP succeeds again within seconds;
  5. a rolling restart (each replica in turn gets SIGTERM and comes back) under steady load
     through the balancer, which health-checks /ready: no request fails.
"""

import concurrent.futures
import email.message
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
with open(os.path.join(ROOT, "Cargo.toml"), "rb") as manifest:
    SERVER = os.path.join(RELEASE, tomllib.load(manifest)["package"]["name"])
AUDIENCE = "cluster-api"
REPLICAS = 3
# Long enough for the balancer's health check to see a 503 before the replica stops accepting.
SHUTDOWN_DELAY_SECONDS = 2


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url, headers=None, timeout=5):
    """GET `url`: (status, headers, body), the headers read case-insensitively; a refused or
    broken connection is status 0."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=timeout
        ) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, email.message.Message(), b""


class Processes:
    """Every process the checks start, stopped by its id on the way out."""

    def __init__(self, logs):
        self.logs = logs
        self.running = {}

    def start(self, name, command, env=None):
        log = open(os.path.join(self.logs, f"{name}.log"), "ab")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.running[name] = process
        return process

    def stop(self, name, sig=signal.SIGTERM, wait=30):
        process = self.running.pop(name, None)
        if process is None:
            return None
        if process.poll() is None:
            os.kill(process.pid, sig)
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        return process.returncode

    def alive(self, name):
        process = self.running.get(name)
        return process is not None and process.poll() is None

    def stop_all(self):
        for name in list(self.running):
            self.stop(name, wait=10)


class Cluster:
    def __init__(self, processes, workdir):
        self.p = processes
        self.workdir = workdir
        self.issuer_port = free_port()
        self.redis_port = free_port()
        self.balancer_port = free_port()
        self.replica_ports = [free_port() for _ in range(REPLICAS)]
        self.public_url = f"http://127.0.0.1:{self.balancer_port}"
        self.issuer_url = f"http://127.0.0.1:{self.issuer_port}"
        self.key_file = os.path.join(workdir, "issuer-keys.json")
        self.client_key = os.path.join(workdir, "dpop-client.pem")
        self.nonce_key = os.path.join(workdir, "nonce.key")
        with open(self.nonce_key, "wb") as key:
            key.write(os.urandom(48))

    # The processes.

    def start_issuer(self):
        self.p.start(
            "issuer",
            [SERVER],
            self.issuer_env(),
        )
        wait_until(lambda: request(f"{self.issuer_url}/ready")[0] == 200, "the issuer is ready")

    def issuer_env(self):
        return {
            "APP_ENV": "development",
            "APP__SERVER__PORT": str(self.issuer_port),
            "APP__DEV_ISSUER__KEY_FILE": self.key_file,
            "APP__AUTH__AUDIENCE": AUDIENCE,
        }

    def start_redis(self):
        self.p.start(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
        )
        wait_until(lambda: can_connect(self.redis_port), "redis answers")

    def start_replica(self, index):
        port = self.replica_ports[index]
        self.p.start(
            f"replica-{index}",
            [SERVER],
            {
                "APP_ENV": "production",
                "APP__SERVER__HOST": "127.0.0.1",
                "APP__SERVER__PORT": str(port),
                "APP__SERVER__PUBLIC_URL": self.public_url,
                "APP__SERVER__WORKERS": "2",
                "APP__SERVER__SHUTDOWN_DELAY_SECONDS": str(SHUTDOWN_DELAY_SECONDS),
                "APP__SERVER__DRAIN_SECONDS": "10",
                "APP__AUTH__ISSUER": self.issuer_url,
                "APP__AUTH__AUDIENCE": AUDIENCE,
                "APP__AUTH__DPOP_REPLAY_STORE": "redis",
                "APP__REDIS__URL": f"redis://127.0.0.1:{self.redis_port}",
                "APP__AUTH__DPOP_NONCE_LIFETIME_SECONDS": "60",
                "APP__AUTH__DPOP_NONCE_SECRET_FILE": self.nonce_key,
                "RUST_LOG": "warn",
            },
        )

    def replica_url(self, index):
        return f"http://127.0.0.1:{self.replica_ports[index]}"

    def wait_replica_ready(self, index):
        wait_until(
            lambda: request(f"{self.replica_url(index)}/ready")[0] == 200,
            f"replica {index} is ready",
        )

    def start_balancer(self):
        config = os.path.join(self.workdir, "haproxy.cfg")
        servers = "\n".join(
            f"    server replica-{i} 127.0.0.1:{port} check"
            for i, port in enumerate(self.replica_ports)
        )
        with open(config, "w") as file:
            file.write(f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    retries 3
    option redispatch
    retry-on conn-failure empty-response response-timeout
frontend api
    bind 127.0.0.1:{self.balancer_port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    default-server inter 250ms fall 1 rise 2
{servers}
""")
        self.p.start("haproxy", ["haproxy", "-db", "-f", config])
        wait_until(
            lambda: request(f"{self.public_url}/ready")[0] == 200, "the balancer serves"
        )

    # Tokens and proofs, from the project's binaries.

    def binary(self, name, env):
        output = subprocess.run(
            [os.path.join(RELEASE, name)],
            cwd=ROOT,
            env={**os.environ, **self.issuer_env(), **env},
            capture_output=True,
            check=True,
        )
        return output.stdout.decode().split()

    def bearer_token(self):
        return self.binary("dev-token", {})[0]

    def bound_token(self):
        thumbprint = self.binary(
            "dpop-proof", {"DPOP_KEY_FILE": self.client_key, "DPOP_THUMBPRINT": "1"}
        )[0]
        return self.binary("dev-token", {"TOKEN_CNF_JKT": thumbprint})[0]

    def proofs(self, token, count=1, nonce=""):
        return self.binary(
            "dpop-proof",
            {
                "DPOP_KEY_FILE": self.client_key,
                "DPOP_URL": f"{self.public_url}/api/v1/me",
                "DPOP_TOKEN": token,
                "DPOP_COUNT": str(count),
                "DPOP_NONCE": nonce,
            },
        )


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")


def dpop(base, token, proof):
    return request(
        f"{base}/api/v1/me", {"Authorization": f"DPoP {token}", "DPoP": proof}
    )


def nonce_of(cluster, token):
    """A nonce, as a client gets one: from the 401 that asks for it."""
    status, headers, _ = dpop(cluster.public_url, token, cluster.proofs(token)[0])
    assert status == 401, status
    return headers["DPoP-Nonce"]


def check_a_proof_is_used_once_across_replicas(cluster, token):
    nonce = nonce_of(cluster, token)
    for first in range(REPLICAS):
        proof = cluster.proofs(token, nonce=nonce)[0]
        status, _, body = dpop(cluster.replica_url(first), token, proof)
        assert status == 200, (status, body)
        for other in range(REPLICAS):
            status, _, _ = dpop(cluster.replica_url(other), token, proof)
            assert status == 401, f"a proof used at replica {first} was taken at {other}"
        for _ in range(REPLICAS):
            status, _, _ = dpop(cluster.public_url, token, proof)
            assert status == 401, "a used proof was taken through the balancer"
    print("ok: a proof used at one replica is refused at every other and through the balancer")


def check_a_nonce_from_any_replica_is_taken_by_every_other(cluster, token):
    for landing in range(REPLICAS * 2):
        proof = cluster.proofs(token)[0]
        status, headers, _ = dpop(cluster.public_url, token, proof)
        assert status == 401 and "DPoP-Nonce" in headers, status
        retry = cluster.proofs(token, nonce=headers["DPoP-Nonce"])[0]
        status, _, body = dpop(cluster.public_url, token, retry)
        assert status == 200, f"request {landing}: one retry with the nonce gave {status} {body}"
    # And a nonce from one replica, taken directly at each of the others.
    status, headers, _ = dpop(cluster.replica_url(0), token, cluster.proofs(token)[0])
    for other in range(1, REPLICAS):
        proof = cluster.proofs(token, nonce=headers["DPoP-Nonce"])[0]
        status, _, _ = dpop(cluster.replica_url(other), token, proof)
        assert status == 200, f"replica {other} refused a nonce of replica 0"
    print("ok: a client that follows DPoP-Nonce succeeds in one retry, whichever replica")


def check_one_of_many_copies_at_once(cluster, token):
    nonce = nonce_of(cluster, token)
    proof = cluster.proofs(token, nonce=nonce)[0]
    targets = [cluster.replica_url(i % REPLICAS) for i in range(32)]
    barrier = threading.Barrier(len(targets))

    def send(base):
        barrier.wait()
        return dpop(base, token, proof)[0]

    with concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
        statuses = list(pool.map(send, targets))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == len(targets) - 1, statuses
    print("ok: of 32 copies of one proof sent at once across the replicas, exactly one is taken")


def load(stop, work, results):
    while not stop.is_set():
        results.append(work())


def check_a_store_outage_fails_dpop_closed_and_recovers(cluster, processes, token, bearer):
    nonce = nonce_of(cluster, token)
    proofs = iter(cluster.proofs(token, count=6000, nonce=nonce))
    lock = threading.Lock()

    def dpop_request():
        # Paced, so the proofs made beforehand last the whole check.
        time.sleep(0.005)
        with lock:
            proof = next(proofs, None)
        if proof is None:
            return ("idle", 0, None)
        status, headers, _ = dpop(cluster.public_url, token, proof)
        return ("dpop", status, headers.get("Retry-After"))

    def bearer_request():
        status, _, _ = request(
            f"{cluster.public_url}/api/v1/me", {"Authorization": f"Bearer {bearer}"}
        )
        return ("bearer", status, None)

    stop, results = threading.Event(), []
    threads = [
        threading.Thread(target=load, args=(stop, work, results))
        for work in (dpop_request, dpop_request, bearer_request, bearer_request)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        processes.stop("redis")
        time.sleep(2)
        during = len(results)
        time.sleep(1)
        outage = results[during:]
        cluster.start_redis()
        recovered = None
        started = time.monotonic()
        while recovered is None and time.monotonic() - started < 10:
            mark = len(results)
            time.sleep(0.5)
            if any(kind == "dpop" and status == 200 for kind, status, _ in results[mark:]):
                recovered = time.monotonic() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    dpop_outage = [r for r in outage if r[0] == "dpop"]
    bearer_outage = [r for r in outage if r[0] == "bearer"]
    assert dpop_outage and all(s == 503 and ra for _, s, ra in dpop_outage), dpop_outage[:5]
    assert bearer_outage and all(s == 200 for _, s, _ in bearer_outage), bearer_outage[:5]
    unexpected = [
        r for r in results
        if r[0] != "idle" and (r[1] == 0 or r[1] >= 500) and not (r[0] == "dpop" and r[1] == 503)
    ]
    assert not unexpected, unexpected[:5]
    assert recovered is not None, "DPoP requests did not succeed again after Redis returned"
    for index in range(REPLICAS):
        assert processes.alive(f"replica-{index}"), f"replica {index} exited"
    print(
        f"ok: with Redis down, {len(dpop_outage)} DPoP requests got 503 with Retry-After and "
        f"{len(bearer_outage)} bearer requests 200; DPoP succeeded again {recovered:.1f} s "
        "after Redis returned"
    )


def check_a_rolling_restart_fails_no_request(cluster, processes, bearer):
    stop, results = threading.Event(), []

    def bearer_request():
        status, _, _ = request(
            f"{cluster.public_url}/api/v1/me", {"Authorization": f"Bearer {bearer}"}
        )
        return status

    threads = [
        threading.Thread(target=load, args=(stop, bearer_request, results)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    try:
        for index in range(REPLICAS):
            code = processes.stop(f"replica-{index}")
            assert code == 0, f"replica {index} exited {code} on SIGTERM"
            cluster.start_replica(index)
            cluster.wait_replica_ready(index)
            # Back in the balancer after two good health checks.
            time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    failed = [status for status in results if status != 200]
    assert results and not failed, f"{len(failed)} of {len(results)} failed: {failed[:10]}"
    print(f"ok: a rolling restart of {REPLICAS} replicas under load failed none of {len(results)} requests")


def main():
    workdir = tempfile.mkdtemp(prefix="test-cluster-")
    processes = Processes(workdir)
    cluster = Cluster(processes, workdir)
    try:
        cluster.start_issuer()
        cluster.start_redis()
        for index in range(REPLICAS):
            cluster.start_replica(index)
        for index in range(REPLICAS):
            cluster.wait_replica_ready(index)
        cluster.start_balancer()
        token, bearer = cluster.bound_token(), cluster.bearer_token()
        check_a_proof_is_used_once_across_replicas(cluster, token)
        check_a_nonce_from_any_replica_is_taken_by_every_other(cluster, token)
        check_one_of_many_copies_at_once(cluster, token)
        check_a_store_outage_fails_dpop_closed_and_recovers(cluster, processes, token, bearer)
        check_a_rolling_restart_fails_no_request(cluster, processes, bearer)
    except Exception:
        print(f"test-cluster: failed; the processes' logs are in {workdir}", file=sys.stderr)
        raise
    finally:
        processes.stop_all()
    shutil.rmtree(workdir, ignore_errors=True)
    print("test-cluster: all checks passed")


if __name__ == "__main__":
    main()
