"""Operations per second of the state backends (SQLite file, a local redis-server).

For each backend and operation, ``--concurrency`` tasks call it back to back for ``--seconds`` on
one event loop (as the REST API's KV store and the alert limits will), on a store pre-filled with
``--keys`` values. Prints one JSON object per backend and operation: calls/s, p50/p99 latency of
one call, errors. The redis-server is the test harness's (loopback, no persistence).

Run: ``.venv/bin/python bench/state_backend.py [--seconds 3] [--concurrency 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.servers import RedisServer  # noqa: E402

from sensebutler.services.state import RedisStateBackend, SqliteStateBackend, StateBackend  # noqa: E402

Op = Callable[[StateBackend, int], Awaitable[object]]

OPS: dict[str, Op] = {
    "get": lambda b, i: b.get(f"kv:bench:{i}"),
    "put": lambda b, i: b.put(f"kv:bench:{i}", b"x" * 100, 3600),
    "put_if_absent": lambda b, i: b.put_if_absent(f"dedupe:bench:{time.perf_counter_ns()}:{i}", b"1", 3600),
    "incr": lambda b, i: b.incr(f"count:{i % 100}", 1, 3600),
    "throttle": lambda b, i: b.throttle(f"ratelimit:bench:{i % 100}", 0.001, 1.0),
}


async def measure(
    backend: StateBackend, op: Op, keys: int, concurrency: int, seconds: float
) -> dict[str, object]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                await op(backend, random.randrange(keys))
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "ops_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
        "errors": errors,
    }


async def run(name: str, backend: StateBackend, args: argparse.Namespace) -> None:
    await backend.start()
    try:
        for i in range(args.keys):
            await backend.put(f"kv:bench:{i}", b"x" * 100, 3600)
        for op_name, op in OPS.items():
            result = await measure(backend, op, args.keys, args.concurrency, args.seconds)
            row = {"bench": "state_backend", "backend": name, "op": op_name, "concurrency": args.concurrency}
            print(json.dumps(row | result), flush=True)
    finally:
        await backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--keys", type=int, default=1000)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
        asyncio.run(run("sqlite", SqliteStateBackend(Path(tmp) / "state.sqlite"), args))
        redis_server = RedisServer(Path(tmp))
        redis_server.start()
        try:
            asyncio.run(run("redis", RedisStateBackend(redis_server.url), args))
        finally:
            redis_server.stop()


if __name__ == "__main__":
    main()
