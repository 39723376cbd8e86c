"""The test client speaks Flask's test API on top of httpx's: Flask's request keywords,
Werkzeug's test-response names, and Flask's cookie methods."""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import flask.testing
import httpx
import pytest
from werkzeug.datastructures import MultiDict, ResponseCacheControl

from asyncflask import AsyncFlask, Response, redirect, request, session
from asyncflask.sending import send_file
from asyncflask.testing import TestClient, TestCookie, TestResponse

MODIFIED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
FILE = Path(__file__).parent / "templates" / "hello.html"


def make_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="test key")

    @app.route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def echo() -> dict[str, Any]:
        form = await request.form
        files = await request.files
        return {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "form": form.to_dict(flat=False),
            "files": {
                key: [upload.filename, upload.content_type, upload.read().decode()]
                for key, upload in files.items(multi=True)
            },
            "json": await request.get_json(silent=True),
            "content_type": request.content_type,
            "cookies": dict(request.cookies),
            "headers": {key: request.headers.getlist(key) for key in ("X-One", "X-Two")},
            "host": request.host,
            "scheme": request.scheme,
            "root_path": request.root_path,
            "path": request.path,
        }

    @app.route("/raw", methods=["POST", "PUT"])
    async def raw() -> dict[str, Any]:
        return {"body": (await request.get_data()).decode(), "content_type": request.content_type}

    @app.route("/set-cookie")
    async def set_cookie() -> Response:
        response = Response("set")
        response.set_cookie("flavour", "oatmeal", httponly=True, samesite="Lax")
        return response

    @app.route("/headers")
    async def headers() -> Response:
        response = Response("abc")
        response.cache_control.public = True
        response.cache_control.max_age = 60
        response.set_etag("v1", weak=True)
        response.last_modified = MODIFIED
        response.expires = MODIFIED + timedelta(days=1)
        response.vary.add("Cookie")
        response.vary.add("Accept-Encoding")
        response.content_language.add("en")
        response.headers["Allow"] = "GET, HEAD"
        response.headers["Age"] = "30"
        response.headers["Retry-After"] = "Mon, 06 May 2024 08:00:00 GMT"
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["Content-Range"] = "bytes 0-2/3"
        response.headers["Date"] = "Mon, 06 May 2024 07:08:09 GMT"
        return response

    @app.route("/file")
    async def file() -> Any:
        return await send_file(FILE, max_age=120)

    @app.route("/whoami")
    async def whoami() -> dict[str, Any]:
        return {"user": session.get("user")}

    @app.route("/go")
    async def go() -> Any:
        return redirect("/echo?from=go")

    return app


@pytest.fixture
def app() -> AsyncFlask:
    return make_app()


@pytest.fixture
async def client(app: AsyncFlask) -> Any:
    async with app.test_client() as client:
        yield client


# -- responses ------------------------------------------------------------------------------


async def test_responses_are_test_responses_and_still_httpx(client: TestClient) -> None:
    response = await client.get("/echo")
    assert type(response) is TestResponse
    assert isinstance(response, httpx.Response)
    assert response.status_code == 200
    assert response.json()["method"] == "GET"  # httpx's method, unchanged
    assert response.text == response.content.decode()
    assert response.request.url == httpx.URL("http://localhost/echo")


async def test_flask_names_on_a_json_response(client: TestClient) -> None:
    response = await client.get("/echo")
    assert response.data == response.content
    assert response.get_data() == response.content
    assert response.get_data(as_text=True) == response.text
    assert response.status == "200 OK"
    assert response.is_json is True
    assert response.mimetype == "application/json"
    assert response.mimetype_params == {}
    assert response.content_type == "application/json"
    assert response.content_length == len(response.content)
    assert response.get_json()["path"] == "/echo"
    assert response.location is None


