"""Round trips through every server fixture of `tests.fixtures.servers`."""

from __future__ import annotations

import asyncio
import gzip
import signal
import smtplib
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import aiomqtt
import httpx
import prometheus_client
import pytest
import redis

from tests.fixtures.net import LOOPBACK, free_tcp_port, free_udp_port, port_accepts, wait_for_port
from tests.fixtures.servers import (
    HttpReceiver,
    InfluxdServer,
    InfluxQueryError,
    MosquittoServer,
    MqttCollector,
    PrometheusFactory,
    RedisServer,
    Reply,
    ServerProcess,
    ServerStartError,
    SmtpServer,
    TlsFiles,
    require_binary,
    unique_name,
)


def test_missing_binary_fails_with_install_hint() -> None:
    with pytest.raises(pytest.fail.Exception) as failure:
        require_binary("sensebutler-no-such-daemon", "no-such-package")
    message = str(failure.value)
    assert "sensebutler-no-such-daemon" in message
    assert "'no-such-package'" in message
    assert "make test" in message


def test_startup_failure_reports_log_tail(tmp_path: Path) -> None:
    process = ServerProcess(
        "crasher",
        [sys.executable, "-c", "print('config rejected: bad line 3', flush=True); raise SystemExit(3)"],
        tmp_path / "crasher.log",
        ready=lambda: False,
    )
    with pytest.raises(ServerStartError, match=r"exited with code 3[\s\S]*config rejected: bad line 3"):
        process.start()
    assert not process.running


def test_server_never_ready_is_stopped_and_reported(tmp_path: Path) -> None:
    process = ServerProcess(
        "sleeper",
        [sys.executable, "-c", "print('listening nowhere', flush=True); import time; time.sleep(60)"],
        tmp_path / "sleeper.log",
        ready=lambda: False,
        startup_timeout=0.5,
    )
    with pytest.raises(ServerStartError, match=r"not ready after 0.5s[\s\S]*listening nowhere"):
        process.start()
    assert not process.running


def test_stop_kills_a_server_that_ignores_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ignoring SIGTERM', flush=True); time.sleep(60)"
    )
    process = ServerProcess(
        "stubborn",
        [sys.executable, "-c", script],
        log,
        ready=lambda: "ignoring SIGTERM" in log.read_text().splitlines(),
    )
    process.start()
    assert process.running
    assert process.stop(timeout=0.5) == -signal.SIGKILL
    assert not process.running


def test_free_ports_can_be_bound() -> None:
    for kind, port in ((socket.SOCK_STREAM, free_tcp_port()), (socket.SOCK_DGRAM, free_udp_port())):
        assert 1024 <= port <= 65535
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind((LOOPBACK, port))


# ----------------------------------------------------------------------------------------- influxd


def test_influxd_write_and_query(influxd: InfluxdServer, influx_db: str) -> None:
    influxd.write(influx_db, ["cpu,host=a value=1.5 1000000000", "cpu,host=b value=2.5 2000000000"])
    rows = influxd.query(influx_db, 'SELECT "value" FROM "cpu" GROUP BY "host"', epoch="s")
    assert rows == [{"host": "a", "time": 1, "value": 1.5}, {"host": "b", "time": 2, "value": 2.5}]


def test_influxd_query_error_is_raised(influxd: InfluxdServer, influx_db: str) -> None:
    with pytest.raises(InfluxQueryError):
        influxd.query(influx_db, "SELEKT nonsense")


def test_influx_db_names_are_fresh(influxd: InfluxdServer, influx_db: str) -> None:
    assert influx_db != unique_name("db")
    databases = {row["name"] for row in influxd.query(influx_db, "SHOW DATABASES")}
    assert influx_db in databases


def test_influxd_rpc_port_is_moved_off_the_default(influxd: InfluxdServer) -> None:
    assert influxd.rpc_port != 8088
    assert port_accepts(influxd.rpc_port)


def test_influxd_restart_keeps_data_and_port(influxd_factory: Callable[[], InfluxdServer]) -> None:
    server = influxd_factory()
    db = unique_name("db")
    server.create_database(db)
    server.write(db, "events,kind=start n=1i 1700000000000000000")
    port = server.port

    server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/ping", trust_env=False)

    server.start()
    assert server.port == port
    server.write(db, "events,kind=stop n=2i 1700000001000000000")
    rows = server.query(db, 'SELECT "n", "kind" FROM "events"', epoch="ns")
    assert [(row["kind"], row["n"]) for row in rows] == [("start", 1), ("stop", 2)]


