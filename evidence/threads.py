"""Worker-thread pools of their own, for work that must not wait on AnyIO's default pool.

AnyIO runs ``to_thread.run_sync`` calls in one default pool of 40 threads per event loop. A
thread that waits for the event loop (a probe reading the object back through the store, an
upload streaming a part whose bytes the loop is still receiving and hashing) must not hold
one of those 40 while the loop's work for it needs one too: with 40 such threads at once
nothing moves again and the API process wedges (found by the load benchmark, issue 15.7).
Such threads take their place from a pool of their own.
"""

from __future__ import annotations

import asyncio
import weakref

import anyio

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, anyio.CapacityLimiter]] = weakref.WeakKeyDictionary()


def own_pool(name: str, size: int) -> anyio.CapacityLimiter:
    """The running event loop's pool ``name`` of at most ``size`` threads (a limiter belongs
    to the loop it is used on; tests run several loops)."""
    pools = _pools.setdefault(asyncio.get_running_loop(), {})
    if name not in pools:
        pools[name] = anyio.CapacityLimiter(size)
    return pools[name]
