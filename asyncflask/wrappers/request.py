"""The request: a Starlette connection and a Werkzeug sans-IO request, with Flask's body limits."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from starlette.datastructures import URL
from starlette.datastructures import Headers as StarletteHeaders
from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope
from werkzeug.datastructures import CombinedMultiDict, Headers, ImmutableMultiDict
from werkzeug.http import parse_options_header
from werkzeug.sansio.http import parse_cookie
from werkzeug.sansio.request import Request as _SansIORequest
from werkzeug.sansio.utils import get_content_length

from ..exceptions import (
    BadRequest,
    ClientDisconnected,
    RequestEntityTooLarge,
    SecurityError,
    UnsupportedMediaType,
)
from ..threads import also_sync
from .body import (
    BodyStream,
    Deferred,
    ReadyBytes,
    ReadyCombinedMultiDict,
    ReadyMultiDict,
    parse_form,
)
from .files import FileStorage

if TYPE_CHECKING:
    from ..app import AsyncFlask
    from ..routing import Rule
    from ..websockets import Websocket as Websocket

# `get_json`'s cache, (normal, silent) results; Ellipsis (which JSON cannot produce) is "not yet".
_NO_JSON: tuple[Any, Any] = (Ellipsis, Ellipsis)
# A Host header is a name or an IPv4/IPv6 literal with an optional port, nothing else.
_VALID_HOST = re.compile(r"^(?:[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_PATH_SAFE = "/:@!$&'()*+,;=~"
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def host_is_trusted(host: str, trusted: Iterable[str]) -> bool:
    """Whether `host` (port ignored) matches a trusted name; `.example.com` also allows subdomains."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower()
    for pattern in trusted:
        pattern = pattern.lower()
        if pattern.startswith("."):
            if hostname == pattern[1:] or hostname.endswith(pattern):
                return True
        elif hostname == pattern:
            return True
    return False


