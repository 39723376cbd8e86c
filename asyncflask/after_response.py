"""What runs when a request's work ends: teardown functions, and background tasks.

`RequestHandler` (dispatch.py) inherits these; they are kept apart from the request path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio.from_thread

from . import signals, threads

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .ctx import AppContext
    from .dispatch import AsyncFunc, HandlerChain


class AfterResponse:
    """Teardown and background tasks of `RequestHandler`."""

    app: AsyncFlask
    _teardown_appcontext: tuple[AsyncFunc, ...] | None
    _custom_teardown: bool
    _background: set[asyncio.Task[Any]]

    if TYPE_CHECKING:

        def chain_for(self, endpoint: str | None) -> HandlerChain: ...

        def propagate(self) -> bool: ...

    def _appcontext_teardown_funcs(self) -> tuple[AsyncFunc, ...]:
        if self._teardown_appcontext is None:
            from .dispatch import ensure_async

            self._teardown_appcontext = tuple(map(ensure_async, reversed(self.app.teardown_appcontext_funcs)))
        return self._teardown_appcontext

    def needs_teardown(self, ctx: AppContext) -> bool:
        """Whether ending this context has anything to run (most requests have nothing)."""
        funcs = self._teardown_appcontext
        return bool(
            (funcs if funcs is not None else self._appcontext_teardown_funcs())
            or self._custom_teardown
            or signals.appcontext_tearing_down.receivers
            or (
                ctx.request is not None
                and (
                    signals.request_tearing_down.receivers
                    or self.chain_for(ctx.rule.endpoint if ctx.rule is not None else None).teardown_request
                )
            )
        )

    async def teardown(self, ctx: AppContext, exc: BaseException | None) -> None:
        """Run teardown functions (`do_teardown_request`, then `do_teardown_appcontext`).

        Each function runs even when another fails. A failure is logged once; when exceptions
        propagate (`TESTING`, `PROPAGATE_EXCEPTIONS`) the first one is raised instead, after
        all have run, so a test sees the real cause, as with Flask.
        """
        failures: list[Exception] = []
        if ctx.request is not None:
            try:
                await self.app.do_teardown_request(exc)
            except Exception as error:
                failures.append(error)
        try:
            await self.app.do_teardown_appcontext(exc)
        except Exception as error:
            failures.append(error)
        if failures:
            raise failures[0]

    async def teardown_request(self, chain: HandlerChain, exc: BaseException | None) -> None:
        """Run a request's `teardown_request` functions and signal; raise the first failure."""
        failures: list[Exception] = []
        await self._run_teardown(chain.teardown_request, exc, failures)
        if signals.request_tearing_down.receivers:
            await self._run_teardown((self._signal_sender(signals.request_tearing_down),), exc, failures)
        if failures:
            raise failures[0]

    async def teardown_appcontext(self, exc: BaseException | None) -> None:
        """Run the `teardown_appcontext` functions and signal; raise the first failure."""
        failures: list[Exception] = []
        await self._run_teardown(self._appcontext_teardown_funcs(), exc, failures)
        if signals.appcontext_tearing_down.receivers:
            await self._run_teardown((self._signal_sender(signals.appcontext_tearing_down),), exc, failures)
        if failures:
            raise failures[0]

    def _signal_sender(self, signal: Any) -> AsyncFunc:
        async def send_signal(exc: BaseException | None) -> None:
            await signals.send(signal, self.app, exc=exc)

        return send_signal

    async def _run_teardown(
        self, funcs: tuple[AsyncFunc, ...], exc: BaseException | None, failures: list[Exception]
    ) -> None:
        # Each function runs even when an earlier one fails; each failure is logged once, or
        # kept for the caller to raise when exceptions propagate.
        for func in funcs:
            try:
                await func(exc)
            except Exception as error:
                if self.propagate():
                    failures.append(error)
                else:
                    self.app.logger.exception("Teardown function %r failed", getattr(func, "__name__", func))

    def spawn_background(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """Start `func` as a task with a fresh app context; its errors are logged."""
        app = self.app

        async def run() -> None:
            ctx = app.app_context()
            ctx._served = True
            async with ctx:
                try:
                    from .dispatch import ensure_async

                    await ensure_async(func)(*args, **kwargs)
                except Exception:
                    app.logger.exception("Background task %r failed", getattr(func, "__name__", func))

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            calling = threads.calling_loop()
            if calling is not None:
                # Called from a sync view or hook on its context's thread: start it on the loop.
                calling.call_soon_threadsafe(self.spawn_background, func, args, kwargs)
                return
            try:
                # From a thread of anyio's pool (`run_in_threadpool`): the same, through anyio.
                anyio.from_thread.run_sync(self.spawn_background, func, args, kwargs)
                return
            except RuntimeError:
                raise RuntimeError(
                    "add_background_task() needs a running event loop; call it from a view, a hook"
                    " or another async function."
                ) from None
        task = loop.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def wait_background(self, timeout: float) -> None:
        """Wait for background tasks, cancelling those still running after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # Tasks may start more tasks while we wait: keep waiting until none are left.
        while self._background and loop.time() < deadline:
            await asyncio.wait(set(self._background), timeout=deadline - loop.time())
        pending = set(self._background)
        for task in pending:
            task.cancel()
        if pending:
            self.app.logger.warning(
                "Cancelled %d background task(s) still running at shutdown.", len(pending)
            )
            await asyncio.gather(*pending, return_exceptions=True)

    # -- other scopes -------------------------------------------------------------------------

