"""Group commit for the worker's per-message database work.

Many sends are in flight at once; each ends with a small transaction (record the outcome)
and, just before SMTP, a small query (is the recipient still eligible?). One transaction
per message costs a pooled connection, a round trip for BEGIN and COMMIT and a WAL flush
each. A :class:`Coalescer` lets concurrent callers share them: a call waits while the
previous batch runs, then goes with everything else that arrived meanwhile, in one call of
``run(items)`` in the worker's threads. A lone call goes at once, so nothing waits for a
batch to fill.

The batch function runs in one transaction: if it raises, every caller of that batch gets
the exception, as each would have on its own (the worker leaves such messages leased, and
their leases expire). The queue's fencing and the deterministic event ids keep a batch that
is tried again harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
MAX_BATCH = 64


class Coalescer(Generic[Item, Result]):
    """Runs ``run`` over the items of concurrent :meth:`submit` calls, batch by batch."""

    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Result]],
        call: Callable[..., Awaitable[Any]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._run = run
        self._call = call  # runs a blocking function in the worker's threads
        self._max_batch = max_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: Item) -> Result:
        """``run``'s result for ``item``, computed together with concurrent submissions."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # Shielded: a caller cancelled while its batch runs must not cancel the batch.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                results = await self._call(self._run, [item for item, _ in batch])
            except Exception as exc:  # handed to every caller of the batch
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.items += len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
