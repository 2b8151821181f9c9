"""The tracking logic when its services fail: a cell that does not answer costs the record,
never the person's image or redirect; an unsubscribe is not confirmed unless stored; without
Redis every hit is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from api_kit import SendMessage, events_of
from redis.backoff import NoBackoff
from redis.retry import Retry

from delivery.message import TrackingSigner
from postwise.settings import Settings
from serving.errors import ServiceUnavailable
from serving.tracking import BotRules, Client, Tracker, TrackingStore
from simulator.esp import free_port
from warehouse.db import Cells

CLIENT = Client("Mozilla/5.0 (iPhone)", "73.20.1.5")
SIGNER = TrackingSigner("an-outage-test-secret")


@pytest.fixture
def dead_cells() -> Iterator[Cells]:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    cells = Cells(control_url=dead, region_urls={"eu": dead})
    yield cells
    cells.close()


def test_a_cell_that_does_not_answer_costs_the_record_not_the_answer(dead_cells: Cells) -> None:
    store = TrackingStore(dead_cells, None, "outage", pool_timeout_seconds=0.3)
    tracker = Tracker(SIGNER, BotRules(), store)
    message = {"m": str(uuid.uuid4()), "r": "eu"}
    assert tracker.open(SIGNER.sign("open", message), CLIENT) is None
    click = tracker.click(
        SIGNER.sign("click", {**message, "l": 0, "u": "https://a.example/"}), CLIENT
    )
    assert click.url == "https://a.example/" and not click.recorded
    unsubscribe = SIGNER.sign("unsubscribe", {**message, "c": str(uuid.uuid4())})
    with pytest.raises(ServiceUnavailable):
        tracker.unsubscribe(unsubscribe, CLIENT, "list_unsubscribe_post")


def test_without_redis_every_hit_is_written(
    send_message: SendMessage, serving_cells: Cells, api_settings: Settings
) -> None:
    sent = send_message("eu", delivered_at=datetime.now(UTC) - timedelta(hours=1))
    gone = redis.Redis(
        port=free_port(),
        socket_timeout=0.2,
        socket_connect_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
    )
    store = TrackingStore(serving_cells, gone, "outage")
    tracker = Tracker(TrackingSigner(api_settings.tracking_secret), BotRules(), store)
    token = tracker.signer.sign("open", {"m": str(sent.message_id), "r": "eu"})
    for _ in range(2):
        verdict = tracker.open(token, CLIENT)
        assert verdict is not None and not verdict.is_bot
    assert [e["type"] for e in events_of(serving_cells, "eu", sent.message_id)] == [
        "opened",
        "opened",
    ]
    gone.close()
