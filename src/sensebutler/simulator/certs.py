"""The simulator's certificate authority and the files Qlik Sense's QMC exports.

On first start a root CA, a client certificate and the server certificates are created in
``<state dir>/certificates``; later starts reuse them, issuing only what a new host name needs.

Server certificates come in two kinds, as :class:`~sensebutler.simulator.SimulatorOptions` chooses:

* per node (the default, as in Sense): ``node_<host name>.pem`` names only that node, its host name
  and short host name, so a client that checks host names and addresses the wrong node, or a
  loopback address, fails the TLS host check as it would in production. Extra engines (benchmark
  nodes) share ``extra_engines.pem``, which names them all and nothing else.
* lenient: one ``server.pem`` names every node, ``localhost``, 127.0.0.1, ::1 and the bind host, so
  any of those names passes the host check (for the demo and tests that connect to ``localhost``).

The client files carry the QMC export names (``root.pem``, ``client.pem``, ``client_key.pem``); the
key is also written passphrase-protected (``client_key_encrypted.pem``) to exercise passphrase support.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_KEY_PASSPHRASE = "sensebutler-simulator"
_MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class CertificatePaths:
    """Where the certificate files live. The first three are what a Sense admin exports."""

    root: Path
    client: Path
    client_key: Path
    client_key_encrypted: Path
    client_key_passphrase: str
    server: Path
    server_key: Path
    ca_key: Path
    untrusted_root: Path

    def node_certificate(self, host_name: str) -> tuple[Path, Path]:
        """Certificate and key of the node ``host_name`` (per-node certificates)."""
        folder = self.root.parent
        stem = "node_" + re.sub(r"[^A-Za-z0-9.-]", "_", host_name.lower())
        return folder / f"{stem}.pem", folder / f"{stem}_key.pem"

    @property
    def extra_engines_certificate(self) -> tuple[Path, Path]:
        folder = self.root.parent
        return folder / "extra_engines.pem", folder / "extra_engines_key.pem"

    def as_json(self) -> dict[str, str]:
        return {
            "root": str(self.root),
            "client": str(self.client),
            "client_key": str(self.client_key),
            "client_key_encrypted": str(self.client_key_encrypted),
            "client_key_passphrase": self.client_key_passphrase,
        }


def _paths(folder: Path) -> CertificatePaths:
    return CertificatePaths(
        root=folder / "root.pem",
        client=folder / "client.pem",
        client_key=folder / "client_key.pem",
        client_key_encrypted=folder / "client_key_encrypted.pem",
        client_key_passphrase=CLIENT_KEY_PASSPHRASE,
        server=folder / "server.pem",
        server_key=folder / "server_key.pem",
        ca_key=folder / "root_key.pem",
        untrusted_root=folder / "untrusted_root.pem",
    )


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    path.write_bytes(data)
    if secret:
        os.chmod(path, 0o600)


def _pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    # PKCS#1 "BEGIN RSA PRIVATE KEY", the form the QMC export uses.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _sans(names: list[str]) -> list[x509.GeneralName]:
    result: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            result.append(x509.DNSName(name))
    return result


def _leaf(
    subject: str,
    key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    usages: list[x509.ObjectIdentifier],
    sans: list[str],
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(_sans(sans)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _self_signed_ca(
    common_name: str, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=10 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_names(host_names: list[str], bind_host: str) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1", bind_host]
    for host in host_names:
        names.append(host)
        names.append(host.split(".")[0])
    return [name for name in dict.fromkeys(names) if name and name not in ("0.0.0.0", "::")]


def node_names(host_name: str) -> list[str]:
    """What a node's own certificate names: its host name and short host name."""
    return list(dict.fromkeys([host_name, host_name.split(".")[0]]))


def _issue_server(
    cert_path: Path,
    key_path: Path,
    subject: str,
    names: list[str],
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
) -> None:
    key = _rsa_key()
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = _leaf(subject, key, ca_cert, ca_key, usages, names)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    _write(key_path, _pem_key(key), secret=True)


