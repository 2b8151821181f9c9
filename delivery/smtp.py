"""SMTP to one route: pooled aiosmtplib connections that carry many messages each, and every
answer turned into an outcome.

A :class:`SmtpPool` opens at most ``route.max_connections`` connections, reuses an idle one
for the next message, and drops a connection that failed. TLS follows the route: implicit
TLS or STARTTLS (required; the server's certificate verified; TLS 1.2 at least, or 1.3
where the route's ``min_tls`` demands it), or none (only for loopback test servers).
Outcomes: 2xx delivered; 4xx deferred; 5xx bounced, with the reason from
:mod:`delivery.bounces`; timeouts, dropped connections and failed TLS handshakes are
deferrals (``networkerror``). Servers often quote the recipient's address in their reply
("<ada@example.org>: Recipient address rejected"); it is replaced by ``<recipient>`` before
the reply is kept, so replies stored in the warehouse hold no address in plaintext.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, replace

import aiosmtplib

from delivery.bounces import classify_reply, without_recipient
from delivery.routing import Route

MIN_TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


@dataclass(frozen=True)
class SmtpOutcome:
    status: str  # "delivered", "deferred" or "bounced"
    code: int | None
    text: str
    reason: str | None = None  # for deferrals and bounces
    hard: bool | None = None

    @classmethod
    def from_reply(cls, code: int, text: str) -> SmtpOutcome:
        if 200 <= code < 300:
            return cls("delivered", code, text)
        reason, hard = classify_reply(code, None, text)
        return cls("deferred" if code < 500 else "bounced", code, text, reason, hard)

    def without_address(self, recipient: str) -> SmtpOutcome:
        """This outcome with ``recipient`` (in any letter case) masked in the reply text."""
        masked = without_recipient(self.text, recipient)
        return self if masked == self.text else replace(self, text=masked)


class SmtpPool:
    """Connections to one route's server, shared by the tasks sending through it."""

    def __init__(
        self,
        route: Route,
        *,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.route = route
        self.timeout = timeout
        self._tls_context = tls_context
        if route.tls != "none" and tls_context is None:
            self._tls_context = ssl.create_default_context(cafile=route.ca_file)
            self._tls_context.minimum_version = MIN_TLS_VERSIONS[route.min_tls]
        self._local_hostname = local_hostname
        self._slots = asyncio.Semaphore(route.max_connections)
        self._idle: list[aiosmtplib.SMTP] = []
        self.connections_opened = 0

    async def send(self, sender: str, recipient: str, message: bytes) -> SmtpOutcome:
        """Send one message to one recipient and say what the server answered (the
        recipient's address masked in the reply)."""
        outcome = await self._send(sender, recipient, message)
        return outcome.without_address(recipient)

    async def _send(self, sender: str, recipient: str, message: bytes) -> SmtpOutcome:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                _, response = await client.sendmail(sender, [recipient], message)
                self._idle.append(client)
                return SmtpOutcome.from_reply(250, response)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0]
                self._keep(client)
                return SmtpOutcome.from_reply(refused.code, refused.message)
            except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
                self._keep(client)
                return SmtpOutcome.from_reply(exc.code, exc.message)
            except aiosmtplib.SMTPResponseException as exc:
                await self._drop(client)
                return SmtpOutcome.from_reply(exc.code, exc.message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop(client)
                text = f"{type(exc).__name__}: {exc}"
                return SmtpOutcome("deferred", None, text, "networkerror", False)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            await self._drop(client)

    async def _connect(self) -> aiosmtplib.SMTP:
        route = self.route
        client = aiosmtplib.SMTP(
            hostname=route.host,
            port=route.port,
            username=route.username,
            password=route.password,
            timeout=self.timeout,
            use_tls=route.tls == "implicit",
            start_tls=True if route.tls == "starttls" else False,
            tls_context=self._tls_context if route.tls != "none" else None,
            local_hostname=self._local_hostname,
        )
        try:
            await client.connect()
        except BaseException:
            client.close()  # a failed handshake must not leave its transport open
            raise
        self.connections_opened += 1
        return client

    def _keep(self, client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            self._idle.append(client)

    async def _drop(self, client: aiosmtplib.SMTP | None) -> None:
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()
