"""KV store requests per second through the REST API: GET and POST, SQLite and Redis backends.

One sensebutler process (one worker, uvloop) with the API on; 50 keep-alive connections send
requests back to back for ``--seconds`` each (a small HTTP/1.1 client on asyncio streams and uvloop,
in this process, so the load generator costs little next to the server: ``client_cpu``). Prints one
JSON object per backend and operation: requests/s, p50/p99 latency, errors (any answer other than
the expected status), the server's RSS, the server's CPU (cores busy, and CPU microseconds per
request) and the 1-minute load average. On a shared 2-core machine requests/s is the server's share
of a core divided by its cost per request: ``server_cpu_us_per_request`` is the steadier number.
``--profile DIR`` samples the server with py-spy (``pip install py-spy``) into collapsed stacks.
The redis-server is the test harness's (loopback, no persistence).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path

import httpx
import psutil
from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fixtures.net import free_tcp_port
from tests.fixtures.servers import RedisServer, ServerProcess

KEY = "bench-key-0123456789abcdef"
NAMESPACE = "bench"
KEYS = 100


def config(workdir: Path, port: int, state: dict[str, object]) -> Path:
    data = {
        "logging": {"level": "warning"},
        "state": {"dir": str(workdir / "state"), **state},
        "self_metrics": {"enable": False},
        "web": {"listeners": {"main": {"host": "127.0.0.1", "port": port}}},
        "api": {
            "enable": True,
            "keys": [{"name": "bench", "key": KEY}],
            "endpoints": {"key_value_store": True},
            "rate_limit": {"enable": False},
            "audit_log": False,
        },
    }
    path = workdir / "config.yaml"
    with path.open("w") as handle:
        YAML().dump(data, handle)
    return path


def request_bytes(op: str, n: int) -> bytes:
    key = f"k{n % KEYS}"
    if op == "kv_get":
        return (
            f"GET /v4/keyvalues/{NAMESPACE}?key={key} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {KEY}\r\n\r\n"
        ).encode()
    body = json.dumps({"key": key, "value": f"value {n}", "ttl": 600000}).encode()
    return (
        f"POST /v4/keyvalues/{NAMESPACE} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def connection(port: int, op: str, until: float, latencies: list[float], errors: list[int]) -> None:
    expected = b"200" if op == "kv_get" else b"201"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.perf_counter() < until:
            n += 1
            started = time.perf_counter()
            writer.write(request_bytes(op, n))
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if head[9:12] != expected:
                errors.append(1)
    finally:
        writer.close()


async def load(port: int, op: str, seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    cpu_started = time.process_time()
    await asyncio.gather(*(connection(port, op, until, latencies, errors) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    client_cpu = (time.process_time() - cpu_started) / elapsed
    latencies.sort()
    return {
        "rps": round(len(latencies) / elapsed),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
        "errors": len(errors),
        "requests": len(latencies),
        "client_cpu": round(client_cpu, 2),
    }


def run(load: Coroutine[None, None, dict[str, float]]) -> dict[str, float]:
    """The load on uvloop when it is there (as the server), so the generator costs less."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(load)
    return uvloop.run(load)


def profile(pid: int, args: argparse.Namespace, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server for the load's duration (``--profile DIR``), collapsed stacks in DIR."""
    if args.profile is None:
        return None
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    args.profile.mkdir(parents=True, exist_ok=True)
    argv = [py_spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)), "--rate", "200"]
    argv += ["--format", "raw", "--nonblocking", "--output", str(args.profile / f"{name}.txt")]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_backend(backend: str, state: dict[str, object], args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_tcp_port()
        path = config(workdir, port, state)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/health", timeout=1, trust_env=False).status_code == 200
            except httpx.HTTPError:
                return False

        argv = [sys.executable, "-m", "sensebutler", "run", "-c", str(path)]
        server = ServerProcess("sensebutler", argv, workdir / "out.log", ready, startup_timeout=60)
        server.start()
        try:
            with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, trust_env=False) as client:
                for n in range(KEYS):  # every key a GET asks for exists
                    client.post(
                        f"/v4/keyvalues/{NAMESPACE}", json={"key": f"k{n}", "value": "v"}
                    ).raise_for_status()
            assert server.pid is not None
            process = psutil.Process(server.pid)
            rss_start = process.memory_info().rss / 2**20
            for op in ("kv_post", "kv_get"):  # POST first: GET then finds every key
                profiler = profile(server.pid, args, f"{backend}-{op}")
                cpu_before = process.cpu_times()
                result = run(load(port, op, args.seconds, args.concurrency))
                cpu_after = process.cpu_times()
                if profiler is not None:
                    profiler.wait()
                server_cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / (
                    args.seconds
                )
                line = {
                    "bench": "api",
                    "op": op,
                    "backend": backend,
                    "concurrency": args.concurrency,
                    "seconds": args.seconds,
                    **result,
                    "server_cpu": round(server_cpu, 2),
                    "server_cpu_us_per_request": round(server_cpu * args.seconds / result["requests"] * 1e6),
                    "loadavg_1m": round(os.getloadavg()[0], 2),
                    "rss_mb": round(process.memory_info().rss / 2**20, 1),
                    "rss_start_mb": round(rss_start, 1),
                }
                print(json.dumps(line), flush=True)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "redis", "both"], default="both")
    parser.add_argument(
        "--profile", type=Path, help="sample the server with py-spy (pip install py-spy) into this folder"
    )
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        run_backend("sqlite", {}, args)
    if args.backend in ("redis", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            redis_server = RedisServer(Path(tmp))
            redis_server.start()
            try:
                run_backend("redis", {"backend": "redis", "redis_url": redis_server.url}, args)
            finally:
                redis_server.stop()


if __name__ == "__main__":
    main()