async def test_get_json_follows_werkzeug_rules() -> None:
    text = TestResponse(200, headers={"content-type": "text/plain; charset=utf-8"}, content=b'{"a": 1}')
    assert text.is_json is False
    assert text.get_json() is None
    assert text.get_json(force=True) == {"a": 1}
    assert text.mimetype == "text/plain"
    assert text.mimetype_params == {"charset": "utf-8"}

    problem = TestResponse(400, headers={"content-type": "application/problem+json"}, content=b'{"x": 2}')
    assert problem.is_json is True
    assert problem.get_json() == {"x": 2}
    assert problem.status == "400 BAD REQUEST"

    broken = TestResponse(200, headers={"content-type": "application/json"}, content=b"{nope")
    with pytest.raises(ValueError):
        broken.get_json()
    assert broken.get_json(silent=True) is None
    assert TestResponse(599).status == "599 UNKNOWN"
    assert TestResponse(200).mimetype is None
    assert TestResponse(200).content_type is None


async def test_status_and_location_of_a_redirect(client: TestClient) -> None:
    response = await client.get("/go")
    assert response.status_code == 302
    assert response.status == "302 FOUND"
    assert response.location == "/echo?from=go"
    assert response.mimetype == "text/html"
    assert response.mimetype_params == {"charset": "utf-8"}

    missing = await client.get("/nowhere")
    assert missing.status == "404 NOT FOUND"


async def test_follow_redirects_keeps_test_responses_in_history(client: TestClient) -> None:
    response = await client.get("/go", follow_redirects=True)
    assert response.status == "200 OK"
    assert response.get_json()["args"] == {"from": ["go"]}
    assert [type(step) for step in response.history] == [TestResponse]
    first = response.history[0]
    assert isinstance(first, TestResponse)
    assert first.location == "/echo?from=go"


async def test_header_accessors_on_a_response(client: TestClient) -> None:
    response = await client.get("/headers")
    assert isinstance(response.cache_control, ResponseCacheControl)
    assert response.cache_control.public is True
    assert response.cache_control.max_age == 60
    assert response.cache_control.no_store is False
    assert response.get_etag() == ("v1", True)
    assert response.last_modified == MODIFIED
    assert response.expires == MODIFIED + timedelta(days=1)
    assert response.date == MODIFIED
    assert list(response.vary) == ["Cookie", "Accept-Encoding"]
    assert "cookie" in response.vary  # a HeaderSet compares without case
    assert list(response.content_language) == ["en"]
    assert list(response.allow) == ["GET", "HEAD"]
    assert response.age == timedelta(seconds=30)
    assert response.retry_after == datetime(2024, 5, 6, 8, 0, 0, tzinfo=timezone.utc)
    assert response.accept_ranges == "bytes"
    content_range = response.content_range
    assert (content_range.units, content_range.start, content_range.stop, content_range.length) == (
        "bytes",
        0,
        3,
        3,
    )


async def test_header_accessors_when_headers_are_absent() -> None:
    response = TestResponse(200)
    assert response.get_etag() == (None, None)
    assert response.cache_control.max_age is None
    assert not response.cache_control
    for name in ("last_modified", "expires", "date", "age", "retry_after", "accept_ranges", "location"):
        assert getattr(response, name) is None, name
    assert len(response.vary) == 0
    assert response.content_range.units is None
    assert response.www_authenticate.type == "basic"
    assert response.content_length is None
    assert TestResponse(200, headers={"content-length": "many"}).content_length is None


async def test_retry_after_in_seconds_counts_from_now() -> None:
    response = TestResponse(503, headers={"retry-after": "120"})
    retry_after = response.retry_after
    assert retry_after is not None
    left = retry_after - datetime.now(timezone.utc)
    assert timedelta(seconds=118) < left <= timedelta(seconds=120)


async def test_www_authenticate_is_parsed() -> None:
    response = TestResponse(401, headers={"www-authenticate": 'Basic realm="admin area"'})
    assert response.www_authenticate.type == "basic"
    assert response.www_authenticate["realm"] == "admin area"


