"""JSON providers (`app.json`): how views, `jsonify` and requests read and write JSON."""

from __future__ import annotations

import dataclasses
import decimal
import json
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from werkzeug.http import http_date

from ..wrappers import Response, content_type_for

if TYPE_CHECKING:
    from ..app import AsyncFlask

__all__ = ["DefaultJSONProvider", "JSONProvider"]


class JSONProvider:
    """The interface: `dumps`, `loads` and `response`. Subclass it to use another library.

    Args:
        app: the application it belongs to.
    """

    def __init__(self, app: AsyncFlask) -> None:
        self._app = app

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize `obj` to a JSON string."""
        raise NotImplementedError

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a JSON string."""
        raise NotImplementedError

    def _prepare_response_obj(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args and kwargs:
            raise TypeError("jsonify() takes positional or keyword arguments, not both.")
        if not args and not kwargs:
            return None
        if len(args) == 1:
            return args[0]
        return args or kwargs

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A JSON response for the arguments: one value, several as a list, or keywords as a dict."""
        obj = self._prepare_response_obj(args, kwargs)
        return Response(f"{self.dumps(obj)}\n", mimetype="application/json")


def default_encoding(value: Any) -> Any:
    """The default provider's encoding of what plain JSON cannot hold (Flask's rules)."""
    if isinstance(value, date):
        # Werkzeug's HTTP date: naive values are UTC, aware ones are converted.
        return http_date(value)
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class DefaultJSONProvider(JSONProvider):
    """JSON with the standard library, as Flask does it: dates as HTTP dates, `Decimal`,
    `UUID`, dataclasses and `__html__` objects supported, keys sorted, compact unless debug.
    """

    default = staticmethod(default_encoding)
    ensure_ascii = True
    sort_keys = True
    compact: bool | None = None
    mimetype = "application/json"

    def __init__(self, app: AsyncFlask) -> None:
        super().__init__(app)
        self._encoders: dict[tuple[tuple[str, Any], ...], json.JSONEncoder] = {}
        self._content_types: dict[str, bytes] = {}

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize `obj`; keyword arguments go to `json.dumps`."""
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        if "cls" in kwargs:
            return json.dumps(obj, **kwargs)
        # json.dumps builds a new encoder whenever options are given; reuse one per set of
        # options instead (the options are read each call, so changing them still works).
        try:
            key = tuple(sorted(kwargs.items()))
            encoder = self._encoders.get(key)
        except TypeError:  # an unhashable option
            return json.dumps(obj, **kwargs)
        if encoder is None:
            if len(self._encoders) >= 32:
                self._encoders.clear()
            encoder = self._encoders[key] = json.JSONEncoder(**kwargs)
        return encoder.encode(obj)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON; keyword arguments go to `json.loads`."""
        return json.loads(s, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A JSON response, pretty-printed in debug mode unless `compact` says otherwise."""
        obj = self._prepare_response_obj(args, kwargs)
        if (self.compact is None and self._app.debug) or self.compact is False:
            text = self.dumps(obj, indent=2)
        else:
            text = self.dumps(obj, separators=(",", ":"))
        response_class = self._app.response_class
        if response_class.__init__ is Response.__init__:
            content_type = self._content_types.get(self.mimetype)
            if content_type is None:
                content_type = content_type_for(self.mimetype).encode()
                self._content_types[self.mimetype] = content_type
            return response_class.with_body(f"{text}\n".encode(), content_type)
        return response_class(f"{text}\n", mimetype=self.mimetype)
