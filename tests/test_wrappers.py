"""The request and response objects, driven through a real app and the test client."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
from starlette.datastructures import Headers

from asyncflask import AsyncFlask, Request, Response, request, url_for
from asyncflask.testing import ASGIStreamTransport
from asyncflask.wrappers import FileStorage, SafeHeaders

# --- helpers -------------------------------------------------------------------------------


def make_app() -> AsyncFlask:
    return AsyncFlask(__name__)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    """A request body sent chunk by chunk (httpx sends it chunked, without Content-Length)."""
    for part in parts:
        yield part


def multipart(*parts: tuple[str, bytes], boundary: str = "XyZ") -> tuple[bytes, dict[str, str]]:
    """A hand-made multipart body from (Content-Disposition parameters, payload) pairs."""
    body = b""
    for disposition, payload in parts:
        body += f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n".encode()
        body += b"Content-Type: text/plain\r\n\r\n" + payload + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def add_echo(app: AsyncFlask) -> None:
    """A route that proves the app still serves normally."""

    @app.get("/ping")
    async def ping() -> str:
        return "pong"


async def assert_still_serving(client: httpx.AsyncClient) -> None:
    response = await client.get("/ping")
    assert (response.status_code, response.text) == (200, "pong")


# --- the request line and headers -------------------------------------------------------


def describe() -> dict[str, Any]:
    """Every synchronous accessor of the current request, as JSON-friendly values."""
    return {
        "method": request.method,
        "path": request.path,
        "full_path": request.full_path,
        "script_root": request.script_root,
        "url": request.url,
        "base_url": request.base_url,
        "url_root": request.url_root,
        "host": request.host,
        "host_url": request.host_url,
        "scheme": request.scheme,
        "is_secure": request.is_secure,
        "remote_addr": request.remote_addr,
        "args": request.args.to_dict(flat=False),
        "endpoint": request.endpoint,
        "blueprint": request.blueprint,
        "blueprints": request.blueprints,
        "view_args": request.view_args,
        "rule": request.url_rule.rule if request.url_rule is not None else None,
    }


def describing_app() -> AsyncFlask:
    app = make_app()

    @app.route("/user/<int:id>", methods=["GET", "POST"])
    async def user(id: int) -> dict[str, Any]:
        return describe()

    @app.get("/")
    async def index() -> dict[str, Any]:
        return describe()

    return app


async def test_request_line_accessors() -> None:
    app = describing_app()
    async with app.test_client() as client:
        response = await client.get("/user/5?a=1&a=2&b=")
    assert response.status_code == 200
    assert response.json() == {
        "method": "GET",
        "path": "/user/5",
        "full_path": "/user/5?a=1&a=2&b=",
        "script_root": "",
        "url": "http://localhost/user/5?a=1&a=2&b=",
        "base_url": "http://localhost/user/5",
        "url_root": "http://localhost/",
        "host": "localhost",
        "host_url": "http://localhost/",
        "scheme": "http",
        "is_secure": False,
        "remote_addr": "127.0.0.1",
        "args": {"a": ["1", "2"], "b": [""]},
        "endpoint": "user",
        "blueprint": None,
        "blueprints": [],
        "view_args": {"id": 5},
        "rule": "/user/<int:id>",
    }


async def test_full_path_always_has_a_question_mark() -> None:
    app = describing_app()
    async with app.test_client() as client:
        data = (await client.post("/user/1")).json()
    assert data["method"] == "POST"
    assert data["full_path"] == "/user/1?"
    assert data["url"] == "http://localhost/user/1"
    assert data["args"] == {}


async def test_script_root_from_asgi_root_path() -> None:
    app = describing_app()
    transport = ASGIStreamTransport(app, root_path="/app", client=("10.1.2.3", 4567))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        data = (await client.get("/user/7?x=%20y")).json()
    assert data["script_root"] == "/app"
    assert data["path"] == "/user/7"
    assert data["full_path"] == "/user/7?x=%20y"
    assert data["url"] == "http://localhost/app/user/7?x=%20y"
    assert data["base_url"] == "http://localhost/app/user/7"
    assert data["url_root"] == "http://localhost/app/"
    assert data["host_url"] == "http://localhost/"
    assert data["remote_addr"] == "10.1.2.3"
    assert data["args"] == {"x": [" y"]}


async def test_https_and_port() -> None:
    app = describing_app()
    async with app.test_client(base_url="https://example.com:8443") as client:
        data = (await client.get("/")).json()
    assert data["scheme"] == "https"
    assert data["is_secure"] is True
    assert data["host"] == "example.com:8443"
    assert data["host_url"] == "https://example.com:8443/"
    assert data["url"] == "https://example.com:8443/"
    assert data["endpoint"] == "index"
    assert data["view_args"] == {}


async def test_percent_encoded_path_is_decoded_in_path_and_encoded_in_url() -> None:
    app = make_app()

    @app.get("/files/<name>")
    async def files(name: str) -> dict[str, str]:
        return {"name": name, "path": request.path, "url": request.url}

    async with app.test_client() as client:
        data = (await client.get("/files/a%20b%C3%A9")).json()
    assert data == {"name": "a bé", "path": "/files/a bé", "url": "http://localhost/files/a%20b%C3%A9"}


async def test_headers_cookies_and_content_metadata() -> None:
    app = make_app()

    @app.route("/meta", methods=["GET", "POST"])
    async def meta() -> dict[str, Any]:
        return {
            "custom": request.headers.get("X-Custom"),
            "custom_lower": request.headers["x-custom"],
            "cookies": dict(request.cookies),
            "content_type": request.content_type,
            "mimetype": request.mimetype,
            "mimetype_params": request.mimetype_params,
            "content_length": request.content_length,
        }

    async with app.test_client() as client:
        post = await client.post(
            "/meta",
            content=b"hello",
            headers={
                "X-Custom": "value",
                "Content-Type": "Text/Plain; charset=ISO-8859-1; format=flowed",
                "Cookie": "a=1; b=two",
            },
        )
        get = await client.get("/meta", headers={"X-Custom": "v"})
    assert post.json() == {
        "custom": "value",
        "custom_lower": "value",
        "cookies": {"a": "1", "b": "two"},
        "content_type": "Text/Plain; charset=ISO-8859-1; format=flowed",
        "mimetype": "text/plain",
        "mimetype_params": {"charset": "ISO-8859-1", "format": "flowed"},
        "content_length": 5,
    }
    assert get.json() == {
        "custom": "v",
        "custom_lower": "v",
        "cookies": {},
        "content_type": None,
        "mimetype": "",
        "mimetype_params": {},
        "content_length": None,
    }


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        pytest.param("application/json", True, id="json"),
        pytest.param("application/json; charset=utf-8", True, id="json-charset"),
        pytest.param("APPLICATION/JSON", True, id="uppercase"),
        pytest.param("application/vnd.api+json", True, id="vnd-api-plus-json"),
        pytest.param("application/problem+json", True, id="problem-json"),
        pytest.param("text/json", False, id="text-json"),
        pytest.param("text/plain", False, id="text"),
        pytest.param("application/jsonx", False, id="jsonx"),
        pytest.param(None, False, id="none"),
    ],
)
async def test_is_json(content_type: str | None, expected: bool) -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, bool]:
        return {"is_json": request.is_json}

    headers = {"Content-Type": content_type} if content_type else {}
    async with app.test_client() as client:
        response = await client.post("/", content=b"{}", headers=headers)
    assert response.json() == {"is_json": expected}


@pytest.mark.parametrize(
    ("accept", "best"),
    [
        pytest.param("application/json", "application/json", id="json"),
        pytest.param("text/html;q=0.5, application/json", "application/json", id="quality"),
        pytest.param("text/*", "text/html", id="wildcard-subtype"),
        pytest.param("*/*", "application/json", id="anything-first-offer"),
        pytest.param("image/png", None, id="nothing-acceptable"),
        pytest.param("application/json;q=0, */*", "text/html", id="refused-json"),
    ],
)
async def test_accept_mimetypes_best_match(accept: str, best: str | None) -> None:
    app = make_app()

    @app.get("/")
    async def view() -> dict[str, Any]:
        return {
            "best": request.accept_mimetypes.best_match(["application/json", "text/html"]),
            "same_object": request.accept_mimetypes is request.accept_mimetypes,
        }

    async with app.test_client() as client:
        response = await client.get("/", headers={"Accept": accept})
    assert response.json() == {"best": best, "same_object": True}


# --- MultiDict semantics --------------------------------------------------------------------


async def test_args_multidict_semantics() -> None:
    app = make_app()

    @app.get("/")
    async def view() -> dict[str, Any]:
        args = request.args
        return {
            "item": args["n"],
            "get": args.get("n"),
            "missing": args.get("zzz"),
            "default": args.get("zzz", "dflt"),
            "as_int": args.get("n", type=int),
            "bad_int": args.get("word", -1, type=int),
            "getlist": args.getlist("n"),
            "getlist_int": args.getlist("mixed", type=int),
            "to_dict": args.to_dict(),
            "to_dict_lists": args.to_dict(flat=False),
            "contains": "word" in args,
        }

    async with app.test_client() as client:
        response = await client.get("/?n=1&n=2&word=abc&mixed=3&mixed=x&mixed=4")
    assert response.json() == {
        "item": "1",
        "get": "1",
        "missing": None,
        "default": "dflt",
        "as_int": 1,
        "bad_int": -1,
        "getlist": ["1", "2"],
        "getlist_int": [3, 4],
        "to_dict": {"n": "1", "word": "abc", "mixed": "3"},
        "to_dict_lists": {"n": ["1", "2"], "word": ["abc"], "mixed": ["3", "x", "4"]},
        "contains": True,
    }


async def test_missing_key_is_a_bad_request() -> None:
    app = make_app()
    add_echo(app)

    @app.route("/", methods=["GET", "POST"])
    async def view() -> str:
        if request.method == "POST":
            return (await request.form)["missing"]  # type: ignore[no-any-return]
        return request.args["missing"]

    async with app.test_client() as client:
        from_args = await client.get("/?other=1")
        from_form = await client.post("/", data={"other": "1"})
        await assert_still_serving(client)
    for response in (from_args, from_form):
        assert response.status_code == 400
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "<title>400 Bad Request</title>" in response.text


async def test_missing_key_error_is_a_key_error_too() -> None:
    app = make_app()

    @app.get("/")
    async def view() -> str:
        try:
            request.args["missing"]
        except KeyError as error:
            return f"KeyError {error.args[0]}"
        return "no error"

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "KeyError missing"


async def test_args_are_immutable() -> None:
    app = make_app()

    @app.get("/")
    async def view() -> str:
        try:
            request.args["a"] = "x"
        except TypeError as error:
            return str(error)
        return "mutable"

    async with app.test_client() as client:
        response = await client.get("/?a=1")
    assert "immutable" in response.text


# --- the body -------------------------------------------------------------------------------


async def test_get_data_data_and_text() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        raw = await request.get_data()
        return {
            "raw": list(raw),
            "again": list(await request.data),
            "text": await request.get_data(as_text=True),
        }

    async with app.test_client() as client:
        response = await client.post("/", content="hé".encode())
    assert response.json() == {"raw": [104, 195, 169], "again": [104, 195, 169], "text": "hé"}


async def test_get_data_as_text_replaces_invalid_utf8() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> str:
        return await request.get_data(as_text=True)  # type: ignore[no-any-return]

    async with app.test_client() as client:
        response = await client.post("/", content=b"a\xffb")
    assert response.text == "a\ufffdb"


async def test_empty_body() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        return {"data": (await request.get_data()).decode(), "form": (await request.form).to_dict()}

    async with app.test_client() as client:
        response = await client.post("/")
    assert response.json() == {"data": "", "form": {}}


async def test_get_json_variants() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        first = await request.get_json()
        return {
            "value": first,
            "property": await request.json,
            "cached": (await request.get_json()) is first,
            "silent": await request.get_json(silent=True),
            "force": await request.get_json(force=True),
        }

    async with app.test_client() as client:
        response = await client.post("/", json={"a": [1, 2.5, None, "é"]})
    value = {"a": [1, 2.5, None, "é"]}
    assert response.json() == {
        "value": value,
        "property": value,
        "cached": True,
        "silent": value,
        "force": value,
    }


async def test_get_json_force_parses_any_content_type() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        return {"silent": await request.get_json(silent=True), "force": await request.get_json(force=True)}

    async with app.test_client() as client:
        response = await client.post("/", content=b'{"x": 1}', headers={"Content-Type": "text/plain"})
    assert response.json() == {"silent": None, "force": {"x": 1}}


async def test_get_json_on_text_is_415() -> None:
    app = make_app()
    add_echo(app)

    @app.post("/")
    async def view() -> Any:
        return {"value": await request.get_json()}

    async with app.test_client() as client:
        response = await client.post("/", content=b'{"x": 1}', headers={"Content-Type": "text/plain"})
        missing = await client.post("/", content=b'{"x": 1}')
        await assert_still_serving(client)
    assert response.status_code == 415
    assert "<title>415 Unsupported Media Type</title>" in response.text
    assert missing.status_code == 415


async def test_get_json_silent_failure_does_not_hide_a_later_error() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        silent = await request.get_json(silent=True)
        try:
            await request.get_json()
        except Exception as error:
            return {"silent": silent, "then": type(error).__name__}
        return {"silent": silent, "then": "nothing raised"}

    async with app.test_client() as client:
        response = await client.post("/", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.json() == {"silent": None, "then": "BadRequest"}


async def test_on_json_loading_failed_can_return_a_value() -> None:
    class LenientRequest(Request):
        def on_json_loading_failed(self, error: Exception | None) -> Any:
            return {"invalid": True}

    app = make_app()
    app.request_class = LenientRequest

    @app.post("/")
    async def view() -> Any:
        return {"value": await request.get_json(), "again": await request.get_json()}

    async with app.test_client() as client:
        response = await client.post("/", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.json() == {"value": {"invalid": True}, "again": {"invalid": True}}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{oops", id="malformed"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"a": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b'"\xed\xa0\x80"', id="utf8-surrogate"),
        pytest.param(b"\xff\xfe{\x00}\x00", id="utf16-bom"),
        pytest.param(b"[" * 100_000, id="deeply-nested-arrays"),
        pytest.param(b'{"a":' * 100_000, id="deeply-nested-objects"),
        pytest.param(b"[1, 2", id="truncated"),
        pytest.param(b"NaNx", id="junk"),
    ],
)
async def test_bad_json_is_400(body: bytes) -> None:
    app = make_app()
    add_echo(app)

    @app.post("/")
    async def view() -> Any:
        return {"value": await request.get_json()}

    async with app.test_client() as client:
        response = await client.post("/", content=body, headers={"Content-Type": "application/json"})
        await assert_still_serving(client)
    assert response.status_code == 400
    assert "<title>400 Bad Request</title>" in response.text
    assert "Failed to decode JSON object" in response.text


async def test_bad_json_silent_is_none() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> Any:
        return {"value": await request.get_json(silent=True)}

    async with app.test_client() as client:
        response = await client.post(
            "/", content=b"[" * 100_000, headers={"Content-Type": "application/json"}
        )
    assert response.json() == {"value": None}


async def test_streamed_body_arrives_in_chunks() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        received = [chunk async for chunk in request.body]
        return {"chunks": [chunk.decode() for chunk in received]}

    async with app.test_client() as client:
        response = await client.post("/", content=chunks(b"one", b"two", b"three"))
    assert response.json() == {"chunks": ["one", "two", "three"]}


async def test_body_can_be_streamed_only_once() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        first = b"".join([chunk async for chunk in request.body])
        try:
            async for _ in request.body:
                pass
        except RuntimeError as error:
            return {"first": first.decode(), "error": str(error)}
        return {"first": first.decode(), "error": None}

    async with app.test_client() as client:
        response = await client.post("/", content=chunks(b"a", b"b"))
    data = response.json()
    assert data["first"] == "ab"
    assert "already streamed" in data["error"]
    assert "get_data" in data["error"]


async def test_body_iterates_cached_data_after_get_data() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        data = await request.get_data()
        again = [chunk async for chunk in request.body]
        return {"data": data.decode(), "again": [chunk.decode() for chunk in again]}

    async with app.test_client() as client:
        response = await client.post("/", content=chunks(b"x", b"y"))
    assert response.json() == {"data": "xy", "again": ["xy"]}


# --- forms and files ------------------------------------------------------------------------


async def test_urlencoded_form_and_values() -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        form = await request.form
        values = await request.values
        return {
            "form": form.to_dict(flat=False),
            "first": form["tag"],
            "values_a": values["a"],
            "values_getlist": values.getlist("a"),
            "values_form_only": values["tag"],
            "files": len(await request.files),
        }

    async with app.test_client() as client:
        response = await client.post("/?a=from-args", data={"tag": ["x", "y"], "a": "from-form"})
    assert response.json() == {
        "form": {"tag": ["x", "y"], "a": ["from-form"]},
        "first": "x",
        "values_a": "from-args",
        "values_getlist": ["from-args", "from-form"],
        "values_form_only": "x",
        "files": 0,
    }


async def test_values_on_get_are_the_args() -> None:
    app = make_app()

    @app.get("/")
    async def view() -> dict[str, Any]:
        return {"values": (await request.values).to_dict(flat=False)}

    async with app.test_client() as client:
        response = await client.get("/?a=1&a=2")
    assert response.json() == {"values": {"a": ["1", "2"]}}


async def test_multipart_fields_and_files(tmp_path: Path) -> None:
    app = make_app()
    saved = tmp_path / "saved.bin"

    @app.post("/")
    async def view() -> dict[str, Any]:
        form = await request.form
        files = await request.files
        upload: FileStorage = files["doc"]
        content = await upload.read()
        await upload.seek(0)  # save copies from the current position, as in Werkzeug
        await upload.save(saved)
        second = files.getlist("many")
        return {
            "form": form.to_dict(flat=False),
            "filename": upload.filename,
            "name": upload.name,
            "content_type": upload.content_type,
            "mimetype": upload.mimetype,
            "content": list(content),
            "many": [f.filename for f in second],
            "bool": bool(upload),
            "is_file_storage": isinstance(upload, FileStorage),
        }

    async with app.test_client() as client:
        response = await client.post(
            "/",
            data={"title": "report", "tags": ["a", "b"]},
            files=[
                ("doc", ("report.txt", b"file body\x00\xff", "text/plain; charset=utf-8")),
                ("many", ("1.bin", b"1", "application/octet-stream")),
                ("many", ("2.bin", b"2", "application/octet-stream")),
            ],
        )
    assert response.status_code == 200, response.text
    data = response.json()
    assert bytes(data.pop("content")) == b"file body\x00\xff"
    assert data == {
        "form": {"title": ["report"], "tags": ["a", "b"]},
        "filename": "report.txt",
        "name": "doc",
        "content_type": "text/plain; charset=utf-8",
        "mimetype": "text/plain",
        "many": ["1.bin", "2.bin"],
        "bool": True,
        "is_file_storage": True,
    }
    assert saved.read_bytes() == b"file body\x00\xff"


async def test_file_save_to_open_file(tmp_path: Path) -> None:
    app = make_app()
    target = tmp_path / "out.bin"

    @app.post("/")
    async def view() -> str:
        upload = (await request.files)["f"]
        with target.open("wb") as handle:
            await upload.save(handle)
        await upload.seek(0)
        return (await upload.read(3)).decode()  # type: ignore[no-any-return]

    async with app.test_client() as client:
        response = await client.post("/", files={"f": ("f.txt", b"abcdef")})
    assert response.text == "abc"
    assert target.read_bytes() == b"abcdef"


async def test_large_upload_is_read_back_intact(tmp_path: Path) -> None:
    app = make_app()
    payload = bytes(range(256)) * 8192  # 2 MiB: spills to disk
    saved = tmp_path / "big.bin"

    @app.post("/")
    async def view() -> dict[str, Any]:
        upload = (await request.files)["big"]
        await upload.save(str(saved))
        return {"size": upload.size}

    async with app.test_client() as client:
        response = await client.post("/", files={"big": ("big.bin", payload)})
    assert response.json() == {"size": len(payload)}
    assert saved.read_bytes() == payload


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        pytest.param(
            """name="doc"; filename="safe.txt"; filename*=UTF-8''evil.sh""",
            {"files": {"doc": "safe.txt"}, "form": {}},
            id="filename-star-after",
        ),
        pytest.param(
            """name="doc"; filename*=UTF-8''evil.sh; filename="safe.txt\"""",
            {"files": {"doc": "safe.txt"}, "form": {}},
            id="filename-star-before",
        ),
        pytest.param(
            """name="doc"; filename="safe.txt"; filename*0="evil"; filename*1=".sh\"""",
            {"files": {"doc": "safe.txt"}, "form": {}},
            id="filename-continuations",
        ),
        pytest.param(
            """name="plain"; name*=UTF-8''evil""",
            {"files": {}, "form": {"plain": "payload"}},
            id="name-star",
        ),
        pytest.param(
            """name*=UTF-8''evil; name="plain\"""",
            {"files": {}, "form": {"plain": "payload"}},
            id="name-star-before",
        ),
    ],
)
async def test_multipart_star_parameters_never_override(disposition: str, expected: dict[str, Any]) -> None:
    app = make_app()

    @app.post("/")
    async def view() -> dict[str, Any]:
        files = await request.files
        return {
            "files": {name: upload.filename for name, upload in files.items()},
            "form": (await request.form).to_dict(),
        }

    body, headers = multipart((disposition, b"payload"))
    async with app.test_client() as client:
        response = await client.post("/", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == expected


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"--XyZ\r\nbroken", "multipart/form-data", id="no-boundary"),
        pytest.param(b"this is not multipart", "multipart/form-data; boundary=XyZ", id="garbage"),
        pytest.param(
            b'--XyZ\r\nContent-Disposition: form-data; filename="a"\r\n\r\nx\r\n--XyZ--\r\n',
            "multipart/form-data; boundary=XyZ",
            id="part-without-name",
        ),
        pytest.param(
            b"--XyZ\r\n\r\n\r\n--XyZ--\r\n", "multipart/form-data; boundary=XyZ", id="no-disposition"
        ),
    ],
)
async def test_garbage_multipart_is_400(body: bytes, content_type: str) -> None:
    app = make_app()
    add_echo(app)

    @app.post("/")
    async def view() -> Any:
        return {"form": (await request.form).to_dict()}

    async with app.test_client() as client:
        response = await client.post("/", content=body, headers={"Content-Type": content_type})
        await assert_still_serving(client)
    assert response.status_code == 400
    assert "<title>400 Bad Request</title>" in response.text


