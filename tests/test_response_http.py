"""Werkzeug's response accessors on asyncflask's Response: ETags, conditional requests, ranges,
cache control and the other typed headers, and Werkzeug errors and responses from Flask code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import werkzeug.exceptions
import werkzeug.wrappers
from werkzeug.datastructures import ResponseCacheControl

from asyncflask import AsyncFlask, Response, abort, request
from asyncflask.exceptions import Aborter, HTTPException, RequestedRangeNotSatisfiable

BODY = b"0123456789"
LAST_MODIFIED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def conditional_app() -> AsyncFlask:
    app = AsyncFlask(__name__)

    @app.get("/doc")
    async def doc() -> Response:
        response = Response(BODY, mimetype="text/plain")
        response.set_etag("v1")
        response.last_modified = LAST_MODIFIED
        return response.make_conditional(request, accept_ranges=True, complete_length=len(BODY))

    @app.get("/stream")
    async def stream() -> Response:
        def chunks() -> Iterator[bytes]:
            yield b"01234"
            yield b"56789"

        response = Response(chunks(), mimetype="text/plain")
        return response.make_conditional(request, accept_ranges=True, complete_length=len(BODY))

    @app.post("/doc")
    async def post_doc() -> Response:
        response = Response(BODY)
        response.set_etag("v1")
        return response.make_conditional(request)

    return app


# --- ETags ----------------------------------------------------------------------------------


def test_set_and_get_etag() -> None:
    response = Response()
    response.set_etag("abc")
    assert response.headers["ETag"] == '"abc"'
    assert response.get_etag() == ("abc", False)
    response.set_etag("abc", weak=True)
    assert response.headers["ETag"] == 'W/"abc"'
    assert response.get_etag() == ("abc", True)
    assert Response().get_etag() == (None, None)


def test_add_etag_hashes_the_body_and_keeps_an_existing_one() -> None:
    response = Response(BODY)
    response.add_etag()
    first, weak = response.get_etag()
    assert first and not weak
    response.set_data(b"other")
    response.add_etag()
    assert response.get_etag()[0] == first
    response.add_etag(overwrite=True)
    assert response.get_etag()[0] not in (None, first)


# --- conditional requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        pytest.param({}, 200, BODY, id="plain"),
        pytest.param({"If-None-Match": '"v1"'}, 304, b"", id="if-none-match-hit"),
        pytest.param({"If-None-Match": 'W/"v1"'}, 304, b"", id="if-none-match-weak"),
        pytest.param({"If-None-Match": '"v0", "v1"'}, 304, b"", id="if-none-match-list"),
        pytest.param({"If-None-Match": "*"}, 304, b"", id="if-none-match-star"),
        pytest.param({"If-None-Match": '"v2"'}, 200, BODY, id="if-none-match-miss"),
        pytest.param({"If-Match": '"v1"'}, 200, BODY, id="if-match-hit"),
        pytest.param({"If-Match": '"v2"'}, 412, BODY, id="if-match-miss"),
        pytest.param({"If-Modified-Since": "Wed, 02 Jan 2030 03:04:05 GMT"}, 304, b"", id="ims-same"),
        pytest.param({"If-Modified-Since": "Thu, 03 Jan 2030 00:00:00 GMT"}, 304, b"", id="ims-later"),
        pytest.param({"If-Modified-Since": "Tue, 01 Jan 2030 00:00:00 GMT"}, 200, BODY, id="ims-earlier"),
        pytest.param({"If-Modified-Since": "not a date"}, 200, BODY, id="ims-garbage"),
    ],
)
async def test_make_conditional(headers: dict[str, str], status: int, body: bytes) -> None:
    async with conditional_app().test_client() as client:
        response = await client.get("/doc", headers=headers)
    assert response.status_code == status
    assert response.content == body
    assert response.headers["etag"] == '"v1"'
    assert response.headers["accept-ranges"] == "bytes"
    assert "date" in response.headers
    if status == 304:
        assert "content-length" not in response.headers
        assert "content-type" not in response.headers
    else:
        assert response.headers["content-length"] == str(len(body))


async def test_make_conditional_leaves_other_methods_alone() -> None:
    async with conditional_app().test_client() as client:
        response = await client.post("/doc", headers={"If-None-Match": '"v1"'})
    assert (response.status_code, response.content) == (200, BODY)
    assert "date" not in response.headers


# --- ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/doc", "/stream"])
@pytest.mark.parametrize(
    ("range_header", "body", "content_range"),
    [
        pytest.param("bytes=2-4", b"234", "bytes 2-4/10", id="middle"),
        pytest.param("bytes=3-6", b"3456", "bytes 3-6/10", id="across-chunks"),
        pytest.param("bytes=7-", b"789", "bytes 7-9/10", id="open-end"),
        pytest.param("bytes=-2", b"89", "bytes 8-9/10", id="suffix"),
        pytest.param("bytes=5-100", b"56789", "bytes 5-9/10", id="end-past-length"),
    ],
)
async def test_range_request_gets_its_part(
    path: str, range_header: str, body: bytes, content_range: str
) -> None:
    async with conditional_app().test_client() as client:
        response = await client.get(path, headers={"Range": range_header})
    assert response.status_code == 206
    assert response.content == body
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(body))


@pytest.mark.parametrize("range_header", ["bytes=20-30", "bytes=5-2", "lines=1-2", "bytes=a-b"])
async def test_unsatisfiable_range_is_416(range_header: str) -> None:
    async with conditional_app().test_client() as client:
        response = await client.get("/doc", headers={"Range": range_header})
        assert response.status_code == 416
        assert response.headers["content-range"] == "bytes */10"
        assert (await client.get("/doc")).status_code == 200


async def test_if_range_with_an_old_etag_sends_everything() -> None:
    async with conditional_app().test_client() as client:
        stale = await client.get("/doc", headers={"Range": "bytes=0-1", "If-Range": '"v0"'})
        fresh = await client.get("/doc", headers={"Range": "bytes=0-1", "If-Range": '"v1"'})
    assert (stale.status_code, stale.content) == (200, BODY)
    assert (fresh.status_code, fresh.content) == (206, b"01")


def test_make_conditional_raises_werkzeugs_416() -> None:
    class FakeRequest:
        method = "GET"
        headers = {"range": "bytes=50-60"}

    with pytest.raises(RequestedRangeNotSatisfiable) as raised:
        Response(BODY).make_conditional(FakeRequest(), accept_ranges=True, complete_length=10)
    assert raised.value.length == 10


# --- typed headers --------------------------------------------------------------------------


def test_cache_control_writes_through() -> None:
    response = Response()
    assert isinstance(response.cache_control, ResponseCacheControl)
    response.cache_control.max_age = 60
    response.cache_control.public = True
    assert sorted(response.headers["Cache-Control"].split(", ")) == ["max-age=60", "public"]
    response.cache_control.no_store = True
    assert "no-store" in response.headers["Cache-Control"]
    assert response.cache_control.max_age == 60


def test_typed_header_properties() -> None:
    response = Response("x")
    response.expires = LAST_MODIFIED
    response.last_modified = LAST_MODIFIED
    response.vary.add("Accept-Encoding")
    response.vary.add("Cookie")
    response.content_language.add("en")
    response.allow.update(["GET", "HEAD"])
    response.access_control_allow_origin = "https://example.com"
    response.access_control_allow_credentials = True
    response.content_security_policy.default_src = "'self'"
    response.retry_after = 120
    response.age = timedelta(seconds=5)
    assert response.headers["Expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert response.headers["Last-Modified"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert response.headers["Vary"] == "Accept-Encoding, Cookie"
    assert response.headers["Content-Language"] == "en"
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.headers["Access-Control-Allow-Origin"] == "https://example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"
    assert response.headers["Retry-After"] == "120"
    assert response.headers["Age"] == "5"
    assert response.expires == LAST_MODIFIED
    assert response.content_length == 1


async def test_typed_headers_reach_the_client() -> None:
    app = AsyncFlask(__name__)

    @app.get("/")
    async def index() -> Response:
        response = Response("hello")
        response.cache_control.max_age = 30
        response.vary.add("Cookie")
        return response

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.headers["cache-control"] == "max-age=30"
    assert response.headers["vary"] == "Cookie"
    assert response.text == "hello"


def test_headers_are_werkzeugs_with_the_flask_api() -> None:
    response = Response("x", headers=[("X-A", "1"), ("X-A", "2")])
    assert response.headers.getlist("X-A") == ["1", "2"]
    assert response.headers.get_all("x-a") == ["1", "2"]
    assert response.headers.get("Content-Length", type=int) == 1
    response.headers.setlist("X-A", ["3"])
    assert response.headers.pop("X-A") == "3"
    response.headers.remove("Content-Length")
    assert "content-length" not in response.headers
    assert response.raw_headers == [(b"content-type", b"text/html; charset=utf-8")]


# --- JSON, mimetypes, body ------------------------------------------------------------------


def test_get_json_follows_the_mimetype() -> None:
    typed = Response('{"a": 1}', mimetype="application/json")
    untyped = Response('{"a": 1}')
    assert typed.is_json and typed.get_json() == {"a": 1} and typed.json == {"a": 1}
    assert not untyped.is_json and untyped.get_json() is None
    assert untyped.get_json(force=True) == {"a": 1}
    broken = Response("{", mimetype="application/json")
    with pytest.raises(ValueError):
        broken.get_json()
    assert broken.get_json(silent=True) is None


def test_mimetype_params_and_content_type() -> None:
    response = Response("x", mimetype="text/plain")
    assert response.mimetype == "text/plain"
    assert response.mimetype_params == {"charset": "utf-8"}
    response.mimetype = "application/xml"
    assert response.content_type == "application/xml; charset=utf-8"


def test_freeze_reads_a_sync_stream_and_call_on_close_runs_once() -> None:
    closed: list[str] = []

    def chunks() -> Iterator[str]:
        try:
            yield "ab"
            yield "cd"
        finally:
            closed.append("generator")

    response = Response(chunks())
    assert response.is_streamed and response.calculate_content_length() is None
    response.freeze()
    assert not response.is_streamed and response.get_data() == b"abcd"
    assert response.headers["Content-Length"] == "4"
    response.call_on_close(lambda: closed.append("callback"))
    response.close()
    response.close()
    assert closed == ["generator", "callback"]


async def test_call_on_close_runs_after_sending() -> None:
    app = AsyncFlask(__name__)
    calls: list[str] = []

    @app.get("/")
    async def index() -> Response:
        response = Response("sent")
        response.call_on_close(lambda: calls.append("closed"))
        return response

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "sent"
    assert calls == ["closed"]


def test_stream_writes_append_to_the_body() -> None:
    response = Response("a")
    response.stream.write("b")
    response.stream.writelines([b"c", "d"])
    assert response.get_data() == b"abcd"
    assert response.headers["Content-Length"] == "4"


# --- Werkzeug's errors and responses from Flask code ----------------------------------------


async def test_werkzeug_errors_and_responses_from_views() -> None:
    app = AsyncFlask(__name__)

    @app.get("/error")
    async def error() -> str:
        raise werkzeug.exceptions.Forbidden("Not yours.")

    @app.get("/wsgi-response")
    async def wsgi_response() -> Any:
        response = werkzeug.wrappers.Response("from werkzeug", 201, {"X-Kind": "wsgi"})
        response.set_cookie("k", "v")
        return response

    @app.errorhandler(404)
    async def as_json(error: HTTPException) -> Any:
        # The pattern from Flask's docs: edit the error's own (Werkzeug) response.
        response = error.get_response()
        response.data = b'{"code": 404}'
        response.content_type = "application/json"
        return response

    async with app.test_client() as client:
        forbidden = await client.get("/error")
        wsgi = await client.get("/wsgi-response")
        missing = await client.get("/missing")
    assert forbidden.status_code == 403 and "<p>Not yours.</p>" in forbidden.text
    assert (wsgi.status_code, wsgi.text, wsgi.headers["x-kind"]) == (201, "from werkzeug", "wsgi")
    assert wsgi.headers["set-cookie"] == "k=v; Path=/"
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert missing.json() == {"code": 404}


async def test_an_overridden_get_response_is_used() -> None:
    class Teapot(HTTPException):
        code = 418

        def get_response(self, environ: Any = None, scope: Any = None) -> Any:
            return Response("short and stout", 418, {"X-Tea": "earl grey"})

    app = AsyncFlask(__name__)

    @app.get("/")
    async def index() -> str:
        raise Teapot()

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text, response.headers["x-tea"]) == (
        418,
        "short and stout",
        "earl grey",
    )


async def test_abort_goes_through_the_apps_aborter() -> None:
    class PaymentRequired(HTTPException):
        code = 402
        description = "Pay first."

    class BillingAborter(Aborter):
        def __init__(self) -> None:
            super().__init__(extra={402: PaymentRequired})

    class BillingApp(AsyncFlask):
        aborter_class = BillingAborter

    app = BillingApp(__name__)

    @app.get("/pay")
    async def pay() -> str:
        abort(402)

    @app.get("/uncommon")
    async def uncommon() -> str:
        abort(499, "Client closed.")

    @app.get("/args")
    async def with_args() -> str:
        abort(405, valid_methods=["GET"])

    async with app.test_client() as client:
        paid = await client.get("/pay")
        odd = await client.get("/uncommon")
        args = await client.get("/args")
    assert isinstance(app.aborter, BillingAborter)
    assert paid.status_code == 402 and "<p>Pay first.</p>" in paid.text
    assert odd.status_code == 499 and "<p>Client closed.</p>" in odd.text
    assert (args.status_code, args.headers["allow"]) == (405, "GET")


def test_abort_outside_an_app_uses_werkzeugs_classes() -> None:
    with pytest.raises(werkzeug.exceptions.NotFound):
        abort(404)
    with pytest.raises(LookupError):
        abort(302)
    response = Response("as is", 409)
    with pytest.raises(HTTPException) as raised:
        abort(response)
    assert raised.value.response is response
