"""Where outbound webhooks may go: public HTTPS endpoints only, unless the operator allows
private targets (a test or an on-premises install).

A customer registers the URL, so without this check Postwise's own servers could be made
to post into the private network they run in (server-side request forgery). The URL is
checked when an endpoint is registered and again before every post, because what a name
resolves to can change after registration.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

Resolve = Callable[[str], list[str]]


class UnsafeWebhookTarget(ValueError):
    """A webhook URL that is not a public HTTPS endpoint; the message says why."""


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to (an address resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeWebhookTarget(f"{host} does not resolve: {exc.strerror}") from None
    return sorted({str(info[4][0]) for info in infos})


def check_target(url: str, *, allow_private: bool, resolve: Resolve = resolve_host) -> None:
    """Raise :class:`UnsafeWebhookTarget` unless ``url`` may receive webhooks."""
    parts = urlsplit(url)
    if allow_private:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UnsafeWebhookTarget("a webhook URL must be http(s) with a host")
        return
    if parts.scheme != "https" or not parts.hostname:
        raise UnsafeWebhookTarget("a webhook URL must be https with a host")
    for address in resolve(parts.hostname):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            raise UnsafeWebhookTarget(
                f"{parts.hostname} resolves to {ip}, which is not a public address"
            )
