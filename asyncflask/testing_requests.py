"""Flask's test-request keywords (`query_string=`, `content_type=`, `data=`, ...) in httpx's terms.

The test client's verbs accept both vocabularies; `flask_request_options` turns Flask's
keywords into the httpx ones (`params`, `content`, `data`, `files`, `headers`), leaving
httpx's own keywords as httpx means them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypedDict
from urllib.parse import urlsplit

import httpx
from werkzeug.datastructures import FileStorage, Headers, MultiDict
from werkzeug.test import encode_multipart

__all__ = ["ROOT_PATH", "RequestOptions", "flask_request_options"]

#: Request extension naming the ASGI `root_path` a request is sent under (from `base_url`).
ROOT_PATH = "asyncflask.testing.root_path"


class RequestOptions(TypedDict, total=False):
    """The keywords the test client's verbs take: httpx's, then Flask's."""

    content: Any
    data: Any
    files: Any
    json: Any
    params: Any
    headers: Any
    cookies: Any
    auth: Any
    follow_redirects: Any
    timeout: Any
    extensions: Any
    query_string: str | bytes | Mapping[str, Any] | None
    content_type: str | None
    base_url: str | None
    buffered: bool


def _items(data: Mapping[str, Any]) -> list[tuple[str, Any]]:
    # A list value stands for several values of one key, as Werkzeug's EnvironBuilder reads it.
    pairs = data.items(multi=True) if isinstance(data, MultiDict) else data.items()
    return [(key, item) for key, value in pairs for item in (value if isinstance(value, list) else [value])]


def _file_entry(value: Any) -> tuple[str | None, Any, str | None]:
    """`(filename, fileobj, content_type)` for httpx, from a value Flask reads as a file."""
    if isinstance(value, FileStorage):
        return value.filename, value.stream, value.content_type
    if isinstance(value, dict):
        value = (value["file"], value.get("filename"), value.get("content_type"))
    if isinstance(value, tuple):
        fileobj, filename, content_type = (*value, None, None)[:3]
    else:
        fileobj, filename, content_type = value, None, None
    if filename is None:
        name = getattr(fileobj, "name", None)
        filename = os.path.basename(name) if isinstance(name, str) else None
    return filename, fileobj, content_type


def _split_form(data: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[tuple[str, Any]]]:
    fields: dict[str, list[str]] = {}
    files: list[tuple[str, Any]] = []
    for key, value in _items(data):
        if isinstance(value, (tuple, dict, FileStorage)) or hasattr(value, "read"):
            files.append((key, _file_entry(value)))
        else:
            # Flask writes form values with str(): True is "True", not httpx's "true".
            fields.setdefault(key, []).append(value.decode() if isinstance(value, bytes) else str(value))
    return fields, files


def _with_query(url: httpx.URL | str, query: str) -> httpx.URL | str:
    if isinstance(url, httpx.URL):
        return url.copy_with(query=query.encode() if query else None)
    path = url.partition("?")[0]
    return f"{path}?{query}" if query else path


def _under_base(url: httpx.URL | str, base_url: str, extensions: dict[str, Any]) -> httpx.URL | str:
    if httpx.URL(str(url)).is_absolute_url:
        return url  # a full URL names its own host, as in Flask
    parts = urlsplit(base_url)
    root = parts.path.rstrip("/")
    extensions[ROOT_PATH] = root
    return f"{parts.scheme or 'http'}://{parts.netloc}{root}/{str(url).lstrip('/')}"


def flask_request_options(
    url: httpx.URL | str, options: RequestOptions, dumps: Callable[[Any], str]
) -> tuple[httpx.URL | str, dict[str, Any]]:
    """The URL and httpx keywords for a request made with Flask's and/or httpx's keywords.

    Args:
        url: the path or URL asked for.
        options: the keywords given to the verb.
        dumps: serializes `json=` (the app's JSON provider, as Flask's client uses).

    Raises:
        TypeError: two keywords that say the same thing were both given.
    """
    given: dict[str, Any] = dict(options)
    given.pop("buffered", None)  # every non-streamed response is read in full anyway
    query_string = given.pop("query_string", None)
    content_type = given.pop("content_type", None)
    base_url = given.pop("base_url", None)
    data = given.pop("data", None)
    json_value = given.pop("json", None)
    headers = given.pop("headers", None)
    headers = httpx.Headers(list(headers.items()) if isinstance(headers, Headers) else headers)

    if query_string is not None:
        if given.get("params") is not None:
            raise TypeError("Give query_string= or params=, not both.")
        if isinstance(query_string, bytes):
            query_string = query_string.decode("latin-1")
        if isinstance(query_string, str):
            url = _with_query(url, query_string)
        else:
            url = _with_query(url, "")
            given["params"] = _items(query_string)
    if base_url is not None:
        given["extensions"] = extensions = dict(given.get("extensions") or {})
        url = _under_base(url, base_url, extensions)

    if json_value is not None:
        if data is not None or given.get("content") is not None:
            raise TypeError("Give json= or a body (data=, content=), not both.")
        given["content"] = dumps(json_value).encode()
        content_type = content_type or headers.get("content-type") or "application/json"
    elif isinstance(data, (str, bytes)) or hasattr(data, "read"):
        # Flask sends a string, bytes or a stream as the raw body.
        if given.get("content") is not None:
            raise TypeError("Give data= or content=, not both.")
        given["content"] = data.read() if hasattr(data, "read") else data
    elif data is not None:
        fields, files = _split_form(data)
        extra = given.pop("files", None)
        files += list(extra.items()) if isinstance(extra, Mapping) else list(extra or [])
        multipart = bool(files) or (content_type or "").lower().startswith("multipart/form-data")
        if multipart and "boundary=" not in (content_type or ""):
            content_type = None  # httpx writes the header with the boundary it chose
            headers.pop("content-type", None)
        if multipart and not files:
            # httpx only writes multipart bodies that carry a file; Werkzeug writes this one.
            boundary, body = encode_multipart(MultiDict([(k, v) for k, vs in fields.items() for v in vs]))
            given["content"] = body
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            given["data"] = fields
            if files:
                given["files"] = files
    if content_type is not None:
        headers["content-type"] = content_type
    if headers:
        given["headers"] = headers
    return url, given
