"""Latency of the HTTP scoring service on a warehouse (not a test).

    python bench/serve_latency.py --requests 1000 [--warehouse W --models M]

Starts ``python -m ml_assets.serve http`` on a free loopback port, warms it up
with 20 requests, then sends ``--requests`` sequential requests for customers
drawn (fixed seed) from the newest scored cutoff, each at the default as-of
date, and prints p50, p95 and p99 of the wall time per request, client side,
and the server's CPU time per request (from /proc on Linux): on a machine
whose cores other work is using, the wall time waits for a core, the CPU time
does not.
Every request attaches the warehouse read-only, computes the customer's features
with the point-in-time SQL, scores and explains them and detaches the file."""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import duckdb
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warehouse", default=os.environ.get("ML_ASSETS_WAREHOUSE", "data/warehouse.duckdb"))
    parser.add_argument("--models", default=os.environ.get("ML_ASSETS_MODEL_DIR", "data/models"))
    args = parser.parse_args()
    with duckdb.connect(args.warehouse, read_only=True) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT customer_id FROM customer_scores WHERE cutoff_date = "
            "(SELECT max(cutoff_date) FROM customer_scores) ORDER BY customer_id").fetchall()]
    customers = np.random.default_rng(0).choice(ids, size=args.requests + 20)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "ML_ASSETS_WAREHOUSE": args.warehouse, "ML_ASSETS_MODEL_DIR": args.models}
    server = subprocess.Popen([sys.executable, "-m", "ml_assets.serve", "http", "--port", str(port)],
                              env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base)
        times = []
        for i, customer in enumerate(customers):
            if i == 20:
                cpu_start = _cpu_seconds(server.pid)
            start = time.perf_counter()
            with urllib.request.urlopen(f"{base}/customers/{customer}/score") as response:
                json.loads(response.read())
            if i >= 20:
                times.append((time.perf_counter() - start) * 1000)
        cpu = _cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait()
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    print(f"{len(times)} requests, {len(ids)} scored customers: p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {max(times):.1f} ms")
    if cpu is not None and cpu_start is not None:
        print(f"server CPU time per request: {(cpu - cpu_start) / len(times) * 1000:.1f} ms; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux), None elsewhere."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/health").read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the service did not start")


if __name__ == "__main__":
    main()
