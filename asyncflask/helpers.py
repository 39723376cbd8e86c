"""Helpers used in views: url_for, redirect, abort, make_response, jsonify."""

from __future__ import annotations

import functools
import html
import inspect
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import signals
from .exceptions import abort
from .globals import _cv_context
from .routing import BuildError
from .sending import send_file, send_from_directory
from .threads import also_sync

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .ctx import AppContext
    from .wrappers import Response

__all__ = [
    "abort",
    "build_url",
    "flash",
    "get_flashed_messages",
    "jsonify",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "url_for",
]

_LOCATION_SAFE = "/#%[]=:;$&()+,!?*@'~"
_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"


def _current_app() -> AsyncFlask:
    ctx = _cv_context.get(None)
    if ctx is None:
        raise RuntimeError(
            "Working outside of application context. url_for() needs an app: call it inside a"
            " request, inside 'async with app.app_context():', or use app.url_for(...)."
        )
    return ctx.app


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: Any,
) -> str:
    """Build the URL of an endpoint.

    Args:
        endpoint: the endpoint name; `".name"` is relative to the current blueprint.
        _anchor: a fragment to append (`#...`).
        _method: pick the rule that serves this method.
        _scheme: the scheme of the URL; it makes the URL external (with `_external=False`
            it is a `ValueError`).
        _external: build an absolute URL (scheme and host from the request, or from
            `PREFERRED_URL_SCHEME` and `SERVER_NAME` outside one). `None`, the default, is
            relative inside a request and absolute outside one (in an app context only).
        **values: the rule's variables; others become the query string.

    Returns:
        The URL.

    Raises:
        BuildError: unknown endpoint or missing values.
        ValueError: `_scheme` given with `_external=False`.
    """
    return build_url(_current_app(), endpoint, values, _anchor, _method, _scheme, _external)


def build_url(
    app: AsyncFlask,
    endpoint: str,
    values: dict[str, Any],
    anchor: str | None = None,
    method: str | None = None,
    scheme: str | None = None,
    external: bool | None = None,
) -> str:
    """Build a URL for `app` (the work behind `url_for` and `app.url_for`).

    `external=None` follows Flask: relative inside a request or websocket, absolute
    outside one, and absolute whenever a `scheme` is asked for.
    """
    ctx = _cv_context.get(None)
    request = ctx.request if ctx is not None and ctx.app is app else None
    websocket = ctx.websocket if ctx is not None and ctx.app is app else None
    connection = request if request is not None else websocket
    if endpoint.startswith("."):
        blueprint = connection.blueprint if connection is not None else None
        endpoint = f"{blueprint}{endpoint}" if blueprint else endpoint[1:]
    if external is None:
        external = connection is None or scheme is not None
    if scheme is not None and not external:
        raise ValueError("When specifying '_scheme', '_external' must be True.")
    values = dict(values)
    app.inject_url_defaults(endpoint, values)
    try:
        rule, host, path = app.url_map.build(endpoint, values, method)
    except BuildError as error:
        values.update(_anchor=anchor, _method=method, _scheme=scheme, _external=external)
        return app.handle_url_build_error(error, endpoint, values)
    if connection is not None:
        root = connection.script_root
    else:
        root = str(app.config["APPLICATION_ROOT"] or "/").rstrip("/")
    url = quote(root, safe="/:@!$&'()*+,;=~") + path
    if anchor is not None:
        url += "#" + quote(anchor, safe=_ANCHOR_SAFE)
    # A host rule built for the host the request came in on stays a relative URL.
    same_host = (
        host is not None
        and connection is not None
        and (
            host.lower() == connection.host.lower()
            or (":" not in host and connection.host.lower().rpartition(":")[0] == host.lower())
        )
    )
    if not external and (host is None or same_host):
        return url
    if connection is not None:
        server = connection.host
        default_scheme = connection.scheme
    else:
        server = app.config["SERVER_NAME"]
        if not server:
            raise RuntimeError(
                "Unable to build URLs outside an active request without 'SERVER_NAME' configured."
                " Also configure 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME' as needed."
            )
        default_scheme = app.config["PREFERRED_URL_SCHEME"]
    if host is not None and not same_host:
        server = host
    scheme = scheme or default_scheme
    if rule.websocket:
        scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    elif scheme in ("ws", "wss"):
        scheme = {"ws": "http", "wss": "https"}[scheme]
    return f"{scheme}://{server}{url}"


def redirect(location: str, code: int = 302, Response: type[Response] | None = None) -> Response:
    """A redirect response to `location` (302 by default), with a small HTML body.

    Inside an app, `app.redirect` makes it.

    Args:
        location: the target URL (non-ASCII characters are percent-encoded).
        code: 301, 302, 303, 307 or 308.
        Response: the response class to use.
    """
    if Response is None:
        ctx = _cv_context.get(None)
        if ctx is not None:
            # Through the app, so a subclass's `redirect` applies, as in Flask.
            return ctx.app.redirect(location, code)
        from .wrappers import Response as DefaultResponse

        Response = DefaultResponse
    return build_redirect(location, code, Response)