# --- limits ---------------------------------------------------------------------------------


def limited_app(**config: Any) -> AsyncFlask:
    app = make_app()
    app.config.update(config)
    add_echo(app)

    @app.post("/data")
    async def data() -> dict[str, int]:
        return {"size": len(await request.get_data())}

    @app.post("/stream")
    async def stream() -> dict[str, int]:
        size = 0
        async for chunk in request.body:
            size += len(chunk)
        return {"size": size}

    @app.post("/json")
    async def json_view() -> dict[str, Any]:
        return {"value": await request.get_json(force=True)}

    @app.post("/form")
    async def form() -> dict[str, Any]:
        fields = await request.form
        files = await request.files
        return {"fields": len(list(fields.items(multi=True))), "files": len(list(files.items(multi=True)))}

    return app


@pytest.mark.parametrize("path", ["/data", "/stream", "/json", "/form"])
async def test_content_length_over_limit_is_413(path: str) -> None:
    app = limited_app(MAX_CONTENT_LENGTH=10)
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    async with app.test_client() as client:
        over = await client.post(path, content=b"1" * 11, headers=form_type)
        at_limit = await client.post("/data", content=b"1" * 10)
        await assert_still_serving(client)
    assert over.status_code == 413
    assert "<title>413 Request Entity Too Large</title>" in over.text
    assert at_limit.json() == {"size": 10}


