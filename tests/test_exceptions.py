"""HTTP errors: codes, descriptions, error pages and the headers some of them carry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from werkzeug.datastructures import WWWAuthenticate

from asyncflask import AsyncFlask, Response, abort
from asyncflask import exceptions as exc
from asyncflask.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestedRangeNotSatisfiable,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    default_exceptions,
    error_response,
)

HTML = "text/html; charset=utf-8"

CLASSES = [
    (exc.BadRequest, 400, "Bad Request"),
    (exc.Unauthorized, 401, "Unauthorized"),
    (exc.Forbidden, 403, "Forbidden"),
    (exc.NotFound, 404, "Not Found"),
    (exc.MethodNotAllowed, 405, "Method Not Allowed"),
    (exc.NotAcceptable, 406, "Not Acceptable"),
    (exc.RequestTimeout, 408, "Request Timeout"),
    (exc.Conflict, 409, "Conflict"),
    (exc.Gone, 410, "Gone"),
    (exc.LengthRequired, 411, "Length Required"),
    (exc.PreconditionFailed, 412, "Precondition Failed"),
    (exc.RequestEntityTooLarge, 413, "Request Entity Too Large"),
    (exc.RequestURITooLarge, 414, "Request URI Too Long"),
    (exc.UnsupportedMediaType, 415, "Unsupported Media Type"),
    (exc.RequestedRangeNotSatisfiable, 416, "Requested Range Not Satisfiable"),
    (exc.ExpectationFailed, 417, "Expectation Failed"),
    (exc.ImATeapot, 418, "I'm a teapot"),
    (exc.MisdirectedRequest, 421, "Misdirected Request"),
    (exc.UnprocessableEntity, 422, "Unprocessable Entity"),
    (exc.Locked, 423, "Locked"),
    (exc.FailedDependency, 424, "Failed Dependency"),
    (exc.PreconditionRequired, 428, "Precondition Required"),
    (exc.TooManyRequests, 429, "Too Many Requests"),
    (exc.RequestHeaderFieldsTooLarge, 431, "Request Header Fields Too Large"),
    (exc.UnavailableForLegalReasons, 451, "Unavailable For Legal Reasons"),
    (exc.InternalServerError, 500, "Internal Server Error"),
    (exc.NotImplemented, 501, "Not Implemented"),
    (exc.BadGateway, 502, "Bad Gateway"),
    (exc.ServiceUnavailable, 503, "Service Unavailable"),
    (exc.GatewayTimeout, 504, "Gateway Timeout"),
    (exc.HTTPVersionNotSupported, 505, "HTTP Version Not Supported"),
]
CLASS_PARAMS = [pytest.param(cls, code, name, id=str(code)) for cls, code, name in CLASSES]


def page(title: str, name: str, description_html: str) -> str:
    return (
        "<!doctype html>\n<html lang=en>\n"
        f"<title>{title}</title>\n<h1>{name}</h1>\n<p>{description_html}</p>\n"
    )


@pytest.mark.parametrize(("cls", "code", "name"), CLASS_PARAMS)
def test_class_code_name_and_default_description(cls: type[HTTPException], code: int, name: str) -> None:
    error = cls()
    assert error.code == code
    assert error.name == name
    assert error.description == cls.description
    assert error.description
    assert isinstance(error, HTTPException)
    assert isinstance(error, Exception)
    assert default_exceptions[code] is cls


@pytest.mark.parametrize(("cls", "code", "name"), CLASS_PARAMS)
def test_error_response_is_an_html_page(cls: type[HTTPException], code: int, name: str) -> None:
    # `get_response()` is Werkzeug's (a WSGI response, as in Flask); `error_response` is what
    # asyncflask sends: the same page as an ASGI response.
    error = cls(description="Custom <b>text</b> & 'more'\nsecond line")
    response = error_response(error)
    assert isinstance(response, Response)
    assert response.get_data() == error.get_response().get_data()
    assert response.status_code == code
    assert response.headers["content-type"] == HTML
    escaped_name = name.replace("'", "&#39;")
    assert response.get_data(as_text=True) == page(
        f"{code} {escaped_name}",
        escaped_name,
        "Custom &lt;b&gt;text&lt;/b&gt; &amp; &#39;more&#39;<br>second line",
    )


@pytest.mark.parametrize(("cls", "code", "name"), CLASS_PARAMS)
def test_error_pages_match_werkzeug(cls: type[HTTPException], code: int, name: str) -> None:
    werkzeug_exceptions = pytest.importorskip("werkzeug.exceptions")
    theirs = werkzeug_exceptions.default_exceptions[code]
    assert theirs.__name__ == cls.__name__
    assert theirs.description == cls.description
    for description in (None, "A <custom> 'description'\nwith \"lines\""):
        assert cls(description).get_body() == theirs(description).get_body()
        assert str(cls(description)) == str(theirs(description))
        assert repr(cls(description)) == repr(theirs(description))


def test_str_and_repr() -> None:
    assert str(NotFound("Gone away")) == "404 Not Found: Gone away"
    assert repr(NotFound()) == "<NotFound '404: Not Found'>"
    assert str(HTTPException("x")) == "??? Unknown Error: x"
    assert repr(HTTPException()) == "<HTTPException '???: Unknown Error'>"


def test_description_override_is_per_instance() -> None:
    custom = BadRequest("Only this one")
    assert custom.description == "Only this one"
    assert BadRequest().description == BadRequest.description


def test_base_class_has_no_code_and_answers_500() -> None:
    error = HTTPException()
    assert error.code is None
    response = error_response(error)
    assert response.status_code == 500
    assert "<h1>Unknown Error</h1>" in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_given_response_is_used_as_is() -> None:
    custom = Response("custom", 418)
    assert error_response(NotFound(response=custom)) is custom
    assert error_response(HTTPException(response=custom)) is custom


# --- errors with headers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "headers"),
    [
        pytest.param(MethodNotAllowed(["GET", "POST"]), [("Allow", "GET, POST")], id="405-allow"),
        pytest.param(MethodNotAllowed(), [], id="405-no-methods"),
        pytest.param(MethodNotAllowed([]), [], id="405-empty-methods"),
        pytest.param(
            Unauthorized(www_authenticate=WWWAuthenticate("basic", {"realm": "site"})),
            [("WWW-Authenticate", "Basic realm=site")],
            id="401-one-challenge",
        ),
        pytest.param(
            Unauthorized(
                www_authenticate=[WWWAuthenticate("bearer"), WWWAuthenticate("basic", {"realm": "x"})]
            ),
            [("WWW-Authenticate", "Bearer"), ("WWW-Authenticate", "Basic realm=x")],
            id="401-two-challenges",
        ),
        pytest.param(Unauthorized(), [], id="401-no-challenge"),
        pytest.param(
            RequestedRangeNotSatisfiable(1234), [("Content-Range", "bytes */1234")], id="416-content-range"
        ),
        pytest.param(
            RequestedRangeNotSatisfiable(10, units="items"), [("Content-Range", "items */10")], id="416-units"
        ),
        pytest.param(RequestedRangeNotSatisfiable(), [], id="416-no-length"),
        pytest.param(TooManyRequests(retry_after=30), [("Retry-After", "30")], id="429-seconds"),
        pytest.param(
            TooManyRequests(retry_after=datetime(2030, 1, 2, 3, 4, 5)),
            [("Retry-After", "Wed, 02 Jan 2030 03:04:05 GMT")],
            id="429-naive-datetime",
        ),
        pytest.param(
            ServiceUnavailable(
                retry_after=datetime(2030, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
            ),
            [("Retry-After", "Wed, 02 Jan 2030 03:04:05 GMT")],
            id="503-aware-datetime",
        ),
        pytest.param(ServiceUnavailable(), [], id="503-no-retry"),
    ],
)
def test_error_headers(error: HTTPException, headers: list[tuple[str, str]]) -> None:
    assert error.get_headers() == [("Content-Type", HTML), *headers]
    response = error_response(error)
    for name, _ in headers:
        assert response.headers.getlist(name) == [value for key, value in headers if key == name]


def test_method_not_allowed_keeps_description_and_methods_apart() -> None:
    error = MethodNotAllowed(["GET"], "Read only.")
    assert error.valid_methods == ["GET"]
    assert error.description == "Read only."


def test_internal_server_error_keeps_the_original() -> None:
    original = ValueError("boom")
    error = InternalServerError(original_exception=original)
    assert error.original_exception is original
    assert InternalServerError().original_exception is None


# --- the mapping ----------------------------------------------------------------------------


def test_default_exceptions_mapping() -> None:
    assert set(default_exceptions) == {code for _, code, _ in CLASSES}
    for code, cls in default_exceptions.items():
        assert cls.code == code
    # Subclasses that share a status never replace the canonical class.
    assert default_exceptions[400] is BadRequest
    assert issubclass(exc.SecurityError, BadRequest)
    assert issubclass(exc.ClientDisconnected, BadRequest)
    assert None not in default_exceptions


def test_abort_uses_the_mapping() -> None:
    for code, cls in default_exceptions.items():
        with pytest.raises(cls):
            abort(code)


# --- through an app -------------------------------------------------------------------------


def error_app() -> AsyncFlask:
    app = AsyncFlask(__name__)

    @app.get("/unauthorized")
    async def unauthorized() -> str:
        raise Unauthorized(www_authenticate=WWWAuthenticate("basic", {"realm": "app"}))

    @app.get("/range")
    async def range_view() -> str:
        raise RequestedRangeNotSatisfiable(length=99)

    @app.get("/busy")
    async def busy() -> str:
        raise ServiceUnavailable("Back soon.", retry_after=120)

    @app.get("/custom")
    async def custom() -> str:
        class PaymentRequired(HTTPException):
            code = 402
            name = "Payment Required"
            description = "Pay first."

        raise PaymentRequired()

    @app.get("/with-response")
    async def with_response() -> str:
        raise NotFound(response=Response("not here, as JSON", 404, mimetype="application/json"))

    return app


@pytest.mark.parametrize(
    ("path", "status", "headers", "text"),
    [
        pytest.param(
            "/unauthorized",
            401,
            {"www-authenticate": "Basic realm=app"},
            "<title>401 Unauthorized</title>",
            id="401",
        ),
        pytest.param("/range", 416, {"content-range": "bytes */99"}, "<title>416 Requested Range", id="416"),
        pytest.param("/busy", 503, {"retry-after": "120"}, "<p>Back soon.</p>", id="503"),
        pytest.param(
            "/custom", 402, {}, page("402 Payment Required", "Payment Required", "Pay first."), id="402"
        ),
        pytest.param(
            "/with-response",
            404,
            {"content-type": "application/json"},
            "not here, as JSON",
            id="with-response",
        ),
        pytest.param(
            "/missing",
            404,
            {"content-type": HTML},
            page("404 Not Found", "Not Found", NotFound.description),
            id="404",
        ),
    ],
)
async def test_errors_raised_in_views(path: str, status: int, headers: dict[str, str], text: str) -> None:
    async with error_app().test_client() as client:
        response = await client.get(path)
    assert response.status_code == status
    for name, value in headers.items():
        assert response.headers[name] == value
    assert text in response.text


async def test_wrong_method_is_405_with_allow() -> None:
    app = error_app()
    async with app.test_client() as client:
        response = await client.post("/busy")
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD", "OPTIONS"]
    assert "<title>405 Method Not Allowed</title>" in response.text


async def test_handler_for_the_base_class_catches_every_http_error() -> None:
    app = error_app()

    @app.errorhandler(HTTPException)
    async def as_json(error: HTTPException) -> tuple[dict[str, Any], int]:
        return {"code": error.code, "name": error.name}, error.code or 500

    async with app.test_client() as client:
        missing = await client.get("/missing")
        busy = await client.get("/busy")
        wrong_method = await client.post("/busy")
    assert (missing.status_code, missing.json()) == (404, {"code": 404, "name": "Not Found"})
    assert (busy.status_code, busy.json()) == (503, {"code": 503, "name": "Service Unavailable"})
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 405)


async def test_abort_with_a_response_skips_error_handlers() -> None:
    app = AsyncFlask(__name__)

    @app.errorhandler(HTTPException)
    async def as_json(error: HTTPException) -> tuple[dict[str, Any], int]:
        return {"code": error.code}, error.code or 500

    @app.get("/")
    async def view() -> str:
        abort(Response("exactly this", 202))
        return "unreachable"

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (202, "exactly this")
