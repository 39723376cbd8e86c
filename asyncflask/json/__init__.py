"""JSON the way the current app writes it: `dumps`, `loads`, `dump`, `load` and `jsonify`.

Inside an app these use its provider (`app.json`, see `asyncflask.json.provider`); outside
one, the standard library with the default provider's encoding of dates, UUIDs and the rest.
"""

from __future__ import annotations

import json as _json
from typing import IO, TYPE_CHECKING, Any

from .provider import DefaultJSONProvider, JSONProvider, default_encoding

if TYPE_CHECKING:
    from ..wrappers import Response

__all__ = ["DefaultJSONProvider", "JSONProvider", "dump", "dumps", "jsonify", "load", "loads"]


def dumps(obj: Any, **kwargs: Any) -> str:
    """Serialize with the current app's provider (the default encoding outside an app)."""
    from ..globals import _cv_context

    ctx = _cv_context.get(None)
    if ctx is not None:
        return ctx.app.json.dumps(obj, **kwargs)
    kwargs.setdefault("default", default_encoding)
    return _json.dumps(obj, **kwargs)


def loads(s: str | bytes, **kwargs: Any) -> Any:
    """Parse with the current app's provider (the standard library outside an app)."""
    from ..globals import _cv_context

    ctx = _cv_context.get(None)
    if ctx is not None:
        return ctx.app.json.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def dump(obj: Any, fp: IO[str], **kwargs: Any) -> None:
    """Serialize `obj` into the text file `fp`, as `dumps` does."""
    fp.write(dumps(obj, **kwargs))


def load(fp: IO[Any], **kwargs: Any) -> Any:
    """Parse the JSON in the file `fp` (text or binary), as `loads` does."""
    return loads(fp.read(), **kwargs)


def jsonify(*args: Any, **kwargs: Any) -> Response:
    """A JSON response from the current app's provider (`asyncflask.jsonify`)."""
    from ..helpers import jsonify as app_jsonify

    return app_jsonify(*args, **kwargs)


from . import tag as tag  # noqa: E402  (it uses dumps and loads, defined above)
