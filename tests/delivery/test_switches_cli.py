"""`postwise ops` against the run's PostgreSQL and Redis: a switch is set, listed, cleared
and audited with clear output; a switch that breaks a rule or names unknown things is one
line on stderr and exit code 1, and leaves nothing behind."""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterator

import pytest
import redis
from settings_env import settings_environment

from delivery.switches import version_key
from postwise.cli import main
from postwise.settings import Settings, get_settings
from warehouse.db import Cells


@pytest.fixture
def cli_env(settings: Settings, cells: Cells) -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings_environment(settings).items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        yield patch
    get_settings.cache_clear()


@pytest.fixture
def org(cells: Cells) -> Iterator[tuple[uuid.UUID, str]]:
    org_id = uuid.uuid4()
    slug = f"ops-{org_id.hex[:10]}"
    with cells.connection("control") as conn:
        conn.execute(
            "INSERT INTO orgs (org_id, name, slug, home_region) VALUES (%s, 'Ops', %s, 'eu')",
            (org_id, slug),
        )
    yield org_id, slug
    with cells.connection("control") as conn:
        conn.execute("DELETE FROM operator_switches WHERE org_id = %s", (org_id,))
        conn.execute("DELETE FROM orgs WHERE org_id = %s", (org_id,))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["ops", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_sender_pause_is_set_listed_cleared_and_audited(
    cli_env: pytest.MonkeyPatch,
    cells: Cells,
    settings: Settings,
    redis_url: str,
    org: tuple[uuid.UUID, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    org_id, slug = org
    client = redis.Redis.from_url(redis_url)
    before = int(client.get(version_key(settings.database_prefix)) or 0)

    code, out, _ = run(capsys, "pause", "--sender", f"{slug}/news.ops.example",
                       "--reason", "INC-9 complaint spike")  # fmt: skip
    assert code == 0, out
    switch_id = out.split()[1]
    assert out.startswith(f"switch {switch_id} set: pause sender {org_id}/news.ops.example")
    assert "workers told" in out
    assert int(client.get(version_key(settings.database_prefix)) or 0) > before

    code, listed, _ = run(capsys, "list", "--org", slug)
    assert code == 0 and switch_id in listed and "in force" in listed
    assert "INC-9 complaint spike" in listed

    code, out, _ = run(capsys, "resume", switch_id)
    assert code == 0 and f"switch {switch_id} cleared" in out
    code, _, err = run(capsys, "resume", switch_id)
    assert code == 1 and f"no active switch {switch_id}" in err
    code, out, _ = run(capsys, "list", "--org", slug)
    assert (code, out.strip()) == (0, "no switches in force")
    code, out, _ = run(capsys, "list", "--all", "--org", slug)
    assert switch_id in out and "in force" not in out
    client.close()

    with cells.connection("control") as conn:
        rows = conn.execute(
            "SELECT action, actor, org_id FROM audit_log WHERE subject = %s ORDER BY audit_id",
            (f"switch:{switch_id}",),
        ).fetchall()
    actor = f"cli:{getpass.getuser()}"
    assert [tuple(r) for r in rows] == [
        ("switch.set", actor, org_id),
        ("switch.cleared", actor, org_id),
    ]


def test_a_platform_wide_drain_and_force_route_are_operator_switches(
    cli_env: pytest.MonkeyPatch, cells: Cells, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "drain", "virginia", "--region", "na", "--reason", "ESP outage")
    assert code == 0, out
    drain_id = out.split()[1]
    code, out, _ = run(capsys, "force-route", "frankfurt", "--region", "eu", "--reason", "test")
    assert code == 0, out
    force_id = out.split()[1]
    try:
        assert "drain region na virginia" in _line(cells, capsys, drain_id)
        assert "force_route region eu frankfurt" in _line(cells, capsys, force_id)
    finally:
        for switch_id in (drain_id, force_id):
            assert run(capsys, "resume", switch_id)[0] == 0
        with cells.connection("control") as conn:
            conn.execute(
                "DELETE FROM operator_switches WHERE switch_id = ANY(%s)",
                ([uuid.UUID(drain_id), uuid.UUID(force_id)],),
            )


def _line(cells: Cells, capsys: pytest.CaptureFixture[str], switch_id: str) -> str:
    code, out, _ = run(capsys, "list")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith(switch_id))
    return " ".join(line.split())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["force-route", "frankfurt", "--region", "na", "--reason", "x"],
         "route 'frankfurt' may not carry data of region 'na'"),
        (["drain", "nowhere", "--reason", "x"], "unknown route 'nowhere'"),
        (["pause", "--region", "mars", "--reason", "x"], "unknown region 'mars'"),
        (["pause", "--reason", "  "], "a switch needs a reason"),
        (["pause", "--org", "no-such-org", "--reason", "x"], "no organization 'no-such-org'"),
        (["pause", "--sender", "news.example", "--reason", "x"], "--sender is ORG/DOMAIN"),
        (["resume", "not-an-id"], "'not-an-id' is not a switch id"),
    ],
)  # fmt: skip
def test_a_bad_switch_is_one_line_and_exit_code_1(
    cli_env: pytest.MonkeyPatch,
    cells: Cells,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    with cells.connection("control") as conn:
        before = conn.execute("SELECT count(*) FROM operator_switches").fetchone()

    code, out, err = run(capsys, *argv)

    with cells.connection("control") as conn:
        after = conn.execute("SELECT count(*) FROM operator_switches").fetchone()
    assert (code, out) == (1, "")
    assert err.startswith("postwise: error: ") and message in err and err.count("\n") == 1
    assert before == after
