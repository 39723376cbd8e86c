"""What views may return, and the helpers that build responses: redirect, abort, jsonify,
make_response and after_this_request."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Callable, Iterator
from http import HTTPStatus
from typing import Any

import pytest
from starlette.responses import PlainTextResponse

from asyncflask import (
    AsyncFlask,
    Response,
    abort,
    after_this_request,
    jsonify,
    make_response,
    redirect,
)
from asyncflask.exceptions import HTTPException, MethodNotAllowed, NotFound

HTML = "text/html; charset=utf-8"
JSON = "application/json"


def make_app() -> AsyncFlask:
    return AsyncFlask(__name__)


# --- what a view may return -----------------------------------------------------------------


def _agen_body() -> AsyncIterator[str]:
    async def gen() -> AsyncIterator[str]:
        yield "a"
        yield "b"

    return gen()


def _gen_body() -> Iterator[bytes]:
    yield b"c"
    yield b"d"


RETURN_VALUES = [
    pytest.param(lambda: "héllo", 200, HTML, "héllo".encode(), {}, id="str"),
    pytest.param(lambda: b"\x00raw", 200, HTML, b"\x00raw", {}, id="bytes"),
    pytest.param(lambda: {"b": 1, "a": [True, None]}, 200, JSON, b'{"a":[true,null],"b":1}\n', {}, id="dict"),
    pytest.param(lambda: [1, "two"], 200, JSON, b'[1,"two"]\n', {}, id="list"),
    pytest.param(lambda: [], 200, JSON, b"[]\n", {}, id="empty-list"),
    pytest.param(lambda: Response("resp", 202), 202, HTML, b"resp", {}, id="response"),
    pytest.param(
        lambda: PlainTextResponse("plain", 203),
        203,
        "text/plain; charset=utf-8",
        b"plain",
        {},
        id="starlette",
    ),
    pytest.param(_agen_body, 200, HTML, b"ab", {}, id="async-generator"),
    pytest.param(_gen_body, 200, HTML, b"cd", {}, id="sync-generator"),
    pytest.param(lambda: ("made", 201), 201, HTML, b"made", {}, id="body-status"),
    pytest.param(lambda: ("made", "201 CREATED"), 201, HTML, b"made", {}, id="body-status-line"),
    pytest.param(lambda: ("made", HTTPStatus.ACCEPTED), 202, HTML, b"made", {}, id="body-httpstatus"),
    pytest.param(lambda: ("h", {"X-A": "1"}), 200, HTML, b"h", {"x-a": ["1"]}, id="body-headers-dict"),
    pytest.param(
        lambda: ("h", [("X-A", "1"), ("X-A", "2")]),
        200,
        HTML,
        b"h",
        {"x-a": ["1", "2"]},
        id="body-headers-list",
    ),
    pytest.param(
        lambda: ("all", 404, {"X-A": "1"}), 404, HTML, b"all", {"x-a": ["1"]}, id="body-status-headers-dict"
    ),
    pytest.param(
        lambda: ("all", 404, [("X-A", "1"), ("X-B", "2"), ("X-A", "3")]),
        404,
        HTML,
        b"all",
        {"x-a": ["1", "3"], "x-b": ["2"]},
        id="body-status-headers-list",
    ),
    pytest.param(
        lambda: ({"k": "v"}, 201, {"X-A": "1"}),
        201,
        JSON,
        b'{"k":"v"}\n',
        {"x-a": ["1"]},
        id="dict-status-headers",
    ),
    pytest.param(
        lambda: ("ct", {"Content-Type": "text/plain"}),
        200,
        "text/plain",
        b"ct",
        {"content-type": ["text/plain"]},
        id="headers-set-content-type",
    ),
    pytest.param(
        lambda: (Response("r"), 409, {"X-A": "1"}),
        409,
        HTML,
        b"r",
        {"x-a": ["1"]},
        id="response-status-headers",
    ),
    pytest.param(
        lambda: (Response("r", headers={"X-A": "0"}), {"X-A": "1"}),
        200,
        HTML,
        b"r",
        {"x-a": ["1"]},
        id="tuple-headers-replace-response-headers",
    ),
    pytest.param(lambda: NotFound(), 404, HTML, None, {}, id="http-exception"),
]


@pytest.mark.parametrize(("make_rv", "status", "content_type", "body", "headers"), RETURN_VALUES)
async def test_view_return_values(
    make_rv: Callable[[], Any],
    status: int,
    content_type: str,
    body: bytes | None,
    headers: dict[str, list[str]],
) -> None:
    app = make_app()

    @app.get("/")
    async def view() -> Any:
        return make_rv()

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == status
    assert response.headers["content-type"] == content_type
    if body is not None:
        assert response.content == body
    for name, values in headers.items():
        assert response.headers.get_list(name) == values


async def test_sync_view_return_values() -> None:
    app = make_app()

    @app.get("/text")
    def text() -> tuple[str, int]:
        return "sync", 201

    @app.get("/gen")
    def gen() -> Iterator[str]:
        yield "x"
        yield "y"

    async with app.test_client() as client:
        text_response = await client.get("/text")
        gen_response = await client.get("/gen")
    assert (text_response.status_code, text_response.text) == (201, "sync")
    assert (gen_response.status_code, gen_response.text) == (200, "xy")


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_generators_stream_chunk_by_chunk(kind: str) -> None:
    app = make_app()

    @app.get("/async")
    async def async_view() -> AsyncIterator[str]:
        async def gen() -> AsyncIterator[str]:
            for part in ("one", "two", "three"):
                yield part

        return gen()

    @app.get("/sync")
    async def sync_view() -> Iterator[str]:
        return iter(["one", "two", "three"])

    async with app.test_client() as client, client.stream("GET", f"/{kind}") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        received = [chunk async for chunk in response.aiter_raw()]
    assert received == [b"one", b"two", b"three"]


async def test_streaming_sends_headers_before_the_body_is_done() -> None:
    app = make_app()
    import asyncio

    release = asyncio.Event()

    @app.get("/")
    async def view() -> AsyncIterator[str]:
        async def gen() -> AsyncIterator[str]:
            yield "first"
            await release.wait()
            yield "second"

        return gen()

    async with app.test_client() as client, client.stream("GET", "/") as response:
        chunks = response.aiter_raw()
        assert await chunks.__anext__() == b"first"
        release.set()
        assert [chunk async for chunk in chunks] == [b"second"]


@pytest.mark.parametrize(
    ("rv", "message"),
    [
        pytest.param(None, "did not return a valid response", id="none"),
        pytest.param(42, "but it was a int", id="int"),
        pytest.param(object(), "but it was a object", id="object"),
        pytest.param(3.5, "but it was a float", id="float"),
        pytest.param(("a",), "valid response tuple", id="one-tuple"),
        pytest.param(("a", 200, {}, "extra"), "valid response tuple", id="four-tuple"),
        pytest.param((None, 200), "did not return a valid response", id="none-in-tuple"),
    ],
)
async def test_invalid_return_values_are_type_errors_naming_the_view(rv: Any, message: str) -> None:
    app = make_app()
    app.testing = True

    @app.get("/")
    async def my_view() -> Any:
        return rv

    async with app.test_client() as client:
        with pytest.raises(TypeError, match=message) as info:
            await client.get("/")
    if "tuple" not in message:
        assert "'my_view'" in str(info.value)


async def test_invalid_return_value_is_a_500_outside_testing() -> None:
    app = make_app()

    @app.get("/")
    async def view() -> None:
        return None

    @app.get("/ok")
    async def ok() -> str:
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
        follow_up = await client.get("/ok")
    assert response.status_code == 500
    assert "<title>500 Internal Server Error</title>" in response.text
    assert follow_up.text == "ok"


# --- make_response --------------------------------------------------------------------------


MAKE_RESPONSE_ARGS = [
    pytest.param((), 200, HTML, b"", id="no-arguments"),
    pytest.param(("body",), 200, HTML, b"body", id="str"),
    pytest.param((b"raw",), 200, HTML, b"raw", id="bytes"),
    pytest.param(("missing", 404), 404, HTML, b"missing", id="body-status"),
    pytest.param(("h", {"X-A": "1"}), 200, HTML, b"h", id="body-headers"),
    pytest.param(("h", 201, [("X-A", "1")]), 201, HTML, b"h", id="body-status-headers"),
    pytest.param(({"a": 1},), 200, JSON, b'{"a":1}\n', id="dict"),
    pytest.param((["a"],), 200, JSON, b'["a"]\n', id="list"),
    pytest.param((("tuple", 202),), 202, HTML, b"tuple", id="one-tuple-argument"),
]


@pytest.mark.parametrize(("args", "status", "content_type", "body"), MAKE_RESPONSE_ARGS)
async def test_make_response(args: tuple[Any, ...], status: int, content_type: str, body: bytes) -> None:
    app = make_app()

    @app.get("/")
    async def view() -> Response:
        response: Response = await make_response(*args)
        assert isinstance(response, Response)
        response.headers["X-Made"] = "yes"
        return response

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == status
    assert response.headers["content-type"] == content_type
    assert response.headers["x-made"] == "yes"
    assert response.content == body


async def test_make_response_passes_a_response_through() -> None:
    app = make_app()
    original = Response("same")
    async with app.app_context():
        assert await make_response(original) is original


async def test_make_response_needs_an_app() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        await make_response("x")


# --- redirect -------------------------------------------------------------------------------


def redirect_body(href: str, shown: str) -> str:
    return (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
        f'<p>You should be redirected automatically to the target URL: <a href="{href}">{shown}</a>.'
        " If not, click the link.\n"
    )


def test_redirect_defaults() -> None:
    response = redirect("/next")
    assert response.status_code == 302
    assert response.headers["location"] == "/next"
    assert response.headers["content-type"] == HTML
    assert response.get_data(as_text=True) == redirect_body("/next", "/next")


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_codes(code: int) -> None:
    assert redirect("https://example.com/x", code).status_code == code


@pytest.mark.parametrize(
    ("location", "header", "shown"),
    [
        pytest.param("/ünï cödé", "/%C3%BCn%C3%AF%20c%C3%B6d%C3%A9", "/ünï cödé", id="non-ascii-and-space"),
        pytest.param(
            "/q?a=1&b=ä#frag", "/q?a=1&b=%C3%A4#frag", "/q?a=1&amp;b=ä#frag", id="query-and-fragment"
        ),
        pytest.param("/already%20quoted", "/already%20quoted", "/already%20quoted", id="already-quoted"),
        pytest.param(
            "http://例え.jp/パス", "http://%E4%BE%8B%E3%81%88.jp/%E3%83%91%E3%82%B9", None, id="idn"
        ),
        pytest.param('/x"<b>', "/x%22%3Cb%3E", "/x&quot;&lt;b&gt;", id="markup"),
        pytest.param("/a\r\nSet-Cookie: x=1", "/a%0D%0ASet-Cookie:%20x=1", None, id="crlf-encoded"),
    ],
)
def test_redirect_location_quoting(location: str, header: str, shown: str | None) -> None:
    response = redirect(location)
    assert response.headers["location"] == header
    body = response.get_data(as_text=True)
    assert f'href="{html.escape(header)}"' in body
    if shown is not None:
        assert f">{shown}</a>" in body


async def test_redirect_in_a_view_uses_the_app_response_class() -> None:
    class MyResponse(Response):
        pass

    app = make_app()
    app.response_class = MyResponse
    seen: list[type] = []

    @app.get("/")
    async def view() -> Response:
        response = redirect("/there", 303)
        seen.append(type(response))
        return response

    async with app.test_client() as client:
        response = await client.get("/")
    assert seen == [MyResponse]
    assert response.status_code == 303
    assert response.headers["location"] == "/there"
    assert response.text == redirect_body("/there", "/there")


def test_redirect_with_explicit_response_class() -> None:
    class Other(Response):
        pass

    assert type(redirect("/", Response=Other)) is Other


# --- abort ----------------------------------------------------------------------------------


def abort_app() -> AsyncFlask:
    app = make_app()

    @app.get("/code/<int:code>")
    async def code(code: int) -> str:
        abort(code)
        return "unreachable"

    @app.get("/described")
    async def described() -> str:
        abort(400, description="Missing <field> & more")
        return "unreachable"

    @app.get("/response")
    async def response() -> str:
        abort(Response("custom body", 202, headers={"X-Custom": "1"}))
        return "unreachable"

    @app.get("/method")
    async def method() -> str:
        abort(405, valid_methods=["GET", "POST"])
        return "unreachable"

    @app.get("/positional")
    async def positional() -> str:
        abort(405, "Only reading here.")
        return "unreachable"

    return app


@pytest.mark.parametrize(
    ("code", "title"),
    [
        pytest.param(400, "400 Bad Request", id="400"),
        pytest.param(401, "401 Unauthorized", id="401"),
        pytest.param(403, "403 Forbidden", id="403"),
        pytest.param(404, "404 Not Found", id="404"),
        pytest.param(409, "409 Conflict", id="409"),
        pytest.param(418, "418 I&#39;m a teapot", id="418"),
        pytest.param(422, "422 Unprocessable Entity", id="422"),
        pytest.param(500, "500 Internal Server Error", id="500"),
        pytest.param(503, "503 Service Unavailable", id="503"),
        pytest.param(499, "499 Unknown Error", id="499-unregistered"),
        pytest.param(420, "420 Unknown Error", id="420-unregistered"),
        pytest.param(425, "425 Too Early", id="425-standard-phrase"),
        pytest.param(507, "507 Insufficient Storage", id="507-standard-phrase"),
    ],
)
async def test_abort_codes(code: int, title: str) -> None:
    app = abort_app()
    async with app.test_client() as client:
        response = await client.get(f"/code/{code}")
    assert response.status_code == code
    assert response.headers["content-type"] == HTML
    assert f"<title>{title}</title>" in response.text


async def test_abort_with_description_is_escaped() -> None:
    async with abort_app().test_client() as client:
        response = await client.get("/described")
    assert response.status_code == 400
    assert "<p>Missing &lt;field&gt; &amp; more</p>" in response.text


async def test_abort_with_a_response() -> None:
    async with abort_app().test_client() as client:
        response = await client.get("/response")
    assert (response.status_code, response.text) == (202, "custom body")
    assert response.headers["x-custom"] == "1"


async def test_abort_405_keyword_and_positional_description() -> None:
    async with abort_app().test_client() as client:
        allowed = await client.get("/method")
        described = await client.get("/positional")
    assert allowed.status_code == 405
    assert allowed.headers["allow"] == "GET, POST"
    assert described.status_code == 405
    assert "allow" not in described.headers
    assert "<p>Only reading here.</p>" in described.text


def test_abort_raises_the_registered_class() -> None:
    with pytest.raises(NotFound) as info:
        abort(404)
    assert info.value.code == 404
    with pytest.raises(MethodNotAllowed) as method:
        abort(405, valid_methods=["GET"])
    assert method.value.valid_methods == ["GET"]


def test_abort_unregistered_codes_reuse_one_class() -> None:
    classes = []
    for _ in range(2):
        with pytest.raises(HTTPException) as info:
            abort(499, "Client closed")
        classes.append(type(info.value))
        assert info.value.code == 499
        assert info.value.description == "Client closed"
    assert classes[0] is classes[1]
    assert classes[0] is not HTTPException


@pytest.mark.parametrize("code", [200, 302, 399, 600, 1000])
def test_abort_with_a_non_error_code_is_a_lookup_error(code: int) -> None:
    with pytest.raises(LookupError, match="400 to 599"):
        abort(code)


async def test_abort_is_caught_by_error_handlers() -> None:
    app = abort_app()

    @app.errorhandler(418)
    async def teapot(error: HTTPException) -> tuple[str, int]:
        return f"handled {error.code}", 418

    @app.errorhandler(HTTPException)
    async def any_http_error(error: HTTPException) -> tuple[str, int]:
        return f"generic {error.code}", error.code or 500

    async with app.test_client() as client:
        teapot_response = await client.get("/code/418")
        unusual_response = await client.get("/code/499")
    assert (teapot_response.status_code, teapot_response.text) == (418, "handled 418")
    assert (unusual_response.status_code, unusual_response.text) == (499, "generic 499")


# --- jsonify --------------------------------------------------------------------------------


JSONIFY_CASES = [
    pytest.param(({"b": 1, "a": 2},), {}, '{"a":2,"b":1}\n', id="dict-sorted-compact"),
    pytest.param(([1, 2],), {}, "[1,2]\n", id="list"),
    pytest.param((1, "two", None), {}, '[1,"two",null]\n', id="several-positional"),
    pytest.param((), {"z": 1, "y": [True]}, '{"y":[true],"z":1}\n', id="keywords"),
    pytest.param((), {}, "null\n", id="nothing"),
    pytest.param(("é",), {}, '"\\u00e9"\n', id="ascii-escaped"),
    pytest.param((0,), {}, "0\n", id="falsy-value"),
]


@pytest.mark.parametrize(("args", "kwargs", "body"), JSONIFY_CASES)
async def test_jsonify(args: tuple[Any, ...], kwargs: dict[str, Any], body: str) -> None:
    app = make_app()
    async with app.app_context():
        response = jsonify(*args, **kwargs)
    assert response.status_code == 200
    assert response.content_type == JSON
    assert response.mimetype == JSON
    assert response.get_data(as_text=True) == body


async def test_jsonify_in_debug_mode_is_indented() -> None:
    app = make_app()
    app.debug = True
    async with app.app_context():
        response = jsonify(b=[1], a={"c": None})
    assert response.get_data(as_text=True) == '{\n  "a": {\n    "c": null\n  },\n  "b": [\n    1\n  ]\n}\n'


@pytest.mark.parametrize(
    ("debug", "compact", "body"),
    [
        pytest.param(False, None, '{"a":1}\n', id="default-compact"),
        pytest.param(True, None, '{\n  "a": 1\n}\n', id="debug-indented"),
        pytest.param(True, True, '{"a":1}\n', id="compact-wins-over-debug"),
        pytest.param(False, False, '{\n  "a": 1\n}\n', id="not-compact"),
    ],
)
async def test_jsonify_compact_setting(debug: bool, compact: bool | None, body: str) -> None:
    app = make_app()
    app.debug = debug
    app.json.compact = compact  # type: ignore[attr-defined]
    async with app.app_context():
        assert jsonify(a=1).get_data(as_text=True) == body


async def test_jsonify_sort_keys_setting() -> None:
    app = make_app()
    app.json.sort_keys = False  # type: ignore[attr-defined]
    async with app.app_context():
        assert jsonify({"b": 1, "a": 2}).get_data(as_text=True) == '{"b":1,"a":2}\n'


async def test_jsonify_args_and_kwargs_together_is_an_error() -> None:
    app = make_app()
    async with app.app_context():
        with pytest.raises(TypeError, match="not both"):
            jsonify(1, a=2)


def test_jsonify_needs_an_app() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        jsonify(a=1)


async def test_jsonify_from_a_view_with_status() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> tuple[Response, int]:
        return jsonify(created=True), 201

    async with app.test_client() as client:
        response = await client.post("/")
    assert response.status_code == 201
    assert response.headers["content-type"] == JSON
    assert response.text == '{"created":true}\n'


# --- after_this_request ---------------------------------------------------------------------


async def test_after_this_request() -> None:
    app = make_app()
    order: list[str] = []

    @app.after_request
    async def app_hook(response: Response) -> Response:
        order.append("after_request")
        return response

    @app.get("/")
    async def view() -> str:
        @after_this_request
        async def first(response: Response) -> Response:
            order.append("first")
            response.headers["X-First"] = "1"
            return response

        def second(response: Response) -> Response:
            order.append("second")
            replacement = Response("replaced", 203)
            replacement.headers["X-First"] = response.headers["X-First"]
            return replacement

        after_this_request(second)
        return "original"

    @app.get("/other")
    async def other() -> str:
        return "untouched"

    async with app.test_client() as client:
        response = await client.get("/")
        other_response = await client.get("/other")
    assert (response.status_code, response.text) == (203, "replaced")
    assert response.headers["x-first"] == "1"
    assert order == ["first", "second", "after_request", "after_request"]
    assert "x-first" not in other_response.headers
    assert other_response.text == "untouched"


async def test_after_this_request_needs_a_request() -> None:
    def hook(response: Response) -> Response:
        return response

    with pytest.raises(RuntimeError, match="while a request is handled"):
        after_this_request(hook)
    app = make_app()
    async with app.app_context():
        with pytest.raises(RuntimeError, match="while a request is handled"):
            after_this_request(hook)
