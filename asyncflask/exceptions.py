"""HTTP errors as exceptions: raise one (or call `abort`) to end a request with its status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, NoReturn

from markupsafe import escape
from starlette.websockets import WebSocketDisconnect

if TYPE_CHECKING:
    from starlette.responses import Response as StarletteResponse

__all__ = [
    "BadGateway",
    "BadRequest",
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
]


class HTTPException(Exception):
    """An error that maps to an HTTP status; its response is a small HTML page.

    The base class (like a family of errors built on it) has no `code`, as in Werkzeug: an
    error handler registered for it catches every HTTP error rather than only 500s.

    Args:
        description: replaces the class's default explanation.
        response: a ready response to send instead of the generated page.
    """

    code: int | None = None
    name: str = "Unknown Error"
    description: str = ""

    def __init__(self, description: str | None = None, response: StarletteResponse | None = None) -> None:
        super().__init__(description or self.description)
        if description is not None:
            self.description = description
        self.response = response

    def get_description(self) -> str:
        """The explanation as an HTML paragraph."""
        # markupsafe (Jinja's) escapes as Werkzeug does, so error pages match Flask's byte for byte.
        text = str(escape(self.description)).replace("\n", "<br>")
        return f"<p>{text}</p>"

    def get_body(self) -> str:
        """The HTML page sent for this error."""
        return (
            "<!doctype html>\n<html lang=en>\n"
            f"<title>{self._code_text} {escape(self.name)}</title>\n"
            f"<h1>{escape(self.name)}</h1>\n"
            f"{self.get_description()}\n"
        )

    def get_headers(self) -> list[tuple[str, str]]:
        """Headers that belong to the error page."""
        return [("Content-Type", "text/html; charset=utf-8")]

    def get_response(self) -> StarletteResponse:
        """The response for this error: the given one, or a generated HTML page.

        Returns:
            An `asyncflask.Response` (a Starlette response).
        """
        if self.response is not None:
            return self.response
        from .wrappers import Response

        # An error without a code of its own is still an error, never a 200.
        status = self.code if self.code is not None else 500
        return Response(self.get_body(), status=status, headers=self.get_headers())

    @property
    def _code_text(self) -> str:
        return str(self.code) if self.code is not None else "???"

    def __str__(self) -> str:
        return f"{self._code_text} {self.name}: {self.description}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self._code_text}: {self.name}'>"


class BadRequest(HTTPException):
    """400: the request could not be understood."""

    code = 400
    name = "Bad Request"
    description = "The browser (or proxy) sent a request that this server could not understand."


class SecurityError(BadRequest):
    """400 raised when a request breaks a security rule (an untrusted Host, a bad path)."""


class Unauthorized(HTTPException):
    """401: credentials are missing or wrong.

    Args:
        www_authenticate: value(s) for the `WWW-Authenticate` header.
    """

    code = 401
    name = "Unauthorized"
    description = (
        "The server could not verify that you are authorized to access the URL requested. You either"
        " supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand"
        " how to supply the credentials required."
    )

    def __init__(
        self,
        description: str | None = None,
        response: StarletteResponse | None = None,
        www_authenticate: str | Iterable[str] | None = None,
    ) -> None:
        super().__init__(description, response)
        if isinstance(www_authenticate, str):
            www_authenticate = [www_authenticate]
        self.www_authenticate = list(www_authenticate or ())

    def get_headers(self) -> list[tuple[str, str]]:
        headers = super().get_headers()
        headers.extend(("WWW-Authenticate", value) for value in self.www_authenticate)
        return headers


class Forbidden(HTTPException):
    """403: the client may not access this resource."""

    code = 403
    name = "Forbidden"
    description = (
        "You don't have the permission to access the requested resource. It is either"
        " read-protected or not readable by the server."
    )


class NotFound(HTTPException):
    """404: nothing lives at this URL."""

    code = 404
    name = "Not Found"
    description = (
        "The requested URL was not found on the server. If you entered the URL manually please"
        " check your spelling and try again."
    )


class MethodNotAllowed(HTTPException):
    """405: the URL exists but not for this method; `valid_methods` fills the `Allow` header.

    Args:
        valid_methods: the methods the URL accepts.
    """

    code = 405
    name = "Method Not Allowed"
    description = "The method is not allowed for the requested URL."

    def __init__(
        self,
        valid_methods: Iterable[str] | None = None,
        description: str | None = None,
        response: StarletteResponse | None = None,
    ) -> None:
        super().__init__(description, response)
        self.valid_methods = list(valid_methods) if valid_methods is not None else None

    def get_headers(self) -> list[tuple[str, str]]:
        headers = super().get_headers()
        if self.valid_methods:
            headers.append(("Allow", ", ".join(self.valid_methods)))
        return headers


class NotAcceptable(HTTPException):
    """406: no representation matches the `Accept` headers."""

    code = 406
    name = "Not Acceptable"
    description = (
        "The resource identified by the request is only capable of generating response entities"
        " which have content characteristics not acceptable according to the accept headers sent"
        " in the request."
    )


class RequestTimeout(HTTPException):
    """408: the client took too long to send the request."""

    code = 408
    name = "Request Timeout"
    description = "The server closed the network connection because the browser didn't finish the request within the specified time."  # noqa: E501


class Conflict(HTTPException):
    """409: the request conflicts with the resource's current state."""

    code = 409
    name = "Conflict"
    description = (
        "A conflict happened while processing the request. The resource might have been modified"
        " while the request was being processed."
    )


