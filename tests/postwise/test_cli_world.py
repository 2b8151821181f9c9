"""`postwise up` starts the API, a worker per region and the simulated world beside the
UIs; `postwise simulate world` and `simulate campaign` take the history's options."""

from __future__ import annotations

from postwise.cli import _delivery_children, build_parser
from postwise.settings import Settings


def test_up_adds_the_api_a_worker_per_region_and_the_simulated_world(settings: Settings) -> None:
    args = build_parser().parse_args(["up"])
    children = _delivery_children(args, settings)
    names = [child.name for child in children]
    assert names == ["api", "worker-na", "worker-eu", "worker-apac", "simulated-world"]
    world = children[-1]
    assert list(world.command[-4:]) == ["simulate", "world", "--listener-port", "2500"]
    assert world.url is not None and "smtp://127.0.0.1:2525" in world.url
    assert children[0].url is not None and children[0].url.startswith("http://127.0.0.1:8000")
    quiet = build_parser().parse_args(["up", "--no-world", "--api-port", "8100"])
    assert [c.name for c in _delivery_children(quiet, settings)][-1] == "worker-apac"


def test_the_world_and_campaign_commands_default_to_the_demo_history() -> None:
    world = build_parser().parse_args(["simulate", "world"])
    assert (world.contacts, world.days, world.seed, world.listener_port) == (5500, 60, 7, 2500)
    campaign = build_parser().parse_args(["simulate", "campaign", "--org", "beta"])
    assert (campaign.contacts, campaign.org) == (5500, "beta")
    assert build_parser().parse_args(["demo"]).contacts == 5500
