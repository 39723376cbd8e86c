"""Sessions: a dict kept in a signed cookie, in the same format Flask uses.

An asyncflask app and a Flask app with the same `SECRET_KEY` read each other's session
cookies. Replace `app.session_interface` with another `SessionInterface` to keep sessions
elsewhere (a server-side store).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from itsdangerous import BadData, BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from .json.tag import TaggedJSONSerializer
from .wrappers.headers import HeaderAccessors

if TYPE_CHECKING:
    from starlette.responses import Response as StarletteResponse

    from .app import AsyncFlask
    from .ctx import AppContext
    from .wrappers import Request

__all__ = [
    "BadSignature",
    "CallbackDict",
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "session_json_serializer",
]

session_json_serializer = TaggedJSONSerializer()

_NO_SECRET_KEY = (
    "The session is unavailable because no secret key was set. Set the SECRET_KEY config value"
    " (app.secret_key = ...) to a long random string to use the session."
)
# http.cookies knows the Partitioned attribute from Python 3.14 on; Starlette refuses it before.
_NATIVE_PARTITIONED = sys.version_info >= (3, 14)
_SAMESITE_VALUES = ("strict", "lax", "none")


class SessionMixin(MutableMapping[str, Any]):
    """What every session offers besides being a dict: `permanent`, `new`, `modified`, `accessed`."""

    #: Whether the session was just created (not every backend can tell; False by default).
    new = False
    #: Whether the session changed and must be saved. Backends that cannot tell say True.
    modified = True
    #: Whether the session was read or written (then the response gets `Vary: Cookie`).
    accessed = True

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session (`PERMANENT_SESSION_LIFETIME`)."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)


class SecureCookieSession(dict[str, Any], SessionMixin):
    """The session dict: records reads (`accessed`) and writes (`modified`).

    Only the dict itself is watched: after changing a nested value in place
    (`session["cart"].append(x)`), set `session.modified = True` so it is saved.
    """

    modified = False
    accessed = False

    def __init__(self, initial: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        super().__init__(initial or ())

    def _changed(self) -> None:
        self.modified = True
        self.accessed = True

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def __eq__(self, other: object) -> bool:
        self.accessed = True
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        self.accessed = True
        return super().__ne__(other)

    def keys(self) -> Any:
        self.accessed = True
        return super().keys()

    def values(self) -> Any:
        self.accessed = True
        return super().values()

    def items(self) -> Any:
        self.accessed = True
        return super().items()

    def copy(self) -> dict[str, Any]:
        self.accessed = True
        return dict(super().items())

    # Writes count only once they succeed, and removing a missing key or setting a default
    # that already exists is no change (as in Werkzeug's CallbackDict, which Flask uses).

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        changed = not super().__contains__(key)
        value = super().setdefault(key, default)
        if changed:
            self._changed()
        return value

    def pop(self, key: str, *default: Any) -> Any:
        self.accessed = True
        changed = super().__contains__(key)
        value = super().pop(key, *default)
        if changed:
            self._changed()
        return value

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def __ior__(self, other: Any) -> SecureCookieSession:  # type: ignore[override,misc]
        super().__ior__(other)
        self._changed()
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


class NullSession(SecureCookieSession):
    """The session when no `SECRET_KEY` is set: readable (empty), but writing raises."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(_NO_SECRET_KEY)

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail
    __ior__ = _fail
    del _fail