async def test_changing_a_parsed_header_writes_it_back() -> None:
    response = TestResponse(200, headers={"cache-control": "max-age=10", "vary": "Cookie"})
    response.cache_control.max_age = 20
    assert response.headers["cache-control"] == "max-age=20"
    response.vary.add("Accept")
    assert response.headers["vary"] == "Cookie, Accept"
    response.vary.clear()
    assert "vary" not in response.headers


async def test_send_file_response_headers(client: TestClient) -> None:
    response = await client.get("/file")
    assert response.data == FILE.read_bytes()
    assert response.status == "200 OK"
    assert response.mimetype == "text/html"
    assert response.content_length == FILE.stat().st_size
    assert response.cache_control.public is True
    assert response.cache_control.max_age == 120
    etag, weak = response.get_etag()
    assert etag and weak is False
    assert response.last_modified == datetime.fromtimestamp(int(FILE.stat().st_mtime), timezone.utc)
    assert response.accept_ranges == "bytes"

    again = await client.get("/file", headers={"If-None-Match": f'"{etag}"'})
    assert again.status == "304 NOT MODIFIED"
    assert again.data == b""


async def test_websocket_denial_response_is_a_test_response(app: AsyncFlask, client: TestClient) -> None:
    from asyncflask.testing import WebSocketDenied

    with pytest.raises(WebSocketDenied) as denied:
        async with client.websocket("/no-socket-here"):
            pass
    assert isinstance(denied.value.response, TestResponse)
    assert denied.value.response.status == "404 NOT FOUND"


async def test_other_transports_still_give_test_responses(app: AsyncFlask) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(201, json={"ok": True}))
    async with app.test_client(transport=transport) as client:
        response = await client.post("/anything", json={})
    assert type(response) is TestResponse
    assert response.status == "201 CREATED"
    assert response.get_json() == {"ok": True}


# -- request keywords -----------------------------------------------------------------------


async def test_query_string_as_dict_str_bytes_and_multidict(client: TestClient) -> None:
    by_dict = await client.get("/echo", query_string={"a": "1", "b": ["2", "3"]})
    assert by_dict.get_json()["args"] == {"a": ["1"], "b": ["2", "3"]}
    by_str = await client.get("/echo", query_string="a=1&b")
    assert by_str.get_json()["args"] == {"a": ["1"], "b": [""]}
    by_bytes = await client.get("/echo", query_string=b"x=%C3%A4")
    assert by_bytes.get_json()["args"] == {"x": ["ä"]}
    by_multidict = await client.get("/echo", query_string=MultiDict([("k", "1"), ("k", "2")]))
    assert by_multidict.get_json()["args"] == {"k": ["1", "2"]}


async def test_query_string_replaces_the_one_in_the_path(client: TestClient) -> None:
    response = await client.get("/echo?old=1", query_string={"new": "2"})
    assert response.get_json()["args"] == {"new": ["2"]}
    assert response.request.url.query == b"new=2"


async def test_httpx_params_still_work_and_do_not_mix_with_query_string(client: TestClient) -> None:
    response = await client.get("/echo", params={"a": "1", "b": ["2", "3"]})
    assert response.get_json()["args"] == {"a": ["1"], "b": ["2", "3"]}
    with pytest.raises(TypeError, match="query_string= or params="):
        await client.get("/echo", query_string="a=1", params={"b": "2"})


@pytest.mark.parametrize("method", ["get", "delete", "options", "post", "put", "patch"])
async def test_json_on_any_method(client: TestClient, method: str) -> None:
    response = await getattr(client, method)("/echo", json={"n": [1, 2]})
    body = response.get_json()
    assert body["method"] == method.upper()
    assert body["json"] == {"n": [1, 2]}
    assert body["content_type"] == "application/json"


async def test_json_uses_the_apps_json_provider(client: TestClient) -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    response = await client.post("/raw", json={"b": 1, "a": moment})
    # Flask's provider: dates as HTTP dates, keys sorted.
    assert response.get_json()["body"] == '{"a": "Tue, 02 Jan 2024 03:04:05 GMT", "b": 1}'