# --------------------------------------------------------------------------------------- mosquitto


async def test_mosquitto_publish_subscribe(mosquitto: MosquittoServer) -> None:
    base = unique_name("topic")
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as publisher:
        await publisher.publish(f"{base}/status", b"retained-state", qos=1, retain=True)
        async with MqttCollector(mosquitto.host, mosquitto.port, f"{base}/#") as collector:
            await publisher.publish(f"{base}/event", b"\x00\x01binary", qos=0)
            messages = await collector.wait_for(2)
    assert [(m.topic, m.payload, m.retain) for m in messages] == [
        (f"{base}/status", b"retained-state", True),
        (f"{base}/event", b"\x00\x01binary", False),
    ]
    assert [m.qos for m in messages] == [1, 0]


async def test_mqtt_collector_times_out_when_nothing_arrives(mosquitto: MosquittoServer) -> None:
    async with MqttCollector(mosquitto.host, mosquitto.port, unique_name("silent")) as collector:
        with pytest.raises(TimeoutError, match="1 MQTT messages"):
            await collector.wait_for(1, timeout=0.3)


async def test_mosquitto_restart_on_same_port(mosquitto_factory: Callable[[], MosquittoServer]) -> None:
    broker = mosquitto_factory()
    async with MqttCollector(broker.host, broker.port, "again/#") as orphan:
        broker.stop()
        with pytest.raises(ConnectionError, match="lost its broker"):
            await orphan.wait_for(1)
    assert not port_accepts(broker.port)
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(broker.host, broker.port, timeout=2):
            pass

    broker.start()
    async with (
        MqttCollector(broker.host, broker.port, "again/#") as collector,
        aiomqtt.Client(broker.host, broker.port) as publisher,
    ):
        await publisher.publish("again/up", b"1", qos=1)
        messages = await collector.wait_for(1)
    assert [(m.topic, m.payload) for m in messages] == [("again/up", b"1")]


# ------------------------------------------------------------------------------------------- redis