class SessionInterface:
    """How sessions are loaded and saved; subclass it to store them elsewhere.

    Implement `open_session` and `save_session` (both async). The `get_cookie_*` helpers
    read the `SESSION_COOKIE_*` config keys. Sessions are opened when a request starts,
    unless `open_lazily` says the interface can open them synchronously on first use.
    """

    #: The class of the stand-in session used when `open_session` returns None.
    null_session_class: type[SecureCookieSession] = NullSession
    #: Whether the interface pickles sessions (extensions may care).
    pickle_based = False
    #: True when `open_session_now` can open the session synchronously on first access, so
    #: requests that never touch the session never pay for it.
    open_lazily = False

    def make_null_session(self, app: AsyncFlask) -> SecureCookieSession:
        """The stand-in session used when the real one cannot be opened."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Whether `obj` is the null session (then nothing is saved)."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: AsyncFlask) -> str:
        """`SESSION_COOKIE_NAME`."""
        return str(app.config["SESSION_COOKIE_NAME"])

    def get_cookie_domain(self, app: AsyncFlask) -> str | None:
        """`SESSION_COOKIE_DOMAIN` (None: the cookie is for the exact host)."""
        return app.config["SESSION_COOKIE_DOMAIN"] or None

    def get_cookie_path(self, app: AsyncFlask) -> str:
        """`SESSION_COOKIE_PATH`, else `APPLICATION_ROOT`."""
        return str(app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"] or "/")

    def get_cookie_httponly(self, app: AsyncFlask) -> bool:
        """`SESSION_COOKIE_HTTPONLY`."""
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: AsyncFlask) -> bool:
        """`SESSION_COOKIE_SECURE`."""
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_samesite(self, app: AsyncFlask) -> str | None:
        """`SESSION_COOKIE_SAMESITE`: `"Strict"`, `"Lax"`, `"None"` or None (no attribute)."""
        return app.config["SESSION_COOKIE_SAMESITE"] or None

    def get_cookie_partitioned(self, app: AsyncFlask) -> bool:
        """`SESSION_COOKIE_PARTITIONED`."""
        return bool(app.config.get("SESSION_COOKIE_PARTITIONED", False))

    def get_expiration_time(self, app: AsyncFlask, session: SessionMixin) -> datetime | None:
        """When a permanent session's cookie expires (None for a browser-session cookie)."""
        if session.permanent:
            return datetime.now(timezone.utc) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: AsyncFlask, session: SessionMixin) -> bool:
        """Send the cookie when the session changed, or when a permanent one is refreshed."""
        return session.modified or (session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"]))

    async def open_session(self, app: AsyncFlask, request: Request) -> SessionMixin | None:
        """Load the session for a request (None: use the null session)."""
        raise NotImplementedError

    async def save_session(self, app: AsyncFlask, session: SessionMixin, response: StarletteResponse) -> None:
        """Store the session and set whatever the response needs (a cookie)."""
        raise NotImplementedError

    def open_session_now(self, app: AsyncFlask, ctx: AppContext) -> SessionMixin:
        """Open the session synchronously on first access (only when `open_lazily`)."""
        raise RuntimeError(
            f"{type(self).__name__} opens sessions when a request starts; the session can only be"
            " used inside a request."
        )

    async def open_session_async(self, app: AsyncFlask, request: Request) -> SessionMixin:
        """`open_session`, with the null session in place of None."""
        session = await self.open_session(app, request)
        return session if session is not None else self.make_null_session(app)

    def refresh_untouched(self, app: AsyncFlask, request: Request) -> bool:
        """Whether a session nobody touched still has to be saved (to refresh its cookie)."""
        return False

    def save_needed_untouched(self, app: AsyncFlask, ctx: AppContext) -> bool:
        """Whether a request that never touched the session still has one to save."""
        request = ctx.request
        return self.open_lazily and request is not None and self.refresh_untouched(app, request)

    async def save_for_context(self, app: AsyncFlask, ctx: AppContext, response: StarletteResponse) -> None:
        """Save the context's session at the end of a request, if there is one to save."""
        if not ctx.session_opened and not self.save_needed_untouched(app, ctx):
            return
        session = ctx.session
        if not self.is_null_session(session):
            await self.save_session(app, session, response)


def opens_lazily(interface: Any) -> bool:
    """Whether the session can be opened on first use, bypassing `open_session`.

    Only an interface that says so itself qualifies: an object that wraps one (delegating
    through `__getattr__`, say) has its own `open_session`/`save_session` called, always.
    """
    return isinstance(interface, SessionInterface) and type(interface).open_lazily


async def open_with(interface: Any, app: AsyncFlask, request: Request) -> SessionMixin:
    """Open a request's session through `interface.open_session` (None: the null session)."""
    if isinstance(interface, SessionInterface):
        return await interface.open_session_async(app, request)
    session = await interface.open_session(app, request)
    return session if session is not None else NullSession()


async def save_with(interface: Any, app: AsyncFlask, ctx: AppContext, response: StarletteResponse) -> None:
    """Save the context's session through `interface.save_session`, if there is one to save."""
    if isinstance(interface, SessionInterface):
        await interface.save_for_context(app, ctx, response)
        return
    if not ctx.session_opened:
        return
    session = ctx.session
    is_null = getattr(interface, "is_null_session", lambda obj: isinstance(obj, NullSession))
    if not is_null(session):
        await interface.save_session(app, session, response)


def _lazy_sha1(string: bytes = b"") -> Any:
    # FIPS builds may lack SHA-1: look it up only when a cookie is signed, so an app that
    # sets another `digest_method` still works there.
    return hashlib.sha1(string)


class SecureCookieSessionInterface(SessionInterface):
    """The default: the session in a cookie signed with itsdangerous, exactly as Flask does.

    The cookie is read only when the session is first used. A subclass that overrides
    `open_session` is awaited at the start of every request instead.
    """

    #: Mixed into the key so the same `SECRET_KEY` signs other things without collisions.
    salt = "cookie-session"
    digest_method = staticmethod(_lazy_sha1)
    key_derivation = "hmac"
    serializer = session_json_serializer
    session_class = SecureCookieSession
    open_lazily = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The lazy path reads the cookie without calling `open_session`, so an override
        # would be skipped silently; open eagerly unless the subclass says otherwise.
        if "open_session" in cls.__dict__ and "open_lazily" not in cls.__dict__:
            cls.open_lazily = False

    def get_signing_serializer(self, app: AsyncFlask) -> URLSafeTimedSerializer | None:
        """The serializer for the app's keys (None without `SECRET_KEY`)."""
        if not app.secret_key:
            return None
        keys: list[Any] = list(app.config.get("SECRET_KEY_FALLBACKS") or ())
        # itsdangerous signs with the last key and verifies with all of them.
        keys.append(app.secret_key)
        return URLSafeTimedSerializer(
            keys,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )

    def load_cookie(self, app: AsyncFlask, value: str | None) -> SecureCookieSession | None:
        """The session stored in a cookie value (None without `SECRET_KEY`).

        A tampered, truncated, expired or otherwise unreadable cookie gives an empty session.
        """
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer.loads(value, max_age=max_age)
        except BadData:
            return self.session_class()
        if not isinstance(data, dict):
            return self.session_class()
        return self.session_class(data)

    def open_session_now(self, app: AsyncFlask, ctx: AppContext) -> SessionMixin:
        connection = ctx.request if ctx.request is not None else ctx.websocket
        cookie = connection.cookies.get(self.get_cookie_name(app)) if connection is not None else None
        session = self.load_cookie(app, cookie)
        return session if session is not None else self.make_null_session(app)

    async def open_session(self, app: AsyncFlask, request: Request) -> SessionMixin | None:
        return self.load_cookie(app, request.cookies.get(self.get_cookie_name(app)))

    def refresh_untouched(self, app: AsyncFlask, request: Request) -> bool:
        # A permanent session's cookie is re-sent on every request; only a request that
        # carries the cookie can hold one.
        if not app.config["SESSION_REFRESH_EACH_REQUEST"]:
            return False
        # Look for a Cookie header before parsing cookies: most requests have none.
        if not any(name == b"cookie" for name, _ in request.scope["headers"]):
            return False
        return self.get_cookie_name(app) in request.cookies

    async def save_session(self, app: AsyncFlask, session: SessionMixin, response: StarletteResponse) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        # As in Werkzeug: browsers ignore a Partitioned cookie that is not Secure.
        secure = secure or partitioned
        samesite = _check_samesite(self.get_cookie_samesite(app))
        httponly = self.get_cookie_httponly(app)
        # Werkzeug's cookies (asyncflask's responses) know Partitioned; http.cookies only from 3.14.
        native = _NATIVE_PARTITIONED or isinstance(response, HeaderAccessors)
        if session.accessed:
            _vary_cookie(response)
        if not session:
            if session.modified:
                # The session was emptied: remove the cookie from the browser.
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=secure,
                    httponly=httponly,
                    samesite=samesite,  # type: ignore[arg-type]
                    partitioned=partitioned and native,
                )
                _partition(response, name, partitioned and not native)
                _vary_cookie(response)
            return
        if not self.should_set_cookie(app, session):
            return
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            raise RuntimeError(_NO_SECRET_KEY)
        value: str = serializer.dumps(dict(session))
        response.set_cookie(
            name,
            value,
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            samesite=samesite,  # type: ignore[arg-type]
            partitioned=partitioned and native,
        )
        _partition(response, name, partitioned and not native)
        _vary_cookie(response)


def _check_samesite(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in _SAMESITE_VALUES:
        raise ValueError(f"SESSION_COOKIE_SAMESITE must be 'Strict', 'Lax', 'None' or None, not {value!r}.")
    return value.title()


def _vary_cookie(response: StarletteResponse) -> None:
    """Add `Cookie` to the response's Vary header, once."""
    present = {
        item.strip().lower() for header in response.headers.getlist("vary") for item in header.split(",")
    }
    if "cookie" not in present and "*" not in present:
        response.headers.add_vary_header("Cookie")


def _partition(response: StarletteResponse, name: str, partitioned: bool) -> None:
    """Mark the cookie just set as Partitioned where http.cookies cannot (Python < 3.14)."""
    if not partitioned:
        return
    prefix = f"{name}=".encode("latin-1")
    raw = response.raw_headers
    for index in range(len(raw) - 1, -1, -1):
        key, value = raw[index]
        if key == b"set-cookie" and value.startswith(prefix):
            # Replaced in place: the response's header views share this list.
            raw[index] = (key, value + b"; Partitioned")
            return
