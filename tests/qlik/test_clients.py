"""The Qlik clients against the simulator over real mutual-TLS sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import TypeAdapter

from sensebutler.config.qlik import Certificates
from sensebutler.qlik.about import fetch_systeminfo
from sensebutler.qlik.errors import QlikError
from sensebutler.qlik.healthcheck import fetch_healthcheck
from sensebutler.qlik.http import MAX_CONNECTIONS_PER_ORIGIN, QlikHttp, origin
from sensebutler.qlik.proxy import fetch_sessions
from sensebutler.qlik.qrs import QrsApp, QrsClient
from sensebutler.qlik.tls import build_ssl_context
from sensebutler.simulator import Simulator
from sensebutler.simulator.shapes import system_info
from tests.fixtures.net import free_tcp_port
from tests.polling.support import config_for

XSRF_TEXT = "XSRF prevention check failed. Possible XSRF discovered."


def _certificates(simulator: Simulator, **changes: object) -> Certificates:
    paths = simulator.info.certificates
    files = {"client_cert": str(paths.client), "client_key": str(paths.client_key), "ca": str(paths.root)}
    return Certificates.model_validate({**files, **changes})


@pytest.fixture
async def http(simulator: Simulator) -> AsyncIterator[QlikHttp]:
    client = QlikHttp(build_ssl_context(_certificates(simulator)))
    yield client
    await client.aclose()


async def test_healthcheck_over_mutual_tls(simulator: Simulator, http: QlikHttp) -> None:
    node = simulator.info.nodes[0]
    engine = simulator.model.node(node.name).engine
    answer = await fetch_healthcheck(http, "localhost", node.engine_port, timeout_s=5)
    assert answer.version == engine.version
    assert answer.apps.calls == engine.calls  # only our request advanced the engine's counters
    assert answer.cache.bytes_added == engine.cache_bytes_added


async def test_without_client_certificate_the_server_refuses_at_the_tls_layer(simulator: Simulator) -> None:
    anonymous = QlikHttp(build_ssl_context(_certificates(simulator, client_cert="", client_key="")))
    try:
        with pytest.raises(QlikError) as caught:
            await fetch_healthcheck(anonymous, "localhost", simulator.info.nodes[0].engine_port, timeout_s=5)
    finally:
        await anonymous.aclose()
    error = caught.value
    assert error.category == "tls_error"
    # TLS 1.3 reports the refusal as a reset right after the handshake, as Node.js does (ECONNRESET)
    assert error.code == "ECONNRESET"
    assert error.endpoint == "GET /engine/healthcheck"
    assert error.host == f"localhost:{simulator.info.nodes[0].engine_port}"
    assert str(error).startswith(
        f"GET /engine/healthcheck on localhost:{simulator.info.nodes[0].engine_port}: "
    )


async def test_server_certificate_from_another_ca_is_a_tls_error(simulator: Simulator) -> None:
    stranger = QlikHttp(
        build_ssl_context(_certificates(simulator, ca=str(simulator.info.certificates.untrusted_root)))
    )
    try:
        with pytest.raises(
            QlikError, match="TLS failed: self-signed certificate in certificate chain"
        ) as caught:
            await fetch_healthcheck(stranger, "localhost", simulator.info.nodes[0].engine_port, timeout_s=5)
    finally:
        await stranger.aclose()
    assert caught.value.category == "tls_error"


async def test_passphrase_protected_key_connects(simulator: Simulator) -> None:
    paths = simulator.info.certificates
    certificates = _certificates(
        simulator, client_key=str(paths.client_key_encrypted), passphrase=paths.client_key_passphrase
    )
    client = QlikHttp(build_ssl_context(certificates))
    try:
        answer = await fetch_healthcheck(
            client, "localhost", simulator.info.nodes[0].engine_port, timeout_s=5
        )
    finally:
        await client.aclose()
    assert answer.version


async def test_missing_xrfkey_is_refused_by_qrs_and_qps(simulator: Simulator, http: QlikHttp) -> None:
    qrs = origin("localhost", simulator.info.qrs_port)
    with pytest.raises(QlikError) as on_qrs:
        await http.get(qrs, "/qrs/app", timeout_s=5)
    assert on_qrs.value.category == "http_4xx"
    assert on_qrs.value.status == 403
    assert (
        str(on_qrs.value)
        == f"GET /qrs/app on localhost:{simulator.info.qrs_port}: HTTP 403: {XSRF_TEXT} (http_4xx)"
    )
    node = simulator.info.nodes[0]
    assert node.proxy_port is not None
    with pytest.raises(QlikError, match=XSRF_TEXT):
        await http.get(origin("localhost", node.proxy_port), "/qps/session", timeout_s=5)
    # the same calls with the key pass
    assert await http.get(qrs, "/qrs/app", timeout_s=5, xrf=True)
    assert await fetch_sessions(http, "localhost", node.proxy_port, "/", timeout_s=5) == []


async def test_qrs_app_list(simulator: Simulator, http: QlikHttp) -> None:
    qrs = QrsClient(http, config_for(simulator.info).qlik)
    apps = await qrs.apps()
    assert {app.id: app.name for app in apps} == {app.id: app.name for app in simulator.model.apps.values()}


async def test_answer_of_the_wrong_shape_is_bad_response(simulator: Simulator, http: QlikHttp) -> None:
    qrs = QrsClient(http, config_for(simulator.info).qlik)
    with pytest.raises(QlikError, match="body: Input should be a valid array") as caught:
        await qrs.get("about", TypeAdapter(list[QrsApp]))
    assert caught.value.category == "bad_response"
    assert caught.value.endpoint == "GET /qrs/about"


async def test_about_systeminfo(simulator: Simulator, http: QlikHttp) -> None:
    info = await fetch_systeminfo(http, "localhost", simulator.info.about_port, timeout_s=5)
    expected = system_info(simulator.model)
    assert (info.version, info.product_name, info.release_label) == (
        expected["version"],
        expected["productName"],
        expected["releaseLabel"],
    )


async def test_slow_server_times_out(simulator: Simulator, http: QlikHttp) -> None:
    node = simulator.info.nodes[0]
    simulator.faults.set_slow(node.name, "engine", 5.0)
    with pytest.raises(QlikError) as caught:
        await fetch_healthcheck(http, "localhost", node.engine_port, timeout_s=0.3)
    assert caught.value.category == "timeout"
    assert "no answer within 0.3 s" in str(caught.value)


async def test_server_error_status(simulator: Simulator, http: QlikHttp) -> None:
    node = simulator.info.nodes[1]
    simulator.faults.set_failing(node.name, "engine", 500)
    with pytest.raises(QlikError) as caught:
        await fetch_healthcheck(http, "localhost", node.engine_port, timeout_s=5)
    assert (caught.value.category, caught.value.status) == ("http_5xx", 500)


async def test_more_requests_than_connections_wait_their_turn(simulator: Simulator, http: QlikHttp) -> None:
    node = simulator.info.nodes[0]
    simulator.faults.set_slow(node.name, "engine", 0.05)
    many = 2 * MAX_CONNECTIONS_PER_ORIGIN + 1
    answers = await asyncio.gather(
        *(fetch_healthcheck(http, "localhost", node.engine_port, timeout_s=30) for _ in range(many))
    )
    assert len(answers) == many


async def test_failed_requests_give_their_connection_back(simulator: Simulator, http: QlikHttp) -> None:
    node = simulator.info.nodes[1]
    simulator.faults.set_slow(node.name, "engine", 5.0)
    for _ in range(MAX_CONNECTIONS_PER_ORIGIN + 1):
        with pytest.raises(QlikError):
            await fetch_healthcheck(http, "localhost", node.engine_port, timeout_s=0.2)
    simulator.faults.set_slow(node.name, "engine", 0)
    assert await fetch_healthcheck(http, "localhost", node.engine_port, timeout_s=5)


async def test_nothing_listening_is_connection_refused(http: QlikHttp) -> None:
    with pytest.raises(QlikError) as caught:
        await fetch_healthcheck(http, "127.0.0.1", free_tcp_port(), timeout_s=5)
    assert (caught.value.category, caught.value.code) == ("connection_refused", "ECONNREFUSED")


@pytest.mark.parametrize(
    ("host", "detail"), [("no-such-host.invalid", "does not resolve"), ("bad..name", "not a valid host name")]
)
async def test_unknown_or_invalid_host_is_dns_error(http: QlikHttp, host: str, detail: str) -> None:
    with pytest.raises(QlikError, match=detail) as caught:
        await fetch_healthcheck(http, host, 4747, timeout_s=5)
    assert caught.value.category == "dns_error"


async def test_qrs_calls_carry_the_configured_x_qlik_user(simulator: Simulator, http: QlikHttp) -> None:
    config = config_for(simulator.info).qlik.model_copy(update={"user_header": "not a user"})
    with pytest.raises(QlikError, match="Invalid X-Qlik-User header") as caught:
        await QrsClient(http, config).apps()
    assert (caught.value.category, caught.value.status) == ("http_4xx", 400)
