"""SMTP over TLS to aiosmtpd servers on loopback with certificates of a CA made for the
test: STARTTLS and implicit TLS deliver over verified TLS, a route demanding TLS 1.3
refuses a server that stops at 1.2, and a certificate the route does not trust is refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from delivery.routing import Route
from delivery.smtp import SmtpOutcome, SmtpPool
from simulator.esp import free_port

MESSAGE = b"From: a@news.example\r\nTo: b@x.example\r\nSubject: hi\r\n\r\nHello\r\n"


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _make_pki(folder: Path, label: str) -> Pki:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} test CA"))
        .issuer_name(_name(f"{label} test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
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
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / f"{label}-ca.pem", folder / f"{label}-cert.pem", folder / f"{label}-key.pem")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


class TlsRecorder:
    """Accepts everything and remembers the TLS version each message came over."""

    def __init__(self) -> None:
        self.versions: list[str | None] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        ssl_object = server.transport.get_extra_info("ssl_object")
        self.versions.append(ssl_object.version() if ssl_object else None)
        return "250 2.0.0 OK queued"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return _make_pki(tmp_path_factory.mktemp("pki"), "route")


StartServer = Callable[..., tuple[TlsRecorder, int]]


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[StartServer]:
    """Starts aiosmtpd servers: ``implicit`` or STARTTLS (required), with a TLS ceiling."""
    started: list[Controller] = []

    def start(
        *, implicit: bool, max_version: ssl.TLSVersion | None = None
    ) -> tuple[TlsRecorder, int]:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki.cert_file, pki.key_file)
        if max_version is not None:
            context.maximum_version = max_version
        handler, port = TlsRecorder(), free_port()
        if implicit:
            controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context)
        else:
            controller = Controller(
                handler, hostname="127.0.0.1", port=port, tls_context=context,
                require_starttls=True,
            )  # fmt: skip
        controller.start()
        started.append(controller)
        return handler, port

    yield start
    for controller in started:
        controller.stop()


def _send(route: Route) -> SmtpOutcome:
    async def run() -> SmtpOutcome:
        pool = SmtpPool(route, timeout=5)
        try:
            return await pool.send("b@news.example", "r@x.example", MESSAGE)
        finally:
            await pool.close()

    return asyncio.run(run())


def _route(port: int, tls: str, pki: Pki, min_tls: str = "1.2") -> Route:
    return Route(
        "esp", "127.0.0.1", port, frozenset({"na"}), tls=tls, min_tls=min_tls,
        ca_file=str(pki.ca_file),
    )  # fmt: skip


def test_starttls_and_implicit_tls_deliver_over_verified_tls_13(
    tls_server: StartServer, pki: Pki
) -> None:
    starttls, starttls_port = tls_server(implicit=False)
    implicit, implicit_port = tls_server(implicit=True)

    assert _send(_route(starttls_port, "starttls", pki, min_tls="1.3")).status == "delivered"
    assert _send(_route(implicit_port, "implicit", pki, min_tls="1.3")).status == "delivered"
    assert starttls.versions == ["TLSv1.3"] and implicit.versions == ["TLSv1.3"]


def test_a_route_demanding_tls_13_refuses_a_server_that_stops_at_12(
    tls_server: StartServer, pki: Pki
) -> None:
    handler, port = tls_server(implicit=False, max_version=ssl.TLSVersion.TLSv1_2)

    refused = _send(_route(port, "starttls", pki, min_tls="1.3"))
    assert (refused.status, refused.reason) == ("deferred", "networkerror")
    assert handler.versions == []  # nothing crossed the weaker link
    assert _send(_route(port, "starttls", pki, min_tls="1.2")).status == "delivered"
    assert handler.versions == ["TLSv1.2"]


# The refused handshake is aborted on both sides; the loopback server (aiosmtpd) leaves
# closing its side of the socket to the garbage collector, which may warn at any later point.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_certificate_the_route_does_not_trust_is_refused(
    tls_server: StartServer, pki: Pki, tmp_path: Path
) -> None:
    handler, port = tls_server(implicit=True)
    stranger = _make_pki(tmp_path, "stranger")

    refused = _send(_route(port, "implicit", stranger))
    assert (refused.status, refused.reason) == ("deferred", "networkerror")
    assert "CERTIFICATE_VERIFY_FAILED" in refused.text
    assert handler.versions == []
