"""The test client's responses and cookies, with the names Flask's test client gives them.

`TestResponse` is an `httpx.Response` that also reads like Werkzeug's test response
(`data`, `get_json()`, `status`, `mimetype`, `cache_control`, ...). Its header accessors
parse the response's headers with `werkzeug.http`, so they mean what they mean in Flask.
The cookie helpers give the httpx cookie jar Flask's `set_cookie` / `get_cookie` /
`delete_cookie` view: a cookie is named by its domain, path and key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any, Literal, overload

import httpx
from werkzeug.datastructures import Headers
from werkzeug.http import (
    dump_cookie,
    parse_cookie,
)
from werkzeug.sansio.response import Response as SansIOResponse

__all__ = ["TestCookie", "TestCookiePolicy", "TestResponse"]


class _WrittenBack(Headers):
    """Werkzeug `Headers` holding a test response's headers; a change is written back to it."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self._list = list(response.headers.multi_items())  # already valid: adopted as they are
        self._response = response

    def _write_back(self) -> None:
        self._response.headers = httpx.Headers(list(self.items()))

    # What Werkzeug's accessors change headers with (`[]=` goes through `set`).
    def set(self, key: str, value: Any, /, **kwargs: Any) -> None:
        super().set(key, value, **kwargs)
        self._write_back()

    def add(self, key: str, value: Any, /, **kwargs: Any) -> None:
        super().add(key, value, **kwargs)
        self._write_back()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._write_back()

    def pop(self, key: Any = None, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._write_back()
        return value


class _Received(SansIOResponse):
    # Reading a received response must not give it a Content-Type it did not have.
    default_mimetype = None


def _werkzeug_accessor(name: str) -> Any:
    def read(self: httpx.Response) -> Any:
        return getattr(_Received(self.status_code, _WrittenBack(self)), name)

    return property(read, doc=f"Werkzeug's `Response.{name}`, over the response's headers.")


class TestResponse(httpx.Response):
    """A response from the test client: an `httpx.Response` with Flask's test-response names.

    Everything of httpx stays (`status_code`, `headers`, `text`, `content`, `json()`,
    `request`, streaming). On top: `data` / `get_data()` / `get_json()` as in Flask, and
    Werkzeug's own response header accessors over `headers`. Changing a parsed value that
    Werkzeug lets you change (`cache_control.max_age = 5`, `vary.add("Cookie")`) writes the
    header back, as on a Werkzeug response.
    """

    __test__ = False  # not a pytest test class

    @property
    def data(self) -> bytes:
        """The body as bytes (httpx's `content`)."""
        return self.content

    @overload
    def get_data(self, as_text: Literal[False] = False) -> bytes: ...

    @overload
    def get_data(self, as_text: Literal[True]) -> str: ...

    def get_data(self, as_text: bool = False) -> bytes | str:
        """The body, as bytes or (`as_text=True`) decoded from UTF-8, as Werkzeug does."""
        return self.content.decode() if as_text else self.content

    def get_json(self, force: bool = False, silent: bool = False) -> Any:
        """The body parsed as JSON, as Werkzeug's `get_json`.

        Args:
            force: parse even if the mimetype does not say JSON (otherwise that gives None).
            silent: give None instead of raising when the body is not valid JSON.
        """
        if not (force or self.is_json):
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            if silent:
                return None
            raise

    def get_etag(self) -> tuple[str, bool] | tuple[None, None]:
        """The `ETag` header as `(etag, is_weak)`, or `(None, None)`."""
        return _Received(self.status_code, _WrittenBack(self)).get_etag()

    status = _werkzeug_accessor("status")
    is_json = _werkzeug_accessor("is_json")
    content_type = _werkzeug_accessor("content_type")
    mimetype = _werkzeug_accessor("mimetype")
    mimetype_params = _werkzeug_accessor("mimetype_params")
    content_length = _werkzeug_accessor("content_length")
    location = _werkzeug_accessor("location")
    accept_ranges = _werkzeug_accessor("accept_ranges")
    age = _werkzeug_accessor("age")
    date = _werkzeug_accessor("date")
    expires = _werkzeug_accessor("expires")
    last_modified = _werkzeug_accessor("last_modified")
    retry_after = _werkzeug_accessor("retry_after")
    cache_control = _werkzeug_accessor("cache_control")
    vary = _werkzeug_accessor("vary")
    allow = _werkzeug_accessor("allow")
    content_language = _werkzeug_accessor("content_language")
    content_range = _werkzeug_accessor("content_range")
    www_authenticate = _werkzeug_accessor("www_authenticate")
    access_control_allow_credentials = _werkzeug_accessor("access_control_allow_credentials")
    access_control_allow_headers = _werkzeug_accessor("access_control_allow_headers")
    access_control_allow_methods = _werkzeug_accessor("access_control_allow_methods")
    access_control_allow_origin = _werkzeug_accessor("access_control_allow_origin")
    access_control_expose_headers = _werkzeug_accessor("access_control_expose_headers")
    access_control_max_age = _werkzeug_accessor("access_control_max_age")
    content_encoding = _werkzeug_accessor("content_encoding")
    content_location = _werkzeug_accessor("content_location")
    content_md5 = _werkzeug_accessor("content_md5")
    content_security_policy = _werkzeug_accessor("content_security_policy")
    content_security_policy_report_only = _werkzeug_accessor("content_security_policy_report_only")
    cross_origin_embedder_policy = _werkzeug_accessor("cross_origin_embedder_policy")
    cross_origin_opener_policy = _werkzeug_accessor("cross_origin_opener_policy")

    @property
    def is_streamed(self) -> bool:
        """Whether the body is still being streamed (from `client.stream(...)`, not yet read)."""
        return not hasattr(self, "_content")

    @property
    def is_sequence(self) -> bool:
        """Whether the whole body has been read (the opposite of `is_streamed`)."""
        return not self.is_streamed

    def calculate_content_length(self) -> int | None:
        """The body's length, once it has been read."""
        return None if self.is_streamed else len(self.content)

    def iter_encoded(self) -> Iterator[bytes]:
        """The body as one chunk of bytes, as Werkzeug's test response gives a read body."""
        yield self.content

    @property
    def json_module(self) -> Any:
        """The JSON module used by `get_json` (the standard library's)."""
        return json


@dataclasses.dataclass
class TestCookie:
    """A cookie held by the test client, as `client.get_cookie()` gives it (Werkzeug's fields)."""

    __test__ = False

    #: The key and value as the client sends them (quoted if they needed it).
    key: str
    value: str
    #: The key and value as the app sets and reads them.
    decoded_key: str
    decoded_value: str
    expires: datetime | None
    #: The domain the cookie was set for (without a leading dot).
    domain: str
    #: True when the cookie goes to its domain only, not to subdomains.
    origin_only: bool
    path: str
    secure: bool | None
    http_only: bool | None
    same_site: str | None


class TestCookiePolicy(DefaultCookiePolicy):
    """The test client's cookie rules: the standard library's, or (`enabled=False`) none kept.

    With cookies disabled (`use_cookies=False`) no cookie from a response is stored, so
    none is sent on later requests either.
    """

    __test__ = False

    def __init__(self, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled

    def set_ok(self, cookie: Cookie, request: Any) -> bool:
        """Store nothing when cookies are disabled."""
        return self.enabled and bool(super().set_ok(cookie, request))


def _jar_domains(domain: str) -> set[str]:
    # The standard jar files a host-only cookie for a dotless host under "<host>.local".
    return {domain, "." + domain, domain if "." in domain else domain + ".local"}


def _matching(jar: CookieJar, key: str, domain: str, path: str) -> Iterator[Cookie]:
    domains = _jar_domains(domain)
    for cookie in list(jar):
        if cookie.name == key and cookie.path == path and cookie.domain in domains:
            yield cookie


def store_cookie(
    cookies: httpx.Cookies, key: str, value: str, domain: str, origin_only: bool, path: str, **kwargs: Any
) -> None:
    """Put a cookie in the jar as if a response for `domain` had set it (`max_age=0` removes it).

    Args:
        cookies: the client's cookies.
        key: the cookie's name.
        value: its value.
        domain: the host it is for.
        origin_only: send it to `domain` only (else to its subdomains too).
        path: the path prefix it is sent for.
        **kwargs: passed to `werkzeug.http.dump_cookie` (`max_age`, `expires`, ...).
    """
    header = dump_cookie(key, value, path=path, domain=None if origin_only else domain, **kwargs)
    request = httpx.Request("GET", httpx.URL(scheme="http", host=domain, path=path))
    response = httpx.Response(200, headers=[("set-cookie", header)], request=request)
    # One cookie per (domain, path, key), as in Flask: this one replaces any other.
    remove_cookie(cookies, key, domain, path)
    cookies.extract_cookies(response)
    if not origin_only and "." not in domain:
        # The standard jar sends a domain cookie for a dotless host (".localhost") to its
        # subdomains only; a host-only twin makes it reach the host itself as well.
        twin = dump_cookie(key, value, path=path, **kwargs)
        cookies.extract_cookies(httpx.Response(200, headers=[("set-cookie", twin)], request=request))


def find_cookie(cookies: httpx.Cookies, key: str, domain: str, path: str) -> TestCookie | None:
    """The cookie `key` set for `domain` and `path`, or None."""
    # A domain-wide cookie first: its host-only twin (see `store_cookie`) is a copy.
    found = sorted(_matching(cookies.jar, key, domain, path), key=lambda cookie: not cookie.domain_specified)
    for cookie in found:
        value = cookie.value or ""
        decoded_key, decoded_value = next(iter(parse_cookie(f"{cookie.name}={value}").items()), (key, value))
        return TestCookie(
            key=cookie.name,
            value=value,
            decoded_key=decoded_key,
            decoded_value=decoded_value,
            expires=datetime.fromtimestamp(cookie.expires, timezone.utc) if cookie.expires else None,
            domain=domain,
            origin_only=not cookie.domain_specified,
            path=cookie.path,
            secure=cookie.secure,
            http_only=cookie.has_nonstandard_attr("HttpOnly"),
            same_site=cookie.get_nonstandard_attr("SameSite"),
        )
    return None


def remove_cookie(cookies: httpx.Cookies, key: str, domain: str, path: str) -> None:
    """Forget the cookie `key` set for `domain` and `path`, if there is one."""
    for cookie in _matching(cookies.jar, key, domain, path):
        with contextlib.suppress(KeyError):
            cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
