"""The v1/v2/v3 write APIs as seen by a local HTTP receiver: requests, headers, answers."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
from pathlib import Path

import httpx
import pytest

from sensebutler.runtime import StartupError
from tests.fixtures.net import async_wait_until
from tests.fixtures.servers import HttpReceiver, Reply, TlsFiles
from tests.sinks.influxdb.parse import parse_line
from tests.sinks.influxdb.support import fast_delivery, section, sink, wait_delivered
from tests.sinks.output_events import health, server, user_event

REF = server("central", "qs-central")
V2_WRITE = "/api/v2/write"
V3_WRITE = "/api/v3/write_lp"
NO_BOOTSTRAP = {"database": "senseops", "create_database": False}


async def test_v2_write_request(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    http_receiver.respond(V2_WRITE, 204)
    influx = sink(tmp_path, section(http_receiver.url, 2))
    await influx.start()
    influx.submit(health(REF))
    await wait_delivered(influx, 8)
    await influx.stop()
    (request,) = http_receiver.requests_to(V2_WRITE)
    assert request.method == "POST"
    assert request.query == {"org": "acme", "bucket": "senseops", "precision": "ns"}
    assert request.headers["authorization"] == "Token v2-secret-token"
    lines = request.text().split("\n")
    assert [parse_line(line).measurement for line in lines] == [
        "sense_server",
        "mem",
        "apps",
        "cpu",
        "session",
        "users",
        "cache",
        "saturated",
    ]
    assert parse_line(lines[4]).fields == {"active": "4u", "total": "17u"}


async def test_a_written_batch_is_freed_at_once(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    """No written request (with its body, ~0.5 MB for a batch of 1,000 points) waits for the cyclic
    collector: httpx's response and stream refer to each other, and the sink breaks that."""
    http_receiver.respond(V2_WRITE, 204)
    influx = sink(tmp_path, section(http_receiver.url, 2))
    await influx.start()
    gc.collect()
    gc.disable()  # what is cyclic garbage now stays for the look below
    try:
        for round_ in range(1, 4):
            influx.submit(health(REF))
            await wait_delivered(influx, 8 * round_)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, httpx.Request | httpx.Response | bytes | bytearray)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        await influx.stop()
    assert left == []


