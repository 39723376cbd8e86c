"""Sessions: a dict kept in a signed cookie, in the same format Flask uses.

An asyncflask app and a Flask app with the same `SECRET_KEY` read each other's session
cookies. Replace `app.session_interface` with another `SessionInterface` to keep sessions
elsewhere (a server-side store).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, MutableMapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from .tag import TaggedJSONSerializer

if TYPE_CHECKING:
    from starlette.responses import Response as StarletteResponse

    from .app import AsyncFlask
    from .ctx import AppContext
    from .wrappers import Request

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "session_json_serializer",
]

session_json_serializer = TaggedJSONSerializer()


class SessionMixin(MutableMapping[str, Any]):
    """What every session offers besides being a dict: `permanent`, `new`, `modified`, `accessed`."""

    new = False
    modified = True
    accessed = True

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session (`PERMANENT_SESSION_LIFETIME`)."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)


class SecureCookieSession(dict[str, Any], SessionMixin):  # type: ignore[misc]
    """The session dict: records reads (`accessed`) and writes (`modified`)."""

    modified = False
    accessed = False

    def __init__(self, initial: Any = None) -> None:
        super().__init__(initial or ())

    def _write(self) -> None:
        self.modified = True
        self.accessed = True

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        if key not in self:
            self.modified = True
        return super().setdefault(key, default)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def __setitem__(self, key: str, value: Any) -> None:
        self._write()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._write()
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self._write()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        self._write()
        return super().popitem()

    def clear(self) -> None:
        self._write()
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._write()
        super().update(*args, **kwargs)

    def keys(self) -> Any:
        self.accessed = True
        return super().keys()

    def values(self) -> Any:
        self.accessed = True
        return super().values()

    def items(self) -> Any:
        self.accessed = True
        return super().items()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


class NullSession(SecureCookieSession):
    """The session when no `SECRET_KEY` is set: readable (empty), but writing raises."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "The session is unavailable because no secret key was set. Set the SECRET_KEY config"
            " value (app.secret_key = ...) to a long random string to use the session."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail  # type: ignore[assignment]


class SessionInterface:
    """How sessions are loaded and saved; subclass it to store them elsewhere.

    Implement `open_session` and `save_session`. The cookie settings helpers read the
    `SESSION_COOKIE_*` config keys.
    """

    null_session_class: type[SecureCookieSession] = NullSession
    pickle_based = False
    # True when `open_session_now` can open the session synchronously on first access, so
    # requests that never touch the session never pay for it.
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
        """`SESSION_COOKIE_SAMESITE`."""
        return app.config["SESSION_COOKIE_SAMESITE"]  # type: ignore[no-any-return]

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

    async def save_for_context(self, app: AsyncFlask, ctx: AppContext, response: StarletteResponse) -> None:
        """Save the context's session at the end of a request, if there is one to save."""
        if ctx._session is None:
            if not (self.open_lazily and ctx.request is not None and self.refresh_untouched(app, ctx.request)):
                return
        session = ctx.session
        if not self.is_null_session(session):
            await self.save_session(app, session, response)


class SecureCookieSessionInterface(SessionInterface):
    """The default: the session in a cookie signed with itsdangerous, exactly as Flask does."""

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = session_json_serializer
    session_class = SecureCookieSession
    open_lazily = True

    def get_signing_serializer(self, app: AsyncFlask) -> URLSafeTimedSerializer | None:
        """The serializer for the app's keys (None without `SECRET_KEY`)."""
        if not app.secret_key:
            return None
        keys: list[Any] = list(app.config.get("SECRET_KEY_FALLBACKS") or ())
        # itsdangerous signs with the last key and verifies with all of them.
        keys.append(app.secret_key)
        return URLSafeTimedSerializer(
            keys,  # type: ignore[arg-type]
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )

    def _load(self, app: AsyncFlask, request: Request) -> SessionMixin:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return self.make_null_session(app)
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer.loads(cookie, max_age=max_age)
        except BadSignature:
            # Tampered, expired, truncated or garbage: start over with an empty session.
            return self.session_class()
        except Exception:
            return self.session_class()
        if not isinstance(data, dict):
            return self.session_class()
        return self.session_class(data)

    def open_session_now(self, app: AsyncFlask, ctx: AppContext) -> SessionMixin:
        if ctx.request is None:
            return self.make_null_session(app) if not app.secret_key else self.session_class()
        return self._load(app, ctx.request)

    async def open_session(self, app: AsyncFlask, request: Request) -> SessionMixin | None:
        return self._load(app, request)

    def refresh_untouched(self, app: AsyncFlask, request: Request) -> bool:
        # A permanent session's cookie is re-sent on every request; only a request that
        # carries the cookie can hold one.
        return bool(app.config["SESSION_REFRESH_EACH_REQUEST"]) and self.get_cookie_name(app) in request.cookies

    async def save_session(self, app: AsyncFlask, session: SessionMixin, response: StarletteResponse) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        if session.accessed:
            response.headers.add_vary_header("Cookie")
        if not session:
            if session.modified:
                # The session was emptied: remove the cookie from the browser.
                _delete_cookie(response, name, domain, path, secure, partitioned, samesite, httponly)
                response.headers.add_vary_header("Cookie")
            return
        if not self.should_set_cookie(app, session):
            return
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            raise RuntimeError(
                "The session cannot be saved because no secret key was set. Set the SECRET_KEY config"
                " value (app.secret_key = ...) to a long random string."
            )
        value = serializer.dumps(dict(session))
        expires = self.get_expiration_time(app, session)
        response.set_cookie(
            name,
            value,  # type: ignore[arg-type]
            expires=expires,
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            samesite=samesite,  # type: ignore[arg-type]
            partitioned=partitioned,
        )
        response.headers.add_vary_header("Cookie")


def _delete_cookie(
    response: StarletteResponse,
    name: str,
    domain: str | None,
    path: str,
    secure: bool,
    partitioned: bool,
    samesite: str | None,
    httponly: bool,
) -> None:
    response.delete_cookie(
        name,
        domain=domain,
        path=path,
        secure=secure,
        httponly=httponly,
        samesite=samesite,  # type: ignore[arg-type]
        partitioned=partitioned,
    )
