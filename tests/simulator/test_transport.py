"""Certificates and mutual TLS: what a client without the exported certificate experiences."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpcore
import httpx
import pytest
from cryptography import x509

from sensebutler.config.qlik import Certificates
from sensebutler.qlik.asyncio_backend import AsyncioBackend
from sensebutler.qlik.errors import QlikError, transport_error
from sensebutler.qlik.healthcheck import fetch_healthcheck
from sensebutler.qlik.http import QlikHttp
from sensebutler.qlik.tls import build_ssl_context
from sensebutler.simulator import Simulator
from sensebutler.simulator.certs import ensure_certificates
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.helpers import client


def test_certificates_are_created_once_and_reused(tmp_path: Path) -> None:
    hosts = ["qlikserver1.lab.example.com", "qlikserver2.lab.example.com"]
    first = ensure_certificates(tmp_path, hosts, "127.0.0.1")
    node_files = [path for host in hosts for path in first.node_certificate(host)]
    exported = {
        path: path.read_bytes()
        for path in (first.root, first.client, first.client_key, first.server, *node_files)
    }
    assert first.client_key.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    second = ensure_certificates(tmp_path, hosts, "127.0.0.1")
    assert {path: path.read_bytes() for path in exported} == exported
    assert second.root == tmp_path / "certificates" / "root.pem"

    server = x509.load_pem_x509_certificate(first.server.read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "qlikserver1", "qlikserver2.lab.example.com"} <= set(
        names.get_values_for_type(x509.DNSName)
    )
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    root = x509.load_pem_x509_certificate(first.root.read_bytes())
    assert server.issuer == root.subject
    node = x509.load_pem_x509_certificate(first.node_certificate(hosts[1])[0].read_bytes())
    assert _names(node) == {"qlikserver2.lab.example.com", "qlikserver2"} and node.issuer == root.subject


def test_a_new_host_name_reissues_only_the_server_certificate(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path, ["a.example.com"], "127.0.0.1")
    root, client_cert, server = first.root.read_bytes(), first.client.read_bytes(), first.server.read_bytes()
    ensure_certificates(tmp_path, ["a.example.com", "b.example.com"], "127.0.0.1")
    assert first.root.read_bytes() == root and first.client.read_bytes() == client_cert
    assert first.server.read_bytes() != server
    names = x509.load_pem_x509_certificate(first.server.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "b.example.com" in names.value.get_values_for_type(x509.DNSName)


async def test_healthcheck_over_mutual_tls(simulator: Simulator) -> None:
    async with client(simulator) as http:
        response = await http.get(simulator.info.nodes[0].engine_url + "/engine/healthcheck")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"


async def test_passphrase_protected_key_works(simulator: Simulator) -> None:
    context = simulator.info.client_ssl_context(encrypted_key=True)
    async with client(simulator, context=context) as http:
        response = await http.get(simulator.info.about_url + "/v1/systeminfo")
    assert response.status_code == 200
    assert simulator.info.certificates.client_key_encrypted.read_text().startswith(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----"
    )


async def test_client_without_certificate_is_refused_at_tls_layer(simulator: Simulator) -> None:
    context = ssl.create_default_context(cafile=str(simulator.info.certificates.root))
    async with client(simulator, context=context) as http:
        for url in (
            simulator.info.nodes[0].engine_url + "/engine/healthcheck",
            simulator.info.qrs_url + "/qrs/about",
            simulator.info.about_url + "/v1/systeminfo",
        ):
            with pytest.raises(httpx.TransportError):
                await http.get(url)


async def test_certificate_from_another_ca_is_refused(simulator: Simulator, tmp_path: Path) -> None:
    stranger = ensure_certificates(tmp_path / "other", ["elsewhere.example.com"], "127.0.0.1")
    context = ssl.create_default_context(cafile=str(simulator.info.certificates.root))
    context.load_cert_chain(stranger.client, stranger.client_key)
    async with client(simulator, context=context) as http:
        with pytest.raises(httpx.TransportError):
            await http.get(simulator.info.nodes[1].engine_url + "/engine/healthcheck")


async def test_nodes_and_extra_engines_listen_on_distinct_ports(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(extra_engines=25)
    info = sim.info
    ports = [node.engine_port for node in info.nodes] + [node.proxy_port for node in info.nodes]
    ports += [engine.engine_port for engine in info.extra_engines] + [info.qrs_port, info.about_port]
    assert len(ports) == len(set(ports)) == 3 + 3 + 25 + 2
    async with client(sim) as http:
        for engine in info.extra_engines:
            body = (await http.get(engine.engine_url + "/engine/healthcheck")).json()
            assert body["version"] == sim.scenario.product_version
    assert sim.requests[f"{info.extra_engines[-1].name}/engine"] == 1


def _names(certificate: x509.Certificate) -> set[str]:
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {
        *sans.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in sans.get_values_for_type(x509.IPAddress)),
    }


async def _presented(port: int, server_name: str, context: ssl.SSLContext) -> x509.Certificate:
    """The certificate the listener on ``port`` presents to a client asking for ``server_name``."""
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=server_name)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return x509.load_der_x509_certificate(ssl_object.getpeercert(binary_form=True))
    finally:
        writer.close()


async def test_each_node_presents_a_certificate_naming_only_itself(
    simulator_factory: SimulatorFactory,
) -> None:
    sim = await simulator_factory(extra_engines=2)
    info, context = sim.info, sim.info.client_ssl_context()
    context.check_hostname = False  # look at what is presented, whatever it names
    for node in info.nodes:
        short = node.host_name.split(".")[0]
        ports = [node.engine_port, node.proxy_port] + (
            [info.qrs_port, info.about_port] if node.central else []
        )
        for port in ports:
            assert port is not None
            presented = await _presented(port, node.host_name, context)
            assert _names(presented) == {node.host_name, short}, (node.name, port)
    extra = await _presented(info.extra_engines[0].engine_port, info.extra_engines[0].host_name, context)
    assert _names(extra) == {n for e in info.extra_engines for n in (e.host_name, e.host_name.split(".")[0])}


def _verify_message(error: BaseException) -> str:
    """What OpenSSL said about the server certificate, from the cause chain."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message)
        cause = cause.__cause__ or cause.__context__
        if cause is not None and cause.args and isinstance(cause.args[0], ssl.SSLCertVerificationError):
            cause = cause.args[0]
    return ""


