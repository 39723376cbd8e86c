"""HTTP errors: Werkzeug's own exception classes, `abort`, and their ASGI responses.

Code written for Flask raises and catches `werkzeug.exceptions` classes; these are the same
classes, so `except werkzeug.exceptions.NotFound` and `@app.errorhandler(NotFound)` see an
asyncflask 404, and an extension's Werkzeug error is answered with its own status.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, NoReturn

from starlette.responses import Response as StarletteResponse
from starlette.websockets import WebSocketDisconnect
from werkzeug.exceptions import Aborter as WerkzeugAborter
from werkzeug.exceptions import (
    BadGateway,
    BadHost,
    BadRequest,
    BadRequestKeyError,
    ClientDisconnected,
    Conflict,
    ExpectationFailed,
    FailedDependency,
    Forbidden,
    GatewayTimeout,
    Gone,
    HTTPException,
    HTTPVersionNotSupported,
    ImATeapot,
    InternalServerError,
    LengthRequired,
    Locked,
    MethodNotAllowed,
    MisdirectedRequest,
    NotAcceptable,
    NotFound,
    NotImplemented,
    PreconditionFailed,
    PreconditionRequired,
    RequestedRangeNotSatisfiable,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    RequestURITooLarge,
    SecurityError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnavailableForLegalReasons,
    UnprocessableEntity,
    UnsupportedMediaType,
    default_exceptions,
)

if TYPE_CHECKING:
    from starlette.types import Scope

__all__ = [
    "Aborter",
    "BadGateway",
    "BadHost",
    "BadRequest",
    "BadRequestKeyError",
    "ClientDisconnected",
    "Conflict",
    "ExpectationFailed",
    "FailedDependency",
    "Forbidden",
    "GatewayTimeout",
    "Gone",
    "HTTPException",
    "HTTPVersionNotSupported",
    "ImATeapot",
    "InternalServerError",
    "LengthRequired",
    "Locked",
    "MethodNotAllowed",
    "MisdirectedRequest",
    "NotAcceptable",
    "NotFound",
    "NotImplemented",
    "PreconditionFailed",
    "PreconditionRequired",
    "RequestEntityTooLarge",
    "RequestHeaderFieldsTooLarge",
    "RequestTimeout",
    "RequestURITooLarge",
    "RequestedRangeNotSatisfiable",
    "SecurityError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnavailableForLegalReasons",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "WebSocketDisconnect",
    "abort",
    "default_exceptions",
    "error_response",
]

# Classes for statuses Werkzeug has none for, made once per status: a new class per call
# would grow every cache keyed by exception type (the error-handler lookup is one).
_uncommon_exceptions: dict[int, type[HTTPException]] = {}


def _uncommon(code: int) -> type[HTTPException]:
    cls = _uncommon_exceptions.get(code)
    if cls is None:
        try:
            name = HTTPStatus(code).phrase
        except ValueError:
            name = "Unknown Error"
        cls = type(f"HTTP{code}", (HTTPException,), {"code": code, "name": name, "__module__": __name__})
        _uncommon_exceptions[code] = cls
    return cls


class Aborter(WerkzeugAborter):
    """Werkzeug's `Aborter`, which also raises a proper error for any other 4xx or 5xx status."""

    def __call__(self, code: int | StarletteResponse | Any, *args: Any, **kwargs: Any) -> NoReturn:
        if isinstance(code, int) and code not in self.mapping:
            if not 400 <= code <= 599:
                raise LookupError(f"abort() needs an error status from 400 to 599, got {code}.")
            self.mapping[code] = _uncommon(code)
        if not isinstance(code, int):
            # Any response, a Starlette one included, is sent as it is.
            raise HTTPException(response=code)  # type: ignore[arg-type]
        super().__call__(code, *args, **kwargs)


_aborter = Aborter()


def abort(
    status: int | StarletteResponse | Any, description: str | None = None, *args: Any, **kwargs: Any
) -> NoReturn:
    """Raise the `HTTPException` for a status code, or end the request with a response.

    Inside an app context, the app's `aborter` raises it (so a custom one applies).

    Args:
        status: an HTTP status code, or a response to send as it is.
        description: replaces the error's default explanation.
        *args: passed on to the exception class.
        **kwargs: passed to the exception (e.g. `valid_methods` for 405).

    Raises:
        HTTPException: always.
    """
    from .globals import _cv_context

    ctx = _cv_context.get(None)
    aborter = ctx.app.aborter if ctx is not None else _aborter
    if description is not None:
        # By keyword: the first positional parameter is not the description for every class
        # (`MethodNotAllowed(valid_methods)`, `RequestedRangeNotSatisfiable(length)`).
        kwargs["description"] = description
    aborter(status, *args, **kwargs)
    raise AssertionError("the aborter returned")  # pragma: no cover - an aborter always raises


def error_response(error: HTTPException, scope: Scope | None = None) -> StarletteResponse:
    """The ASGI response for an HTTP error: its own response, or its HTML page.

    A subclass that overrides `get_response` is asked for its response (a Werkzeug response
    is converted); otherwise the page is built straight from `get_body` and `get_headers`.
    """
    from .wrappers import Response

    if type(error).get_response is not HTTPException.get_response:
        response: Any = error.get_response(scope=scope)  # type: ignore[arg-type]
    elif error.response is not None:
        response = error.response
    else:
        # An error without a code of its own is still an error, never a 200.
        page_scope: Any = scope
        return Response(
            error.get_body(scope=page_scope), error.code or 500, error.get_headers(scope=page_scope)
        )
    if isinstance(response, StarletteResponse):
        return response
    return Response.force_type(response)