@pytest.mark.parametrize("path", ["/data", "/stream", "/json"])
async def test_chunked_body_over_limit_is_413(path: str) -> None:
    app = limited_app(MAX_CONTENT_LENGTH=10)
    async with app.test_client() as client:
        over = await client.post(path, content=chunks(b"1234", b"5678", b"9abc"))
        under = await client.post("/stream", content=chunks(b"1234", b"5678"))
        await assert_still_serving(client)
    assert over.status_code == 413
    assert under.json() == {"size": 8}


async def test_declared_length_is_checked_before_reading() -> None:
    app = limited_app(MAX_CONTENT_LENGTH=10)
    pulled: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for part in (b"x" * 50, b"x" * 50):
            pulled.append(part)
            yield part

    async with app.test_client() as client:
        response = await client.post("/data", content=body(), headers={"Content-Length": "100"})
    assert response.status_code == 413
    assert pulled == []


async def test_urlencoded_form_over_max_content_length_is_413() -> None:
    app = limited_app(MAX_CONTENT_LENGTH=100)
    async with app.test_client() as client:
        over = await client.post("/form", data={"field": "x" * 200})
        chunked = await client.post(
            "/form",
            content=chunks(b"a=" + b"x" * 60, b"&b=" + b"y" * 60),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        under = await client.post("/form", data={"field": "x" * 50})
        await assert_still_serving(client)
    assert over.status_code == 413
    assert chunked.status_code == 413
    assert under.json() == {"fields": 1, "files": 0}


async def test_urlencoded_form_is_not_bound_by_form_memory_size() -> None:
    app = limited_app(MAX_FORM_MEMORY_SIZE=10)
    async with app.test_client() as client:
        response = await client.post("/form", data={"field": "x" * 100})
    assert response.json() == {"fields": 1, "files": 0}


async def test_multipart_field_over_form_memory_size_is_413() -> None:
    app = limited_app(MAX_FORM_MEMORY_SIZE=100)
    async with app.test_client() as client:
        over = await client.post("/form", files={"field": (None, b"x" * 101)})
        at_limit = await client.post("/form", files={"field": (None, b"x" * 100)})
        big_file = await client.post("/form", files={"upload": ("big.bin", b"x" * 10_000)})
        await assert_still_serving(client)
    assert over.status_code == 413
    assert "MAX_FORM_MEMORY_SIZE" in over.text
    assert at_limit.json() == {"fields": 1, "files": 0}
    # Files are spooled, not held as fields: the memory limit is for non-file fields.
    assert big_file.json() == {"fields": 0, "files": 1}


@pytest.mark.parametrize(
    "files",
    [
        pytest.param([("f", (None, b"x"))] * 4, id="fields"),
        pytest.param([("f", ("a.txt", b"x"))] * 4, id="files"),
        pytest.param([("f", ("a.txt", b"x"))] * 2 + [("g", (None, b"x"))] * 2, id="mixed"),
    ],
)
async def test_too_many_multipart_parts_is_413(files: list[tuple[str, Any]]) -> None:
    app = limited_app(MAX_FORM_PARTS=3)
    async with app.test_client() as client:
        over = await client.post("/form", files=files)
        at_limit = await client.post("/form", files=files[:3])
        await assert_still_serving(client)
    assert over.status_code == 413
    assert at_limit.status_code == 200


# --- hosts ----------------------------------------------------------------------------------


def host_app(trusted: list[str] | None) -> AsyncFlask:
    app = make_app()
    app.config["TRUSTED_HOSTS"] = trusted
    add_echo(app)

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"host": request.host, "url": request.url, "external": url_for("index", _external=True)}

    @app.get("/dir/")
    async def directory() -> str:
        return "dir"

    return app


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("example.com", 200, id="listed"),
        pytest.param("EXAMPLE.com", 200, id="case-insensitive"),
        pytest.param("example.com:8080", 200, id="port-ignored"),
        pytest.param("api.example.org", 200, id="subdomain-pattern"),
        pytest.param("a.b.example.org", 200, id="deep-subdomain-pattern"),
        pytest.param("example.org", 200, id="pattern-matches-the-domain-itself"),
        pytest.param("evil.com", 400, id="unlisted"),
        pytest.param("notexample.org", 400, id="suffix-without-dot"),
        pytest.param("example.com.evil.com", 400, id="listed-as-prefix"),
    ],
)
async def test_trusted_hosts(host: str, status: int) -> None:
    app = host_app(["example.com", ".example.org", "localhost"])
    async with app.test_client() as client:
        response = await client.get("/", headers={"Host": host})
        redirect = await client.get("/dir", headers={"Host": host})
        await assert_still_serving(client)
    assert response.status_code == status
    if status == 200:
        assert response.json()["host"] == host
        assert redirect.status_code == 308
    else:
        assert "<title>400 Bad Request</title>" in response.text
        assert redirect.status_code == 400


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("evil.com/<script>", id="path-and-markup"),
        pytest.param("evil .com", id="space"),
        pytest.param("evil.com:80:80", id="two-ports"),
        pytest.param("evil.com@localhost", id="userinfo"),
        pytest.param("evil.com:port", id="non-numeric-port"),
        pytest.param('"quoted"', id="quotes"),
    ],
)
@pytest.mark.parametrize("trusted", [None, ["localhost", "evil.com"]], ids=["untrusted-unset", "trusted-set"])
async def test_malformed_host_never_reaches_urls(host: str, trusted: list[str] | None) -> None:
    app = host_app(trusted)
    async with app.test_client() as client:
        response = await client.get("/", headers={"Host": host})
        await assert_still_serving(client)
    assert response.status_code == 400
    # The error page may name the host, but only HTML-escaped.
    assert "<script>" not in response.text


