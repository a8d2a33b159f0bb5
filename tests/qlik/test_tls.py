"""The shared TLS context: certificates, passphrase, verification flags, clear startup errors."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from sensebutler.config.qlik import Certificates
from sensebutler.qlik.tls import CertificateError, build_ssl_context
from sensebutler.simulator.certs import CertificatePaths, ensure_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertificatePaths:
    return ensure_certificates(tmp_path_factory.mktemp("certs"), ["qlikserver1"], "127.0.0.1")


def test_client_certificate_and_ca_are_loaded(certs: CertificatePaths) -> None:
    context = build_ssl_context(
        Certificates(client_cert=str(certs.client), client_key=str(certs.client_key), ca=str(certs.root))
    )
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "qlikserver1-CA"),),)]


def test_passphrase_protected_key(certs: CertificatePaths) -> None:
    build_ssl_context(
        Certificates(
            client_cert=str(certs.client),
            client_key=str(certs.client_key_encrypted),
            passphrase=certs.client_key_passphrase,
        )
    )


@pytest.mark.parametrize("passphrase", [None, "not-the-passphrase"])
def test_encrypted_key_without_the_right_passphrase_is_a_clear_error(
    certs: CertificatePaths, passphrase: str | None
) -> None:
    with pytest.raises(CertificateError, match="passphrase") as caught:
        build_ssl_context(
            Certificates(
                client_cert=str(certs.client),
                client_key=str(certs.client_key_encrypted),
                passphrase=passphrase,
            )
        )
    assert str(certs.client_key_encrypted) in str(caught.value)


@pytest.mark.parametrize("key", ["client_cert", "client_key", "ca"])
def test_missing_file_is_named_with_its_setting(certs: CertificatePaths, tmp_path: Path, key: str) -> None:
    files = {"client_cert": str(certs.client), "client_key": str(certs.client_key), "ca": str(certs.root)}
    files[key] = str(tmp_path / "nowhere" / "missing.pem")
    with pytest.raises(CertificateError) as caught:
        build_ssl_context(Certificates.model_validate(files))
    message = str(caught.value)
    assert f"qlik.certificates.{key}" in message
    assert files[key] in message
    assert "No such file" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of their mode")
def test_unreadable_file_is_named(certs: CertificatePaths, tmp_path: Path) -> None:
    locked = tmp_path / "client_key.pem"
    locked.write_bytes(certs.client_key.read_bytes())
    locked.chmod(0)
    with pytest.raises(CertificateError, match="Permission denied"):
        build_ssl_context(Certificates(client_cert=str(certs.client), client_key=str(locked)))


def test_ca_that_is_not_a_certificate(certs: CertificatePaths, tmp_path: Path) -> None:
    bogus = tmp_path / "root.pem"
    bogus.write_text("this is not PEM\n")
    with pytest.raises(CertificateError, match=r"qlik\.certificates\.ca: .*root\.pem"):
        build_ssl_context(Certificates(ca=str(bogus)))


def test_key_that_does_not_match_the_certificate(certs: CertificatePaths, tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="does not belong"):
        build_ssl_context(Certificates(client_cert=str(certs.client), client_key=str(certs.server_key)))


def test_key_without_certificate(certs: CertificatePaths) -> None:
    with pytest.raises(CertificateError, match="client_cert is empty"):
        build_ssl_context(Certificates(client_key=str(certs.client_key)))


def test_verification_switches() -> None:
    no_verify = build_ssl_context(Certificates(verify_server=False))
    assert no_verify.verify_mode == ssl.CERT_NONE
    assert not no_verify.check_hostname
    no_hostname = build_ssl_context(Certificates(verify_hostname=False))
    assert no_hostname.verify_mode == ssl.CERT_REQUIRED
    assert not no_hostname.check_hostname
