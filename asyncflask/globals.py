"""The context variable behind every context-local proxy, and the proxies themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .ctx import AppContext, _AppCtxGlobals
    from .sessions import SessionMixin
    from .wrappers import Request, Websocket

# One variable holds the current context; a request context *is* an app context that also
# carries a request, so there is a single thing to push, copy and pop.
_cv_context: ContextVar[AppContext] = ContextVar("asyncflask.context")

_NO_APP = (
    "Working outside of application context. Code that needs the current app (current_app, g,"
    " url_for) has to run inside a request or inside 'async with app.app_context():'."
)
_NO_REQUEST = (
    "Working outside of request context. 'request' and 'session' exist only while a request is"
    " handled; in a test, use 'async with app.test_request_context(\"/\"):'."
)
_NO_WEBSOCKET = (
    "Working outside of websocket context. 'websocket' exists only inside a view registered"
    " with @app.websocket(...)."
)


def _context_or_raise(message: str) -> AppContext:
    ctx = _cv_context.get(None)
    if ctx is None:
        raise RuntimeError(message)
    return ctx


def _find_app() -> AsyncFlask:
    return _context_or_raise(_NO_APP).app


def _find_g() -> _AppCtxGlobals:
    return _context_or_raise(_NO_APP).g


def _find_request() -> Request:
    request = _context_or_raise(_NO_REQUEST).request
    if request is None:
        raise RuntimeError(_NO_REQUEST)
    return request


def _find_session() -> SessionMixin:
    ctx = _context_or_raise(_NO_REQUEST)
    if ctx.request is None and ctx.websocket is None:
        raise RuntimeError(_NO_REQUEST)
    return ctx.session


def _find_websocket() -> Websocket:
    websocket = _context_or_raise(_NO_WEBSOCKET).websocket
    if websocket is None:
        raise RuntimeError(_NO_WEBSOCKET)
    return websocket


class ContextProxy:
    """Forwards every operation to the object its getter finds in the current context."""

    __slots__ = ("__getter", "__name")

    def __init__(self, getter: Callable[[], Any], name: str) -> None:
        object.__setattr__(self, "_ContextProxy__getter", getter)
        object.__setattr__(self, "_ContextProxy__name", name)

    def _get_current_object(self) -> Any:
        """The real object behind the proxy (raises outside its context)."""
        return self.__getter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__getter(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__getter(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.__getter(), name)

    def __getitem__(self, key: Any) -> Any:
        return self.__getter()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__getter()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.__getter()[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.__getter()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.__getter())

    def __len__(self) -> int:
        return len(self.__getter())

    def __bool__(self) -> bool:
        try:
            return bool(self.__getter())
        except RuntimeError:
            return False

    def __eq__(self, other: object) -> bool:
        return bool(self.__getter() == other)

    def __ne__(self, other: object) -> bool:
        return bool(self.__getter() != other)

    def __hash__(self) -> int:
        return hash(self.__getter())

    # `isinstance(current_app, AsyncFlask)` and `isinstance(request, Request)` hold, as with
    # Werkzeug's proxies; unbound, the proxy is just a proxy.
    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        try:
            return type(self.__getter())
        except RuntimeError:
            return type(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__getter()(*args, **kwargs)

    def __str__(self) -> str:
        return str(self.__getter())

    def __repr__(self) -> str:
        try:
            return repr(self.__getter())
        except RuntimeError:
            return f"<unbound {self.__name}>"

    def __dir__(self) -> list[str]:
        try:
            return dir(self.__getter())
        except RuntimeError:
            return []


current_app: AsyncFlask = cast("AsyncFlask", ContextProxy(_find_app, "current_app"))
g: _AppCtxGlobals = cast("_AppCtxGlobals", ContextProxy(_find_g, "g"))
request: Request = cast("Request", ContextProxy(_find_request, "request"))
session: SessionMixin = cast("SessionMixin", ContextProxy(_find_session, "session"))
websocket: Websocket = cast("Websocket", ContextProxy(_find_websocket, "websocket"))