async def test_malformed_host_on_slash_redirect_is_400() -> None:
    app = host_app(None)
    async with app.test_client() as client:
        response = await client.get("/dir", headers={"Host": "evil.com/<script>"})
        await assert_still_serving(client)
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_valid_hosts_pass_without_trusted_hosts() -> None:
    app = host_app(None)
    async with app.test_client() as client:
        ipv6 = await client.get("/", headers={"Host": "[::1]:8000"})
        named = await client.get("/", headers={"Host": "my-host.internal:5000"})
    assert ipv6.json() == {
        "host": "[::1]:8000",
        "url": "http://[::1]:8000/",
        "external": "http://[::1]:8000/",
    }
    assert named.json()["external"] == "http://my-host.internal:5000/"


# --- Response: construction -----------------------------------------------------------------


def test_response_defaults() -> None:
    response = Response()
    assert response.status_code == 200
    assert response.status == "200 OK"
    assert response.mimetype == "text/html"
    assert response.content_type == "text/html; charset=utf-8"
    assert response.get_data() == b""
    assert response.content_length == 0
    assert response.is_streamed is False


@pytest.mark.parametrize(
    ("body", "data"),
    [
        pytest.param("héllo", "héllo".encode(), id="str"),
        pytest.param(b"\x00\xff", b"\x00\xff", id="bytes"),
        pytest.param(bytearray(b"ab"), b"ab", id="bytearray"),
        pytest.param(memoryview(b"mv"), b"mv", id="memoryview"),
        pytest.param(None, b"", id="none"),
        pytest.param(["a", b"b", "é"], "abé".encode(), id="list"),
        pytest.param(("x", "y"), b"xy", id="tuple"),
        pytest.param([], b"", id="empty-list"),
    ],
)
def test_response_bodies(body: Any, data: bytes) -> None:
    response = Response(body)
    assert response.get_data() == data
    assert response.data == data
    assert response.content_length == len(data)
    assert response.headers["content-length"] == str(len(data))
    assert response.is_streamed is False