class Gone(HTTPException):
    """410: the resource existed but is gone for good."""

    code = 410
    name = "Gone"
    description = (
        "The requested URL is no longer available on this server and there is no forwarding"
        " address. If you followed a link from a foreign page, please contact the author of this"
        " page."
    )


class LengthRequired(HTTPException):
    """411: a `Content-Length` header is required."""

    code = 411
    name = "Length Required"
    description = "A request with this method requires a valid <code>Content-Length</code> header."


class PreconditionFailed(HTTPException):
    """412: a conditional header did not hold."""

    code = 412
    name = "Precondition Failed"
    description = "The precondition on the request for the URL failed positive evaluation."


class RequestEntityTooLarge(HTTPException):
    """413: the body is larger than the configured limit."""

    code = 413
    name = "Request Entity Too Large"
    description = "The data value transmitted exceeds the capacity limit."


class RequestURITooLarge(HTTPException):
    """414: the URL is too long."""

    code = 414
    name = "Request URI Too Long"
    description = "The length of the requested URL exceeds the capacity limit for this server. The request cannot be processed."  # noqa: E501


class UnsupportedMediaType(HTTPException):
    """415: the body's media type is not one this endpoint reads."""

    code = 415
    name = "Unsupported Media Type"
    description = "The server does not support the media type transmitted in the request."


class RequestedRangeNotSatisfiable(HTTPException):
    """416: the `Range` cannot be served; `length` fills `Content-Range: bytes */length`.

    Args:
        length: the full size of the resource.
        units: the range unit of the `Content-Range` header.
    """

    code = 416
    name = "Requested Range Not Satisfiable"
    description = "The server cannot provide the requested range."

    def __init__(
        self,
        length: int | None = None,
        units: str = "bytes",
        description: str | None = None,
        response: StarletteResponse | None = None,
    ) -> None:
        super().__init__(description, response)
        self.length = length
        self.units = units

    def get_headers(self) -> list[tuple[str, str]]:
        headers = super().get_headers()
        if self.length is not None:
            headers.append(("Content-Range", f"{self.units} */{self.length}"))
        return headers


class ExpectationFailed(HTTPException):
    """417: the `Expect` header cannot be met."""

    code = 417
    name = "Expectation Failed"
    description = "The server could not meet the requirements of the Expect header"


class ImATeapot(HTTPException):
    """418: the server is a teapot."""

    code = 418
    name = "I'm a teapot"
    description = "This server is a teapot, not a coffee machine"


class MisdirectedRequest(HTTPException):
    """421: the request reached a server that cannot answer for this host."""

    code = 421
    name = "Misdirected Request"
    description = "The server is not able to produce a response."


class UnprocessableEntity(HTTPException):
    """422: well-formed but semantically wrong."""

    code = 422
    name = "Unprocessable Entity"
    description = "The request was well-formed but was unable to be followed due to semantic errors."


class Locked(HTTPException):
    """423: the resource is locked."""

    code = 423
    name = "Locked"
    description = "The resource that is being accessed is locked."


class FailedDependency(HTTPException):
    """424: an earlier request this one depends on failed."""

    code = 424
    name = "Failed Dependency"
    description = "The method could not be performed on the resource because the requested action depended on another action and that action failed."  # noqa: E501


class PreconditionRequired(HTTPException):
    """428: the request must be conditional."""

    code = 428
    name = "Precondition Required"
    description = 'This request is required to be conditional; try using "If-Match" or "If-Unmodified-Since".'


