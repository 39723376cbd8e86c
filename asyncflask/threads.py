"""One thread per context for sync code: hooks, views and teardown of a request share it.

Thread-bound resources (a `sqlite3` connection kept in `g`, many database drivers, anything
thread-local) only work when every plain `def` function of a request runs on the same
thread. A context borrows a worker thread on its first sync call and gives it back when it
is popped; async-only requests never borrow one. At most `MAX_BORROWED` contexts per event
loop hold a thread at once; the others wait for one, so a burst queues rather than spawning
threads without bound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import anyio

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "MAX_BORROWED",
    "WorkerThread",
    "also_sync",
    "borrow",
    "calling_loop",
    "give_back",
    "wait_on_loop",
]

#: Contexts (per event loop) that may hold a worker thread at once: anyio's own default.
MAX_BORROWED = 40
_IDLE_KEPT = MAX_BORROWED

# `loop`: the event loop a worker thread's current call came from; `worker`: that thread.
_local = threading.local()
# How many sync calls worker threads are running now. While it is 0, no thread can be one
# that `also_sync` must block, so async code skips the thread-local lookup.
_sync_calls = 0
_sync_calls_lock = threading.Lock()
_WAKE: Callable[[], None] = lambda: None  # noqa: E731  (a job that only wakes a waiting thread)
_idle: list[WorkerThread] = []
_idle_lock = threading.Lock()
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


class WorkerThread:
    """A thread that runs the sync calls it is given, one after another, in order."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.borrower: object | None = None  # the limiter token it holds while lent out
        self._thread = threading.Thread(target=self._serve, name="asyncflask-sync", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def stop(self) -> None:
        """End the thread once the calls already queued have run."""
        self._jobs.put(None)

    async def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `func(*args, **kwargs)` on this thread, in a copy of the current context."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()

        def job() -> None:
            global _sync_calls
            # Saved and restored: a job may run nested, inside `wait_on_loop` of an outer one.
            outer = getattr(_local, "loop", None), getattr(_local, "worker", None)
            _local.loop, _local.worker = loop, self
            with _sync_calls_lock:
                _sync_calls += 1
            try:
                result = context.run(func, *args, **kwargs)
            except BaseException as exc:
                outcome = functools.partial(_settle, future, exc, None)
            else:
                outcome = functools.partial(_settle, future, None, result)
            finally:
                with _sync_calls_lock:
                    _sync_calls -= 1
                _local.loop, _local.worker = outer
            try:
                loop.call_soon_threadsafe(outcome)
            except RuntimeError:
                pass  # the loop has closed: nobody is waiting any more

        self._jobs.put(job)
        return await future


def calling_loop() -> asyncio.AbstractEventLoop | None:
    """In a worker thread, the event loop that the running sync call was made from."""
    return getattr(_local, "loop", None)


def wait_on_loop(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """From a worker thread, run the coroutine function `func` on the event loop and wait.

    The coroutine runs in a copy of the calling thread's context (the same `request` and
    `g`). While waiting, the thread keeps running the sync calls queued for it, so async
    code that calls back into the same context's sync code (an `after_request` hook, say)
    is served instead of waiting for a thread that is waiting for it.
    """
    loop, worker = calling_loop(), getattr(_local, "worker", None)
    assert loop is not None and worker is not None
    context = contextvars.copy_context()
    outcome: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def begin() -> None:
        try:
            # Created inside `context`, the task runs in a copy of it.
            task = context.run(loop.create_task, func(*args, **kwargs))
        except BaseException as exc:
            outcome.set_exception(exc)
            return
        task.add_done_callback(functools.partial(_copy_outcome, outcome))

    outcome.add_done_callback(lambda _: worker._jobs.put(_WAKE))
    loop.call_soon_threadsafe(begin)
    while not outcome.done():
        job = worker._jobs.get()
        if job is None:  # asked to stop: leave that to the serving loop
            worker._jobs.put(None)
            break
        job()
    return outcome.result()


def also_sync(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """An async function that plain `def` views and hooks can call without `await`.

    Awaited as usual in async code. Called from sync code on a context's worker thread,
    it runs on the event loop while that thread waits, and returns the result itself, so
    Flask code such as `return render_template(...)` or `flash(...)` works in a `def` view.
    """

    @functools.wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> Any:
        # This wrapper is on the request path of async views too: while no sync call is
        # running anywhere, a global read answers, before `calling_loop()`'s slower lookup.
        if _sync_calls and getattr(_local, "loop", None) is not None:
            return wait_on_loop(func, *args, **kwargs)
        return func(*args, **kwargs)

    return call


def _copy_outcome(outcome: concurrent.futures.Future[Any], task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        outcome.cancel()
    elif (error := task.exception()) is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(task.result())


def _settle(future: asyncio.Future[Any], error: BaseException | None, result: Any) -> None:
    if future.done():
        return  # the caller was cancelled meanwhile
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(MAX_BORROWED)
    return limiter


async def borrow() -> WorkerThread:
    """A worker thread to keep, waiting while `MAX_BORROWED` are lent out on this loop."""
    borrower = object()
    await _limiter().acquire_on_behalf_of(borrower)
    with _idle_lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = WorkerThread()
    worker.borrower = borrower
    return worker


def give_back(worker: WorkerThread) -> None:
    """Return a borrowed worker thread: kept for the next context, or stopped."""
    borrower, worker.borrower = worker.borrower, None
    if borrower is not None:
        try:
            _limiter().release_on_behalf_of(borrower)
        except (RuntimeError, KeyError):
            pass  # borrowed under another loop (a test that switched loops): nothing to release
    with _idle_lock:
        if len(_idle) < _IDLE_KEPT:
            _idle.append(worker)
            return
    worker.stop()