async def test_response_with_iterators_streams() -> None:
    def sync_parts() -> Any:
        yield "a"
        yield b"b"

    async def async_parts() -> AsyncIterator[str]:
        yield "c"
        yield "d"

    app = make_app()

    @app.get("/sync")
    async def sync_view() -> Response:
        return Response(sync_parts(), mimetype="text/plain")

    @app.get("/async")
    async def async_view() -> Response:
        return Response(async_parts(), 201)

    async with app.test_client() as client:
        sync_response = await client.get("/sync")
        async_response = await client.get("/async")
    assert (sync_response.status_code, sync_response.text) == (200, "ab")
    assert sync_response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "content-length" not in sync_response.headers
    assert (async_response.status_code, async_response.text) == (201, "cd")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(iter(["a"]), id="iterator"),
        pytest.param((c for c in "ab"), id="generator"),
    ],
)
def test_get_data_on_a_streamed_response_says_to_iterate(body: Any) -> None:
    response = Response(body)
    assert response.is_streamed is True
    with pytest.raises(TypeError, match="Iterate"):
        response.get_data()
    with pytest.raises(TypeError, match="Iterate"):
        response.data  # noqa: B018


def test_set_data_replaces_a_stream() -> None:
    response = Response(iter(["a"]))
    response.set_data("new body")
    assert response.is_streamed is False
    assert response.get_data(as_text=True) == "new body"
    assert response.headers["content-length"] == "8"
    response.data = b"xy"
    assert response.get_data() == b"xy"
    assert response.content_length == 2


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(42, id="int"),
        pytest.param(object(), id="object"),
        pytest.param(["a", 1], id="list-with-int"),
    ],
)
def test_response_rejects_other_bodies(body: Any) -> None:
    with pytest.raises(TypeError, match=r"must be str.*bytes"):
        Response(body)