def build_redirect(location: str, code: int, Response: type[Response]) -> Response:
    """The redirect response itself, with the Location percent-encoded as a URI."""
    target = quote(location, safe=_LOCATION_SAFE)
    shown = html.escape(location)
    body = (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
        f'<p>You should be redirected automatically to the target URL: <a href="{html.escape(target)}">'
        f"{shown}</a>. If not, click the link.\n"
    )
    return Response(body, status=code, headers={"Location": target})


@also_sync
async def make_response(*args: Any) -> Any:
    """A response object from view-style return values, to add headers before returning it.

    `await make_response()` gives an empty response; one argument is converted as a view's
    return value; several are treated as a tuple `(body, status, headers)`.
    """
    app = _current_app()
    if not args:
        return app.response_class()
    return app.make_response(args[0] if len(args) == 1 else args)


def jsonify(*args: Any, **kwargs: Any) -> Response:
    """A JSON response: one value as it is, several as a list, keywords as an object."""
    return _current_app().json.response(*args, **kwargs)


# Where a request keeps the messages it took out of the session (see get_flashed_messages).
_FLASHES_ATTR = "_asyncflask_flashes"


def _connection_context(name: str) -> tuple[AppContext, Any]:
    ctx = _cv_context.get(None)
    connection = None if ctx is None else ctx.request if ctx.request is not None else ctx.websocket
    if ctx is None or connection is None:
        raise RuntimeError(
            f"{name}() uses the session, which exists only while a request is handled; in a test,"
            " use 'async with app.test_request_context(\"/\"):'."
        )
    return ctx, connection


@also_sync
async def flash(message: str, category: str = "message") -> None:
    """Store a message in the session for a later request to show (`get_flashed_messages`).

    Args:
        message: the message text.
        category: a label for the message, such as `"message"`, `"error"`, `"info"`, `"warning"`.
    """
    ctx = _connection_context("flash")[0]
    session = ctx.session
    # Reassigned rather than appended in place, so the session sees the change (and a
    # server-side session interface stores it).
    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    if signals.message_flashed.receivers:
        await signals.send(signals.message_flashed, ctx.app, message=message, category=category)


def get_flashed_messages(
    with_categories: bool = False, category_filter: Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """Take the flashed messages out of the session; later calls in the same request get the same ones.

    Args:
        with_categories: return `(category, message)` pairs instead of messages.
        category_filter: only messages in these categories.

    Returns:
        The messages (or pairs), oldest first.
    """
    ctx, connection = _connection_context("get_flashed_messages")
    flashes: list[tuple[str, str]] | None = getattr(connection, _FLASHES_ATTR, None)
    if flashes is None:
        session = ctx.session
        flashes = session.pop("_flashes") if "_flashes" in session else []
        setattr(connection, _FLASHES_ATTR, flashes)
    if category_filter:
        flashes = [item for item in flashes if item[0] in category_filter]
    if not with_categories:
        return [item[1] for item in flashes]
    return flashes


def stream_with_context(generator_or_function: Any) -> Any:
    """Bind a generator (sync or async) to the current request context, for streaming it.

    asyncflask keeps the request context while a streamed response is sent anyway; this
    also makes `request`, `g` and `session` work when the generator is iterated elsewhere,
    e.g. in another task. Used on a generator function (as a decorator), it binds each
    generator the function makes, at the time it is called.

    Raises:
        RuntimeError: there is no request context to bind to.
    """
    if not isinstance(generator_or_function, (Iterator, AsyncIterator)):
        function: Callable[..., Any] = generator_or_function

        @functools.wraps(function)
        def bound_function(*args: Any, **kwargs: Any) -> Any:
            return stream_with_context(function(*args, **kwargs))

        return bound_function
    ctx = _cv_context.get(None)
    if ctx is None or (ctx.request is None and ctx.websocket is None):
        raise RuntimeError(
            "stream_with_context needs an active request context; call it in the view that returns"
            " the stream."
        )
    if isinstance(generator_or_function, AsyncIterator):
        return _bind_async(generator_or_function, ctx)
    return _bind_sync(generator_or_function, ctx)


async def _bind_async(stream: AsyncIterator[Any], ctx: Any) -> AsyncIterator[Any]:
    try:
        while True:
            # Bound around each step only: a token must be reset in the context that made it.
            token = _cv_context.set(ctx)
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                return
            finally:
                _cv_context.reset(token)
            yield chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            token = _cv_context.set(ctx)
            try:
                await aclose()
            finally:
                _cv_context.reset(token)


def _bind_sync(stream: Iterator[Any], ctx: Any) -> Iterator[Any]:
    try:
        while True:
            token = _cv_context.set(ctx)
            try:
                chunk = next(stream)
            except StopIteration:
                return
            finally:
                _cv_context.reset(token)
            yield chunk
    finally:
        close = getattr(stream, "close", None)
        if close is not None and inspect.isgenerator(stream):
            token = _cv_context.set(ctx)
            try:
                close()
            finally:
                _cv_context.reset(token)
