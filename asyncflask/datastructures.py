"""Request data containers, re-exported from Werkzeug so code written for Flask sees its own types.

A missing key in a `MultiDict` raises Werkzeug's `BadRequestKeyError` (a `KeyError` that is also
a 400), exactly as in Flask.
"""

from __future__ import annotations

from werkzeug.datastructures import (
    Accept,
    Authorization,
    CharsetAccept,
    CombinedMultiDict,
    ContentRange,
    ETags,
    FileStorage,
    Headers,
    IfRange,
    ImmutableMultiDict,
    LanguageAccept,
    MIMEAccept,
    MultiDict,
    Range,
    RequestCacheControl,
    ResponseCacheControl,
    WWWAuthenticate,
)
from werkzeug.exceptions import BadRequestKeyError

__all__ = [
    "Accept",
    "Authorization",
    "BadRequestKeyError",
    "CharsetAccept",
    "CombinedMultiDict",
    "ContentRange",
    "ETags",
    "FileStorage",
    "Headers",
    "IfRange",
    "ImmutableMultiDict",
    "LanguageAccept",
    "MIMEAccept",
    "MultiDict",
    "Range",
    "RequestCacheControl",
    "ResponseCacheControl",
    "WWWAuthenticate",
]
