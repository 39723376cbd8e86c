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
from datetime import datetime, timedelta, timezone
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any, Literal, overload

import httpx
from werkzeug.datastructures import (
    ContentRange,
    HeaderSet,
    ResponseCacheControl,
    WWWAuthenticate,
)
from werkzeug.http import (
    HTTP_STATUS_CODES,
    dump_cookie,
    parse_age,
    parse_cache_control_header,
    parse_content_range_header,
    parse_cookie,
    parse_date,
    parse_options_header,
    parse_set_header,
    unquote_etag,
)
from werkzeug.sansio.response import Response as SansIOResponse

__all__ = ["TestCookie", "TestCookiePolicy", "TestResponse"]


def _werkzeug_accessor(name: str) -> Any:
    def read(self: httpx.Response) -> Any:
        view = SansIOResponse(self.status_code, headers=list(self.headers.multi_items()))
        return getattr(view, name)

    return property(read, doc=f"Werkzeug's `Response.{name}`, read from the headers.")


class TestResponse(httpx.Response):
    """A response from the test client: an `httpx.Response` with Flask's test-response names.

    Everything of httpx stays (`status_code`, `headers`, `text`, `content`, `json()`,
    `request`, streaming). On top: `data` / `get_data()` / `get_json()` as in Flask, and
    Werkzeug's response header accessors, read from `headers`. Changing a parsed value
    that Werkzeug lets you change (`cache_control.max_age = 5`, `vary.add("Cookie")`) writes
    the header back, as on a Werkzeug response.
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

    @property
    def is_json(self) -> bool:
        """Whether the mimetype is `application/json` or `application/*+json`."""
        mimetype = self.mimetype
        return mimetype is not None and (
            mimetype == "application/json"
            or (mimetype.startswith("application/") and mimetype.endswith("+json"))
        )

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

    @property
    def status(self) -> str:
        """The status line's code and reason, as Werkzeug writes it: `"404 NOT FOUND"`."""
        reason = HTTP_STATUS_CODES.get(self.status_code)
        return f"{self.status_code} {reason.upper() if reason else 'UNKNOWN'}"

    @property
    def content_type(self) -> str | None:
        """The `Content-Type` header, or None."""
        return _header(self, "content-type")

    @property
    def mimetype(self) -> str | None:
        """The content type without its parameters (`text/html`), or None."""
        content_type = self.content_type
        return content_type.partition(";")[0].strip() if content_type else None

    @property
    def mimetype_params(self) -> dict[str, str]:
        """The content type's parameters, such as `{"charset": "utf-8"}`."""
        return parse_options_header(self.content_type)[1]

    @property
    def content_length(self) -> int | None:
        """The `Content-Length` header as an int, or None (also when it is not a number)."""
        return _int_or_none(self.headers.get("content-length"))

    @property
    def location(self) -> str | None:
        """The `Location` header, as sent (a relative URL stays relative, as in Flask)."""
        return _header(self, "location")

    @property
    def accept_ranges(self) -> str | None:
        """The `Accept-Ranges` header (`"bytes"`, `"none"`), or None."""
        return _header(self, "accept-ranges")

    @property
    def age(self) -> timedelta | None:
        """The `Age` header as a `timedelta`, or None."""
        return parse_age(self.headers.get("age"))

    @property
    def date(self) -> datetime | None:
        """The `Date` header as an aware `datetime`, or None."""
        return parse_date(self.headers.get("date"))

    @property
    def expires(self) -> datetime | None:
        """The `Expires` header as an aware `datetime`, or None."""
        return parse_date(self.headers.get("expires"))

    @property
    def last_modified(self) -> datetime | None:
        """The `Last-Modified` header as an aware `datetime`, or None."""
        return parse_date(self.headers.get("last-modified"))

    @property
    def retry_after(self) -> datetime | None:
        """The `Retry-After` header as an aware `datetime` (seconds count from now), or None."""
        value = self.headers.get("retry-after")
        if value is None:
            return None
        seconds = _int_or_none(value)
        if seconds is None:
            return parse_date(value)
        return datetime.now(timezone.utc) + timedelta(seconds=seconds)

    def get_etag(self) -> tuple[str, bool] | tuple[None, None]:
        """The `ETag` header as `(etag, is_weak)`, or `(None, None)`."""
        return unquote_etag(self.headers.get("etag"))

    @property
    def cache_control(self) -> ResponseCacheControl:
        """The `Cache-Control` header as Werkzeug's `ResponseCacheControl` (empty if unset)."""

        def on_update(value: Any) -> None:
            self._write_header("cache-control", value.to_header() if value else None)

        return parse_cache_control_header(self.headers.get("cache-control"), on_update, ResponseCacheControl)

    @property
    def vary(self) -> HeaderSet:
        """The `Vary` header as a `HeaderSet`."""
        return self._header_set("vary")

    @property
    def allow(self) -> HeaderSet:
        """The `Allow` header as a `HeaderSet`."""
        return self._header_set("allow")

    @property
    def content_language(self) -> HeaderSet:
        """The `Content-Language` header as a `HeaderSet`."""
        return self._header_set("content-language")

    @property
    def content_range(self) -> ContentRange:
        """The `Content-Range` header as a `ContentRange` (all None if unset or invalid)."""

        def on_update(value: ContentRange) -> None:
            self._write_header("content-range", value.to_header() if value else None)

        parsed = parse_content_range_header(self.headers.get("content-range"), on_update)
        return parsed if parsed is not None else ContentRange(None, None, None, on_update=on_update)

    @property
    def www_authenticate(self) -> WWWAuthenticate:
        """The first `WWW-Authenticate` header as a `WWWAuthenticate` (`basic` if unset)."""
        parsed = WWWAuthenticate.from_header(self.headers.get("www-authenticate"))
        return parsed if parsed is not None else WWWAuthenticate("basic")

    # Werkzeug's remaining accessors, read through a sans-IO response over a copy of the headers.
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

    def _header_set(self, name: str) -> HeaderSet:
        def on_update(value: HeaderSet) -> None:
            self._write_header(name, value.to_header() if value else None)

        return parse_set_header(self.headers.get(name), on_update)

    def _write_header(self, name: str, value: str | None) -> None:
        if value is not None:
            self.headers[name] = value
        elif name in self.headers:
            del self.headers[name]


def _header(response: httpx.Response, name: str) -> str | None:
    value: str | None = response.headers.get(name)
    return value


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


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
