"""Route switches in a worker: a forced route carries all of its scope's mail, a forced route
that may not carry the recipients' data is passed over for normal routing (and said so in
the log), and another organization's switch changes nothing for this one."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from worker_kit import CampaignMaker, Person, routes_to, run_until_idle

from delivery.switches import SwitchRequest, announce, clear, set_switch, topology_of
from postwise.settings import Settings
from simulator.esp import SimulatedEsp
from warehouse.db import Cells

StartEsp = Callable[..., SimulatedEsp]


@pytest.fixture
def three_routes(esps: StartEsp, worker_settings: Settings) -> tuple[Settings, dict]:
    """alpha (every region, primary), beta (na and apac), gamma (the EU only)."""
    started = {name: esps(name) for name in ("alpha", "beta", "gamma")}
    settings = routes_to(
        worker_settings,
        {"alpha": (started["alpha"].port, ("na", "eu", "apac")),
         "beta": (started["beta"].port, ("na", "apac")),
         "gamma": (started["gamma"].port, ("eu",))},
        route_primary="alpha", route_secondary_eu="gamma", route_secondary_other="beta",
        route_fallback_order=("alpha", "beta", "gamma"),
    )  # fmt: skip
    return settings, started


@pytest.fixture
def switch(worker_cells: Cells, redis_url: str) -> Iterator[Callable[..., uuid.UUID]]:
    client = redis.Redis.from_url(redis_url)
    made: list[uuid.UUID] = []

    def set_one(settings: Settings, kind: str, **scope: object) -> uuid.UUID:
        request = SwitchRequest(kind, "routing test", **scope)  # type: ignore[arg-type]
        with worker_cells.connection("control") as conn:
            stored = set_switch(conn, request, actor="operator:test",
                                topology=topology_of(settings))  # fmt: skip
        announce(client, settings.database_prefix)
        made.append(stored.switch_id)
        return stored.switch_id

    yield set_one
    with worker_cells.connection("control") as conn:
        for switch_id in made:
            conn.execute(
                "UPDATE operator_switches SET cleared_at = now() WHERE switch_id = %s "
                "AND cleared_at IS NULL",
                (switch_id,),
            )
        conn.execute("DELETE FROM operator_switches WHERE switch_id = ANY(%s)", (made,))
    client.close()


def _routes(make_campaign: CampaignMaker, ids: list[uuid.UUID]) -> set[str]:
    states = make_campaign.statuses()
    assert {states[i][0] for i in ids} == {"delivered"}
    return {states[i][2] for i in ids}


def test_a_forced_route_carries_all_of_its_organization_s_mail_and_no_one_else_s(
    three_routes: tuple[Settings, dict],
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    switch: Callable[..., uuid.UUID],
) -> None:
    settings, esps = three_routes
    forced = make_campaign([Person(f"f{i}@mail.example") for i in range(20)])
    other = make_campaign([Person(f"o{i}@mail.example") for i in range(20)])
    switch(settings, "force_route", route="beta", org_id=make_campaign.orgs[0])

    run_until_idle(settings, database_server_url, redis_url)

    assert _routes(make_campaign, forced) == {"beta"}
    assert _routes(make_campaign, other) == {"alpha"}  # the matrix's primary
    assert len(esps["beta"].counters.delivered) == 20


def test_a_forced_route_outside_the_recipients_region_is_not_used(
    three_routes: tuple[Settings, dict],
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    switch: Callable[..., uuid.UUID],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings, esps = three_routes
    ids = make_campaign([Person(f"r{i}@mail.example") for i in range(10)])  # apac recipients
    switch_id = switch(settings, "force_route", route="gamma")  # gamma: EU data only

    with caplog.at_level(logging.WARNING, logger="delivery.worker.sending"):
        run_until_idle(settings, database_server_url, redis_url)

    assert _routes(make_campaign, ids) == {"alpha"}
    assert esps["gamma"].counters.delivered == []
    warned = [
        r.getMessage()
        for r in caplog.records
        if r.name == "delivery.worker.sending" and str(switch_id) in r.getMessage()
    ]
    assert len(warned) == 1 and "may not carry data of region apac" in warned[0]


def test_a_drained_route_takes_no_new_mail_and_clearing_the_drain_brings_it_back(
    three_routes: tuple[Settings, dict],
    database_server_url: str,
    redis_url: str,
    make_campaign: CampaignMaker,
    switch: Callable[..., uuid.UUID],
    worker_cells: Cells,
) -> None:
    settings, _ = three_routes
    drained = make_campaign([Person(f"d{i}@mail.example") for i in range(15)])
    switch_id = switch(settings, "drain", route="alpha")
    run_until_idle(settings, database_server_url, redis_url)
    with worker_cells.connection("control") as conn:
        clear(conn, switch_id, actor="operator:test")
    after = make_campaign([Person(f"a{i}@mail.example") for i in range(15)])
    run_until_idle(settings, database_server_url, redis_url)

    assert _routes(make_campaign, drained) == {"beta"}  # the next route that serves apac
    assert _routes(make_campaign, after) == {"alpha"}