async def test_v3_write_request(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    http_receiver.respond(V3_WRITE, 204)
    influx = sink(tmp_path, section(http_receiver.url, 3), user_event_tags={"qs_env": "dev"})
    await influx.start()
    influx.submit(user_event())
    await wait_delivered(influx, 1)
    await influx.stop()
    (request,) = http_receiver.requests_to(V3_WRITE)
    assert request.query == {"db": "senseops", "precision": "nanosecond"}
    assert request.headers["authorization"] == "Bearer v3-secret-token"
    line = parse_line(request.text())
    assert line.measurement == "user_events"
    assert line.tags["qs_env"] == "dev"
    assert set(line.fields) == {"userFull_field", "userId_field", "appId_field", "appName_field"}


async def test_v3_without_a_token_sends_no_authorization(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    http_receiver.respond(V3_WRITE, 204)
    influx = sink(tmp_path, section(http_receiver.url, 3, v3={"database": "open"}))
    await influx.start()
    influx.submit(user_event())
    await wait_delivered(influx, 1)
    await influx.stop()
    (request,) = http_receiver.requests_to(V3_WRITE)
    assert "authorization" not in request.headers
    assert request.query["db"] == "open"


async def test_v1_write_request_with_basic_auth_and_retention_policy(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    http_receiver.respond("/write", 204)
    v1 = {**NO_BOOTSTRAP, "username": "writer", "password": "pa55", "retention_policy": {"name": "30d"}}
    influx = sink(tmp_path, section(http_receiver.url, 1, v1=v1))
    await influx.start()
    influx.submit(health(REF))
    await wait_delivered(influx, 8)
    await influx.stop()
    assert not http_receiver.requests_to("/query")
    (request,) = http_receiver.requests_to("/write")
    assert request.query == {"db": "senseops", "rp": "30d", "precision": "ns"}
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"writer:pa55").decode()


async def test_batches_join_records_with_newlines(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    http_receiver.respond(V2_WRITE, 204)
    influx = sink(
        tmp_path, section(http_receiver.url, 2), fast_delivery(batch_size=100, flush_interval_s=0.2)
    )
    await influx.start()
    for i in range(5):
        influx.submit(health(REF, calls=i))
    await wait_delivered(influx, 40)
    await influx.stop()
    (request,) = http_receiver.requests_to(V2_WRITE)  # 40 records, one request
    lines = request.text().split("\n")
    assert len(lines) == 40
    assert [parse_line(line).fields["calls"] for line in lines if line.startswith("apps,")] == [
        f"{i}u" for i in range(5)
    ]


# -- answers ---------------------------------------------------------------------------------------------


async def test_server_errors_are_retried_until_accepted(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    http_receiver.respond(V2_WRITE, 500, 503, 204)
    retry = {"initial_s": 0.02, "max_s": 0.1, "attempts_before_spool": 3}
    influx = sink(tmp_path, section(http_receiver.url, 2), fast_delivery(retry=retry))
    await influx.start()
    influx.submit(health(REF))
    await wait_delivered(influx, 8)
    await influx.stop()
    requests = http_receiver.requests_to(V2_WRITE)
    assert [r.status for r in requests] == [500, 503, 204]
    assert len({r.body for r in requests}) == 1  # the same batch each time
    stats = influx.stats()
    # the batch went to the spool at its first failure and was retried from there
    assert (stats.delivered, stats.retried, stats.spooled, dict(stats.dropped)) == (8, 2, 8, {})
    assert (stats.queued, stats.spool_records) == (0, 0)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_transient_answers_spool_the_data_until_accepted(
    tmp_path: Path, http_receiver: HttpReceiver, status: int
) -> None:
    http_receiver.respond(V2_WRITE, status, status, status, status, 204)
    influx = sink(tmp_path, section(http_receiver.url, 2), fast_delivery(batch_size=8))
    await influx.start()
    influx.submit(health(REF))
    await wait_delivered(influx, 8)
    await influx.stop()
    stats = influx.stats()
    assert stats.spooled == 8
    assert stats.delivered == 8
    assert not stats.dropped


async def test_bad_points_are_dropped_counted_and_influx_error_text_logged(
    tmp_path: Path, http_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    error = '{"code":"invalid","message":"partial write: field type conflict: input field \\"total\\""}'
    http_receiver.respond(V2_WRITE, Reply(400, error), 204)
    influx = sink(tmp_path, section(http_receiver.url, 2), fast_delivery(batch_size=8))
    await influx.start()
    influx.submit(health(REF))
    stats = influx.stats()
    await async_wait_until(lambda: stats.dropped["rejected"] == 8, 5.0, "dropped records")
    influx.submit(health(REF))  # later data is not affected
    await async_wait_until(lambda: stats.delivered == 8, 5.0, "delivered records")
    await influx.stop()
    assert [r.status for r in http_receiver.requests_to(V2_WRITE)] == [400, 204]
    assert stats.retried == 0
    assert 'field type conflict: input field "total"' in caplog.text


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_drop_loudly_and_never_log_the_token(
    tmp_path: Path, http_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    http_receiver.respond(V2_WRITE, Reply(status, '{"code":"unauthorized","message":"unauthorized access"}'))
    influx = sink(tmp_path, section(http_receiver.url, 2), fast_delivery(batch_size=8))
    await influx.start()
    influx.submit(health(REF))
    stats = influx.stats()
    await async_wait_until(lambda: stats.dropped["rejected"] == 8, 5.0, "dropped records")
    await influx.stop()
    assert len(http_receiver.requests_to(V2_WRITE)) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("check the credentials" in message and str(status) in message for message in errors)
    assert "v2-secret-token" not in caplog.text


async def test_missing_database_keeps_the_data_until_it_exists(
    tmp_path: Path, http_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    http_receiver.respond(V3_WRITE, *[Reply(404, '{"error":"database not found"}')] * 4, 204)
    influx = sink(tmp_path, section(http_receiver.url, 3), fast_delivery(batch_size=8))
    await influx.start()
    influx.submit(health(REF))
    await wait_delivered(influx, 8)
    await influx.stop()
    assert influx.stats().spooled == 8
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("does not exist" in message for message in errors)


async def test_unreachable_influxdb_spools(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    url = http_receiver.url
    http_receiver.stop()  # nothing listens on this port any more
    influx = sink(tmp_path, section(url, 2), fast_delivery(batch_size=8))
    await influx.start()
    influx.submit(health(REF))
    stats = influx.stats()
    await async_wait_until(lambda: stats.spool_records == 8, 5.0, "spooled records")
    await influx.stop()
    assert "unreachable" in stats.last_error
    assert not stats.dropped


async def test_a_lone_sample_after_an_idle_period_is_delivered(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    http_receiver.respond(V2_WRITE, 204)
    influx = sink(
        tmp_path, section(http_receiver.url, 2), fast_delivery(batch_size=5000, flush_interval_s=0.05)
    )
    await influx.start()
    influx.submit(health(REF))
    await wait_delivered(influx, 8)
    await asyncio.sleep(0.2)  # the worker is idle now
    influx.submit(health(REF))
    try:
        await wait_delivered(influx, 16, timeout=2.0)
    finally:
        await influx.stop()


# -- v1 bootstrap against a scripted server ------------------------------------------------------------


async def test_v1_bootstrap_refused_is_a_startup_error_without_the_password(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    http_receiver.respond("/query", Reply(401, '{"error":"authorization failed"}'))
    v1 = {"database": "senseops", "username": "admin", "password": "very-secret"}
    influx = sink(tmp_path, section(http_receiver.url, 1, v1=v1))
    with pytest.raises(StartupError, match="authorization failed") as raised:
        await influx.start()
    assert "very-secret" not in str(raised.value)
    assert "create_database: false" in str(raised.value)


async def test_v1_bootstrap_retried_before_writing_when_influxdb_was_down_at_startup(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    ok = Reply(200, '{"results":[{"statement_id":0}]}')
    http_receiver.respond("/query", 503, ok)
    http_receiver.respond("/write", 204)
    influx = sink(tmp_path, section(http_receiver.url, 1, v1={"database": "late"}))
    await influx.start()  # 503: logged, not fatal
    influx.submit(health(REF))
    await wait_delivered(influx, 8)
    await influx.stop()
    queries = [r.body.decode() for r in http_receiver.requests if r.path == "/query"]
    assert len(queries) == 4
    assert [q.split("+")[0] for q in queries] == ["q=CREATE", "q=CREATE", "q=SHOW", "q=CREATE"]
    assert "RETENTION" in queries[3] and "DEFAULT" in queries[3] and "INF" in queries[3]
    assert http_receiver.requests[-1].path == "/write"


# -- TLS -------------------------------------------------------------------------------------------------


async def test_https_with_a_private_ca(
    tmp_path: Path, https_receiver: HttpReceiver, tls_files: TlsFiles
) -> None:
    https_receiver.respond(V2_WRITE, 204)
    config = section(https_receiver.url, 2, tls={"ca": str(tls_files.ca_cert_path)})
    influx = sink(tmp_path, config)
    await influx.start()
    influx.submit(health(REF))
    await wait_delivered(influx, 8)
    await influx.stop()
    assert len(https_receiver.requests_to(V2_WRITE)) == 1


def test_an_unreadable_ca_is_a_startup_error(tmp_path: Path) -> None:
    config = section("https://127.0.0.1:1", 2, tls={"ca": str(tmp_path / "missing.pem")})
    with pytest.raises(StartupError, match=r"influxdb\.tls\.ca"):
        sink(tmp_path, config)
