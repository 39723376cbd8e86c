"""Application and request contexts: what `current_app`, `g`, `request` and `session` point to."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from . import flask_context, signals, threads
from .globals import _cv_context

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .routing import Rule
    from .sessions import SessionMixin
    from .threads import WorkerThread
    from .wrappers import Request, Response, Websocket

#: ASGI scope extension a test client sets to be handed each request's context, kept.
PRESERVE_CONTEXT = "asyncflask.preserve_context"

P = ParamSpec("P")
R = TypeVar("R")

_sentinel = object()


class _AppCtxGlobals:
    """The `g` object: a plain namespace that lives for one request or app context."""

    # Declared so type checkers accept any attribute on `g`, as with Flask's.
    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        """The attribute `name`, or `default` when it is not set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: Any = _sentinel) -> Any:
        """Remove and return the attribute `name` (`default` if missing, else `KeyError`)."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: Any = None) -> Any:
        """The attribute `name`, set to `default` first when missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_context.get(None)
        if ctx is not None:
            return f"<asyncflask.g of {ctx.app.name!r}>"
        return object.__repr__(self)


class AppContext:
    """The state of one request (or of app-only work): the app, `g`, and the request if any.

    A request context is an app context with a request: one object, one context variable.
    Push it with `async with` (or `push()` / `await pop()` by hand).
    """

    # `__dict__` too: Flask extensions keep their own per-request state as attributes of
    # the context they see (Flask-Limiter does), as they can on Flask's.
    __slots__ = (
        "__dict__",
        "_after_request_functions",
        "_flask_bindings",
        "_served",
        "_session",
        "_tokens",
        "_sync_worker",
        "_torn_down",
        "app",
        "background_tasks",
        "g",
        "request",
        "rule",
        "websocket",
    )

    def __init__(
        self,
        app: AsyncFlask,
        request: Request | None = None,
        websocket: Websocket | None = None,
    ) -> None:
        self.app = app
        self.request = request
        self.websocket = websocket
        self.g: _AppCtxGlobals = app.app_ctx_globals_class()
        self.rule: Rule | None = None
        self._session: SessionMixin | None = None
        self._after_request_functions: list[Callable[[Response], Any]] = []
        self.background_tasks: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self._tokens: list[Token[AppContext]] = []
        #: Run by the framework (a request, websocket, background task, lifespan) rather than
        #: pushed by the app's own code (a test, a CLI command).
        self._served = False
        self._flask_bindings: list[flask_context.FlaskBinding | None] = []
        self._torn_down = False
        self._sync_worker: WorkerThread | None = None

    @property
    def session(self) -> SessionMixin:
        """The session, opened from the request on first use."""
        if self._session is None:
            self._session = self.app.session_interface.open_session_now(self.app, self)
        return self._session

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    @property
    def session_opened(self) -> bool:
        """Whether the session was opened during this request."""
        return self._session is not None

    def push(self) -> None:
        """Make this the current context (sync; pair it with `await pop()`)."""
        self._tokens.append(_cv_context.set(self))
        self._flask_bindings.append(flask_context.bind(self))

    async def pop(self, exc: BaseException | None = None) -> None:
        """Run teardown functions (on the last pop) and restore the previous context.

        Args:
            exc: the exception that ended the work, passed to teardown functions.
        """
        if not self._tokens:
            raise RuntimeError("This context was popped more often than it was pushed.")
        try:
            if len(self._tokens) == 1 and not self._torn_down and self.app._handler.needs_teardown(self):
                await self.app.do_teardown(self, exc)
        finally:
            binding = self._flask_bindings.pop()
            if binding is not None:
                flask_context.unbind(binding)
            _cv_context.reset(self._tokens.pop())
            if not self._tokens and self._sync_worker is not None:
                worker, self._sync_worker = self._sync_worker, None
                threads.give_back(worker)
            if not self._tokens and signals.appcontext_popped.receivers:
                await signals.send(signals.appcontext_popped, self.app)
            if not self._tokens and self.background_tasks:
                # The work is over (for a served request, the response is out): start the
                # background tasks it added, so none is lost, e.g. from test_request_context.
                tasks = list(self.background_tasks)
                self.background_tasks.clear()
                for func, args, kwargs in tasks:
                    self.app.add_background_task(func, *args, **kwargs)

    async def run_sync(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a sync function on this context's own worker thread (borrowed on first use).

        Every sync hook, view and teardown function of one request runs on the same thread,
        so thread-bound resources kept in `g` (a `sqlite3` connection) work across them.
        In a context the app's own code pushed (`async with app.app_context():` in a test or
        a command), they run right here instead, on the thread of that code, as in Flask:
        what it opened there (`get_db()`) is closed there by the teardown functions.
        """
        if not self._served:
            return func(*args, **kwargs)
        worker = self._sync_worker
        if worker is None:
            worker = await threads.borrow()
            if self._sync_worker is None:
                self._sync_worker = worker
            else:  # two calls raced to borrow: keep the first thread
                threads.give_back(worker)
                worker = self._sync_worker
        return await worker.run(func, *args, **kwargs)

    async def teardown_early(self, exc: BaseException | None = None) -> None:
        """Run the teardown functions now, while the context stays pushed; `pop` then skips them.

        A served request does this before sending a response that is not streamed, as Flask
        does: what teardown commits is visible to the client's next request.
        """
        self._torn_down = True
        if self.app._handler.needs_teardown(self):
            await self.app.do_teardown(self, exc)

    async def __aenter__(self) -> AppContext:
        self.push()
        if signals.appcontext_pushed.receivers:
            await signals.send(signals.appcontext_pushed, self.app)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.pop(exc)

    def copy(self) -> AppContext:
        """A new context for the same app, request, `g` and session (for spawned tasks).

        Background tasks added through the copy join this context's, so they still start
        after the response; after-request functions stay with the original.
        """
        other = AppContext(self.app, self.request, self.websocket)
        other._served = self._served
        other.g = self.g
        other.rule = self.rule
        other._session = self._session
        other.background_tasks = self.background_tasks
        return other

    def __repr__(self) -> str:
        what = self.request or self.websocket
        where = f" {what.method} {what.url}" if what is not None and hasattr(what, "method") else ""
        return f"<AppContext of {self.app.name!r}{where}>"


def has_app_context() -> bool:
    """Whether an app context (or a request context) is active."""
    return _cv_context.get(None) is not None


def has_request_context() -> bool:
    """Whether a request is being handled in the current context."""
    ctx = _cv_context.get(None)
    return ctx is not None and ctx.request is not None


def has_websocket_context() -> bool:
    """Whether a websocket is being handled in the current context."""
    ctx = _cv_context.get(None)
    return ctx is not None and ctx.websocket is not None


def after_this_request(f: Callable[[Response], Any]) -> Callable[[Response], Any]:
    """Run `f(response)` after this request's view; it returns the response to send.

    Args:
        f: a sync or async function taking and returning a response.

    Returns:
        `f` itself, so this works as a decorator.
    """
    ctx = _cv_context.get(None)
    if ctx is None or ctx.request is None:
        raise RuntimeError(
            "'after_this_request' can only be used while a request is handled, for example inside a view."
        )
    ctx._after_request_functions.append(f)
    return f


def _copy_context_decorator(need_request: bool) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        ctx = _cv_context.get(None)
        if ctx is None or (need_request and ctx.request is None and ctx.websocket is None):
            name, kind = ("request", "request") if need_request else ("app", "application")
            raise RuntimeError(
                f"copy_current_{name}_context needs an active {kind} context to copy; decorate the"
                f" function while the {kind} context is active (for example in a view), then run it"
                " elsewhere."
            )
        copied = ctx.copy()
        # Each call binds the copy with its own token: the same decorated function may run in
        # several tasks at once, and a token can only be reset in the context that made it.
        # The original owner tears the context down; a call only unbinds itself.
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                token = _cv_context.set(copied)
                binding = flask_context.bind(copied)
                try:
                    return await func(*args, **kwargs)
                finally:
                    if binding is not None:
                        flask_context.unbind(binding)
                    _cv_context.reset(token)

            return cast("Callable[P, R]", async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            token = _cv_context.set(copied)
            binding = flask_context.bind(copied)
            try:
                return func(*args, **kwargs)
            finally:
                if binding is not None:
                    flask_context.unbind(binding)
                _cv_context.reset(token)

        return wrapper

    return decorator


def copy_current_app_context(func: Callable[P, R]) -> Callable[P, R]:
    """Bind `func` to the current app context, so it can run later in another task or thread.

    Args:
        func: an async or a plain function.

    Returns:
        A function of the same kind that runs `func` with this app context.
    """
    return _copy_context_decorator(False)(func)


def copy_current_request_context(func: Callable[P, R]) -> Callable[P, R]:
    """Bind `func` to the current request context, so it can run later in another task or thread.

    Args:
        func: an async or a plain function.

    Returns:
        A function of the same kind that runs `func` with this request, `g` and session.
    """
    return _copy_context_decorator(True)(func)
