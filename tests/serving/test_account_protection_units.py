"""The pure parts of account protection: the breached-password prefix files and their
builder, and the login-risk score's signals and decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from serving.auth.passwords import BreachedPassword, WeakPassword, check_new_password
from serving.auth.protection.breached import (
    PREFIX_LENGTH,
    BreachedPasswords,
    main,
    sha1_hex,
    shipped,
)
from serving.auth.protection.risk import (
    Decision,
    LoginBehaviour,
    PreviousLogin,
    RiskPolicy,
    assess,
    country_points,
    distance_km,
)

NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICY = RiskPolicy()


def behaviour(**changes: object) -> LoginBehaviour:
    """A login from a known device, in the user's country and usual hour, no failures."""
    base: dict[str, object] = {
        "at": NOON,
        "device_known": True,
        "has_known_devices": True,
        "country": "FR",
        "previous": PreviousLogin(NOON - timedelta(hours=20), "FR"),
        "past_hours": [11, 12, 13] * 5,
        "recent_failures": 0,
    }
    return LoginBehaviour(**{**base, **changes})  # type: ignore[arg-type]


def test_the_builder_writes_one_file_per_prefix_and_a_lookup_reads_one(tmp_path: Path) -> None:
    first = tmp_path / "first.txt"
    first.write_text("#!comment: a header\nhunter2hunter2\nmonkey\n")
    second = tmp_path / "second.txt"
    second.write_text("hunter2hunter2\nwith counts\t41\n")
    out = tmp_path / "out"

    assert main(["build", str(first), str(second), str(out)]) == 0

    files = sorted(out.iterdir())
    assert len(files) == 16**PREFIX_LENGTH
    digest = sha1_hex("hunter2hunter2")
    assert f"{digest[PREFIX_LENGTH:]}:2" in (out / f"{digest[:PREFIX_LENGTH]}.txt").read_text()
    listed = BreachedPasswords(out)
    assert listed.times_seen("hunter2hunter2") == 2
    assert listed.times_seen("with counts") == 41
    assert listed.times_seen("#!comment: a header") == 0
    assert listed.times_seen("a password nobody ever used 7f3a") == 0
    assert all(":" in line for path in files for line in path.read_text().splitlines())


def test_the_builder_refuses_missing_sources(tmp_path: Path) -> None:
    assert main(["build", str(tmp_path / "absent.txt"), str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()


def test_the_shipped_list_knows_common_passwords_and_not_a_passphrase() -> None:
    assert shipped().times_seen("password") == 2  # in both source lists
    assert shipped().times_seen("password1234") >= 1
    assert shipped().times_seen("a long enough passphrase") == 0
    assert len(list(shipped().directory.glob("*.txt"))) == 256


def test_a_new_password_must_be_long_enough_and_not_breached() -> None:
    with pytest.raises(BreachedPassword) as breached:
        check_new_password("password1234")
    assert breached.value.times_seen >= 1 and "seen" in str(breached.value)
    with pytest.raises(WeakPassword):
        check_new_password("short")
    check_new_password("a long enough passphrase")


def test_country_points_give_plausible_distances() -> None:
    points = country_points()
    assert 500 < distance_km(points["FR"], points["DE"]) < 1000  # Paris to central Germany
    assert distance_km(points["FR"], points["AU"]) > 15000
    assert len(points) > 240


def test_a_usual_login_is_allowed_with_no_signal() -> None:
    assessment = assess(behaviour(), POLICY)
    assert (assessment.score, assessment.signals, assessment.decision) == (0, (), Decision.ALLOW)


def test_a_first_login_ever_is_not_a_new_device() -> None:
    first = behaviour(device_known=False, has_known_devices=False, previous=None, past_hours=[])
    assert assess(first, POLICY).decision is Decision.ALLOW


def test_a_new_device_demands_the_second_factor() -> None:
    assessment = assess(behaviour(device_known=False), POLICY)
    assert assessment.signals == ("new_device",)
    assert assessment.decision is Decision.CHALLENGE


def test_travel_faster_than_a_plane_blocks_and_a_plausible_trip_does_not() -> None:
    two_hours_ago_in_france = PreviousLogin(NOON - timedelta(hours=2), "FR")
    sydney = assess(behaviour(country="AU", previous=two_hours_ago_in_france), POLICY)
    berlin = assess(behaviour(country="DE", previous=two_hours_ago_in_france), POLICY)
    assert sydney.signals == ("impossible_travel",) and sydney.decision is Decision.BLOCK
    assert sydney.travel_kmh is not None and sydney.travel_kmh > 5000
    assert berlin.signals == () and berlin.travel_kmh is not None and berlin.travel_kmh < 900


def test_unknown_countries_raise_no_travel_signal() -> None:
    assert assess(behaviour(country=None), POLICY).signals == ()
    assert assess(behaviour(previous=PreviousLogin(NOON, None)), POLICY).signals == ()


def test_an_unusual_hour_needs_enough_history_and_tips_a_challenge_into_a_block() -> None:
    night = NOON.replace(hour=3)
    assert assess(behaviour(at=night, past_hours=[12] * 9), POLICY).signals == ()
    lone = assess(behaviour(at=night), POLICY)
    assert (lone.signals, lone.decision) == (("unusual_hour",), Decision.ALLOW)
    risky = {"device_known": False, "recent_failures": 3}
    assert assess(behaviour(**risky), POLICY).decision is Decision.CHALLENGE
    tipped = assess(behaviour(at=night, **risky), POLICY)
    assert tipped.signals == ("new_device", "unusual_hour", "failure_burst")
    assert tipped.decision is Decision.BLOCK


def test_hours_wrap_around_midnight() -> None:
    late = behaviour(at=NOON.replace(hour=0), past_hours=[23] * 12)
    assert assess(late, POLICY).signals == ()


def test_a_burst_of_failures_demands_the_second_factor() -> None:
    assert assess(behaviour(recent_failures=2), POLICY).decision is Decision.ALLOW
    burst = assess(behaviour(recent_failures=3), POLICY)
    assert (burst.signals, burst.decision) == (("failure_burst",), Decision.CHALLENGE)
