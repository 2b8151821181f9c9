"""The outside world of a running Postwise, in one object: the mailbox providers behind the
three default routes, answering and reporting from the simulated world's ground truth, and
the recipients who open, click and unsubscribe over HTTP.

:class:`SimulatedProviders` starts one :class:`~simulator.esp.SimulatedEsp` per route name
on the given loopback ports. Each knows the world's unknown and full mailboxes, and (unless
reports are off) sends DSNs and ARF complaints about accepted messages to the inbound
listener (:mod:`simulator.reports`). :meth:`SimulatedProviders.engage` plays the recipients
of everything accepted so far against the tracking endpoints
(:mod:`simulator.engagement_http`). Only SMTP and HTTP cross to the product.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

from .engagement_http import EngagementReport, SendContext, drive, plan_engagement
from .esp import EspBehaviour, SimulatedEsp, addresses_from_world
from .reports import ReportPolicy
from .world import Recipient, World

log = logging.getLogger(__name__)


def history_world(seed: int, contacts: int, days: int, end: datetime | None = None) -> World:
    """The world a simulated history of these options was drawn from (its end: today's
    midnight UTC unless given, as :class:`~simulator.history.HistoryOptions` resolves it)."""
    now = datetime.now(UTC)
    end = (end or now.replace(hour=0, minute=0, second=0, microsecond=0)).astimezone(UTC)
    return World(seed, contacts, end - timedelta(days=days), days)


def recipients_by_address(world: World) -> dict[str, Recipient]:
    """Every recipient of ``world`` by lower-case address."""
    return {recipient.email.lower(): recipient for recipient in world.recipients()}


@dataclass(frozen=True)
class ProviderOptions:
    """How the simulated providers behave."""

    ports: Mapping[str, int]  # route name -> loopback port
    listener_host: str = "127.0.0.1"
    listener_port: int = 2500
    seed: int = 7
    reports: bool = True  # DSNs and complaints after acceptance
    report_delay_seconds: float | None = 5.0  # None: held until flush_reports()
    max_per_second: float = 500.0
    after_accept_bounce_rate: float = 0.005
    extra_complaint_rate: float = 0.0


class SimulatedProviders:
    """The ESPs of the default routes, on loopback; a context manager."""

    def __init__(self, recipients: Mapping[str, Recipient], options: ProviderOptions) -> None:
        self.recipients = recipients
        self.options = options
        addresses = addresses_from_world(recipients.values(), datetime.now(UTC))
        policy = (
            ReportPolicy(
                recipients,
                listener_host=options.listener_host,
                listener_port=options.listener_port,
                seed=options.seed,
                delay_seconds=options.report_delay_seconds,
                after_accept_bounce_rate=options.after_accept_bounce_rate,
                extra_complaint_rate=options.extra_complaint_rate,
            )
            if options.reports
            else None
        )
        self.esps = {
            name: SimulatedEsp(
                EspBehaviour(
                    name,
                    max_per_second=options.max_per_second,
                    unknown=addresses["unknown"],
                    full=addresses["full"],
                    seed=options.seed,
                    reports=policy,
                ),
                port=port,
            )
            for name, port in options.ports.items()
        }
        self._engaged = dict.fromkeys(self.esps, 0)

    def start(self) -> None:
        started: list[SimulatedEsp] = []
        try:
            for esp in self.esps.values():
                esp.start()
                started.append(esp)
        except BaseException:
            for esp in started:
                esp.stop()
            raise

    def stop(self) -> None:
        for esp in self.esps.values():
            esp.stop()

    def __enter__(self) -> SimulatedProviders:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def accepted(self) -> int:
        """Messages the providers accepted so far."""
        return sum(len(esp.counters.delivered) for esp in self.esps.values())

    def reports_pending(self) -> int:
        return sum(esp.outbox.pending for esp in self.esps.values() if esp.outbox is not None)

    def reports_sent(self) -> dict[str, int]:
        """Reports the listener took, by kind (``dsn``, ``complaint``)."""
        sent: dict[str, int] = {}
        for esp in self.esps.values():
            if esp.outbox is not None:
                for kind, count in esp.outbox.sent.items():
                    sent[kind] = sent.get(kind, 0) + count
        return sent

    def flush_reports(self) -> int:
        """Send every held report now; returns how many the listener took."""
        return sum(esp.flush_reports() for esp in self.esps.values())

    def engage(
        self,
        *,
        human_delay_seconds: float = 11.0,
        concurrency: int = 16,
        timeout_seconds: float = 10.0,
        context: Mapping[str, SendContext] | None = None,
    ) -> EngagementReport:
        """Recipients of the messages accepted since the last call open, click and
        unsubscribe over HTTP, by the world's ground truth (see ``engagement_http.drive``);
        ``context`` gives a recipient's send time and variant (see ``SendContext``)."""
        batch: list[tuple[str, bytes]] = []
        for name, esp in self.esps.items():
            delivered = esp.counters.delivered[self._engaged[name] :]
            self._engaged[name] += len(delivered)
            batch += delivered
        plan = plan_engagement(batch, self.recipients, seed=self.options.seed, context=context)
        log.info("%d accepted messages: %d planned requests", len(batch), len(plan.actions))
        return asyncio.run(
            drive(
                plan,
                human_delay_seconds=human_delay_seconds,
                concurrency=concurrency,
                timeout_seconds=timeout_seconds,
            )
        )