async def test_json_and_a_body_together_is_an_error(client: TestClient) -> None:
    with pytest.raises(TypeError, match="json= or a body"):
        await client.post("/echo", json={}, data={"a": "1"})


async def test_data_dict_is_a_form(client: TestClient) -> None:
    response = await client.post("/echo", data={"name": "Ada", "tags": ["x", "y"], "admin": True, "n": 3})
    body = response.get_json()
    assert body["content_type"] == "application/x-www-form-urlencoded"
    # Values are written with str(), as Flask does ("True", not "true").
    assert body["form"] == {"name": ["Ada"], "tags": ["x", "y"], "admin": ["True"], "n": ["3"]}


@pytest.mark.parametrize("data", ["plain text body", b"plain text body", io.BytesIO(b"plain text body")])
async def test_data_str_bytes_or_stream_is_the_raw_body(client: TestClient, data: Any) -> None:
    response = await client.post("/raw", data=data, content_type="text/plain")
    assert response.get_json() == {"body": "plain text body", "content_type": "text/plain"}


async def test_raw_data_has_no_content_type_unless_given(client: TestClient) -> None:
    response = await client.put("/raw", data=b"abc")
    assert response.get_json() == {"body": "abc", "content_type": None}


async def test_content_type_sets_the_header(client: TestClient) -> None:
    response = await client.post("/raw", content=b"<a/>", content_type="application/xml")
    assert response.get_json() == {"body": "<a/>", "content_type": "application/xml"}
    replaced = await client.post(
        "/raw", data="x", content_type="text/csv", headers={"Content-Type": "text/plain"}
    )
    assert replaced.get_json()["content_type"] == "text/csv"


async def test_files_in_data_make_a_multipart_request(client: TestClient) -> None:
    response = await client.post(
        "/echo",
        data={
            "title": "two files",
            "plain": (io.BytesIO(b"hello"), "hello.txt"),
            "image": (io.BytesIO(b"PNG"), "pic.bin", "image/png"),
        },
    )
    body = response.get_json()
    assert body["content_type"].startswith("multipart/form-data; boundary=")
    assert body["form"] == {"title": ["two files"]}
    assert body["files"] == {
        "plain": ["hello.txt", "text/plain", "hello"],
        "image": ["pic.bin", "image/png", "PNG"],
    }


