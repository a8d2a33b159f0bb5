"""Certificates and mutual TLS: what a client without the exported certificate experiences."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from sensebutler.simulator import Simulator
from sensebutler.simulator.certs import ensure_certificates
from tests.fixtures.simulator import SimulatorFactory
from tests.simulator.helpers import client


def test_certificates_are_created_once_and_reused(tmp_path: Path) -> None:
    hosts = ["qlikserver1.lab.example.com", "qlikserver2.lab.example.com"]
    first = ensure_certificates(tmp_path, hosts, "127.0.0.1")
    exported = {
        path: path.read_bytes() for path in (first.root, first.client, first.client_key, first.server)
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
    async with httpx.AsyncClient(verify=context) as http:
        response = await http.get(simulator.info.about_url + "/v1/systeminfo")
    assert response.status_code == 200
    assert simulator.info.certificates.client_key_encrypted.read_text().startswith(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----"
    )


async def test_client_without_certificate_is_refused_at_tls_layer(simulator: Simulator) -> None:
    context = ssl.create_default_context(cafile=str(simulator.info.certificates.root))
    async with httpx.AsyncClient(verify=context) as http:
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
    async with httpx.AsyncClient(verify=context) as http:
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