def ensure_certificates(
    state_dir: Path, host_names: list[str], bind_host: str, extra_engine_hosts: list[str] | None = None
) -> CertificatePaths:
    """Create the CA, server and client certificates once; reuse them afterwards.

    Every node in ``host_names`` gets its own certificate as well as a place in the shared one;
    ``extra_engine_hosts`` (when given) get the one certificate they share.
    """
    folder = state_dir / "certificates"
    folder.mkdir(parents=True, exist_ok=True)
    paths = _paths(folder)
    wanted = _server_names(host_names, bind_host)
    manifest_path = folder / _MANIFEST
    manifest: dict[str, list[str]] = {}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
    have_ca = paths.root.exists() and paths.ca_key.exists()
    if have_ca:
        ca_cert = x509.load_pem_x509_certificate(paths.root.read_bytes())
        loaded = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{paths.ca_key} is not an RSA key")
        ca_key = loaded
    else:
        ca_key = _rsa_key()
        central = host_names[0].split(".")[0] if host_names else "qlikserver"
        ca_cert = _self_signed_ca(f"{central}-CA", ca_key)
        _write(paths.ca_key, _pem_key(ca_key), secret=True)
        _write(paths.root, ca_cert.public_bytes(serialization.Encoding.PEM))

    client_files = (paths.client, paths.client_key, paths.client_key_encrypted)
    if not have_ca or not all(path.exists() for path in client_files):
        client_key = _rsa_key()
        client_cert = _leaf("QlikClient", client_key, ca_cert, ca_key, [ExtendedKeyUsageOID.CLIENT_AUTH], [])
        _write(paths.client, client_cert.public_bytes(serialization.Encoding.PEM))
        _write(paths.client_key, _pem_key(client_key), secret=True)
        encrypted = client_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(CLIENT_KEY_PASSPHRASE.encode()),
        )
        _write(paths.client_key_encrypted, encrypted, secret=True)

    covered = set(manifest.get("server_names", []))
    if (
        not have_ca
        or not paths.server.exists()
        or not paths.server_key.exists()
        or not set(wanted) <= covered
    ):
        names = sorted(covered | set(wanted)) if have_ca else wanted
        subject = host_names[0] if host_names else "localhost"
        _issue_server(paths.server, paths.server_key, subject, names, ca_cert, ca_key)
        manifest["server_names"] = names

    for host in dict.fromkeys(host_names):
        cert_path, key_path = paths.node_certificate(host)
        if not have_ca or not cert_path.exists() or not key_path.exists():
            _issue_server(cert_path, key_path, host, node_names(host), ca_cert, ca_key)

    if extra_engine_hosts:
        cert_path, key_path = paths.extra_engines_certificate
        names = sorted({name for host in extra_engine_hosts for name in node_names(host)})
        known = set(manifest.get("extra_engine_names", []))
        if not have_ca or not cert_path.exists() or not key_path.exists() or not set(names) <= known:
            names = sorted(known | set(names)) if have_ca else names
            _issue_server(cert_path, key_path, "extra-engines", names, ca_cert, ca_key)
            manifest["extra_engine_names"] = names

    if not paths.untrusted_root.exists():
        # A CA that signed nothing: a listener trusting only it refuses every client certificate.
        stranger = ec.generate_private_key(ec.SECP256R1())
        _write(
            paths.untrusted_root,
            _self_signed_ca("untrusted-CA", stranger).public_bytes(serialization.Encoding.PEM),
        )

    manifest_path.write_text(json.dumps(manifest, indent=2))
    return paths


def server_context(
    paths: CertificatePaths, *, trust: Path | None = None, certificate: tuple[Path, Path] | None = None
) -> ssl.SSLContext:
    """TLS server context presenting ``certificate`` (default: the shared one) and requiring a
    client certificate signed by ``trust`` (default: our root)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert, key = certificate or (paths.server, paths.server_key)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cafile=trust or paths.root)
    context.verify_mode = ssl.CERT_REQUIRED
    return context