class Request(HTTPConnection, _SansIORequest):
    """The incoming request: a Starlette connection that is also a Werkzeug sans-IO request.

    Werkzeug's properties (`authorization`, `accept_languages`, `user_agent`, `range`,
    `if_none_match`, `cache_control`, ...) are its own code, parsed on first use and cached; the
    request line, host checks and body come from the ASGI scope. The body is read on demand with
    `await request.get_data()`, `await request.json`, `await request.form`, or streamed with
    `async for chunk in request.body` / `await request.stream.read(n)`.
    """

    # Class defaults, so a request that no rule matched needs no assignment for them.
    url_rule: Rule | None = None
    view_args: dict[str, Any] | None = None
    routing_exception: Exception | None = None
    # Parsed on first use only (annotations, not assignments, so nothing is done per request).
    _args: ImmutableMultiDict[str, str]
    _host: str
    _werkzeug_headers: Headers

    @property
    def json_module(self) -> Any:
        """The JSON module of Flask's API: `asyncflask.json`, which follows `app.json`."""
        from .. import json

        return json

    def __init__(self, scope: Scope, receive: Receive, app: AsyncFlask | None = None) -> None:
        self.scope = scope
        self._receive = receive
        self._app = app
        self._cached_data: bytes | None = None
        self._stream_consumed = False
        self._cached_json: tuple[Any, Any] = _NO_JSON
        self._form: ImmutableMultiDict[str, str] | None = None
        self._files: ImmutableMultiDict[str, FileStorage] | None = None
        if "session" in scope and app is not None and app.config["SESSION_COOKIE_NAME"] == "session":
            # Starlette's SessionMiddleware and asyncflask would both write the "session" cookie,
            # each erasing the other's.
            raise RuntimeError(
                "A Starlette SessionMiddleware is installed and asyncflask's session also uses the"
                " cookie 'session'; set SESSION_COOKIE_NAME to another name (and keep the"
                " middleware's session_cookie different from it)."
            )

    # -- request line -----------------------------------------------------------------------

    @property
    def method(self) -> str:  # type: ignore[override]
        """The HTTP method, uppercase."""
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def script_root(self) -> str:
        """Where the app is mounted (the ASGI `root_path`), without a trailing slash."""
        return str(self.scope.get("root_path", "")).rstrip("/")

    @property
    def path(self) -> str:  # type: ignore[override]
        """The path below `script_root`, starting with a slash."""
        path: str = self.scope["path"]
        root = self.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return path or "/"

    @property
    def query_string(self) -> bytes:  # type: ignore[override]
        """The raw query string."""
        return self.scope.get("query_string", b"")  # type: ignore[no-any-return]

    @property
    def full_path(self) -> str:
        """The path and query string (always with a `?`, as in Flask)."""
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def root_path(self) -> str:  # type: ignore[override]
        """Werkzeug's name for `script_root`."""
        return self.script_root

    @property
    def server(self) -> tuple[str, int | None] | None:  # type: ignore[override]
        """The server's address and port, from the ASGI scope."""
        server = self.scope.get("server")
        return (server[0], server[1]) if server else None

    @property
    def headers(self) -> Headers:  # type: ignore[override]
        """Werkzeug's `Headers` (`get(key, type=int)`, `getlist`, `get_all`), built on first use."""
        try:
            return self._werkzeug_headers
        except AttributeError:
            headers = self._werkzeug_headers = Headers()
            # The server has already refused malformed headers: fill the list directly rather
            # than have Werkzeug re-check every value (three times the cost of the request line).
            headers._list = [
                (key.decode("latin-1"), value.decode("latin-1")) for key, value in self.scope["headers"]
            ]
            return headers

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """Starlette's `request.url_for`: the absolute URL of an endpoint of this app."""
        from ..helpers import url_for

        return URL(url_for(name, _external=True, **path_params))

    def _first_header(self, name: bytes) -> str | None:
        """One header's first value straight from the scope: the hot path's checks (host, body
        type and length) need no `Headers` object."""
        for key, value in self.scope["headers"]:
            if key == name:
                return value.decode("latin-1")  # type: ignore[no-any-return]
        return None

    @property
    def content_type(self) -> str | None:  # type: ignore[override]
        """The Content-Type header as sent."""
        return self._first_header(b"content-type")

    @property
    def content_length(self) -> int | None:
        """The Content-Length as an integer (Werkzeug's rule: 0 when unusable, None when absent)."""
        return get_content_length(
            self._first_header(b"content-length"), self._first_header(b"transfer-encoding")
        )

    def _parse_content_type(self) -> None:
        # Werkzeug's, reading the scope; a value without parameters needs no parsing.
        if not hasattr(self, "_parsed_content_type"):
            value = self._first_header(b"content-type") or ""
            self._parsed_content_type = parse_options_header(value) if ";" in value else (value.strip(), {})

    @property
    def session(self) -> Any:
        """asyncflask's session (Starlette's own would assert that its middleware is installed)."""
        from ..globals import session

        return session._get_current_object()  # type: ignore[attr-defined]

    @property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The request's cookies, parsed by Werkzeug in linear time; the first of a repeated name wins.

        (The standard library's unquoting is quadratic on some Python versions: one crafted
        header could pin a worker.)
        """
        try:
            return self._parsed_cookies
        except AttributeError:
            # HTTP/2 may split the header in several; they are one list of pairs.
            # Cookies are UTF-8 (as Werkzeug reads them); stray bytes must not fail the request.
            headers = self.scope["headers"]
            values = [value.decode("utf-8", "replace") for key, value in headers if key == b"cookie"]
            self._parsed_cookies: ImmutableMultiDict[str, str] = parse_cookie(
                "; ".join(values) if values else None, cls=ImmutableMultiDict
            )  # type: ignore[assignment]
            return self._parsed_cookies

    @property
    def args(self) -> ImmutableMultiDict[str, str]:
        """The query string parameters (first value wins for `args[key]`)."""
        try:
            return self._args
        except AttributeError:
            self._args = ImmutableMultiDict(
                parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True)
            )
            return self._args

    @property
    def scheme(self) -> str:  # type: ignore[override]
        """`http` or `https`."""
        return self.scope.get("scheme", "http")  # type: ignore[no-any-return]

    @property
    def is_secure(self) -> bool:
        """Whether the request came over TLS."""
        return self.scheme in ("https", "wss")

    @property
    def host(self) -> str:
        """The Host header (or the server address), checked against `TRUSTED_HOSTS`.

        Raises:
            SecurityError: a 400, when the host is malformed or not trusted.
        """
        try:
            return self._host
        except AttributeError:
            pass
        hosts = [value.decode("latin-1") for key, value in self.scope["headers"] if key == b"host"]
        if len(hosts) > 1:
            raise SecurityError("The request has more than one Host header.")
        host = hosts[0] if hosts else None
        if not host:
            server = self.scope.get("server")
            if server:
                name, port = server[0], server[1]
                default = 443 if self.is_secure else 80
                host = name if port in (None, default) else f"{name}:{port}"
            else:
                host = ""
        if host and not _VALID_HOST.match(host):
            raise SecurityError(f"The Host header {host[:64]!r} is not a valid host name.")
        trusted = self._app.config.get("TRUSTED_HOSTS") if self._app is not None else None
        if trusted is not None and not host_is_trusted(host, trusted):
            raise SecurityError(f"Host {host[:64]!r} is not trusted.")
        self._host = host
        return host

    @property
    def host_url(self) -> str:
        """`scheme://host/`."""
        return f"{self.scheme}://{self.host}/"

    @property
    def url_root(self) -> str:
        """`scheme://host/script_root/`."""
        return f"{self.scheme}://{self.host}{quote(self.script_root, safe=_PATH_SAFE)}/"

    @property
    def base_url(self) -> str:  # type: ignore[override]
        """The URL without the query string."""
        return f"{self.scheme}://{self.host}{quote(self.script_root + self.path, safe=_PATH_SAFE)}"

    @property
    def url(self) -> str:  # type: ignore[override]
        """The full URL the client asked for."""
        query = self.query_string
        return self.base_url + ("?" + query.decode("latin-1") if query else "")

    @property
    def remote_addr(self) -> str | None:  # type: ignore[override]
        """The client's address."""
        client = self.scope.get("client")
        return client[0] if client else None

    # -- routing ------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule."""
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The name of the (innermost) blueprint that owns the endpoint."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

    # -- body ---------------------------------------------------------------------------------

    @property
    def max_content_length(self) -> int | None:
        """The body size limit (`MAX_CONTENT_LENGTH`)."""
        return self._app.config["MAX_CONTENT_LENGTH"] if self._app is not None else None

    @property
    def max_form_memory_size(self) -> int | None:
        """The size limit of one non-file form field (`MAX_FORM_MEMORY_SIZE`)."""
        return self._app.config["MAX_FORM_MEMORY_SIZE"] if self._app is not None else 500_000

    @property
    def max_form_parts(self) -> int | None:
        """The limit on the number of multipart form parts (`MAX_FORM_PARTS`)."""
        return self._app.config["MAX_FORM_PARTS"] if self._app is not None else 1000

    @property
    def want_form_data_parsed(self) -> bool:
        """Whether the request declares a body type (so `form` may have something to parse)."""
        return self.content_type is not None

    # An ASGI scope says nothing of the server's process model; asyncflask serves concurrent
    # requests as tasks of one event loop per process.
    is_multithread = False
    is_multiprocess = False
    is_run_once = False

    def _start_reading(self) -> int | None:
        """Claim the body stream (it can be read once) and return the size limit."""
        if self._stream_consumed:
            raise RuntimeError(
                "The request body was already streamed; read it once with 'await request.get_data()'"
                " if it is needed more than once."
            )
        self._stream_consumed = True
        limit = self.max_content_length
        if limit is not None:
            declared = self.content_length
            if declared is not None and declared > limit:
                raise RequestEntityTooLarge()
        return limit

    async def _receive_chunk(self, limit: int | None, received: int) -> tuple[bytes, bool]:
        """The next chunk of the body and whether more follows, within `limit` bytes in all."""
        message = await self._receive()
        if message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            # Chunked bodies carry no Content-Length: count as they arrive.
            if limit is not None and received + len(chunk) > limit:
                raise RequestEntityTooLarge()
            return chunk, message.get("more_body", False)
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("The client disconnected while sending the body.")
        return b"", True

    async def _iter_body(self) -> AsyncGenerator[bytes, None]:
        if self._cached_data is not None:
            if self._cached_data:
                yield self._cached_data
            return
        limit = self._start_reading()
        received = 0
        more = True
        while more:
            chunk, more = await self._receive_chunk(limit, received)
            if chunk:
                received += len(chunk)
                yield chunk

    @property
    def body(self) -> AsyncIterator[bytes]:
        """The body as an async iterator of chunks, never buffered whole.

        `MAX_CONTENT_LENGTH` applies while streaming; the body can be streamed once.
        """
        return self._iter_body()

    @property
    def stream(self) -> BodyStream:
        """The body as a stream read once: `await request.stream.read(n)`, `async for chunk in
        request.stream`, or Starlette's `async for chunk in request.stream()`."""
        try:
            return self._body_stream
        except AttributeError:
            self._body_stream: BodyStream = BodyStream(self._iter_body())
            return self._body_stream

    @also_sync
    async def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> Any:
        """The whole body.

        Args:
            cache: keep the body so it can be read again.
            as_text: decode it as UTF-8 (invalid bytes are replaced).
            parse_form_data: parse a form body first (into `form`/`files`), as Flask does; the
                body is then empty here.

        Returns:
            `bytes`, or `str` with `as_text=True`.
        """
        return await self._get_data(cache, as_text, parse_form_data)

    async def _get_data(self, cache: bool, as_text: bool, parse_form_data: bool) -> Any:
        # `get_data` without its sync adapter, for the accessors built on it (`get_json`).
        if self._cached_data is None and self._form is not None and self.mimetype in _FORM_TYPES:
            data = b""  # parsing the form consumed the body, as in Flask
        elif parse_form_data and self._cached_data is None and self.mimetype in _FORM_TYPES:
            await self._load_form()
            data = b""
        elif self._cached_data is None:
            limit = self._start_reading()
            data, more = await self._receive_chunk(limit, 0)
            if more:
                # Most bodies arrive in one message; only a longer one needs joining.
                chunks = [data]
                received = len(data)
                while more:
                    chunk, more = await self._receive_chunk(limit, received)
                    received += len(chunk)
                    chunks.append(chunk)
                data = b"".join(chunks)
            if cache:
                self._cached_data = data
        else:
            data = self._cached_data
        return data.decode("utf-8", "replace") if as_text else data

    @property
    def data(self) -> Any:
        """Awaitable: the body as bytes (once read, plain bytes too)."""
        if self._cached_data is not None:
            return ReadyBytes(self._cached_data)
        return Deferred(self.get_data, "data")

    @also_sync
    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the body as JSON.

        Args:
            force: parse even when the Content-Type is not JSON.
            silent: return None instead of raising on any problem.
            cache: remember the result for later calls.

        Returns:
            The decoded value (None when `silent` and the body is not usable).

        Raises:
            UnsupportedMediaType: (415) the body is not declared as JSON.
            BadRequest: (400) the body is not valid JSON.
        """
        if cache:
            cached = self._cached_json[silent]
            if cached is not Ellipsis:
                return cached
        if not (force or self.is_json):
            if silent:
                return None
            raise UnsupportedMediaType(
                "Did not attempt to load JSON data because the request Content-Type was not"
                " 'application/json'."
            )
        data = await self._get_data(cache, False, False)
        try:
            text = data.decode("utf-8")
            loads = self._app.json.loads if self._app is not None else json.loads
            value = loads(text)
        except (ValueError, RecursionError) as error:
            # ValueError covers bad UTF-8 and bad JSON; RecursionError is hostile nesting.
            if silent:
                if cache:
                    # Only the silent result is known: a later non-silent call still raises.
                    self._cached_json = (self._cached_json[0], None)
                return None
            value = self.on_json_loading_failed(error)
        if cache:
            self._cached_json = (value, value)
        return value

    def on_json_loading_failed(self, error: Exception | None) -> Any:
        """Called when the body is not valid JSON; raises a 400 (override to change)."""
        raise BadRequest(f"Failed to decode JSON object: {error}")

    @property
    def json(self) -> Any:
        """Awaitable: the body parsed as JSON (see `get_json`); Starlette's `json()` works too."""
        return Deferred(self.get_json, "json")

    async def _load_form(self) -> None:
        if self._form is None:
            self._form, self._files = await parse_form(
                self.mimetype,
                StarletteHeaders(scope=self.scope),
                self._iter_body(),
                self._app.config if self._app is not None else {},
            )

    async def _get_form(self) -> ImmutableMultiDict[str, str]:
        await self._load_form()
        assert self._form is not None
        return self._form

    async def _get_files(self) -> ImmutableMultiDict[str, FileStorage]:
        await self._load_form()
        assert self._files is not None
        return self._files

    async def _get_values(self) -> CombinedMultiDict[str, Any]:
        if self.method == "GET":
            return CombinedMultiDict([self.args])
        return CombinedMultiDict([self.args, await self._get_form()])

    @property
    def form(self) -> Any:
        """Awaitable: the form fields (URL-encoded or multipart); Starlette's `form()` works too.

        Once the form has been read (awaited once, or preloaded by `PRELOAD_BODY`), it is
        also a plain MultiDict, for sync code.
        """
        if self._form is not None:
            return self._form
        if self.mimetype not in _FORM_TYPES:
            # Not a form body: empty, as in Flask, with nothing to read or await.
            self._form, self._files = ReadyMultiDict(), ReadyMultiDict()
            return self._form
        return Deferred(self._get_form, "form")

    @property
    def files(self) -> Any:
        """Awaitable: the uploaded files of a multipart form (once read, a plain MultiDict too)."""
        if self._files is not None:
            return self._files
        if self.mimetype not in _FORM_TYPES:
            self._form, self._files = ReadyMultiDict(), ReadyMultiDict()
            return self._files
        return Deferred(self._get_files, "files")

    @property
    def values(self) -> Any:
        """Awaitable: `args` and `form` combined (`args` first); once read, a plain one too."""
        if self.method == "GET":
            return ReadyCombinedMultiDict([self.args])
        if self._form is not None:
            return ReadyCombinedMultiDict([self.args, self._form])
        return Deferred(self._get_values, "values")

    async def preload_body(self) -> None:
        """Read a form body now, so sync code can use `form`, `files` and `values`."""
        if self.mimetype in _FORM_TYPES:
            await self._load_form()

    async def close(self) -> None:
        """Release uploaded files."""
        if self._files is not None:
            for _, upload in self._files.items(multi=True):
                upload.close()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.scope.get('path', '')!r}>"
