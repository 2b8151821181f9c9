"""The model endpoints' logic over the cells, the champions and the breakers.

Contacts live in the cell of their region, which the caller does not say: each look-up
tries the caller's home region first, then the others, for the ids still unfound. Every
cell call goes through its ``postgres:<cell>`` breaker.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import psycopg

from warehouse.db import Cells

from ..resilience.breakers import Breakers
from ..resilience.metrics import ApiMetrics
from . import send_time as st
from .anomalies import AnomalyReport, anomaly_report
from .champions import ChampionCache, Lookup

log = logging.getLogger(__name__)
SEND_TIME_MODEL = "send_time"
PERSONALIZATION_MODEL = "personalization"
CAMPAIGN_CHAMPION_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class SendTimeReport:
    answers: list[st.SendTime]
    not_found: list[uuid.UUID]
    degraded: bool
    note: str | None


@dataclass(frozen=True)
class Choice:
    variant: str
    probability: float
    source: Literal["model", "uniform"]
    model_version: str | None
    degraded: bool
    note: str | None


class ModelServing:
    def __init__(
        self,
        cells: Cells,
        champions: ChampionCache,
        breakers: Breakers,
        metrics: ApiMetrics,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.cells = cells
        self.champions = champions
        self.breakers = breakers
        self.metrics = metrics
        self._rng = rng or random.SystemRandom()

    @contextmanager
    def cell(self, name: str) -> Iterator[psycopg.Connection]:
        """A connection to ``name`` behind its breaker (an open one raises DependencyDown)."""
        with (
            self.breakers.guard(f"postgres:{name}", (psycopg.OperationalError,)),
            self.cells.connection(name) as conn,
        ):
            yield conn

    def _regions(self, home: str) -> list[str]:
        return [home, *(r for r in self.cells.regions if r != home)]

    def send_times(
        self, org_id: uuid.UUID, home_region: str, contact_ids: Sequence[uuid.UUID]
    ) -> SendTimeReport:
        """Answers for ``contact_ids`` (unknown ones listed apart), in request order."""
        now = datetime.now(UTC)
        wanted = list(dict.fromkeys(contact_ids))
        answers: dict[uuid.UUID, st.SendTime] = {}
        notes: list[str] = []
        degraded = False
        for region in self._regions(home_region):
            remaining = [c for c in wanted if c not in answers]
            if not remaining:
                break
            with self.cell(region) as conn:
                contacts, found = st.contacts_with_scores(conn, org_id, remaining, now)
                if not contacts:
                    continue
                missing = [c for c in contacts.values() if c.contact_id not in found]
                lookup = self.champions.lookup(SEND_TIME_MODEL, region) if missing else None
                if lookup is not None:
                    degraded |= lookup.degraded
                    if lookup.reason:
                        notes.append(lookup.reason)
                if missing and lookup is not None and lookup.champion is not None:
                    try:
                        frame = st.features_of(conn, org_id, missing, now)
                        found.update(st.modelled(lookup.champion, frame, contacts, now))
                    except Exception as exc:  # a model that cannot score: the heuristic
                        log.warning("send-time champion failed to score: %s", exc)
                        notes.append(f"the send-time model failed to score ({type(exc).__name__})")
                        degraded = True
                missing = [c for c in missing if c.contact_id not in found]
                if missing:
                    zones, overall = st.cohort_hours(st.cohort_rows(conn, org_id))
                    for contact in missing:
                        found[contact.contact_id] = st.heuristic(contact, zones, overall, now)
            answers.update(found)
        ordered = [answers[c] for c in wanted if c in answers]
        for answer in ordered:
            self.metrics.model_answers.labels("send_time", answer.source).inc()
        note = "; ".join(dict.fromkeys(notes)) or None
        return SendTimeReport(ordered, [c for c in wanted if c not in answers], degraded, note)

    async def scored_send_times(
        self, org_id: uuid.UUID, home_region: str, contact_ids: Sequence[uuid.UUID]
    ) -> SendTimeReport | None:
        """:meth:`send_times` in the event loop when every contact found has its score
        (one autocommit read per cell tried); None when one needs the model or the
        heuristic, which :meth:`send_times` then answers."""
        now = datetime.now(UTC)
        wanted = list(dict.fromkeys(contact_ids))
        answers: dict[uuid.UUID, st.SendTime] = {}
        for region in self._regions(home_region):
            remaining = [c for c in wanted if c not in answers]
            if not remaining:
                break
            with self.breakers.guard(f"postgres:{region}", (psycopg.OperationalError,)):
                async with self.cells.read_connection(region) as conn:
                    contacts, found = await st.contacts_with_scores_async(
                        conn, org_id, remaining, now
                    )
            if len(found) < len(contacts):
                return None
            answers.update(found)
        ordered = [answers[c] for c in wanted if c in answers]
        for answer in ordered:
            self.metrics.model_answers.labels("send_time", answer.source).inc()
        return SendTimeReport(ordered, [c for c in wanted if c not in answers], False, None)

    def find_contact_region(
        self, org_id: uuid.UUID, home: str, contact_id: uuid.UUID
    ) -> str | None:
        for region in self._regions(home):
            with self.cell(region) as conn:
                if st.find_contacts(conn, org_id, [contact_id]):
                    return region
        return None

    def personalize(
        self, org_id: uuid.UUID, home_region: str, contact_id: uuid.UUID, variants: Sequence[str]
    ) -> Choice | None:
        """A variant for the contact (None: no such contact in the organization)."""
        region = self.find_contact_region(org_id, home_region, contact_id)
        if region is None:
            return None
        lookup = self.champions.lookup(PERSONALIZATION_MODEL, home_region)
        choice = self._modelled_choice(lookup, org_id, region, contact_id, variants)
        if choice is None:
            note = lookup.reason or "the personalization model could not choose"
            choice = Choice(
                self._rng.choice(list(variants)),
                1.0 / len(variants),
                "uniform",
                None,
                lookup.degraded or lookup.champion is not None,
                note,
            )
        self.metrics.model_answers.labels("personalize", choice.source).inc()
        return choice

    def _modelled_choice(
        self,
        lookup: Lookup,
        org_id: uuid.UUID,
        region: str,
        contact_id: uuid.UUID,
        variants: Sequence[str],
    ) -> Choice | None:
        if lookup.champion is None:
            return None
        with self.cell(region) as conn:
            contact = st.find_contacts(conn, org_id, [contact_id])[contact_id]
            return self._modelled_choices(lookup, conn, org_id, [contact], variants)[0]

    def _modelled_choices(
        self,
        lookup: Lookup,
        conn: psycopg.Connection,
        org_id: uuid.UUID,
        contacts: Sequence[st.Contact],
        variants: Sequence[str],
    ) -> list[Choice | None]:
        """The champion's choice for each contact, in order (None where it has none)."""
        if lookup.champion is None or not contacts:
            return [None] * len(contacts)
        try:
            frame = st.features_of(conn, org_id, contacts, datetime.now(UTC))
            # Counts arrive as integers; the model's signature reads every number as double
            # (a frame of whole counts must not fail its schema check).
            for column in frame.select_dtypes("integer").columns:
                frame[column] = frame[column].astype("float64")
            frame["variants"] = ",".join(variants)
            answers = lookup.champion.model.predict(frame)
            picks = list(zip(answers["variant"], answers["probability"], strict=True))
        except psycopg.Error:
            raise
        except Exception as exc:
            log.warning("personalization champion failed to choose: %s", exc)
            return [None] * len(contacts)
        choices: list[Choice | None] = []
        for variant, probability in picks:
            variant, probability = str(variant), float(probability)
            if variant not in variants or not 0.0 < probability <= 1.0:
                log.warning(
                    "personalization champion chose %r (p=%s) outside the offer",
                    variant,
                    probability,
                )
                choices.append(None)
                continue
            choices.append(
                Choice(
                    variant, probability, "model", lookup.champion.version, lookup.degraded,
                    lookup.reason,
                )
            )  # fmt: skip
        return choices

    def choose_variants(
        self,
        conn: psycopg.Connection,
        region: str,
        org_id: uuid.UUID,
        contacts: Sequence[st.Contact],
        variants: Sequence[str],
    ) -> list[Choice]:
        """A variant for each of ``contacts`` (all in ``region``'s cell, read through
        ``conn``) from the region's personalization champion in one batch; a uniform choice
        where there is no champion or it cannot choose. For campaign sends."""
        # A campaign send is bulk work: worth waiting for a champion still loading.
        lookup = self.champions.lookup(
            PERSONALIZATION_MODEL, region, wait_seconds=CAMPAIGN_CHAMPION_WAIT_SECONDS
        )
        modelled = self._modelled_choices(lookup, conn, org_id, contacts, variants)
        choices = []
        for choice in modelled:
            if choice is None:
                choice = Choice(
                    self._rng.choice(list(variants)), 1.0 / len(variants), "uniform", None,
                    lookup.degraded or lookup.champion is not None,
                    lookup.reason or "the personalization model could not choose",
                )  # fmt: skip
            self.metrics.model_answers.labels("personalize", choice.source).inc()
            choices.append(choice)
        return choices

    def anomalies(self, org_id: uuid.UUID, hours: int, limit: int) -> AnomalyReport:
        """The organization's recent anomaly scores and active pauses in every cell."""
        return anomaly_report(self, org_id, hours, limit)