def test_redis_set_get(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    client = redis.Redis.from_url(redis_server.url)
    try:
        key = unique_name("key")
        client.set(key, b"value-1")
        assert client.get(key) == b"value-1"
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        client.close()


# -------------------------------------------------------------------------------------------- SMTP


def _email(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "butler@example.com"
    message["To"] = "admin@example.com"
    message["Subject"] = subject
    message.set_content("Reload of app 'Sales' failed.\n")
    return message


async def test_smtp_server_receives_email(smtp_server: SmtpServer) -> None:
    def send() -> None:
        with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
            client.send_message(
                _email("Reload failed: Sales"), to_addrs=["admin@example.com", "ops@example.com"]
            )

    await asyncio.to_thread(send)
    (received,) = await smtp_server.wait_for(1)
    assert received.mail_from == "butler@example.com"
    assert received.rcpt_tos == ["admin@example.com", "ops@example.com"]
    assert received.message["Subject"] == "Reload failed: Sales"
    assert b"Subject: Reload failed: Sales\r\n" in received.raw
    assert received.message.get_content() == "Reload of app 'Sales' failed.\n"
    assert received.login is None


async def test_smtp_wait_for_times_out(smtp_server: SmtpServer) -> None:
    with pytest.raises(TimeoutError, match="1 e-mails"):
        await smtp_server.wait_for(1, timeout=0.2)


async def test_smtp_server_tls_requires_starttls_and_auth(
    smtp_server_tls: SmtpServer, tls_files: TlsFiles
) -> None:
    assert smtp_server_tls.ca_cert_path == tls_files.ca_cert_path

    def send_without_tls() -> None:
        with smtplib.SMTP(smtp_server_tls.host, smtp_server_tls.port, timeout=5) as client:
            client.send_message(_email("plain"))

    def send_with_tls() -> None:
        with smtplib.SMTP(smtp_server_tls.host, smtp_server_tls.port, timeout=5) as client:
            client.starttls(context=tls_files.client_context())
            client.login(smtp_server_tls.username, smtp_server_tls.password)
            client.send_message(_email("over TLS"))

    with pytest.raises(smtplib.SMTPException):
        await asyncio.to_thread(send_without_tls)
    await asyncio.to_thread(send_with_tls)
    (received,) = await smtp_server_tls.wait_for(1)
    assert received.message["Subject"] == "over TLS"
    assert received.login == smtp_server_tls.username


# -------------------------------------------------------------------------------------- prometheus


@pytest.fixture
def metrics_endpoint() -> Iterator[int]:
    """A tiny prometheus_client exporter with one gauge, on a free port."""
    registry = prometheus_client.CollectorRegistry()
    gauge = prometheus_client.Gauge(
        "harness_probe_value", "Value exposed for the harness test", registry=registry
    )
    gauge.set(42)
    port = free_tcp_port()
    server, thread = prometheus_client.start_http_server(port, addr=LOOPBACK, registry=registry)
    wait_for_port(port)
    yield port
    server.shutdown()
    server.server_close()
    thread.join(5)


async def test_prometheus_scrapes_target(
    prometheus_factory: PrometheusFactory, metrics_endpoint: int
) -> None:
    target = f"{LOOPBACK}:{metrics_endpoint}"
    prometheus = prometheus_factory([target])
    series = await prometheus.wait_for_series("harness_probe_value", timeout=20)
    assert len(series) == 1
    assert series[0]["metric"]["instance"] == target
    assert series[0]["value"][1] == "42"
    assert await prometheus.query("no_such_metric_anywhere") == []


# ----------------------------------------------------------------------------------- HTTP receiver


async def test_http_receiver_records_post_and_replays_failures(http_receiver: HttpReceiver) -> None:
    http_receiver.respond("/api/v2/write", 500, Reply(503, "busy", {"Retry-After": "1"}), 204)
    statuses = []
    async with httpx.AsyncClient(base_url=http_receiver.url, trust_env=False) as client:
        for attempt in range(4):
            response = await client.post(
                "/api/v2/write",
                params={"org": "qlik", "bucket": "sense", "precision": "ms"},
                headers={"Authorization": "Token t0k3n", "Content-Encoding": "gzip"},
                content=gzip.compress(f"m v={attempt}i".encode()),
            )
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.text == "busy"
                assert response.headers["retry-after"] == "1"
        other = await client.get("/health")
    assert statuses == [500, 503, 204, 204]
    assert other.status_code == 200

    writes = await http_receiver.wait_for(4, path="/api/v2/write")
    assert [request.text() for request in writes] == ["m v=0i", "m v=1i", "m v=2i", "m v=3i"]
    assert [request.status for request in writes] == statuses
    first = writes[0]
    assert (first.method, first.query) == ("POST", {"org": "qlik", "bucket": "sense", "precision": "ms"})
    assert first.headers["authorization"] == "Token t0k3n"
    assert len(await http_receiver.wait_for(5)) == 5


async def test_http_receiver_wait_for_times_out(http_receiver: HttpReceiver) -> None:
    with pytest.raises(TimeoutError, match="requests to /never"):
        await http_receiver.wait_for(1, path="/never", timeout=0.2)


async def test_https_receiver_serves_a_trusted_certificate(https_receiver: HttpReceiver) -> None:
    assert https_receiver.url.startswith("https://127.0.0.1:")
    assert https_receiver.ca_cert_path is not None
    https_receiver.respond("/webhook", Reply(202, b'{"ok": true}', {"Content-Type": "application/json"}))
    trusted = ssl.create_default_context(cafile=str(https_receiver.ca_cert_path))
    async with httpx.AsyncClient(verify=trusted, trust_env=False) as client:
        response = await client.post(f"{https_receiver.url}/webhook", json={"event": "reload-failed"})
    assert (response.status_code, response.json()) == (202, {"ok": True})
    (request,) = await https_receiver.wait_for(1, path="/webhook")
    assert request.json() == {"event": "reload-failed"}

    async with httpx.AsyncClient(trust_env=False) as untrusting:
        with pytest.raises(httpx.ConnectError):
            await untrusting.get(f"{https_receiver.url}/webhook")