@pytest.mark.parametrize(
    ("status", "code", "line"),
    [
        pytest.param(None, 200, "200 OK", id="default"),
        pytest.param(201, 201, "201 CREATED", id="int"),
        pytest.param("201 CREATED", 201, "201 CREATED", id="status-line"),
        pytest.param("404", 404, "404 NOT FOUND", id="digits"),
        pytest.param(" 418 whatever ", 418, "418 whatever", id="own-phrase-kept"),
        pytest.param(HTTPStatus.ACCEPTED, 202, "202 ACCEPTED", id="httpstatus"),
        pytest.param(299, 299, "299 UNKNOWN", id="unknown"),
    ],
)
def test_response_status(status: Any, code: int, line: str) -> None:
    response = Response("x", status)
    assert response.status_code == code
    assert response.status == line


def test_status_setter_and_bad_status() -> None:
    response = Response()
    response.status = "404 NOT FOUND"
    assert response.status_code == 404
    response.status = 302
    assert response.status == "302 FOUND"
    with pytest.raises(ValueError, match="must be an integer"):
        Response("x", "OK")
    with pytest.raises(ValueError, match="must be an integer"):
        Response("x", "²")


@pytest.mark.parametrize(
    ("kwargs", "content_type", "mimetype"),
    [
        pytest.param({}, "text/html; charset=utf-8", "text/html", id="default"),
        pytest.param({"mimetype": "text/plain"}, "text/plain; charset=utf-8", "text/plain", id="text"),
        pytest.param({"mimetype": "application/json"}, "application/json", "application/json", id="json"),
        pytest.param({"mimetype": "image/png"}, "image/png", "image/png", id="binary"),
        pytest.param(
            {"mimetype": "application/xml"}, "application/xml; charset=utf-8", "application/xml", id="xml"
        ),
        pytest.param(
            {"mimetype": "image/svg+xml"}, "image/svg+xml; charset=utf-8", "image/svg+xml", id="plus-xml"
        ),
        pytest.param(
            {"mimetype": "application/javascript"},
            "application/javascript; charset=utf-8",
            "application/javascript",
            id="javascript",
        ),
        pytest.param(
            {"content_type": "text/csv; charset=latin-1"},
            "text/csv; charset=latin-1",
            "text/csv",
            id="own-charset",
        ),
        pytest.param({"content_type": "text/plain"}, "text/plain", "text/plain", id="content-type-as-given"),
        pytest.param(
            {"content_type": "application/json; charset=utf-8", "mimetype": "text/plain"},
            "application/json; charset=utf-8",
            "application/json",
            id="content-type-wins",
        ),
        pytest.param(
            {"headers": {"Content-Type": "text/x-custom"}, "mimetype": "text/plain"},
            "text/x-custom",
            "text/x-custom",
            id="header-wins",
        ),
    ],
)
def test_response_content_type(kwargs: dict[str, Any], content_type: str, mimetype: str) -> None:
    response = Response("body", **kwargs)
    assert response.content_type == content_type
    assert response.mimetype == mimetype
    assert response.headers.getlist("content-type") == [content_type]


