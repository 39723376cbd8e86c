"""Flask's app methods that extensions and subclasses call or override.

The request pipeline is Flask's: `full_dispatch_request` runs `preprocess_request`, then
`dispatch_request`, then `finalize_request` (`make_response`, `process_response`), with
`handle_user_exception` / `handle_http_exception` for errors the view raises and
`handle_exception` for the ones no handler takes. A subclass that overrides one of them
changes what every request does, as in Flask. While none is overridden, requests take the
precomputed path in dispatch.py, which does the same work without the method calls.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from . import signals
from .exceptions import Aborter, BadRequestKeyError, HTTPException, InternalServerError
from .globals import _cv_context
from .routing import RequestRedirect
from .threads import also_sync, calling_loop, wait_on_loop

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from starlette.types import Message, Receive, Scope

    from .app import AsyncFlask
    from .config import Config
    from .ctx import AppContext
    from .dispatch import HandlerChain, RequestHandler
    from .routing import Map
    from .wrappers import Request, Response

# Overriding any of these sends requests through the methods instead of the precomputed path.
PIPELINE_METHODS = (
    "full_dispatch_request",
    "preprocess_request",
    "dispatch_request",
    "finalize_request",
    "process_response",
    "make_response",
    "make_default_options_response",
    "raise_routing_exception",
)

_NO_EXCEPTION: Any = object()


def overrides_pipeline(app_class: type) -> bool:
    """Whether `app_class` overrides a method of the request pipeline."""
    return any(getattr(app_class, name) is not getattr(AppMethods, name) for name in PIPELINE_METHODS)


def overrides_teardown(app_class: type) -> bool:
    """Whether `app_class` overrides `do_teardown_request` or `do_teardown_appcontext`."""
    return any(
        getattr(app_class, name) is not getattr(AppMethods, name)
        for name in ("do_teardown_request", "do_teardown_appcontext")
    )


class AppMethods:
    """Flask's public app methods, mixed into `AsyncFlask`."""

    aborter_class: type[Aborter] = Aborter

    if TYPE_CHECKING:  # what the methods use of the app
        _handler: RequestHandler
        config: Config
        url_map: Map
        request_class: type[Request]
        response_class: type[Response]

        @property
        def debug(self) -> bool: ...

        @property
        def logger(self) -> logging.Logger: ...

    def make_aborter(self) -> Aborter:
        """The `Aborter` that `abort()` uses inside this app: `aborter_class()` by default."""
        return self.aborter_class()

    def redirect(self, location: str, code: int = 302) -> Response:
        """A redirect response; `asyncflask.redirect` calls this on the current app."""
        from .helpers import build_redirect

        return build_redirect(location, code, self.response_class)

    # -- the request pipeline -----------------------------------------------------------------

    def _request_state(self) -> tuple[AppContext, Request, HandlerChain]:
        ctx = _cv_context.get(None)
        if ctx is None or ctx.request is None:
            raise RuntimeError(
                "This method needs an active request context; call it while a request is served"
                " (or inside `async with app.test_request_context():`)."
            )
        chain = self._handler.chain_for(ctx.rule.endpoint if ctx.rule is not None else None)
        return ctx, ctx.request, chain

    async def full_dispatch_request(self) -> Any:
        """Run the hooks, the view and the error handlers of the current request; the response."""
        try:
            _, request, _ = self._request_state()
            await self._handler.preload_body(request)
            rv = await self.preprocess_request()
            if rv is None:
                rv = await self.dispatch_request()
        except Exception as error:
            rv = await self._handler.call_app_method(self.handle_user_exception, error)
        return await self.finalize_request(rv)

    async def preprocess_request(self) -> Any:
        """Run the URL value preprocessors and `before_request` hooks; the first non-None value."""
        _, request, chain = self._request_state()
        return await self._handler.preprocess(request, chain)

    async def dispatch_request(self) -> Any:
        """Call the view of the current request (or answer an automatic OPTIONS); its return value."""
        _, request, chain = self._request_state()
        if request.routing_exception is not None:
            self.raise_routing_exception(request)
        rule = request.url_rule
        if request.method == "OPTIONS" and rule is not None and rule.provide_automatic_options:
            return self.make_default_options_response()
        return await self._handler.call_view(request, chain)

    async def finalize_request(self, rv: Any, from_error_handler: bool = False) -> Any:
        """Make the view's value a response and run `process_response` on it."""
        ctx, _, chain = self._request_state()
        return await self._handler.finalize(ctx, chain, rv, from_error_handler)

    async def process_response(self, response: Any) -> Any:
        """Run the `after_this_request` functions and `after_request` hooks, and save the session."""
        ctx, _, chain = self._request_state()
        return await self._handler.process_response(ctx, chain, response)

    def make_response(self, rv: Any) -> Any:
        """Turn a view's return value into a response (see the view return rules)."""
        ctx = _cv_context.get(None)
        chain = None
        if ctx is not None and ctx.request is not None:
            chain = self._handler.chain_for(ctx.rule.endpoint if ctx.rule is not None else None)
        return self._handler.make_response(rv, chain)

    def make_default_options_response(self) -> Response:
        """The answer to an automatic OPTIONS request: empty, with the URL's allowed methods."""
        _, request, _ = self._request_state()
        host = request.host if self.url_map.needs_host else None
        methods = self.url_map.allowed_methods(request.path, host)
        response = self.response_class()
        response.headers["Allow"] = ", ".join(methods)
        return response

    def raise_routing_exception(self, request: Request) -> Any:
        """Raise the error routing found for `request` (404, 405, a redirect)."""
        assert request.routing_exception is not None
        raise request.routing_exception

    # -- errors -------------------------------------------------------------------------------

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTP error is raised like any other error instead of being answered.

        `TRAP_HTTP_EXCEPTIONS` traps all; `TRAP_BAD_REQUEST_ERRORS` traps 400s (in debug mode,
        unset, it traps the missing keys of `request.form` and `request.args`).
        """
        config = self.config
        if config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, BadRequestKeyError):
            return True
        return bool(trap_bad_request) and isinstance(e, HTTPException) and e.code == 400

    async def handle_http_exception(self, e: HTTPException) -> Any:
        """The registered handler's answer to an HTTP error, or the error itself (its own page)."""
        if e.code is None or isinstance(e, RequestRedirect):
            # A ready response (`abort(response)`) or a routing redirect is sent as it is.
            return e
        _, _, chain = self._request_state()
        handler = self._handler.find_error_handler(e, chain.blueprints)
        return e if handler is None else await handler(e)

    def handle_user_exception(self, e: Exception) -> Any:
        """Answer an error the view or a hook raised with its handler; re-raise it if none.

        Awaitable. Called from sync code in a worker thread (an extension that wraps this
        method with a plain function), it returns the answer itself.

        Raises:
            Exception: `e`, when no handler takes it.
        """
        return also_sync(self._handle_user_exception)(e)

    async def _handle_user_exception(self, e: Exception) -> Any:
        if isinstance(e, BadRequestKeyError) and (self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return await self.handle_http_exception(e)
        _, _, chain = self._request_state()
        handler = self._handler.find_error_handler(e, chain.blueprints)
        if handler is None:
            raise e
        return await handler(e)

    def handle_exception(self, e: Exception) -> Any:
        """Answer an error nothing handled: log it, and send the 500 handler's answer or a 500.

        Awaitable; from sync code in a worker thread, it returns the response itself.

        Raises:
            Exception: `e`, when exceptions propagate (`TESTING`, `PROPAGATE_EXCEPTIONS`).
        """
        return also_sync(self._handle_exception)(e)

    async def _handle_exception(self, e: Exception) -> Any:
        from .dispatch import debug_page

        if signals.got_request_exception.receivers:
            await signals.send(signals.got_request_exception, self, exception=e)
        if self._handler.propagate():
            raise e
        self.log_exception((type(e), e, e.__traceback__))
        _, request, chain = self._request_state()
        server_error = InternalServerError(original_exception=e)
        handler = self._handler.find_error_handler(server_error, chain.blueprints)
        rv: Any = server_error
        if handler is not None:
            try:
                rv = await handler(server_error)
            except Exception:
                self.logger.exception(
                    "Exception in the 500 error handler on %s [%s]", request.path, request.method
                )
                rv = server_error
        elif self.debug:
            rv = debug_page(e)
        return await self.finalize_request(rv, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled error of the current request, with its traceback."""
        ctx = _cv_context.get(None)
        where = f" on {ctx.request.path} [{ctx.request.method}]" if ctx is not None and ctx.request else ""
        self.logger.error(f"Exception{where}", exc_info=exc_info)

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Whether teardown functions are told about `error` (False: they are, as in Flask)."""
        return False

    # -- teardown -----------------------------------------------------------------------------

    async def do_teardown_request(self, exc: BaseException | None = _NO_EXCEPTION) -> None:
        """Run the `teardown_request` functions of the current request (then the signal)."""
        if exc is _NO_EXCEPTION:
            exc = sys.exc_info()[1]
        ctx, _, chain = self._request_state()
        await self._handler.teardown_request(chain, exc)

    async def do_teardown_appcontext(self, exc: BaseException | None = _NO_EXCEPTION) -> None:
        """Run the `teardown_appcontext` functions (then the signal)."""
        if exc is _NO_EXCEPTION:
            exc = sys.exc_info()[1]
        await self._handler.teardown_appcontext(exc)

    # -- sync and async -----------------------------------------------------------------------

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """`func` callable from sync code: a sync function as it is, an async one via `async_to_sync`.

        Extensions call it from plain functions (Flask-Login's `login_required` wraps an
        async view so). asyncflask runs such a plain function in the request's worker thread,
        where the async function then runs on the event loop while the thread waits. Called
        on the event loop itself, where nothing may block, the coroutine is returned instead,
        and asyncflask awaits what a view or hook returns.
        """
        return also_sync(func) if asyncio.iscoroutinefunction(func) else func

    def async_to_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """A sync function that runs the coroutine function `func` on the event loop and waits.

        Only sync code that asyncflask runs in a worker thread (a `def` view or hook) can call
        it: the event loop is then free to run the coroutine, with the same `request` and `g`.
        """

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            if calling_loop() is None:
                raise RuntimeError(
                    f"{getattr(func, '__name__', func)!r} is async and was called from code that is not"
                    " running in one of asyncflask's worker threads. Await it instead, or call it from a"
                    " plain `def` view or hook."
                )
            return wait_on_loop(func, *args, **kwargs)

        return run

    # -- contexts, config, files --------------------------------------------------------------

    def request_context(self, scope: Scope, receive: Receive | None = None) -> AppContext:
        """A request context for an ASGI HTTP scope: `async with app.request_context(scope):`.

        Args:
            scope: the connection's scope.
            receive: where the body comes from (none by default: an empty body).
        """
        from .ctx import AppContext

        async def no_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        app = cast("AsyncFlask", self)
        request = self.request_class(scope, receive or no_body, app)
        ctx = AppContext(app, request)
        self._handler.bind_request(ctx, request)
        return ctx

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """The Cache-Control max age `send_file` uses: `SEND_FILE_MAX_AGE_DEFAULT`, in seconds."""
        value = self.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if value is None:
            return None
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        return int(value)


def returns_awaitable(method: Callable[..., Any]) -> bool:
    """Whether calling an app method on the event loop gives something to await.

    True for async methods and asyncflask's own awaitable ones; False for a plain function
    an extension put in its place (that one runs in the context's worker thread).
    """
    function = getattr(method, "__func__", method)
    return function in _AWAITABLE_METHODS or asyncio.iscoroutinefunction(function)


_AWAITABLE_METHODS = {AppMethods.handle_user_exception, AppMethods.handle_exception}
