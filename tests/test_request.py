"""The request's Werkzeug surface, its Starlette side, uploads as FileStorage, and cookie parsing."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import werkzeug.datastructures as wd
from starlette.middleware.sessions import SessionMiddleware
from werkzeug.sansio.request import Request as SansIORequest
from werkzeug.user_agent import UserAgent

from asyncflask import AsyncFlask, Request, request, secure_filename, session


def make_request(headers: list[tuple[str, str]], app: AsyncFlask | None = None, **scope: Any) -> Request:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    built = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": raw}
    built.update(scope)
    return Request(built, receive, app)


def test_is_a_werkzeug_sansio_request() -> None:
    req = make_request([("Host", "example.com")])
    assert isinstance(req, SansIORequest)
    assert isinstance(req.headers, wd.Headers)


def test_headers_get_with_type_and_get_all() -> None:
    req = make_request([("X-Count", "12"), ("X-Tag", "a"), ("X-Tag", "b"), ("X-Bad", "x")])
    assert req.headers.get("x-count", type=int) == 12
    assert req.headers.get("X-Bad", type=int) is None
    assert req.headers.get("X-Bad", 7, type=int) == 7
    assert req.headers.get_all("x-tag") == ["a", "b"]
    assert req.headers.getlist("X-TAG") == ["a", "b"]
    assert "x-count" in req.headers


def test_basic_authorization() -> None:
    # "Aladdin:open sesame", the RFC 7617 example.
    req = make_request([("Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")])
    auth = req.authorization
    assert isinstance(auth, wd.Authorization)
    assert auth.type == "basic"
    assert auth.username == "Aladdin"
    assert auth.password == "open sesame"


def test_bearer_authorization_and_none() -> None:
    auth = make_request([("Authorization", "Bearer abc.def")]).authorization
    assert auth is not None
    assert auth.type == "bearer"
    assert auth.token == "abc.def"
    assert make_request([]).authorization is None
    assert make_request([("Authorization", "Basic !!notbase64")]).authorization is None


def test_accept_languages_best_match() -> None:
    req = make_request([("Accept-Language", "de-CH, de;q=0.9, en;q=0.5")])
    langs = req.accept_languages
    assert isinstance(langs, wd.LanguageAccept)
    assert langs.best == "de-CH"
    assert langs.best_match(["en", "de"]) == "de"
    assert langs.best_match(["en", "fr"]) == "en"
    assert langs.best_match(["fr"], default="it") == "it"


def test_accept_encodings_charsets_mimetypes() -> None:
    req = make_request(
        [
            ("Accept-Encoding", "gzip, br;q=0.5"),
            ("Accept-Charset", "utf-8, iso-8859-1;q=0.2"),
            ("Accept", "application/json, text/html;q=0.8"),
        ]
    )
    assert req.accept_encodings.best == "gzip"
    assert req.accept_encodings["br"] == 0.5
    assert req.accept_charsets.best_match(["iso-8859-1", "utf-8"]) == "utf-8"
    assert isinstance(req.accept_mimetypes, wd.MIMEAccept)
    assert req.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"
    assert req.accept_mimetypes.accept_json is True


def test_range_header() -> None:
    rng = make_request([("Range", "bytes=0-499")]).range
    assert isinstance(rng, wd.Range)
    assert rng.units == "bytes"
    assert rng.ranges == [(0, 500)]
    assert rng.range_for_length(1000) == (0, 500)
    assert rng.range_for_length(200) == (0, 200)
    suffix = make_request([("Range", "bytes=-100")]).range
    assert suffix is not None and suffix.range_for_length(1000) == (900, 1000)
    assert make_request([("Range", "pages=1-2x")]).range is None
    assert make_request([]).range is None


def test_request_cache_control() -> None:
    cc = make_request([("Cache-Control", "no-cache, max-age=60, no-transform")]).cache_control
    assert isinstance(cc, wd.RequestCacheControl)
    assert cc.no_cache is True
    assert cc.max_age == 60
    assert cc.no_transform is True
    assert cc.no_store is False
    assert make_request([]).cache_control.max_age is None


def test_conditional_headers() -> None:
    req = make_request(
        [
            ("If-None-Match", '"abc", W/"weak"'),
            ("If-Match", "*"),
            ("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("If-Range", '"abc"'),
        ]
    )
    assert isinstance(req.if_none_match, wd.ETags)
    assert "abc" in req.if_none_match
    assert req.if_none_match.contains_weak("weak")
    assert "weak" not in req.if_none_match  # a weak tag is not a strong match
    assert req.if_match.star_tag is True
    assert req.if_modified_since == datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)
    assert req.if_range.etag == "abc"
    empty = make_request([])
    assert not empty.if_none_match
    assert empty.if_modified_since is None
    assert make_request([("If-Modified-Since", "yesterday")]).if_modified_since is None


def test_user_agent_is_werkzeugs_object() -> None:
    ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"
    req = make_request([("User-Agent", ua)])
    assert isinstance(req.user_agent, UserAgent)
    assert req.user_agent.string == ua
    assert str(req.user_agent) == ua
    assert make_request([]).user_agent.string == ""


def test_simple_header_properties() -> None:
    req = make_request(
        [
            ("Referer", "https://example.com/from"),
            ("Origin", "https://example.com"),
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("Pragma", "no-cache"),
            ("Max-Forwards", "3"),
            ("Content-Type", "text/plain; charset=latin-1; format=flowed"),
            ("Content-Encoding", "gzip"),
            ("Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ=="),
            ("X-Forwarded-For", "203.0.113.7, 10.0.0.1"),
        ],
        client=("10.0.0.2", 5000),
    )
    assert req.referrer == "https://example.com/from"
    assert req.origin == "https://example.com"
    assert req.date == datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)
    assert "no-cache" in req.pragma
    assert req.max_forwards == 3
    assert req.mimetype == "text/plain"
    assert req.mimetype_params == {"charset": "latin-1", "format": "flowed"}
    assert req.content_encoding == "gzip"
    assert req.content_md5 == "Q2hlY2sgSW50ZWdyaXR5IQ=="
    assert req.access_route == ["203.0.113.7", "10.0.0.1"]
    assert make_request([], client=("10.0.0.2", 5000)).access_route == ["10.0.0.2"]


def test_root_path_and_urls() -> None:
    req = make_request([("Host", "example.com")], path="/app/page", root_path="/app", query_string=b"a=1")
    assert req.root_path == "/app"
    assert req.script_root == "/app"
    assert req.path == "/page"
    assert req.root_url == "http://example.com/app/"
    assert req.url == "http://example.com/app/page?a=1"
    assert req.trusted_hosts is None


def test_cookies_are_an_immutable_multidict() -> None:
    req = make_request([("Cookie", "a=1; b=2; a=3")])
    assert isinstance(req.cookies, wd.ImmutableMultiDict)
    assert req.cookies["a"] == "1"
    assert req.cookies.getlist("a") == ["1", "3"]
    assert make_request([]).cookies == {}


def test_hostile_cookie_parses_in_linear_time() -> None:
    value = '"' + '\\"' * 25_000 + '"'
    req = make_request([("Cookie", f"k0={value}; after=1")])
    start = time.perf_counter()
    cookies = req.cookies
    elapsed = time.perf_counter() - start
    assert elapsed < 0.1
    assert cookies["k0"] == '"' * 25_000
    assert cookies["after"] == "1"


def test_ten_thousand_cookies_come_out_right() -> None:
    header = "; ".join(f"k{i}=v{i}" for i in range(10_000))
    cookies = make_request([("Cookie", header)]).cookies
    assert len(cookies) == 10_000
    assert cookies["k0"] == "v0"
    assert cookies["k9999"] == "v9999"
    assert all(cookies[f"k{i}"] == f"v{i}" for i in range(0, 10_000, 997))


async def test_stream_read_and_iterate() -> None:
    app = AsyncFlask(__name__)

    @app.post("/read")
    async def read() -> str:
        first = await request.stream.read(3)
        rest = await request.stream.read()
        return f"{first.decode()}|{rest.decode()}"

    @app.post("/iter")
    async def iterate() -> str:
        return "".join([chunk.decode() async for chunk in request.stream])

    async with app.test_client() as client:
        assert (await client.post("/read", content=b"abcdefg")).text == "abc|defg"
        assert (await client.post("/iter", content=b"hello")).text == "hello"


async def test_get_data_parse_form_data() -> None:
    app = AsyncFlask(__name__)

    @app.post("/")
    async def view() -> dict[str, Any]:
        data = await request.get_data(parse_form_data=True)
        return {"data": data.decode(), "form": (await request.form).to_dict()}

    async with app.test_client() as client:
        response = await client.post("/", data={"a": "1"})
        assert response.json() == {"data": "", "form": {"a": "1"}}
        response = await client.post("/", content=b"raw", headers={"Content-Type": "text/plain"})
        assert response.json() == {"data": "raw", "form": {}}


async def test_uploads_are_werkzeug_file_storage(tmp_path: Path) -> None:
    app = AsyncFlask(__name__)
    sync_copy = tmp_path / "sync.bin"
    async_copy = tmp_path / "async.bin"

    @app.post("/")
    async def view() -> dict[str, Any]:
        upload = (await request.files)["doc"]
        first = upload.read(4)  # sync, as in Werkzeug
        upload.seek(0)
        awaited = await upload.read()  # the same call, awaited
        upload.seek(0)
        upload.save(sync_copy)
        await upload.save_async(async_copy)
        return {
            "werkzeug": isinstance(upload, wd.FileStorage),
            "first": first.decode(),
            "awaited": awaited.decode(),
            "filename": upload.filename,
            "mimetype": upload.mimetype,
            "safe": secure_filename(upload.filename or ""),
        }

    async with app.test_client() as client:
        files = {"doc": ("../../etc/pass wd.txt", b"body of the file", "text/plain")}
        response = await client.post("/", files=files)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "werkzeug": True,
        "first": "body",
        "awaited": "body of the file",
        "filename": "../../etc/pass wd.txt",
        "mimetype": "text/plain",
        "safe": "etc_pass_wd.txt",
    }
    assert sync_copy.read_bytes() == b"body of the file"
    assert async_copy.read_bytes() == b"body of the file"


async def test_starlette_calls_work_beside_flask_awaitables() -> None:
    app = AsyncFlask(__name__)

    @app.post("/")
    async def view() -> dict[str, Any]:
        flask_form = await request.form
        starlette_form = await request.form()
        return {
            "same": flask_form is starlette_form,
            "a": starlette_form["a"],
            "url": str(request.url_for("view")),
            "session_is_ours": request.session is session._get_current_object(),  # type: ignore[attr-defined]
        }

    async with app.test_client() as client:
        response = await client.post("/", data={"a": "1"})
    assert response.json() == {"same": True, "a": "1", "url": "http://localhost/", "session_is_ours": True}


async def test_starlette_json_call() -> None:
    app = AsyncFlask(__name__)

    @app.post("/")
    async def view() -> Any:
        return {"called": await request.json(), "awaited": await request.json}

    async with app.test_client() as client:
        response = await client.post("/", json={"x": 1})
    assert response.json() == {"called": {"x": 1}, "awaited": {"x": 1}}


async def test_starlette_session_middleware_clash_is_refused() -> None:
    app = AsyncFlask(__name__)
    app.secret_key = "secret"

    @app.get("/")
    async def view() -> str:
        return "ok"

    app.add_middleware(SessionMiddleware, secret_key="other")
    async with app.test_client() as client:
        with pytest.raises(RuntimeError, match="SESSION_COOKIE_NAME"):
            await client.get("/")


async def test_starlette_session_middleware_under_another_cookie_name_works() -> None:
    app = AsyncFlask(__name__)
    app.secret_key = "secret"
    app.config["SESSION_COOKIE_NAME"] = "af_session"

    @app.get("/")
    async def view() -> str:
        session["n"] = 1
        return "ok"

    app.add_middleware(SessionMiddleware, secret_key="other")
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert "af_session" in response.cookies