def test_mimetype_and_content_type_setters() -> None:
    response = Response("x")
    response.mimetype = "text/plain"
    assert response.content_type == "text/plain; charset=utf-8"
    response.mimetype = "application/json"
    assert response.content_type == "application/json"
    response.content_type = "text/plain"
    assert response.content_type == "text/plain"
    assert response.headers.getlist("content-type") == ["text/plain"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-One": "1", "X-Two": "2"}, id="dict"),
        pytest.param([("X-One", "1"), ("X-Two", "2")], id="list"),
        pytest.param(Headers({"X-One": "1", "X-Two": "2"}), id="starlette-headers"),
    ],
)
def test_response_headers_inputs(headers: Any) -> None:
    response = Response("x", 200, headers)
    assert response.headers["x-one"] == "1"
    assert response.headers["X-Two"] == "2"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_response_header_list_keeps_duplicates_and_values_are_strings() -> None:
    response = Response("x", headers=[("X-A", "1"), ("X-A", "2"), ("X-N", 3)])
    assert response.headers.getlist("x-a") == ["1", "2"]
    assert response.headers["x-n"] == "3"


def test_explicit_content_length_is_not_duplicated() -> None:
    response = Response("abc", headers={"Content-Length": "3"})
    assert response.headers.getlist("content-length") == ["3"]


@pytest.mark.parametrize("status", [204, 304, 101])
def test_no_content_length_for_bodyless_statuses(status: int) -> None:
    assert "content-length" not in Response(status=status).headers


def test_location_property() -> None:
    response = Response(status=302)
    assert response.location is None
    response.location = "/next"
    assert response.headers["location"] == "/next"
    assert response.location == "/next"


def test_response_json_property() -> None:
    assert Response('{"a": [1]}', mimetype="application/json").json == {"a": [1]}


def test_get_data_as_text() -> None:
    response = Response("grüß")
    assert response.get_data(as_text=True) == "grüß"
    assert response.get_data() == "grüß".encode()


def test_response_repr() -> None:
    assert repr(Response("abc", 201)) == "<Response 3 bytes [201 CREATED]>"
    assert repr(Response(iter(["a"]))) == "<Response streamed [200 OK]>"


# --- Response: header injection -------------------------------------------------------------


def _set_item(headers: SafeHeaders, value: str) -> None:
    headers["X-Test"] = value


@pytest.mark.parametrize(
    "set_header",
    [
        pytest.param(lambda r, v: Response("x", headers={"X-Test": v}), id="constructor-dict"),
        pytest.param(lambda r, v: Response("x", headers=[("X-Test", v)]), id="constructor-list"),
        pytest.param(lambda r, v: Response("x", headers=[(f"X{v}", "ok")]), id="constructor-name"),
        pytest.param(
            lambda r, v: Response("x", content_type=f"text/plain{v}"), id="constructor-content-type"
        ),
        pytest.param(lambda r, v: _set_item(r.headers, v), id="setitem"),
        pytest.param(lambda r, v: r.headers.append("X-Test", v), id="append"),
        pytest.param(lambda r, v: r.headers.setdefault("X-Test", v), id="setdefault"),
        pytest.param(lambda r, v: r.headers.add("X-Test", v), id="add"),
        pytest.param(lambda r, v: r.headers.set("X-Test", v), id="set"),
        pytest.param(lambda r, v: r.headers.extend([("X-Test", v)]), id="extend"),
        pytest.param(lambda r, v: r.headers.update({"X-Test": v}), id="update"),
        pytest.param(lambda r, v: setattr(r, "content_type", f"text/plain{v}"), id="content-type-setter"),
        pytest.param(lambda r, v: setattr(r, "location", f"/x{v}"), id="location-setter"),
        pytest.param(lambda r, v: r.set_cookie("k", "v", domain=f"a.com{v}"), id="cookie-domain"),
    ],
)
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("a\r\nSet-Cookie: evil=1", id="crlf"),
        pytest.param("a\nX-Injected: 1", id="lf"),
        pytest.param("a\rb", id="cr"),
        pytest.param("a\x00b", id="nul"),
    ],
)
def test_header_values_with_newlines_or_nul_are_refused(set_header: Any, bad: str) -> None:
    response = Response("x")
    before = list(response.raw_headers)
    with pytest.raises(ValueError, match="newline or NUL"):
        set_header(response, bad)
    assert response.raw_headers == before


@pytest.mark.parametrize("bad", ["a\r\nSet-Cookie: evil=1", "a\nX: 1", "a\rb", "a\x00b"])
@pytest.mark.parametrize("field", ["value", "path"])
def test_cookie_value_and_path_are_encoded_never_split(field: str, bad: str) -> None:
    # As in Werkzeug: the value is quoted with octal escapes and the path is percent-encoded.
    response = Response("x")
    response.set_cookie("k", **{field: bad})  # type: ignore[arg-type]
    (header,) = response.headers.getlist("set-cookie")
    assert not any(char in header for char in "\r\n\x00")
    assert all(b"\r" not in value and b"\n" not in value for _, value in response.raw_headers)


async def test_view_setting_a_bad_header_is_a_500_not_a_split_header() -> None:
    app = make_app()
    add_echo(app)

    @app.get("/object")
    async def on_object() -> Response:
        response = Response("x")
        response.headers["X-A"] = "a\r\nSet-Cookie: evil=1"
        return response

    @app.get("/tuple")
    async def in_tuple() -> tuple[str, dict[str, str]]:
        return "x", {"X-A": "a\nSet-Cookie: evil=1"}

    async with app.test_client() as client:
        for path in ("/object", "/tuple"):
            response = await client.get(path)
            assert response.status_code == 500
            assert "set-cookie" not in response.headers
            assert "x-a" not in response.headers
        await assert_still_serving(client)


# --- Response: cookies ----------------------------------------------------------------------