async def test_several_files_per_key_and_a_plain_file(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes(b"# notes")
    with path.open("rb") as handle:
        response = await client.post(
            "/echo",
            data={"many": [(io.BytesIO(b"1"), "one.txt"), (io.BytesIO(b"2"), "two.txt")], "doc": handle},
        )
    files = response.get_json()["files"]
    assert files["many"] == ["two.txt", "text/plain", "2"]  # the last of the key, as to_dict gives
    assert files["doc"][0] == "notes.md"
    assert files["doc"][2] == "# notes"


async def test_multipart_content_type_without_files(client: TestClient) -> None:
    response = await client.post("/echo", data={"a": "1"}, content_type="multipart/form-data")
    body = response.get_json()
    assert body["content_type"].startswith("multipart/form-data; boundary=")
    assert body["form"] == {"a": ["1"]}


async def test_httpx_files_and_content_keep_their_meaning(client: TestClient) -> None:
    response = await client.post("/echo", data={"a": "1"}, files={"up": ("u.txt", b"hi", "text/plain")})
    body = response.get_json()
    assert body["form"] == {"a": ["1"]}
    assert body["files"] == {"up": ["u.txt", "text/plain", "hi"]}
    raw = await client.post("/raw", content=b"as is")
    assert raw.get_json()["body"] == "as is"


async def test_headers_as_dict_or_pairs(client: TestClient) -> None:
    by_dict = await client.get("/echo", headers={"X-One": "1"})
    assert by_dict.get_json()["headers"] == {"X-One": ["1"], "X-Two": []}
    by_pairs = await client.get("/echo", headers=[("X-Two", "a"), ("X-Two", "b")])
    assert by_pairs.get_json()["headers"] == {"X-One": [], "X-Two": ["a", "b"]}


async def test_base_url_sets_scheme_host_and_mount_point(client: TestClient) -> None:
    response = await client.get("/echo", base_url="https://example.com/app")
    body = response.get_json()
    assert (body["scheme"], body["host"], body["root_path"], body["path"]) == (
        "https",
        "example.com",
        "/app",
        "/echo",
    )
    plain = (await client.get("/echo", base_url="http://sub.localhost")).get_json()
    assert (plain["host"], plain["root_path"]) == ("sub.localhost", "")


async def test_a_full_url_names_its_own_host(client: TestClient) -> None:
    response = await client.post("http://domain.com/echo?vodka=42", data={"gin": 43})
    body = response.get_json()
    assert body["host"] == "domain.com"
    assert body["args"] == {"vodka": ["42"]}
    assert body["form"] == {"gin": ["43"]}


async def test_open_with_a_method(client: TestClient) -> None:
    response = await client.open("/echo", method="PATCH", json=[1], query_string={"q": "1"})
    body = response.get_json()
    assert (body["method"], body["json"], body["args"]) == ("PATCH", [1], {"q": ["1"]})
    assert (await client.open()).status == "404 NOT FOUND"  # "/" by default; no such route
    assert (await client.open("/echo", buffered=True)).get_json()["method"] == "GET"


async def test_verbs_default_to_the_root_and_head_has_no_body(client: TestClient) -> None:
    assert (await client.get()).status_code == 404
    head = await client.head("/echo")
    assert head.status_code == 200
    assert head.data == b""


async def test_follow_redirects_per_request(client: TestClient) -> None:
    response = await client.open("/go", follow_redirects=True)
    assert response.get_json()["args"] == {"from": ["go"]}


# -- cookies --------------------------------------------------------------------------------


def test_cookie_methods_have_flasks_signatures() -> None:
    for name in ("set_cookie", "get_cookie", "delete_cookie"):
        ours = inspect.signature(getattr(TestClient, name))
        theirs = inspect.signature(getattr(flask.testing.FlaskClient, name))
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
            (p.name, p.kind, p.default) for p in theirs.parameters.values()
        ], name


async def test_set_cookie_is_sent_on_the_next_request(client: TestClient) -> None:
    client.set_cookie("foo", "bar")
    assert (await client.get("/echo")).get_json()["cookies"] == {"foo": "bar"}
    cookie = client.get_cookie("foo")
    assert isinstance(cookie, TestCookie)
    assert (cookie.key, cookie.value, cookie.domain, cookie.path) == ("foo", "bar", "localhost", "/")
    assert cookie.origin_only is True
    # Host-only: not for another host, nor a subdomain.
    assert (await client.get("http://sub.localhost/echo")).get_json()["cookies"] == {}


async def test_set_cookie_for_a_path_and_a_domain(client: TestClient) -> None:
    client.set_cookie("scoped", "1", path="/echo")
    client.set_cookie("wide", "2", domain="example.com", origin_only=False)
    assert (await client.get("/echo")).get_json()["cookies"] == {"scoped": "1"}
    assert (await client.post("/raw", data="")).request.headers.get("cookie") is None
    assert (await client.get("http://example.com/echo")).get_json()["cookies"] == {"wide": "2"}
    assert (await client.get("http://www.example.com/echo")).get_json()["cookies"] == {"wide": "2"}
    assert client.get_cookie("scoped") is None  # named by its path too
    scoped = client.get_cookie("scoped", path="/echo")
    assert scoped is not None and scoped.path == "/echo"
    wide = client.get_cookie("wide", domain="example.com")
    assert wide is not None and wide.origin_only is False and wide.domain == "example.com"


