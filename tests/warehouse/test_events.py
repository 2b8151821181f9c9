"""The event store: partitions ahead, retention, the idempotent COPY writer, the rollup."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from warehouse.db import Cells
from warehouse.events import EmailEvent, EventWriter, event_id_for
from warehouse.partitions import (
    drop_partitions_older_than,
    ensure_partitions_ahead,
    list_partitions,
)

ORG = uuid.UUID("00000000-0000-0000-0000-00000000a001")


def _events(n: int, start: datetime, campaign: uuid.UUID | None = None) -> list[EmailEvent]:
    campaign = campaign or uuid.uuid4()
    events = []
    for i in range(n):
        message = uuid.uuid5(campaign, str(i))
        kind = ("sent", "delivered", "opened", "clicked")[i % 4]
        events.append(
            EmailEvent(
                event_id=event_id_for(message, kind),
                event_time=start + timedelta(minutes=7 * i),
                message_id=message,
                contact_id=uuid.uuid5(ORG, str(i % 50)),
                org_id=ORG,
                campaign_id=campaign,
                campaign_type="marketing",
                region="na",
                type=kind,
                smtp_code=250 if kind == "delivered" else None,
                route="primary",
                is_bot=False,
                details={"i": i},
            )
        )
    return events


def test_partitions_are_created_ahead_and_retention_drops_old_ones(cells: Cells) -> None:
    today = date(2031, 3, 10)
    with cells.connection("apac") as conn:
        created = ensure_partitions_ahead(conn, today, days_ahead=14)
        names = list_partitions(conn)
        assert created == 16
        assert "email_events_p20310309" in names and "email_events_p20310324" in names

        dropped = drop_partitions_older_than(conn, date(2031, 3, 13), retention_days=2)
        # Everything ending by 2031-03-11 goes, including the partitions made at migration.
        assert [n for n in dropped if n >= "email_events_p2031"] == [
            "email_events_p20310309",
            "email_events_p20310310",
        ]
        remaining = list_partitions(conn)
        assert "email_events_p20310310" not in remaining
        assert "email_events_p20310311" in remaining


def test_retention_drops_the_events_in_old_partitions_and_keeps_the_rest(cells: Cells) -> None:
    writer = EventWriter()
    with cells.connection("apac") as conn:
        writer.write(conn, _events(40, datetime(2031, 6, 1, tzinfo=UTC)))  # ~5 h, one day
        writer.write(conn, _events(40, datetime(2031, 6, 20, tzinfo=UTC)))
        drop_partitions_older_than(conn, date(2031, 6, 10), retention_days=1)
        days = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT event_time::date FROM email_events "
                "WHERE event_time >= '2031-05-01' AND event_time < '2031-07-01'"
            )
        ]
    assert days == [date(2031, 6, 20)]


def test_the_bulk_writer_deduplicates_a_resent_batch(cells: Cells) -> None:
    writer = EventWriter()
    batch = _events(500, datetime(2030, 1, 5, 22, tzinfo=UTC))  # spans several UTC days
    with cells.connection("na") as conn:
        assert writer.write(conn, batch) == 500
        assert writer.write(conn, batch) == 0
        assert EventWriter().write(conn, batch[:100] + batch[:100]) == 0
        stored = conn.execute(
            "SELECT count(*) FROM email_events WHERE campaign_id = %s", (batch[0].campaign_id,)
        ).fetchone()
    assert stored == (500,)


def test_duplicates_inside_one_batch_are_stored_once(cells: Cells) -> None:
    batch = _events(10, datetime(2030, 2, 1, tzinfo=UTC))
    with cells.connection("na") as conn:
        assert EventWriter().write(conn, batch + batch) == 10


def test_a_failed_batch_writes_nothing(cells: Cells) -> None:
    good = _events(20, datetime(2030, 3, 1, tzinfo=UTC))
    bad = good[:19] + [good[19]._replace(type="teleported")]
    with cells.connection("na") as conn, pytest.raises(Exception, match="email_events_type_check"):
        EventWriter().write(conn, bad)
    with cells.connection("na") as conn:
        count = conn.execute(
            "SELECT count(*) FROM email_events WHERE campaign_id = %s", (good[0].campaign_id,)
        ).fetchone()
    assert count == (0,)


def test_the_hourly_rollup_refreshes_incrementally_including_late_events(cells: Cells) -> None:
    campaign = uuid.uuid4()
    start = datetime(2030, 4, 1, 9, tzinfo=UTC)
    writer = EventWriter()
    with cells.connection("eu") as conn:
        conn.execute("SELECT refresh_email_events_hourly()")
        writer.write(conn, _events(40, start, campaign))  # 40 events over ~4.5 hours
        assert conn.execute("SELECT refresh_email_events_hourly()").fetchone()[0] == 5
        assert conn.execute("SELECT refresh_email_events_hourly()").fetchone()[0] == 0

        late = EmailEvent(
            event_id=uuid.uuid4(),
            event_time=start + timedelta(minutes=5),
            message_id=uuid.uuid4(),
            contact_id=None,
            org_id=ORG,
            campaign_id=campaign,
            campaign_type="marketing",
            region="eu",
            type="complained",
            route="primary",
        )
        writer.write(conn, [late])
        assert conn.execute("SELECT refresh_email_events_hourly()").fetchone()[0] == 1
        totals = dict(
            conn.execute(
                "SELECT type, sum(events) FROM email_events_hourly "
                "WHERE campaign_id = %s GROUP BY 1",
                (campaign,),
            ).fetchall()
        )
    assert totals == {"sent": 10, "delivered": 10, "opened": 10, "clicked": 10, "complained": 1}


def test_concurrent_writers_with_overlapping_batches_store_each_event_once(
    cells: Cells,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from warehouse.db import connect

    campaign = uuid.uuid4()
    events = _events(4000, datetime(2030, 5, 1, tzinfo=UTC), campaign)
    # Four writers, each with a window overlapping its neighbours' by half.
    windows = [events[i * 1000 : i * 1000 + 2000] for i in range(4)]

    def write(batch: list[EmailEvent]) -> int:
        with connect(cells.url("na")) as conn:
            return EventWriter().write(conn, batch)

    with ThreadPoolExecutor(max_workers=4) as pool:
        inserted = sum(pool.map(write, windows))
    with cells.connection("na") as conn:
        stored = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM email_events WHERE campaign_id = %s",
            (campaign,),
        ).fetchone()
    assert stored == (4000, 4000)
    assert inserted == 4000


def test_a_naive_event_time_is_refused_with_the_event_named(cells: Cells) -> None:
    naive = _events(3, datetime(2030, 6, 1))  # no tzinfo
    with cells.connection("na") as conn, pytest.raises(ValueError, match="naive event_time"):
        EventWriter().write(conn, naive)


def test_a_sender_is_paused_once_and_resumed(cells: Cells) -> None:
    from warehouse.model_outputs import active_pauses, pause_sender, resume_sender

    with cells.connection("eu") as conn:
        assert pause_sender(conn, ORG, "news.example", "anomaly 0.97", "anomaly_sensor")
        assert not pause_sender(conn, ORG, "news.example", "again", "operator")
        assert [p.sending_domain for p in active_pauses(conn) if p.org_id == ORG] == [
            "news.example"
        ]
        assert resume_sender(conn, ORG, "news.example")
        assert not resume_sender(conn, ORG, "news.example")
        assert pause_sender(conn, ORG, "news.example", "later incident", "anomaly_sensor")
