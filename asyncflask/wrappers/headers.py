"""Response headers: Werkzeug's `Headers` and accessors, over a Starlette response's raw list."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.sansio.response import Response as SansIOResponse

_FORBIDDEN_HEADER_CHARS = re.compile(r"[\r\n\x00]")

HeadersInput = Mapping[str, Any] | Iterable[tuple[str, Any]] | Headers


def check_header(name: str, value: str) -> None:
    """Refuse a header name or value that could split into extra headers.

    Raises:
        ValueError: it contains CR, LF or NUL.
    """
    if _FORBIDDEN_HEADER_CHARS.search(name) or _FORBIDDEN_HEADER_CHARS.search(value):
        raise ValueError(
            f"Header {name!r} contains a newline or NUL character, which would let it split into"
            " extra headers. Remove CR, LF and NUL from header names and values."
        )


class SafeHeaders(Headers):
    """Werkzeug's `Headers`, refusing CR, LF and NUL, with Starlette's `append` spelling too.

    Every way of adding a value (`[]=`, `set`, `add`, `extend`, `update`, `setdefault`,
    `setlist`) goes through `add` or `set`, so checking those two guards them all.
    """

    def add(self, key: str, value: Any, /, **kwargs: Any) -> None:
        """Add a header, keeping existing ones of the same name."""
        check_header(key, " ".join(map(str, (value, *kwargs.values()))))
        super().add(key, value, **kwargs)

    def set(self, key: str, value: Any, /, **kwargs: Any) -> None:
        """Replace every header of this name with one value."""
        check_header(key, " ".join(map(str, (value, *kwargs.values()))))
        super().set(key, value, **kwargs)

    def __setitem__(self, key: Any, value: Any) -> None:
        # By index or slice, Werkzeug writes the list directly, past `set`.
        if isinstance(key, int):
            check_header(value[0], str(value[1]))
        elif isinstance(key, slice):
            value = list(value)
            for name, item in value:
                check_header(name, str(item))
        super().__setitem__(key, value)

    def append(self, key: str, value: str) -> None:
        """Add a header, keeping existing ones (Starlette's name for `add`)."""
        self.add(key, value)

    def add_vary_header(self, vary: str) -> None:
        """Add a value to the Vary header (Starlette's helper)."""
        existing = self.get("vary")
        self.set("Vary", f"{existing}, {vary}" if existing else vary)

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The headers as ASGI sends them: lower-case latin-1 byte pairs."""
        return [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in self._list]


def encode_headers(headers: HeadersInput | None) -> list[tuple[bytes, bytes]]:
    """Checked, lower-cased latin-1 pairs from a mapping, a list of pairs or `Headers`."""
    if not headers:
        return []
    if isinstance(headers, Headers):
        items: Iterable[tuple[str, Any]] = headers.items()
    elif isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    raw = []
    for key, value in items:
        text = str(value)
        check_header(key, text)
        raw.append((key.lower().encode("latin-1"), text.encode("latin-1")))
    return raw


class HeaderAccessors(SansIOResponse):
    """Werkzeug's response accessors (cache control, ETags, cookies…) for a Starlette response.

    Starlette sends `raw_headers`; Werkzeug's accessors read and write `headers`. Both are
    views of one list: the Werkzeug `Headers` object is only built when code asks for
    `headers`, so a response nobody inspects costs no more than Starlette's own.
    """

    # Class defaults: Starlette's subclasses set `raw_headers` before anything else.
    _raw: list[tuple[bytes, bytes]] | None = None
    _headers: SafeHeaders | None = None

    @property
    def headers(self) -> SafeHeaders:
        """The headers, as Werkzeug's `Headers` (setting CR, LF or NUL is a `ValueError`)."""
        headers = self._headers
        if headers is None:
            headers = SafeHeaders()
            # Already checked when they were added: adopted as they are.
            headers._list = [
                (key.decode("latin-1"), value.decode("latin-1")) for key, value in self._raw or ()
            ]
            self._headers = headers
            self._raw = None
        return headers

    @headers.setter
    def headers(self, value: HeadersInput) -> None:
        self._raw = encode_headers(value)
        self._headers = None

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as sent: lower-case latin-1 byte pairs."""
        if self._headers is not None:
            return self._headers.raw
        if self._raw is None:
            self._raw = []
        return self._raw

    @raw_headers.setter
    def raw_headers(self, value: list[tuple[bytes, bytes]]) -> None:
        self._raw = value
        self._headers = None

    def _clean_status(self, value: str | int | HTTPStatus) -> tuple[str, int]:
        # Werkzeug turns "wat" into status 0, which no server can send: refuse it instead.
        _status_code(value)
        return super()._clean_status(value)


def _status_code(status: int | str | HTTPStatus) -> int:
    """The code of a status given as an int or as a string that starts with one.

    Raises:
        ValueError: the string does not start with a number.
    """
    if isinstance(status, int):
        return int(status)
    number = str(status).strip().split(" ", 1)[0]
    if not (number.isascii() and number.isdigit()):
        raise ValueError(
            f"A status must be an integer or start with one, e.g. '404 NOT FOUND', not {status!r}."
        )
    return int(number)