async def test_domain_wide_cookie_for_localhost_reaches_the_host_and_its_subdomains(
    client: TestClient,
) -> None:
    client.set_cookie("everywhere", "1", origin_only=False)
    assert (await client.get("/echo")).get_json()["cookies"] == {"everywhere": "1"}
    assert (await client.get("http://api.localhost/echo")).get_json()["cookies"] == {"everywhere": "1"}
    client.delete_cookie("everywhere")
    assert client.get_cookie("everywhere") is None
    assert (await client.get("/echo")).get_json()["cookies"] == {}
    assert (await client.get("http://api.localhost/echo")).get_json()["cookies"] == {}


async def test_setting_a_cookie_again_replaces_it(client: TestClient) -> None:
    client.set_cookie("foo", "one")
    client.set_cookie("foo", "two")
    assert (await client.get("/echo")).get_json()["cookies"] == {"foo": "two"}
    client.set_cookie("foo", "gone", max_age=0)
    assert client.get_cookie("foo") is None


async def test_a_quoted_value_is_decoded_for_the_app(client: TestClient) -> None:
    client.set_cookie("greeting", "hello world")
    cookie = client.get_cookie("greeting")
    assert cookie is not None
    assert cookie.value == '"hello world"'
    assert cookie.decoded_value == "hello world"
    assert (await client.get("/echo")).get_json()["cookies"] == {"greeting": "hello world"}


async def test_get_cookie_sees_cookies_the_app_set(client: TestClient) -> None:
    await client.get("/set-cookie")
    cookie = client.get_cookie("flavour")
    assert cookie is not None
    assert (cookie.value, cookie.domain, cookie.path) == ("oatmeal", "localhost", "/")
    assert cookie.http_only is True
    assert cookie.same_site == "Lax"
    assert cookie.secure is False
    assert client.get_cookie("flavour", domain="example.com") is None


async def test_delete_cookie(client: TestClient) -> None:
    await client.get("/set-cookie")
    client.set_cookie("other", "x")
    client.delete_cookie("flavour")
    client.delete_cookie("never-set")  # nothing to delete: no error
    assert client.get_cookie("flavour") is None
    assert (await client.get("/echo")).get_json()["cookies"] == {"other": "x"}


async def test_httpx_cookie_jar_is_the_same_store(client: TestClient) -> None:
    client.set_cookie("foo", "bar")
    assert client.cookies["foo"] == "bar"
    client.cookies.clear()
    assert client.get_cookie("foo") is None


async def test_use_cookies_false_stores_and_sends_none(app: AsyncFlask) -> None:
    async with app.test_client(use_cookies=False) as client:
        first = await client.get("/set-cookie")
        assert first.headers["set-cookie"].startswith("flavour=oatmeal")
        assert len(client.cookies) == 0
        assert (await client.get("/echo")).get_json()["cookies"] == {}
        calls: list[Callable[[], object]] = [
            lambda: client.set_cookie("a", "b"),
            lambda: client.get_cookie("a"),
            lambda: client.delete_cookie("a"),
        ]
        for call in calls:
            with pytest.raises(TypeError, match="Cookies are disabled"):
                call()
        with pytest.raises(TypeError, match="Cookies are disabled"):
            async with client.session_transaction():
                pass


async def test_use_cookies_true_is_the_default(app: AsyncFlask) -> None:
    async with app.test_client() as client:
        await client.get("/set-cookie")
        assert (await client.get("/echo")).get_json()["cookies"] == {"flavour": "oatmeal"}
    assert inspect.signature(app.test_client).parameters["use_cookies"].default is True


async def test_session_transaction_still_works_with_set_cookie(client: TestClient) -> None:
    async with client.session_transaction() as sess:
        sess["user"] = "ada"
    client.set_cookie("extra", "1")
    assert (await client.get("/whoami")).get_json() == {"user": "ada"}
    session_cookie = client.get_cookie("session")
    assert session_cookie is not None and session_cookie.http_only is True
