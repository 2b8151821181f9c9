"""The `postwise` command line.

    postwise services start|stop|status   embedded PostgreSQL and Redis under .postwise/
    postwise migrate                      create and migrate the control database and cells
    postwise simulate history ...         write a simulated history into the warehouse
    postwise simulate world ...           the simulated ESPs of the default routes and the
                                          inbound listener, until Ctrl-C
    postwise simulate campaign ...        one campaign through the whole path, by route
    postwise demo [--timings FILE]        the whole loop, then a report (HTML and summary)
    postwise up                           start the services and print their URLs
    postwise dashboards [--host H] [--port P]
                                          the Streamlit dashboards alone, on the configured
                                          (or embedded) services
    postwise worker [--region R] [--concurrency N] [--batch-size N]
                                          a delivery worker (several may run at once)
    postwise api [--host H] [--port P] [--workers N]   the HTTP API under uvicorn
    postwise webhooks [--seconds S]       deliver outbound webhooks, retrying with backoff
    postwise users create --org SLUG --email E --role R [--password-file F]
                                          a user (password prompted unless in a file)
    postwise api-keys create --org SLUG --role R --public-key FILE
                                          an API key for the P-521 key in FILE, shown once
    postwise audit verify|checkpoint      the audit chains and their signed checkpoints
    postwise keys rotate|new              key-encryption key rotation
    postwise admin break-glass --org ORG --user EMAIL --reason TEXT --minutes N
                                          raise a user's role for N minutes (alerted, audited)
    postwise compliance erase|evidence --org ORG --subject EMAIL
                                          erase a data subject; export their evidence pack
    postwise archive run|list|query ...   the cold-storage archive of event partitions:
                                          archive past retention, the index, SQL over it
    postwise traps sync FILE --region R --source NAME
                                          replace a spam-trap feed (also: behavioural, hits,
                                          quarantined, release, reject)

Errors a user can act on (an unreachable server, bad settings, bad arguments) print one line
and exit non-zero; they never show a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from compliance.errors import ComplianceError
from warehouse.errors import WarehouseError

from . import (
    accounts_cli,
    admin_cli,
    archive_cli,
    audit_cli,
    compliance_cli,
    ops_cli,
    traps_cli,
)
from .bootstrap import BootstrapError
from .console import echo, fail, table
from .demo_api import ApiStepFailed
from .demo_campaign import DemoError
from .demo_steps import NoIncidentSender, StepFailed
from .settings import Settings, SettingsError, get_settings
from .stack import EmbeddedPostgres, EmbeddedRedis, ServiceError

if TYPE_CHECKING:
    from .launcher import Child

EXIT_USAGE = 2
EXIT_FAILURE = 1
# Enough that one message per consenting contact makes a campaign of over 5,000.
DEMO_CONTACTS = 5500


def _services(args: argparse.Namespace, settings: Settings) -> int:
    embedded: list[EmbeddedPostgres | EmbeddedRedis] = [
        EmbeddedPostgres(settings.home),
        EmbeddedRedis(settings.home),
    ]
    if args.action == "start":
        from .runtime import resolve_services

        urls = resolve_services(settings)
        echo(f"postgresql  {urls.database_url}{'  (embedded)' if urls.embedded_database else ''}")
        echo(f"redis       {urls.redis_url}{'  (embedded)' if urls.embedded_redis else ''}")
    elif args.action == "stop":
        for service in embedded:
            echo(f"{service.name:<11} {'stopped' if service.stop() else 'was not running'}")
    else:
        rows = []
        for service in embedded:
            status = service.status()
            rows.append(
                [
                    status.name,
                    "running" if status.running else "stopped",
                    status.pid or "-",
                    status.url or "-",
                    status.data_dir,
                ]
            )
        echo(table(["service", "state", "pid", "url", "data"], rows))
        if settings.database_url:
            echo(f"DATABASE_URL is set: the warehouse uses {settings.database_url}")
        if settings.redis_url:
            echo(f"REDIS_URL is set: Redis at {settings.redis_url}")
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.migrate import migrate_all

    from .runtime import open_cells, resolve_database_url

    database_url, _ = resolve_database_url(settings)
    with open_cells(settings, database_url) as cells:
        applied = migrate_all(cells)
    for cell, versions in applied.items():
        echo(
            f"{cell:<8} {len(versions)} migration(s) applied"
            + (f": {', '.join(versions)}" if versions else "")
        )
    return 0


def _simulate_history(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.history import HistoryOptions, simulate_history
    from warehouse.migrate import migrate_all

    from .runtime import open_cells, resolve_database_url

    options = HistoryOptions(
        contacts=args.contacts, days=args.days, seed=args.seed, org_slug=args.org
    )
    database_url, _ = resolve_database_url(settings)
    with open_cells(settings, database_url) as cells:
        migrate_all(cells)
        result = simulate_history(cells, settings, options, progress=not args.quiet)
    echo(result.describe())
    return 0


def _simulate_world(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from simulator.outside import history_world, recipients_by_address

    from .runtime import open_cells, resolve_services
    from .stack import outside_world

    urls = resolve_services(settings)
    recipients = recipients_by_address(history_world(args.seed, args.contacts, args.days))
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stopping.set())
    with (
        open_cells(settings, urls.database_url) as cells,
        outside_world(
            settings, cells, urls.redis_url, recipients, listener_port=args.listener_port,
            seed=args.seed, report_delay_seconds=args.report_delay,
        ) as world,
    ):  # fmt: skip
        for name, esp in world.providers.esps.items():
            echo(f"esp {name:<15} smtp://127.0.0.1:{esp.port}")
        echo(f"inbound listener    smtp://127.0.0.1:{world.listener_port}")
        echo(f"{len(recipients):,} simulated recipients; Ctrl-C stops")
        while not stopping.wait(args.engage_every):
            if world.providers.accepted():
                report = world.providers.engage(human_delay_seconds=1.0)
                if report.outcomes:
                    echo(
                        f"engagement {report.count('open')} opens, {report.count('click')} "
                        f"clicks, {report.count('unsubscribe')} unsubscribes; reports "
                        f"recorded: {dict(world.recorder.stats)}"
                    )
    return 0


def _simulate_campaign(args: argparse.Namespace, settings: Settings) -> int:
    from .demo_campaign import CampaignOptions, campaign_table, run_campaign
    from .runtime import open_cells, resolve_services

    urls = resolve_services(settings)
    options = CampaignOptions(
        contacts=args.contacts, days=args.days, seed=args.seed, org_slug=args.org
    )
    with open_cells(settings, urls.database_url) as cells:
        result = run_campaign(settings, cells, urls.database_url, urls.redis_url, options)
    echo(f"campaign {result.campaign_id}: {result.messages:,} messages in {result.seconds:.0f} s")
    echo(campaign_table(result.routes))
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo import run_demo

    return run_demo(
        settings, contacts=args.contacts, days=args.days, seed=args.seed, timings=args.timings
    )


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.migrate import migrate_all

    from .launcher import child_environment, ensure_dbt_manifest, supervise, ui_children
    from .runtime import open_cells, resolve_services

    urls = resolve_services(settings)
    with open_cells(settings, urls.database_url) as cells:
        migrate_all(cells)
    env = child_environment(settings, urls)
    ensure_dbt_manifest(env)
    children = ui_children(
        args.host,
        args.dagster_port,
        args.mlflow_port,
        env,
        dashboard_port=args.dashboard_port,
        api_port=args.api_port,
    )
    children += _delivery_children(args, settings)
    echo(f"postgresql  {urls.database_url}")
    echo(f"redis       {urls.redis_url}")
    for child in children:
        echo(f"{child.name:<18} {child.url or 'running'}")
    echo(f"logs in {settings.home / 'logs'}; Ctrl-C stops everything")
    return supervise(children, env, settings.home / "logs")


def _dashboards(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from .launcher import dashboards_environment, streamlit_command
    from .runtime import resolve_services

    urls = resolve_services(settings)
    env = dashboards_environment(settings, urls)
    echo(f"dashboards  http://{args.host}:{args.port}  (log in through {env['DASHBOARD_API_URL']})")
    echo("Ctrl-C stops")
    command = streamlit_command(args.host, args.port)
    # Streamlit takes this process's place, so Ctrl-C and SIGTERM reach it directly.
    os.execve(command[0], command, env)


def _delivery_children(args: argparse.Namespace, settings: Settings) -> list[Child]:
    """The API, a delivery worker per region and the simulated outside world."""
    from .launcher import Child

    postwise = [sys.executable, "-m", "postwise.cli"]
    children = [
        Child(
            "api", [*postwise, "api", "--host", args.host, "--port", str(args.api_port)],
            f"http://{args.host}:{args.api_port}  (tracking base {settings.tracking_base_url})",
        )
    ]  # fmt: skip
    children += [
        Child(f"worker-{region}", [*postwise, "worker", "--region", region])
        for region in settings.regions
    ]
    if not args.no_world:
        ports = ", ".join(
            f"{name} smtp://127.0.0.1:{route.port}"
            for name, route in settings.delivery_routes.items()
        )
        children.append(
            Child(
                "simulated-world",
                [*postwise, "simulate", "world", "--listener-port", str(args.listener_port)],
                f"{ports}; inbound listener smtp://127.0.0.1:{args.listener_port}",
            )
        )
    return children


def _api(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import uvicorn

    from .runtime import resolve_services

    urls = resolve_services(settings)
    # Each uvicorn worker builds the app from the environment (create_app's settings).
    os.environ["DATABASE_URL"] = urls.database_url
    os.environ["REDIS_URL"] = urls.redis_url
    get_settings.cache_clear()
    echo(f"api         http://{args.host}:{args.port}  (OpenAPI docs at /docs)")
    uvicorn.run(
        "serving.api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.api_forwarded_allow_ips,
        log_level="info" if args.verbose else "warning",
    )
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from delivery.worker import run_worker

    from .runtime import resolve_services

    # Progress lines (counts and rates) are the worker's output: shown without -v too.
    logging.getLogger("delivery").setLevel(logging.INFO)
    urls = resolve_services(settings)
    run_worker(
        settings,
        database_url=urls.database_url,
        redis_url=urls.redis_url,
        region=args.region,
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        exit_when_idle=args.until_idle,
    )
    return 0


def _webhooks(args: argparse.Namespace, settings: Settings) -> int:
    import math

    import httpx

    from serving.webhooks.delivery import LoopOptions, run_deliveries
    from warehouse.db import Cells

    from .runtime import resolve_services

    urls = resolve_services(settings)
    options = LoopOptions(
        backoff_seconds=settings.webhook_backoff_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private_targets=settings.webhook_allow_private_targets,
    )
    seconds = args.seconds if args.seconds is not None else math.inf
    with Cells.from_settings(settings, urls.database_url) as cells, httpx.Client() as client:
        made = run_deliveries(cells, client, options, max_seconds=seconds)
    echo(f"webhook delivery attempts: {made}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postwise", description="Postwise email platform")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    services = sub.add_parser("services", help="embedded PostgreSQL and Redis")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.set_defaults(handler=_services)

    migrate = sub.add_parser(
        "migrate", help="create and migrate the control database and every cell"
    )
    migrate.set_defaults(handler=_migrate)

    simulate = sub.add_parser("simulate", help="the simulated outside world")
    sim_sub = simulate.add_subparsers(dest="what", required=True)
    history = sim_sub.add_parser("history", help="write a simulated sending history")
    history.add_argument("--contacts", type=_positive_int, default=5000)
    history.add_argument("--days", type=_positive_int, default=60)
    history.add_argument("--seed", type=int, default=7)
    history.add_argument("--org", default="acme", help="slug of the simulated organization")
    history.add_argument("--quiet", action="store_true", help="no progress bar")
    history.set_defaults(handler=_simulate_history)
    world = sim_sub.add_parser(
        "world", help="simulated ESPs on the default routes' ports and the inbound listener"
    )
    _world_options(world)
    world.add_argument("--listener-port", type=_positive_int, default=2500)
    world.add_argument(
        "--report-delay", type=float, default=5.0, help="seconds before a DSN or complaint"
    )
    world.add_argument(
        "--engage-every", type=float, default=10.0,
        help="seconds between rounds of recipients opening and clicking accepted mail",
    )  # fmt: skip
    world.set_defaults(handler=_simulate_world)
    campaign = sim_sub.add_parser(
        "campaign", help="send one campaign to the simulated contacts and print its outcome"
    )
    _world_options(campaign)
    campaign.add_argument("--org", default="acme", help="slug of the simulated organization")
    campaign.set_defaults(handler=_simulate_campaign)

    demo = sub.add_parser("demo", help="services, migrations, a simulated history and a summary")
    demo.add_argument("--contacts", type=_positive_int, default=DEMO_CONTACTS)
    demo.add_argument("--days", type=_positive_int, default=60)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--timings", metavar="FILE", help="write each stage's start and end (JSON) to FILE"
    )
    demo.set_defaults(handler=_demo)

    up = sub.add_parser("up", help="start every service and UI, print the URLs, run until Ctrl-C")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--dagster-port", type=_positive_int, default=3000)
    up.add_argument("--mlflow-port", type=_positive_int, default=5000)
    up.add_argument("--api-port", type=_positive_int, default=8000)
    up.add_argument("--dashboard-port", type=_positive_int, default=8501)
    up.add_argument("--listener-port", type=_positive_int, default=2500)
    up.add_argument("--no-world", action="store_true", help="no simulated ESPs and listener")
    up.set_defaults(handler=_up)

    dashboards = sub.add_parser(
        "dashboards",
        help="run only the Streamlit dashboards, on the configured (or embedded) services",
    )
    dashboards.add_argument("--host", default="127.0.0.1")
    dashboards.add_argument("--port", type=_positive_int, default=8501)
    dashboards.set_defaults(handler=_dashboards)

    worker = sub.add_parser(
        "worker", help="a delivery worker for one region (SIGTERM or Ctrl-C stops it cleanly)"
    )
    worker.add_argument("--region", help="region cell to deliver from (default DEFAULT_REGION)")
    worker.add_argument("--concurrency", type=_positive_int, help="SMTP sends in flight per route")
    worker.add_argument("--batch-size", type=_positive_int, help="messages claimed at a time")
    worker.add_argument(
        "--until-idle", action="store_true", help="exit once nothing is due and nothing in flight"
    )
    worker.set_defaults(handler=_worker)

    webhooks = sub.add_parser(
        "webhooks", help="deliver the organizations' outbound webhooks (signed, retried)"
    )
    webhooks.add_argument("--seconds", type=float, help="stop after this long (default: never)")
    webhooks.set_defaults(handler=_webhooks)

    api = sub.add_parser("api", help="run the HTTP API (tracking endpoints, docs at /docs)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=_positive_int, default=8000)
    api.add_argument("--workers", type=_positive_int, default=1, help="uvicorn worker processes")
    api.set_defaults(handler=_api)

    accounts_cli.register(sub)
    audit_cli.register(sub)
    admin_cli.register(sub)
    compliance_cli.register(sub)
    archive_cli.register(sub)
    traps_cli.register(sub)
    ops_cli.register(sub)
    return parser


def _world_options(parser: argparse.ArgumentParser) -> None:
    """The simulated history whose world plays the recipients (as `postwise demo` made it)."""
    parser.add_argument("--contacts", type=_positive_int, default=DEMO_CONTACTS)
    parser.add_argument("--days", type=_positive_int, default=60)
    parser.add_argument("--seed", type=int, default=7)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be positive")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        settings = get_settings()
        return handler(args, settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]).upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        fail(f"invalid setting {where}: {message}" if where else f"invalid settings: {message}")
        return EXIT_USAGE
    except (
        SettingsError,
        ServiceError,
        WarehouseError,
        ComplianceError,
        DemoError,
        ApiStepFailed,
        StepFailed,
        NoIncidentSender,
        BootstrapError,
    ) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        fail("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