class _RetryAfter(HTTPException):
    """An error that can tell the client when to retry (`Retry-After`).

    Args:
        description: replaces the class's default explanation.
        response: a ready response to send instead of the generated page.
        retry_after: seconds to wait, or the datetime to retry at.
    """

    def __init__(
        self,
        description: str | None = None,
        response: StarletteResponse | None = None,
        retry_after: int | datetime | None = None,
    ) -> None:
        super().__init__(description, response)
        self.retry_after = retry_after

    def get_headers(self) -> list[tuple[str, str]]:
        headers = super().get_headers()
        if isinstance(self.retry_after, datetime):
            when = self.retry_after
            when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
            headers.append(("Retry-After", format_datetime(when, usegmt=True)))
        elif self.retry_after is not None:
            headers.append(("Retry-After", str(int(self.retry_after))))
        return headers


class TooManyRequests(_RetryAfter):
    """429: rate limited; `retry_after` fills the `Retry-After` header."""

    code = 429
    name = "Too Many Requests"
    description = "This user has exceeded an allotted request count. Try again later."


class RequestHeaderFieldsTooLarge(HTTPException):
    """431: the headers are too large."""

    code = 431
    name = "Request Header Fields Too Large"
    description = "One or more header fields exceeds the maximum size."


class UnavailableForLegalReasons(HTTPException):
    """451: unavailable for legal reasons."""

    code = 451
    name = "Unavailable For Legal Reasons"
    description = "Unavailable for legal reasons."


class InternalServerError(HTTPException):
    """500: the server failed; `original_exception` holds the error that caused it.

    Args:
        original_exception: the unhandled exception behind this 500, if any.
    """

    code = 500
    name = "Internal Server Error"
    description = (
        "The server encountered an internal error and was unable to complete your request. Either"
        " the server is overloaded or there is an error in the application."
    )

    def __init__(
        self,
        description: str | None = None,
        response: StarletteResponse | None = None,
        original_exception: BaseException | None = None,
    ) -> None:
        super().__init__(description, response)
        self.original_exception = original_exception


class NotImplemented(HTTPException):  # the status's own name, as in Werkzeug
    """501: the server does not support this."""

    code = 501
    name = "Not Implemented"
    description = "The server does not support the action requested by the browser."


class BadGateway(HTTPException):
    """502: an upstream server answered badly."""

    code = 502
    name = "Bad Gateway"
    description = "The proxy server received an invalid response from an upstream server."


class ServiceUnavailable(_RetryAfter):
    """503: temporarily unable to serve; `retry_after` fills the `Retry-After` header."""

    code = 503
    name = "Service Unavailable"
    description = (
        "The server is temporarily unable to service your request due to maintenance downtime or"
        " capacity problems. Please try again later."
    )


class GatewayTimeout(HTTPException):
    """504: an upstream server did not answer in time."""

    code = 504
    name = "Gateway Timeout"
    description = "The connection to an upstream server timed out."


class HTTPVersionNotSupported(HTTPException):
    """505: the HTTP version is not supported."""

    code = 505
    name = "HTTP Version Not Supported"
    description = "The server does not support the HTTP protocol version used in the request."


class ClientDisconnected(BadRequest):
    """The client went away while its request was being read; nothing is sent back."""


default_exceptions: dict[int, type[HTTPException]] = {}
for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, HTTPException) and _cls.code is not None:
        default_exceptions.setdefault(_cls.code, _cls)
del _cls

# Classes made by `abort()` for statuses without one, made once per status: a new class per
# call would grow every cache keyed by exception type (the error-handler lookup is one).
_uncommon_exceptions: dict[int, type[HTTPException]] = {}


def _status_phrase(code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown Error"


def abort(status: int | StarletteResponse, description: str | None = None, **kwargs: Any) -> NoReturn:
    """Raise the `HTTPException` for a status code, or end the request with a response.

    Args:
        status: an HTTP status code, or a response to send as it is.
        description: replaces the error's default explanation.
        **kwargs: passed to the exception (e.g. `valid_methods` for 405).

    Raises:
        HTTPException: always.
    """
    if not isinstance(status, int):
        raise HTTPException(response=status)
    cls = default_exceptions.get(status) or _uncommon_exceptions.get(status)
    if cls is None:
        if not 400 <= status <= 599:
            raise LookupError(f"abort() needs an error status from 400 to 599, got {status}.")
        # An uncommon status still gets a proper error with its standard reason phrase.
        name = _status_phrase(status)
        cls = type(f"HTTP{status}", (HTTPException,), {"code": status, "name": name, "__module__": __name__})
        _uncommon_exceptions[status] = cls
    # By keyword: the first positional parameter is not the description for every class
    # (`MethodNotAllowed(valid_methods)`, `RequestedRangeNotSatisfiable(length)`).
    raise cls(description=description, **kwargs)