def _without_expires(header: str) -> str:
    # Max-Age also sets Expires from the current time: compared apart.
    return re.sub(r"; Expires=[^;]+", "", header)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"max_age": 60}, id="max-age-int"),
        pytest.param({"max_age": timedelta(hours=1)}, id="max-age-timedelta"),
        pytest.param({"expires": datetime(2030, 1, 2, 3, 4, 5)}, id="expires-naive-is-utc"),
        pytest.param(
            {"expires": datetime(2030, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))},
            id="expires-aware-converted",
        ),
        pytest.param({"expires": 1893553445}, id="expires-timestamp"),
        pytest.param({"expires": "Wed, 02 Jan 2030 03:04:05 GMT"}, id="expires-string"),
        pytest.param({"path": "/sub"}, id="path"),
        pytest.param({"path": None}, id="no-path"),
        pytest.param({"domain": "example.com"}, id="domain"),
        pytest.param({"secure": True}, id="secure"),
        pytest.param({"httponly": True}, id="httponly"),
        pytest.param({"samesite": "Lax"}, id="samesite-lax"),
        pytest.param({"samesite": "strict"}, id="samesite-lowercase"),
        pytest.param({"samesite": "None"}, id="samesite-none"),
        pytest.param({"partitioned": True}, id="partitioned"),
    ],
)
def test_set_cookie_is_flasks(kwargs: dict[str, Any]) -> None:
    ours, theirs = Response(), flask.Response()
    ours.set_cookie("k", "v", **kwargs)
    theirs.set_cookie("k", "v", **kwargs)
    assert [_without_expires(h) for h in ours.headers.getlist("set-cookie")] == [
        _without_expires(h) for h in theirs.headers.getlist("set-cookie")
    ]
    if "expires" in kwargs:
        assert "Expires=Wed, 02 Jan 2030 03:04:05 GMT" in ours.headers["set-cookie"]
    if "max_age" in kwargs:
        assert "Expires=" in ours.headers["set-cookie"]


def test_set_cookie_value_is_quoted_when_needed() -> None:
    response = Response()
    response.set_cookie("k", "a b;c")
    assert response.headers["set-cookie"] == 'k="a b\\073c"; Path=/'


def test_set_cookie_bad_samesite() -> None:
    with pytest.raises(ValueError, match="SameSite"):
        Response().set_cookie("k", "v", samesite="sometimes")


def test_delete_cookie() -> None:
    response = Response()
    response.delete_cookie("k")
    response.delete_cookie("other", path="/sub", domain="example.com")
    assert response.headers.getlist("set-cookie") == [
        "k=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
        "other=; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/sub",
    ]


async def test_cookies_through_the_client() -> None:
    app = make_app()

    @app.get("/set")
    async def set_view() -> Response:
        response = Response("set")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2", httponly=True)
        return response

    @app.get("/read")
    async def read_view() -> dict[str, str]:
        return dict(request.cookies)

    @app.get("/delete")
    async def delete_view() -> Response:
        response = Response("deleted")
        response.delete_cookie("a")
        return response

    async with app.test_client() as client:
        set_response = await client.get("/set")
        assert set_response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly; Path=/"]
        assert (await client.get("/read")).json() == {"a": "1", "b": "2"}
        await client.get("/delete")
        assert (await client.get("/read")).json() == {"b": "2"}


# --- Starlette responses --------------------------------------------------------------------


async def test_starlette_responses_from_views() -> None:
    from starlette.responses import JSONResponse, PlainTextResponse

    app = make_app()

    @app.get("/json")
    async def json_view() -> JSONResponse:
        return JSONResponse({"a": 1}, status_code=201, headers={"X-S": "1"})

    @app.get("/text")
    async def text_view() -> PlainTextResponse:
        return PlainTextResponse("plain")

    @app.get("/tuple")
    async def tuple_view() -> tuple[PlainTextResponse, int, dict[str, str]]:
        return PlainTextResponse("plain"), 202, {"X-Extra": "yes"}

    async with app.test_client() as client:
        json_response = await client.get("/json")
        text_response = await client.get("/text")
        tuple_response = await client.get("/tuple")
    assert json_response.status_code == 201
    assert json_response.headers["content-type"] == "application/json"
    assert json_response.headers["x-s"] == "1"
    assert json.loads(json_response.content) == {"a": 1}
    assert (text_response.status_code, text_response.text) == (200, "plain")
    assert text_response.headers["content-type"] == "text/plain; charset=utf-8"
    assert (tuple_response.status_code, tuple_response.headers["x-extra"]) == (202, "yes")


async def test_head_has_headers_but_no_body() -> None:
    app = make_app()

    @app.get("/")
    async def view() -> str:
        return "some body"

    async with app.test_client() as client:
        response = await client.head("/")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "9"


# --- odd input straight from a server -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Werkzeug's rule: a value that is not a plain non-negative integer counts as 0.
        pytest.param(b"12", 12, id="digits"),
        pytest.param(b"\xb2", 0, id="superscript-two"),
        pytest.param(b"-1", 0, id="negative"),
        pytest.param(b"1e3", 0, id="exponent"),
        pytest.param(b"", 0, id="empty"),
    ],
)
async def test_request_content_length_only_counts_ascii_digits(value: bytes, expected: int | None) -> None:
    app = make_app()
    app.config["MAX_CONTENT_LENGTH"] = 100
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-length", value)],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"abc", "more_body": False}

    req = Request(scope, receive, app)
    assert req.content_length == expected
    assert await req.get_data() == b"abc"


async def test_a_stream_cut_short_by_the_client_is_closed(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    app = make_app()
    closed = asyncio.Event()

    @app.get("/")
    async def view() -> Response:
        async def endless() -> AsyncIterator[str]:
            try:
                n = 0
                while True:
                    yield f"{n};"
                    n += 1
                    await asyncio.sleep(0)
            finally:
                closed.set()

        return Response(endless(), mimetype="text/plain")

    async with app.test_client() as client:
        async with client.stream("GET", "/") as response:
            chunks = response.aiter_raw()
            assert await chunks.__anext__() == b"0;"
        await asyncio.wait_for(closed.wait(), 5)
        async with client.stream("GET", "/") as response:
            assert await response.aiter_raw().__anext__() == b"0;"
    assert [record for record in caplog.records if record.levelname in ("WARNING", "ERROR")] == []
