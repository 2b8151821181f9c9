"""The worker's group commit: concurrent calls share a batch, each gets its own result, and
a failed batch fails only its own callers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from delivery.worker.batching import Coalescer


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def test_concurrent_calls_share_batches_and_get_their_own_results() -> None:
    batches: list[list[int]] = []

    def run(items: list[int]) -> list[int]:
        batches.append(items)
        return [item * 10 for item in items]

    async def main() -> list[int]:
        coalescer: Coalescer[int, int] = Coalescer(run, _in_thread, max_batch=8)
        return await asyncio.gather(*(coalescer.submit(i) for i in range(20)))

    assert asyncio.run(main()) == [i * 10 for i in range(20)]
    assert sorted(i for batch in batches for i in batch) == list(range(20))
    assert len(batches) < 20 and max(len(batch) for batch in batches) <= 8


def test_a_failed_batch_fails_its_callers_and_the_next_batch_still_runs() -> None:
    calls = 0

    def run(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return [item.upper() for item in items]

    async def main() -> list[Any]:
        coalescer: Coalescer[str, str] = Coalescer(run, _in_thread, max_batch=1)
        return await asyncio.gather(*(coalescer.submit(x) for x in "ab"), return_exceptions=True)

    failed, second = asyncio.run(main())
    assert isinstance(failed, RuntimeError)
    assert second == "B"


def test_a_lone_call_does_not_wait_for_a_batch_to_fill() -> None:
    async def main() -> float:
        coalescer: Coalescer[int, int] = Coalescer(lambda items: items, _in_thread)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await coalescer.submit(1)
        return loop.time() - started

    assert asyncio.run(main()) < 1.0


@pytest.mark.parametrize("size", [1, 3])
def test_every_item_of_a_batch_is_answered(size: int) -> None:
    async def main() -> list[int]:
        coalescer: Coalescer[int, int] = Coalescer(lambda items: items, _in_thread, max_batch=size)
        return await asyncio.gather(*(coalescer.submit(i) for i in range(7)))

    assert asyncio.run(main()) == list(range(7))
