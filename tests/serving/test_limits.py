"""Rate limits and live counters on the real Redis: sliding windows per key and per
organization checked atomically, Retry-After from the oldest request in the window, fail
open without Redis; and the live API answering 429 with Retry-After."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import redis
import redis.asyncio as aredis
from api_kit import SendMessage, Tenants, serve
from redis.backoff import NoBackoff
from redis.retry import Retry

from postwise.settings import Settings
from serving.api.main import create_app
from serving.auth import Role
from serving.client import PostwiseClient
from serving.limits import Decision, LiveCounters, RateLimiter, live_key, record_live
from serving.limits.window import Limit
from serving.resilience import Breakers
from simulator import clients
from simulator.esp import free_port

IPHONE = clients.CLIENTS[0][0]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def limits(limiter: RateLimiter, org: str, key: str, per_key: int, per_org: int) -> list[Limit]:
    return [
        Limit("key", limiter.key(org, "key", key), per_key),
        Limit("org", limiter.key(org, "org", "all"), per_org),
    ]


def test_a_key_over_its_window_waits_for_its_oldest_request_to_leave_it(
    redis_client: redis.Redis, run_prefix: str
) -> None:
    clock = Clock()
    limiter = RateLimiter(redis_client, run_prefix, Breakers(), window_seconds=60, clock=clock)
    org = str(uuid.uuid4())
    for _ in range(3):
        assert limiter.check(limits(limiter, org, "a", 3, 100)).admitted
        clock.now += 10
    refused = limiter.check(limits(limiter, org, "a", 3, 100))
    assert (refused.admitted, refused.scope, refused.retry_after) == (False, "key", 30)
    assert limiter.check(limits(limiter, org, "b", 3, 100)).admitted  # another key
    clock.now += 30.5  # the first request has left the window
    assert limiter.check(limits(limiter, org, "a", 3, 100)).admitted


def test_a_signed_request_s_nonce_and_limits_are_one_script_and_a_replay_costs_nothing(
    redis_url: str, redis_client: redis.Redis, run_prefix: str
) -> None:
    clock = Clock()
    breakers = Breakers(failure_threshold=1)
    limiter = RateLimiter(redis_client, run_prefix, breakers, window_seconds=60, clock=clock)
    org = str(uuid.uuid4())
    nonce = f"{run_prefix}:nonce:{{{org}}}:k:{uuid.uuid4().hex}"

    async def claims() -> list[object]:
        client = aredis.Redis.from_url(redis_url)
        limiter.use_async(client)
        try:
            first = await limiter.claim_and_check(nonce, 600, limits(limiter, org, "a", 1, 9))
            replay = await limiter.claim_and_check(nonce, 600, limits(limiter, org, "a", 1, 9))
            over = await limiter.claim_and_check(nonce + "2", 600, limits(limiter, org, "a", 1, 9))
            breakers.failed("redis")  # Redis rested: the nonce is still claimed, limits off
            rested = await limiter.claim_and_check(
                nonce + "3", 600, limits(limiter, org, "a", 1, 9)
            )
            again = await limiter.claim_and_check(nonce + "3", 600, limits(limiter, org, "a", 1, 9))
        finally:
            await client.aclose()
        return [first, replay, over, rested, again]

    first, replay, over, rested, again = asyncio.run(claims())
    assert first == Decision(True)
    assert replay is None  # already used: refused, and not counted in the window
    assert over == Decision(False, "key", 60)
    assert redis_client.zcard(limiter.key(org, "key", "a")) == 1
    assert 590 < int(redis_client.ttl(nonce)) <= 600
    assert rested == Decision(True, enforced=False) and again is None


def test_the_organization_s_limit_spans_its_keys_and_a_refusal_costs_nothing(
    redis_client: redis.Redis, run_prefix: str
) -> None:
    clock = Clock()
    limiter = RateLimiter(redis_client, run_prefix, Breakers(), window_seconds=60, clock=clock)
    org = str(uuid.uuid4())
    assert limiter.check(limits(limiter, org, "a", 5, 2)).admitted
    assert limiter.check(limits(limiter, org, "b", 5, 2)).admitted
    refused = limiter.check(limits(limiter, org, "c", 5, 2))
    assert (refused.admitted, refused.scope) == (False, "org")
    assert redis_client.zcard(limiter.key(org, "key", "c")) == 0  # not counted against c


def test_without_redis_the_limits_are_not_enforced() -> None:
    gone = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    limiter = RateLimiter(gone, "x", Breakers(), window_seconds=60)
    decision = limiter.check([Limit("key", "x:k", 1)])
    assert decision.admitted and not decision.enforced
    gone.close()


def test_live_counters_count_per_minute_per_org_and_for_everyone(
    redis_client: redis.Redis, run_prefix: str
) -> None:
    counters = LiveCounters(redis_client, run_prefix)
    org, other = uuid.uuid4(), uuid.uuid4()
    now = 1_800_000_030.0
    record_live(redis_client, run_prefix, "sent", org, 3, now=now)
    record_live(redis_client, run_prefix, "sent", other, 2, now=now)
    record_live(redis_client, run_prefix, "opened", org, now=now + 60)

    assert counters.read("sent", org, 2, now=now + 60) == [
        (1_800_000_000, 3),
        (1_800_000_060, 0),
    ]
    assert counters.read("sent", None, 1, now=now)[-1][1] == 5
    assert counters.read("opened", org, 1, now=now + 60) == [(1_800_000_060, 1)]
    key = live_key(run_prefix, "sent", org, int(now // 60))
    assert 0 < int(redis_client.ttl(key)) <= 2 * 24 * 3600


def test_the_api_answers_429_with_retry_after_and_counts_the_refusal(
    api_settings: Settings, tenants: Tenants
) -> None:
    settings = api_settings.model_copy(update={"rate_limit_per_key": 3, "rate_limit_per_org": 5})
    with serve(create_app(settings)) as url:
        tenant = tenants.org()
        first = tenants.client(tenant, Role.ANALYST)
        second = tenants.client(tenant, Role.ANALYST)
        private, key = first._private_key, first.api_key  # noqa: SLF001
        client = PostwiseClient(url, key, private)
        other = PostwiseClient(url, second.api_key, second._private_key)  # noqa: SLF001
        statuses = [client.get("/v1/me").status_code for _ in range(3)]
        refused = client.get("/v1/me")
        others = [other.get("/v1/me").status_code for _ in range(3)]
        metrics = httpx.get(f"{url}/metrics").text
        client.close()
        other.close()
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert others == [200, 200, 429]  # the organization's 5 are used up
    assert 'postwise_api_rate_limited_total{scope="key"} 1.0' in metrics
    assert 'postwise_api_rate_limited_total{scope="org"} 1.0' in metrics


def test_human_opens_and_clicks_count_in_the_live_counters_and_bots_do_not(
    send_message: SendMessage, api_settings: Settings, redis_client: redis.Redis
) -> None:
    sent = send_message("eu", delivered_at=datetime.now(UTC) - timedelta(hours=1))
    html = str(
        email.message_from_bytes(sent.raw, policy=email.policy.default).get_body(("html",))
        .get_content()  # type: ignore[union-attr]
    )  # fmt: skip
    pixel = re.search(r'<img src="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    link = re.findall(r'<a href="([^"]+)"(?! style="display:none)', html)[0]  # not the honeypot
    human = {"User-Agent": IPHONE, "X-Forwarded-For": "73.20.1.5"}
    bot = {"User-Agent": "python-requests/2.32", "X-Forwarded-For": "73.20.1.6"}

    httpx.get(pixel, headers=human)
    httpx.get(pixel, headers=human)  # the same open again: one event, one count
    httpx.get(link, headers=human)
    httpx.get(pixel, headers=bot)

    counters = LiveCounters(redis_client, api_settings.database_prefix)
    assert sum(n for _, n in counters.read("opened", sent.org_id, 2)) == 1
    assert sum(n for _, n in counters.read("clicked", sent.org_id, 2)) == 1
