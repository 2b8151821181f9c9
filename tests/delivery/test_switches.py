"""Manual override switches: which switch applies to which mail (pure), what a switch may
not be, and the store, audit and announcement on the real control database and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from delivery.switches import (
    InvalidSwitch,
    SwitchBoard,
    SwitchNotFound,
    SwitchRequest,
    SwitchWatcher,
    Topology,
    announce,
    clear,
    set_switch,
    version_key,
)
from delivery.switches.service import check
from postwise.settings import Settings
from warehouse.db import Cells
from warehouse.switches import Switch, active_switches, switch_history

ORG, OTHER = uuid.uuid4(), uuid.uuid4()
TOPOLOGY = Topology(
    ("na", "eu", "apac"),
    {"primary": frozenset({"na", "eu", "apac"}), "frankfurt": frozenset({"eu"})},
)
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def made(kind: str, *, at: int = 0, **scope: object) -> Switch:
    fields: dict[str, object] = {"org_id": None, "region": None, "route": None,
                                 "sending_domain": None, **scope}  # fmt: skip
    return Switch(
        uuid.uuid4(), kind, reason="test", created_by="test",
        created_at=NOW + timedelta(seconds=at), **fields,  # type: ignore[arg-type]
    )  # fmt: skip


# --- which switch applies ---------------------------------------------------------------
def test_a_platform_pause_holds_every_sender_and_a_sender_pause_only_its_own_domain() -> None:
    everything = SwitchBoard.of([made("pause")])
    sender = SwitchBoard.of([made("pause", org_id=ORG, sending_domain="news.a.example")])

    assert everything.pause_for(OTHER, "x.example", "eu") is not None
    assert everything.holds_region("apac") is not None
    assert sender.pause_for(ORG, "news.a.example", "eu") is not None
    assert sender.pause_for(ORG, "News.A.Example", "eu") is not None
    assert sender.pause_for(ORG, "billing.a.example", "eu") is None
    assert sender.pause_for(OTHER, "news.a.example", "eu") is None
    assert sender.holds_region("eu") is None  # one sender: the worker still claims


def test_a_region_pause_holds_that_region_only_and_a_route_pause_only_that_route() -> None:
    region = SwitchBoard.of([made("pause", region="eu")])
    route = SwitchBoard.of([made("pause", route="frankfurt")])

    assert region.holds_region("eu") is not None and region.holds_region("na") is None
    assert region.pause_for(ORG, "a.example", "na") is None
    assert route.pause_for(ORG, "a.example", "eu") is None  # routed elsewhere, it goes
    assert route.pause_for(ORG, "a.example", "eu", "frankfurt") is not None
    assert route.pause_for(ORG, "a.example", "eu", "primary") is None
    assert route.holds_region("eu") is None


def test_drains_collect_per_sender_and_the_narrowest_newest_forced_route_wins() -> None:
    board = SwitchBoard.of(
        [
            made("drain", route="primary"),
            made("drain", route="frankfurt", org_id=OTHER),
            made("force_route", route="primary", at=5),
            made("force_route", route="frankfurt", org_id=ORG, at=1),
            made("force_route", route="virginia", org_id=ORG, sending_domain="a.example", at=0),
        ]
    )

    assert board.drained(ORG, "a.example", "eu") == {"primary"}
    assert board.drained(OTHER, "a.example", "eu") == {"primary", "frankfurt"}
    assert board.forced_route(ORG, "a.example", "eu").route == "virginia"  # type: ignore[union-attr]
    assert board.forced_route(ORG, "b.example", "eu").route == "frankfurt"  # type: ignore[union-attr]
    assert board.forced_route(OTHER, "b.example", "eu").route == "primary"  # type: ignore[union-attr]


def test_cleared_switches_are_not_in_force() -> None:
    cleared = made("pause")
    cleared = Switch(**{**cleared.__dict__, "cleared_at": NOW})

    assert len(SwitchBoard.of([cleared])) == 0


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (SwitchRequest("stop", "r"), "unknown_kind"),
        (SwitchRequest("pause", "  "), "reason_required"),
        (SwitchRequest("pause", "r", region="mars"), "unknown_region"),
        (SwitchRequest("pause", "r", route="nowhere"), "unknown_route"),
        (SwitchRequest("drain", "r"), "route_required"),
        (SwitchRequest("force_route", "r"), "route_required"),
        (SwitchRequest("pause", "r", sending_domain="a.example"), "org_required"),
        (SwitchRequest("force_route", "r", region="na", route="frankfurt"), "outside_residency"),
    ],
)
def test_a_switch_that_makes_no_sense_or_breaks_residency_is_refused(
    request_: SwitchRequest, code: str
) -> None:
    with pytest.raises(InvalidSwitch) as refused:
        check(request_, TOPOLOGY)

    assert refused.value.code == code


# --- store, audit, announcement ---------------------------------------------------------
@pytest.fixture
def made_switches(cells: Cells) -> Iterator[list[uuid.UUID]]:
    created: list[uuid.UUID] = []
    yield created
    with cells.connection("control") as conn:
        conn.execute("DELETE FROM operator_switches WHERE switch_id = ANY(%s)", (created,))


def _audit(cells: Cells, switch_id: uuid.UUID) -> list[tuple[str, str, dict]]:
    with cells.connection("control") as conn:
        rows = conn.execute(
            "SELECT action, actor, details FROM audit_log WHERE subject = %s ORDER BY audit_id",
            (f"switch:{switch_id}",),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_setting_and_clearing_a_switch_is_stored_audited_and_in_the_history(
    cells: Cells, made_switches: list[uuid.UUID]
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    request = SwitchRequest("pause", "INC-42 complaints", org_id=ORG,
                            sending_domain="News.A.Example")  # fmt: skip
    with cells.connection("control") as conn:
        switch = set_switch(conn, request, actor="user:owner-1", topology=TOPOLOGY)
        made_switches.append(switch.switch_id)
        active = [s.switch_id for s in active_switches(conn)]
    with cells.connection("control") as conn:
        with pytest.raises(SwitchNotFound):
            clear(conn, switch.switch_id, actor="user:other", org_id=OTHER)
        cleared = clear(conn, switch.switch_id, actor="operator:ops", org_id=ORG)
        history = [s for s in switch_history(conn, since) if s.switch_id == switch.switch_id]
        still = [s.switch_id for s in active_switches(conn)]

    assert switch.sending_domain == "news.a.example" and switch.scope.startswith("sender ")
    assert switch.switch_id in active and switch.switch_id not in still
    assert cleared.cleared_by == "operator:ops" and cleared.cleared_at is not None
    assert [(s.cleared_by, s.reason) for s in history] == [("operator:ops", "INC-42 complaints")]
    entries = _audit(cells, switch.switch_id)
    assert [(a, actor) for a, actor, _ in entries] == [
        ("switch.set", "user:owner-1"),
        ("switch.cleared", "operator:ops"),
    ]
    assert entries[0][2]["kind"] == "pause" and entries[0][2]["reason"] == "INC-42 complaints"


def test_a_refused_switch_leaves_no_row_and_no_audit_entry(cells: Cells) -> None:
    with cells.connection("control") as conn:
        before = conn.execute("SELECT count(*) FROM operator_switches").fetchone()
        with pytest.raises(InvalidSwitch):
            set_switch(conn, SwitchRequest("drain", "r"), actor="t", topology=TOPOLOGY)
        after = conn.execute("SELECT count(*) FROM operator_switches").fetchone()

    assert before == after


def test_a_watcher_reloads_on_an_announcement_and_polls_the_database_without_redis(
    cells: Cells, settings: Settings, redis_url: str, made_switches: list[uuid.UUID]
) -> None:
    client = redis.Redis.from_url(redis_url)
    prefix = f"{settings.database_prefix}_watch"

    def load() -> list[Switch]:
        with cells.connection("control") as conn:
            return [s for s in active_switches(conn) if s.org_id == ORG]

    watcher = SwitchWatcher(load, client, prefix, full_reload_seconds=3600)
    offline = SwitchWatcher(load, redis.Redis(port=1), prefix, db_poll_seconds=0.0)
    assert watcher.refresh() and offline.refresh()  # the first load
    assert not watcher.refresh()  # nothing announced: no query
    with cells.connection("control") as conn:
        switch = set_switch(
            conn, SwitchRequest("pause", "r", org_id=ORG), actor="t", topology=TOPOLOGY
        )
    made_switches.append(switch.switch_id)
    assert not watcher.refresh()  # stored but not announced yet
    assert announce(client, prefix) and not announce(redis.Redis(port=1), prefix)
    assert watcher.refresh() and offline.refresh()

    assert watcher.board.pause_for(ORG, "a.example", "eu") == switch
    assert offline.board.pause_for(ORG, "a.example", "eu") == switch
    client.delete(version_key(prefix))
    client.close()