async def test_a_config_naming_the_wrong_host_fails_the_tls_host_check(simulator: Simulator) -> None:
    """What sensebutler does for a server in its config: TLS to the resolved address, asking for the
    configured host name, with qlik.certificates' checks (verify_hostname on, the default)."""
    info = simulator.info
    paths = info.certificates
    config = Certificates(client_cert=str(paths.client), client_key=str(paths.client_key), ca=str(paths.root))
    context = build_ssl_context(config)
    rim1, central = info.node("Rim1"), info.node("Central")

    async def handshake(configured_host: str) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", rim1.engine_port, timeout=10)
        try:
            await stream.start_tls(context, server_hostname=configured_host, timeout=10)
        finally:
            await stream.aclose()

    await handshake(rim1.host_name)
    await handshake(rim1.host_name.split(".")[0])
    for wrong in (central.host_name, "qlikserver1", "127.0.0.1"):
        with pytest.raises(httpcore.ConnectError) as caught:
            await handshake(wrong)
        assert "mismatch" in _verify_message(caught.value)
        error = transport_error(caught.value, f"{wrong}:{rim1.engine_port}", "GET /engine/healthcheck", 5)
        assert error.category == "tls_error"

    # a host that resolves (localhost) through sensebutler's own HTTP client: refused, as in production
    http = QlikHttp(context)
    try:
        with pytest.raises(QlikError) as refused:
            await fetch_healthcheck(http, "localhost", rim1.engine_port, timeout_s=10)
    finally:
        await http.aclose()
    assert refused.value.category == "tls_error"
    assert "mismatch" in _verify_message(refused.value)


async def test_lenient_certificates_name_every_node_and_localhost(
    simulator_factory: SimulatorFactory,
) -> None:
    sim = await simulator_factory(lenient_certificates=True)
    info, context = sim.info, sim.info.client_ssl_context()
    presented = await _presented(info.node("Rim1").engine_port, "localhost", context)
    assert {"localhost", "127.0.0.1", "qlikserver1.lab.example.com", "qlikserver2"} <= _names(presented)
    http = QlikHttp(context)
    try:  # the wrong node's name passes here: what per-node certificates catch
        await fetch_healthcheck(http, "localhost", info.node("Rim1").engine_port, timeout_s=10)
    finally:
        await http.aclose()
    assert info.as_json()["lenient_certificates"] is True
