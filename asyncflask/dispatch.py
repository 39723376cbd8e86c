"""The Flask part of serving a request: context, hooks, view, response, errors, teardown.

Everything that can be worked out before the first request (which hooks run for an
endpoint, in which order, and whether they need a worker thread) is computed once per
endpoint into a `HandlerChain`; the per-request path only walks those tuples.
"""

from __future__ import annotations

import asyncio
import functools
import html
import inspect
import sys
import traceback
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response as StarletteResponse
from starlette.responses import StreamingResponse
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.wrappers import Response as WSGIResponse

from . import flask_context, signals
from .after_response import AfterResponse
from .app_methods import overrides_pipeline, overrides_teardown, returns_awaitable
from .ctx import PRESERVE_CONTEXT, AppContext
from .exceptions import HTTPException, InternalServerError, NotFound, error_response
from .globals import _cv_context
from .routing import RequestRedirect
from .scaffold import is_async_callable
from .sessions import open_with, opens_lazily, save_with
from .wrappers import Response, _status_code

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .wrappers import Request

__all__ = ["HandlerChain", "RequestHandler", "ensure_async"]

_HTML_TYPE = b"text/html; charset=utf-8"

AsyncFunc = Callable[..., Any]


def ensure_async(func: Callable[..., Any]) -> AsyncFunc:
    """An async callable for `func`: async functions as they are, sync ones in a worker thread.

    Inside a context, every sync function runs on that context's one worker thread, in a
    copy of the current context, so `request`, `g` and `current_app` work inside plain `def`
    views and hooks, and so do thread-bound resources kept in `g`.
    """
    if is_async_callable(func):
        return func
    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def start_generator(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return start_generator

    @functools.wraps(func)
    async def run_sync(*args: Any, **kwargs: Any) -> Any:
        ctx = _cv_context.get(None)
        if ctx is not None:
            # All sync code of one context runs on its own thread (see threads.py).
            result = await ctx.run_sync(func, *args, **kwargs)
        else:
            result = await run_in_threadpool(func, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    return run_sync


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _blueprint_names(endpoint: str | None) -> tuple[str, ...]:
    """`"a.b.view"` → `("a.b", "a")`: the endpoint's blueprints, innermost first."""
    if not endpoint or "." not in endpoint:
        return ()
    parts = endpoint.rpartition(".")[0].split(".")
    return tuple(".".join(parts[:i]) for i in range(len(parts), 0, -1))


@dataclass(slots=True)
class HandlerChain:
    """Everything one endpoint needs per request, resolved once."""

    endpoint: str | None
    blueprints: tuple[str, ...]
    view: AsyncFunc | None
    url_value_preprocessors: tuple[Callable[..., Any], ...]
    before_request: tuple[AsyncFunc, ...]
    after_request: tuple[AsyncFunc, ...]
    teardown_request: tuple[AsyncFunc, ...]
    before_websocket: tuple[AsyncFunc, ...]
    after_websocket: tuple[AsyncFunc, ...]
    url_defaults: tuple[Callable[..., Any], ...]
    context_processors: tuple[AsyncFunc, ...]


class RequestHandler(AfterResponse):
    """Serves the ASGI scopes of one app (http, websocket, lifespan)."""

    def __init__(self, app: AsyncFlask) -> None:
        self.app = app
        self.mounts: list[Mount] = []
        self.fallback: ASGIApp | None = None
        self._chains: dict[str | None, HandlerChain] = {}
        self._handlers: dict[tuple[type[BaseException], tuple[str, ...]], AsyncFunc | None] = {}
        self._teardown_appcontext: tuple[AsyncFunc, ...] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        # Whether a subclass overrides a pipeline method (then requests go through them).
        self._via_methods = overrides_pipeline(type(app))
        self._custom_teardown = overrides_teardown(type(app))
        self._preload = False  # `PRELOAD_BODY`, decided when serving starts (`prepare`)

    # -- precomputation -----------------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget precomputed chains (a registry changed)."""
        self._chains.clear()
        self._handlers.clear()
        self._teardown_appcontext = None

    def prepare(self) -> None:
        """Resolve every endpoint's chain before serving starts."""
        self.app.url_map.server_name = self.app.config["SERVER_NAME"]
        for endpoint in [None, *self.app.view_functions]:
            self.chain_for(endpoint)
        preload = self.app.config["PRELOAD_BODY"]
        # None: on once a Flask extension is in use (it reads request.form without await);
        # extensions are imported before the app serves.
        self._preload = bool("flask.globals" in sys.modules if preload is None else preload)
        flask_context.forward_flask_signals()

    def chain_for(self, endpoint: str | None) -> HandlerChain:
        """The precomputed chain of an endpoint (`None`: no rule matched)."""
        chain = self._chains.get(endpoint)
        if chain is None:
            chain = self._chains[endpoint] = self._build_chain(endpoint)
        return chain

    def _build_chain(self, endpoint: str | None) -> HandlerChain:
        app = self.app
        inner_first = _blueprint_names(endpoint)
        outer_first = (None, *reversed(inner_first))
        inner_then_app = (*inner_first, None)

        def forward(registry: Mapping[str | None, list[Callable[..., Any]]]) -> list[Callable[..., Any]]:
            return [f for name in outer_first for f in registry.get(name, ())]

        def backward(registry: Mapping[str | None, list[Callable[..., Any]]]) -> list[Callable[..., Any]]:
            return [f for name in inner_then_app for f in reversed(registry.get(name, ()))]

        view = app.view_functions.get(endpoint) if endpoint is not None else None
        return HandlerChain(
            endpoint=endpoint,
            blueprints=inner_first,
            view=ensure_async(view) if view is not None else None,
            url_value_preprocessors=tuple(forward(app.url_value_preprocessors)),
            before_request=tuple(map(ensure_async, forward(app.before_request_funcs))),
            after_request=tuple(map(ensure_async, backward(app.after_request_funcs))),
            teardown_request=tuple(map(ensure_async, backward(app.teardown_request_funcs))),
            before_websocket=tuple(map(ensure_async, forward(app.before_websocket_funcs))),
            after_websocket=tuple(map(ensure_async, backward(app.after_websocket_funcs))),
            url_defaults=tuple(forward(app.url_default_functions)),
            context_processors=tuple(map(ensure_async, forward(app.template_context_processors))),
        )

    def url_defaults_for(self, endpoint: str) -> tuple[Callable[..., Any], ...]:
        """The `url_defaults` functions that apply when building a URL for `endpoint`."""
        return self.chain_for(endpoint).url_defaults

    # -- HTTP ---------------------------------------------------------------------------------

    def bind_request(self, ctx: AppContext, request: Request) -> None:
        """Match the request to a rule, keeping a routing error to raise in the view's place."""
        app = self.app
        try:
            host = request.host if app.config["TRUSTED_HOSTS"] is not None or app.url_map.needs_host else None
            rule, view_args = app.url_map.match(request.path, request.method, host)
        except RequestRedirect as redirect:
            request.routing_exception = redirect
            if redirect.new_url.startswith("/"):
                # Absolute, like Werkzeug, and the query string survives the redirect.
                query = request.query_string.decode("latin-1")
                base, sep, fragment = redirect.new_url.partition("#")
                if query:
                    base += ("&" if "?" in base else "?") + query
                try:
                    redirect.new_url = request.url_root.rstrip("/") + base + sep + fragment
                except HTTPException as error:  # a malformed or untrusted Host
                    request.routing_exception = error
        except HTTPException as error:
            request.routing_exception = error
        else:
            request.url_rule = ctx.rule = rule
            request.view_args = view_args

    async def handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (the ASGI entry for `http` scopes)."""
        if _ambiguous_framing(scope["headers"]):
            await _refuse_ambiguous_framing(scope, receive, send)
            return
        app = self.app
        request = app.request_class(scope, receive, app)
        ctx = AppContext(app, request)
        ctx._served = True
        self.bind_request(ctx, request)
        if isinstance(request.routing_exception, NotFound) and await self.delegate(scope, receive, send):
            return
        await self.serve(ctx, request, scope, receive, send)

    async def delegate(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Hand an unrouted connection to a mounted app or the fallback app, if one takes it."""
        for mount in self.mounts:
            match, child_scope = mount.matches(scope)
            if match is Match.FULL:
                scope.update(child_scope)
                # The mounted app's own URLs are built from its mount point.
                scope["app_root_path"] = scope["root_path"]
                await mount.handle(scope, receive, send)
                return True
        if self.fallback is not None and scope["type"] == "http":
            await self.fallback(scope, receive, send)
            return True
        return False

    async def handle_matched(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request whose rule Starlette's router already matched (`Rule.handle`)."""
        app = self.app
        request = app.request_class(scope, receive, app)
        ctx = AppContext(app, request)
        ctx._served = True
        request.url_rule = ctx.rule = scope["route"]
        request.view_args = dict(scope.get("path_params", {}))
        await self.serve(ctx, request, scope, receive, send)

    async def serve(
        self, ctx: AppContext, request: Request, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run the Flask pipeline for a bound request and send the response."""
        app = self.app
        chain = self.chain_for(ctx.rule.endpoint if ctx.rule is not None else None)
        # `ctx.push()`, inlined: this runs for every request.
        ctx._tokens.append(_cv_context.set(ctx))
        ctx._flask_bindings.append(flask_context.bind(ctx) if "flask.globals" in sys.modules else None)
        error: BaseException | None = None
        try:
            if signals.appcontext_pushed.receivers:
                await signals.send(signals.appcontext_pushed, app)
            if signals.request_started.receivers:
                await signals.send(signals.request_started, app)
            try:
                if not opens_lazily(app.session_interface):
                    ctx.session = await open_with(app.session_interface, app, request)
                if self._via_methods:
                    response = await app.full_dispatch_request()
                else:
                    response = await self._full_dispatch(ctx, request, chain)
            except Exception as exc:
                error = exc
                response = await self.call_app_method(app.handle_exception, exc)
            if error is not None and app.should_ignore_error(error):
                error = None
            if request.method == "HEAD":
                send = _without_body(send)
            keep = scope.get("extensions", {}).get(PRESERVE_CONTEXT)
            if keep is not None:
                keep(ctx)  # the test client keeps it readable after the request (`with client:`)
            if not _is_streamed(response):
                # Teardown (request, then app context) before a whole response goes out, as in
                # Flask; a stream keeps its context until it ends, and is torn down by `pop`.
                await ctx.teardown_early(error)
            try:
                await response(scope, receive, send)
            except ClientDisconnect:
                pass  # The client went away; there is no one left to tell.
            except OSError as exc:
                if type(exc).__name__ != "ClientDisconnected":  # uvicorn's name for a gone client
                    app.logger.warning("Sending the response to %s failed: %s", request.path, exc)
            except Exception as exc:
                # Headers are already on the wire: a second response is impossible, so log it
                # and let the server cut the connection short.
                error = exc
                if self.propagate():
                    raise
                app.logger.error(
                    "Exception while sending the response to %s [%s]",
                    request.path,
                    request.method,
                    exc_info=(type(exc), exc, exc.__traceback__),
                )
        finally:
            try:
                # Popping the context also starts the background tasks the request added.
                await ctx.pop(error)
            finally:
                if request._files:
                    await request.close()

    async def _full_dispatch(self, ctx: AppContext, request: Request, chain: HandlerChain) -> Any:
        # `full_dispatch_request` and the methods it calls, inlined (nothing is overridden).
        try:
            rv = None
            if self._preload and request.method in _BODY_METHODS:  # `preload_body`, inlined
                await request.preload_body()
            if chain.url_value_preprocessors or chain.before_request:
                rv = await self.preprocess(request, chain)
            if rv is None:
                if request.routing_exception is not None:
                    self.app.raise_routing_exception(request)
                view_args = request.view_args
                if chain.view is not None and request.method != "OPTIONS":
                    rv = await chain.view(**view_args) if view_args else await chain.view()
                else:
                    rv = await self._dispatch_special(request, chain)
        except Exception as exc:
            rv = await self.call_app_method(self.app.handle_user_exception, exc)
        return await self.finalize(ctx, chain, rv)

    async def call_app_method(self, method: Callable[..., Any], *args: Any) -> Any:
        """Call an app method that may have been replaced by an extension's plain function."""
        if returns_awaitable(method):
            return await method(*args)
        return await ensure_async(method)(*args)

    async def preload_body(self, request: Request) -> None:
        """Read a form body before the hooks when `PRELOAD_BODY` says so, for sync code."""
        if self._preload and request.method in _BODY_METHODS:
            await request.preload_body()

    async def preprocess(self, request: Request, chain: HandlerChain) -> Any:
        """Run the URL value preprocessors and `before_request` hooks; the first non-None value."""
        for preprocess in chain.url_value_preprocessors:
            result = preprocess(request.endpoint, request.view_args)
            if inspect.isawaitable(result):
                await result
        for before in chain.before_request:
            rv = await before()
            if rv is not None:
                return rv
        return None

    async def _dispatch_special(self, request: Request, chain: HandlerChain) -> Any:
        """The uncommon dispatch cases: automatic OPTIONS, or a rule without a view."""
        rule = request.url_rule
        assert rule is not None
        if request.method == "OPTIONS" and rule.provide_automatic_options:
            return self.app.make_default_options_response()
        return await self.call_view(request, chain)

    async def call_view(self, request: Request, chain: HandlerChain) -> Any:
        """Call the matched view with the URL's values."""
        if chain.view is None:
            rule = request.url_rule
            endpoint = rule.endpoint if rule is not None else None
            raise RuntimeError(
                f"No view function is registered for the endpoint {endpoint!r}; attach one with"
                f" @app.endpoint({endpoint!r})."
            )
        return await chain.view(**request.view_args) if request.view_args else await chain.view()

    async def finalize(
        self, ctx: AppContext, chain: HandlerChain, rv: Any, from_error_handler: bool = False
    ) -> Any:
        """Make `rv` a response, process it and send `request_finished` (`finalize_request`)."""
        app = self.app
        try:
            if self._via_methods:
                response = await app.process_response(app.make_response(rv))
            else:
                response = self.make_response(rv, chain)
                # Most requests have no hook to run and no session to save: no coroutine then.
                if ctx._after_request_functions or chain.after_request or self._session_to_save(ctx):
                    response = await self.process_response(ctx, chain, response)
            if signals.request_finished.receivers:
                await signals.send(signals.request_finished, app, response=response)
        except Exception:
            if not from_error_handler:
                raise
            app.logger.exception("Request finalizing failed with an error while handling an error")
            response = error_response(InternalServerError())
        return response

    async def process_response(self, ctx: AppContext, chain: HandlerChain, response: Any) -> Any:
        """Run `after_this_request` functions and `after_request` hooks; save the session."""
        for func in ctx._after_request_functions:
            response = await ensure_async(func)(response)
        for after in chain.after_request:
            response = await after(response)
        if self._session_to_save(ctx):
            await save_with(self.app.session_interface, self.app, ctx, response)
        return response

    def _session_to_save(self, ctx: AppContext) -> bool:
        """Whether the session goes into the response: opened, or refreshed untouched."""
        interface = self.app.session_interface
        return ctx._session is not None or (
            opens_lazily(interface) and interface.save_needed_untouched(self.app, ctx)
        )

    # -- return values ------------------------------------------------------------------------

    def make_response(self, rv: Any, chain: HandlerChain | None) -> Any:
        """Turn a view's return value into a response (str, bytes, dict/list, response,
        generator, or a tuple with status and/or headers)."""
        if type(rv) is str:
            response_class = self.app.response_class
            if (
                response_class.__init__ is Response.__init__
                and response_class.default_mimetype == "text/html"
            ):
                return response_class.with_body(rv.encode("utf-8"), _HTML_TYPE)
            return response_class(rv)
        status = headers = None
        if isinstance(rv, tuple):
            if len(rv) == 3:
                rv, status, headers = rv
            elif len(rv) == 2:
                if isinstance(rv[1], (Headers, Mapping, list, tuple)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple. The tuple must have the"
                    " form (body, status, headers), (body, status), or (body, headers)."
                )
        if isinstance(rv, StarletteResponse):
            response = rv
        elif isinstance(rv, (str, bytes, bytearray)):
            response = self.app.response_class(rv, status=status, headers=headers)
            status = headers = None
        elif isinstance(rv, (dict, list)):
            response = self.app.json.response(rv)
        elif isinstance(rv, HTTPException):
            response = error_response(rv)
        elif isinstance(rv, WSGIResponse):
            # Flask code (an extension, `error.get_response()`) returns Werkzeug's response.
            response = self.app.response_class.force_type(rv)
        elif rv is not None and (isinstance(rv, (AsyncIterable, Iterator)) or inspect.isgenerator(rv)):
            response = self.app.response_class(rv)
        else:
            name = chain.endpoint if chain is not None and chain.endpoint else "the view"
            if rv is None:
                raise TypeError(
                    f"The view function for {name!r} did not return a valid response. The function"
                    " either returned None or ended without a return statement."
                )
            raise TypeError(
                f"The view function for {name!r} did not return a valid response. The return type must"
                " be a string, bytes, dict, list, tuple with headers or status, Response instance,"
                f" or a generator, but it was a {type(rv).__name__}."
            )
        if status is not None:
            response.status_code = _status_code(status)
        if headers:
            items = headers.items() if isinstance(headers, (Mapping, Headers)) else headers
            seen: set[str] = set()
            for key, value in items:
                if key.lower() in seen:
                    response.headers.append(key, str(value))
                else:
                    seen.add(key.lower())
                    response.headers[key] = str(value)
        return response

    # -- errors -------------------------------------------------------------------------------

    def propagate(self) -> bool:
        """Whether unhandled errors are raised to the caller (testing) instead of answered with a 500."""
        propagate = self.app.config["PROPAGATE_EXCEPTIONS"]
        return bool(self.app.testing if propagate is None else propagate)

    def find_error_handler(self, error: BaseException, blueprints: tuple[str, ...]) -> AsyncFunc | None:
        """The handler for an error: by status code first, then by class (MRO), blueprint first."""
        key = (type(error), blueprints)
        try:
            return self._handlers[key]
        except KeyError:
            pass
        spec = self.app.error_handler_spec
        code = error.code if isinstance(error, HTTPException) else None
        found = None
        for status in (code, None) if code is not None else (None,):
            for name in (*blueprints, None):
                handler_map = spec.get(name, {}).get(status)
                if not handler_map:
                    continue
                for cls in type(error).__mro__:
                    handler = handler_map.get(cls)
                    if handler is not None:
                        found = ensure_async(handler)
                        break
                if found:
                    break
            if found:
                break
        self._handlers[key] = found
        return found

    async def handle_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the ASGI lifespan protocol with the app's start-up and shutdown work."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.app.shutting_down.arm()
                try:
                    await self.app.startup()
                except Exception:
                    self.app.shutting_down.set()  # puts the server's signal handlers back
                    # Always report the failure, so the server refuses to start.
                    await send({"type": "lifespan.startup.failed", "message": traceback.format_exc()})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # Servers send this only once their connections are done; a notice not given
                # by a signal already is given now, for the streams that outlive the server.
                self.app.shutting_down.set()
                try:
                    await self.app.shutdown()
                except Exception:
                    await send({"type": "lifespan.shutdown.failed", "message": traceback.format_exc()})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a websocket connection."""
        from .websockets import serve_websocket

        await serve_websocket(self, scope, receive, send)


def _is_streamed(response: Any) -> bool:
    return isinstance(response, StreamingResponse) or bool(getattr(response, "is_streamed", False))


def _ambiguous_framing(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a request has both Content-Length and Transfer-Encoding (RFC 9112 section 6.1).

    A proxy and the server may then disagree on where the body ends: the shape of request
    smuggling. Servers pass the headers on lower-cased, as ASGI requires.
    """
    length = chunked = False
    for name, _ in headers:
        if name == b"content-length":
            length = True
        elif name == b"transfer-encoding":
            chunked = True
    return length and chunked


async def _refuse_ambiguous_framing(scope: Scope, receive: Receive, send: Send) -> None:
    # `Connection: close` makes the server drop the connection after this answer, so whatever
    # follows on it is never read as a second request.
    response = Response(
        "Bad Request: a request must not have both Content-Length and Transfer-Encoding.",
        status=400,
        headers={"Connection": "close"},
        mimetype="text/plain",
    )
    await response(scope, receive, send)


def _without_body(send: Send) -> Send:
    """A `send` that keeps the headers of a response but drops its body (for HEAD)."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)

    return send_head


def debug_page(error: BaseException) -> Response:
    """The 500 page of debug mode: the traceback, escaped."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    body = (
        "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error (debug)</title>\n"
        f"<h1>{html.escape(type(error).__name__)}: {html.escape(str(error))}</h1>\n"
        f"<pre>{html.escape(text)}</pre>\n"
    )
    return Response(body, status=500)
