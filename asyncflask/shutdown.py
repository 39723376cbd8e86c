"""Noticing that the server is shutting down, so endless streams and websockets can end.

Servers stop in two steps: they stop accepting connections and wait for the open ones to
finish, and only then send the ASGI lifespan shutdown. An SSE stream or a websocket never
finishes by itself, so without help the server waits until it is killed and `after_serving`
never runs. `ShutdownNotice` is set as soon as the shutdown begins: when the process gets
SIGTERM or SIGINT (noticed by chaining onto whatever handler the server installed), or at the
latest when the lifespan shutdown arrives. `EventStream` ends cleanly and open websockets are
closed with 1012 (service restart) when it is set; other code can `await app.shutting_down`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Generator
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .websockets import Websocket

__all__ = ["ShutdownNotice"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Close code for websockets ended by a server shutdown: "service restart", so clients reconnect.
SERVICE_RESTART = 1012
# Seconds a closed websocket's handler has to end by itself before it is cancelled.
WEBSOCKET_GRACE = 1.0


class ShutdownNotice:
    """Set when the server begins to shut down; `await app.shutting_down` waits for it.

    `app.shutting_down.is_set()` tells whether it has begun. It is cleared each time the app
    starts serving again (a test client's lifespan, a reloaded server).
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_handlers: dict[int, Any] = {}
        self._installed_handlers: dict[int, Any] = {}
        # Each open websocket, with the task serving it (which ends it if it will not end).
        self._websockets: dict[Websocket, asyncio.Task[Any] | None] = {}
        self._cancelled: set[Websocket] = set()

    def is_set(self) -> bool:
        """Whether the shutdown has begun."""
        return self._event.is_set()

    async def wait(self) -> None:
        """Return once the shutdown has begun."""
        await self._event.wait()

    def __await__(self) -> Generator[Any, None, bool]:
        return self._event.wait().__await__()  # True, once set

    def __bool__(self) -> bool:
        return self._event.is_set()

    # -- driven by the lifespan ------------------------------------------------------------------

    def arm(self) -> None:
        """Start serving: clear the notice and listen for SIGTERM/SIGINT."""
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._chain_signal_handlers()

    def set(self) -> None:
        """Begin the shutdown: wake every waiter, end the streams, close the websockets."""
        self._restore_signal_handlers()
        if self._event.is_set():
            return
        self._event.set()
        for websocket, task in list(self._websockets.items()):
            closing = asyncio.ensure_future(self._end_websocket(websocket, task))
            closing.add_done_callback(_ignore_outcome)

    # -- websockets ------------------------------------------------------------------------------

    def track(self, websocket: Websocket) -> None:
        """Close `websocket` with 1012 when the shutdown begins (until `untrack`)."""
        self._websockets[websocket] = asyncio.current_task()

    def untrack(self, websocket: Websocket) -> None:
        """Forget a websocket that has ended."""
        self._websockets.pop(websocket, None)
        self._cancelled.discard(websocket)

    def ended_by_shutdown(self, websocket: Websocket) -> bool:
        """Whether the task serving `websocket` was cancelled by the shutdown (not by the server)."""
        return websocket in self._cancelled

    async def _end_websocket(self, websocket: Websocket, task: asyncio.Task[Any] | None) -> None:
        if websocket.accepted and not websocket.closed:
            with contextlib.suppress(Exception):  # the client may be gone already: nothing to do
                await websocket.close(SERVICE_RESTART, "Server shutting down")
        if task is None or task.done():
            return
        # A handler blocked in `receive()` ends by itself now; one waiting on something else
        # (a queue, a broadcast) would keep the server waiting, so it is cancelled.
        await asyncio.wait({task}, timeout=WEBSOCKET_GRACE)
        if not task.done() and websocket in self._websockets:
            self._cancelled.add(websocket)
            task.cancel()

    # -- signals ---------------------------------------------------------------------------------

    def _chain_signal_handlers(self) -> None:
        # Only the main thread may set handlers; a server running the app elsewhere (a test
        # server in a thread) still has the lifespan shutdown.
        if threading.current_thread() is not threading.main_thread() or self._previous_handlers:
            return
        for signum in _SIGNALS:
            try:
                previous = signal.getsignal(signum)
                handler = self._make_handler(previous)
                signal.signal(signum, handler)
            except (ValueError, OSError):
                continue
            self._previous_handlers[signum] = previous
            self._installed_handlers[signum] = handler

    def _make_handler(self, previous: Any) -> Callable[[int, FrameType | None], None]:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                # A signal handler runs between two bytecodes of the loop's own thread: hand
                # the work to the loop instead of touching its state from here.
                loop.call_soon_threadsafe(self.set)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                # Nobody else handles it: behave as if this handler had never been installed.
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        return on_signal

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        previous_handlers, self._previous_handlers = self._previous_handlers, {}
        installed, self._installed_handlers = self._installed_handlers, {}
        for signum, previous in previous_handlers.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                # Only put back what is still ours: the server may have restored its own.
                if signal.getsignal(signum) is installed.get(signum):
                    signal.signal(signum, previous if previous is not None else signal.SIG_DFL)


def _ignore_outcome(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
