"""send_file, send_from_directory, safe_join and the static route: headers, 304/412,
ranges, file objects, and every way a request might try to read outside the folder."""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import time
from datetime import datetime, timedelta, timezone
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from starlette.types import Message

from asyncflask import AsyncFlask, url_for
from asyncflask.exceptions import NotFound
from asyncflask.routing import BuildError
from asyncflask.sending import MAX_RANGES, safe_join, send_file, send_from_directory

DATA = bytes(range(256)) * 4  # 1024 bytes that are easy to slice and check
CSS = b"body { color: red }\n"
SECRET = b"top secret"


# -- fixtures and helpers ---------------------------------------------------------------------


def _symlink(link: Path, target: str | Path) -> None:
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError):
        pytest.skip("symlinks are not available here")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An app root: a `static` folder beside secrets that must never be served."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    static = tmp_path / "static"
    (static / "sub").mkdir(parents=True)
    (static / "app.css").write_bytes(CSS)
    (static / "data.bin").write_bytes(DATA)
    (static / "empty.txt").write_bytes(b"")
    (static / "sub" / "nested.txt").write_bytes(b"nested")
    _symlink(static / "link_out.txt", tmp_path / "secret.txt")
    _symlink(static / "link_in.txt", "app.css")
    _symlink(static / "outdir", tmp_path / "outside")
    _symlink(static / "loop", static / "loop")
    return tmp_path


def make_app(root: Path, **kwargs: Any) -> AsyncFlask:
    app = AsyncFlask(__name__, root_path=str(root), **kwargs)
    # Any unexpected error is raised in the test instead of becoming a quiet 500.
    app.config["TESTING"] = True
    return app


async def asgi_get(
    app: AsyncFlask, raw_path: bytes, headers: list[tuple[bytes, bytes]] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """Call the app with a hand-made scope whose path is `raw_path` decoded once, as a server does.

    Unlike httpx, nothing here normalizes `..` segments away.
    """
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
        "state": {},
    }
    messages: list[Message] = []
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # Never disconnects; the response cancels this wait.
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    assert start["type"] == "http.response.start"
    response_headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in start["headers"]}
    body = b"".join(m.get("body", b"") for m in messages[1:] if m["type"] == "http.response.body")
    return start["status"], response_headers, body


def byteranges(response: httpx.Response) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a `multipart/byteranges` body: (headers, data) each."""
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    boundary = b"--" + content_type.split("boundary=", 1)[1].encode()
    body = response.content
    assert int(response.headers["content-length"]) == len(body)
    assert body.startswith(boundary + b"\r\n")
    assert body.endswith(b"\r\n" + boundary + b"--")
    parts = []
    for chunk in body.split(boundary)[1:-1]:
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        assert data.endswith(b"\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n"))
        parts.append(({key.lower(): value for key, value in fields.items()}, data[:-2]))
    return parts


def mtime_http(path: Path) -> str:
    return formatdate(int(path.stat().st_mtime), usegmt=True)


# -- the basics -------------------------------------------------------------------------------


async def test_static_file_200_with_all_headers(site: Path) -> None:
    app = make_app(site)
    async with app.test_client() as client:
        response = await client.get("/static/app.css")
    assert response.status_code == 200
    assert response.content == CSS
    headers = response.headers
    assert headers["content-type"] == "text/css; charset=utf-8"
    assert headers["content-length"] == str(len(CSS))
    assert headers["content-disposition"] == "inline; filename=app.css"
    assert headers["cache-control"] == "no-cache"
    assert "expires" not in headers
    assert headers["accept-ranges"] == "bytes"
    assert headers["last-modified"] == mtime_http(site / "static" / "app.css")
    etag = headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")


async def test_etag_is_stable_and_changes_with_the_file(site: Path) -> None:
    app = make_app(site)
    async with app.test_client() as client:
        first = (await client.get("/static/app.css")).headers["etag"]
        assert (await client.get("/static/app.css")).headers["etag"] == first
        target = site / "static" / "app.css"
        target.write_bytes(CSS + b"/* more */")
        os.utime(target, (time.time() + 10, time.time() + 10))
        assert (await client.get("/static/app.css")).headers["etag"] != first


async def test_head_sends_headers_without_a_body(site: Path) -> None:
    app = make_app(site)
    async with app.test_client() as client:
        response = await client.head("/static/data.bin")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "1024"
    assert response.headers["content-type"] == "application/octet-stream"


async def test_symlink_to_a_file_inside_the_folder_is_served(site: Path) -> None:
    app = make_app(site)
    async with app.test_client() as client:
        response = await client.get("/static/link_in.txt")
    assert response.status_code == 200
    assert response.content == CSS
    # Named and typed after what was asked for, not after where the link leads.
    assert response.headers["content-disposition"] == "inline; filename=link_in.txt"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_nested_file_and_empty_file(site: Path) -> None:
    app = make_app(site)
    async with app.test_client() as client:
        nested = await client.get("/static/sub/nested.txt")
        empty = await client.get("/static/empty.txt", headers={"Range": "bytes=0-10"})
    assert (nested.status_code, nested.content) == (200, b"nested")
    # A Range on an empty file is ignored, as Werkzeug does.
    assert (empty.status_code, empty.content, empty.headers["content-length"]) == (200, b"", "0")


async def test_static_folder_reached_through_a_symlink(site: Path) -> None:
    _symlink(site / "public", site / "static")
    app = make_app(site, static_folder="public")
    async with app.test_client() as client:
        response = await client.get("/public/app.css")
        escape = await client.get("/public/link_out.txt")
    assert (response.status_code, response.content) == (200, CSS)
    assert escape.status_code == 404


async def test_after_request_can_set_headers_on_file_responses(site: Path) -> None:
    app = make_app(site)

    @app.after_request
    async def tag(response: Any) -> Any:
        response.headers["X-Hook"] = "yes"
        return response

    async with app.test_client() as client:
        full = await client.get("/static/data.bin")
        partial = await client.get("/static/data.bin", headers={"Range": "bytes=0-1"})
        cached = await client.get("/static/data.bin", headers={"If-None-Match": full.headers["etag"]})
    assert [r.status_code for r in (full, partial, cached)] == [200, 206, 304]
    assert all(r.headers["x-hook"] == "yes" for r in (full, partial, cached))


async def test_send_file_relative_path_is_below_root_path(site: Path) -> None:
    app = make_app(site)

    @app.route("/css")
    async def css() -> Any:
        return await send_file("static/app.css")

    async with app.test_client() as client:
        response = await client.get("/css")
    assert (response.status_code, response.content) == (200, CSS)


async def test_send_file_options(site: Path) -> None:
    app = make_app(site)
    stamp = datetime(2020, 1, 2, 3, 4, 5, 678, tzinfo=timezone.utc)

    @app.route("/custom")
    async def custom() -> Any:
        return await send_file(
            site / "static" / "data.bin", mimetype="image/png", etag="v1", last_modified=stamp, max_age=60
        )

    @app.route("/bare")
    async def bare() -> Any:
        return await send_file(site / "static" / "data.bin", etag=False, last_modified=1_600_000_000)

    async with app.test_client() as client:
        custom_response = await client.get("/custom")
        bare_response = await client.get("/bare")
    assert custom_response.headers["content-type"] == "image/png"
    assert custom_response.headers["etag"] == '"v1"'
    assert custom_response.headers["last-modified"] == "Thu, 02 Jan 2020 03:04:05 GMT"
    assert custom_response.headers["cache-control"] == "public, max-age=60"
    assert "etag" not in bare_response.headers
    assert bare_response.headers["last-modified"] == formatdate(1_600_000_000, usegmt=True)


async def test_send_file_refuses_directories_and_bad_etags(site: Path) -> None:
    app = make_app(site)
    async with app.app_context():
        with pytest.raises(IsADirectoryError):
            await send_file(site / "static")
        with pytest.raises(FileNotFoundError):
            await send_file(site / "nope.txt")
        with pytest.raises(ValueError, match="ETag"):
            await send_file(site / "static" / "app.css", etag='a"b')


async def test_compressed_name_sets_content_encoding_unless_downloaded(site: Path) -> None:
    (site / "static" / "bundle.tar.gz").write_bytes(gzip.compress(b"archive"))
    app = make_app(site)

    @app.route("/download")
    async def download() -> Any:
        return await send_file(site / "static" / "bundle.tar.gz", as_attachment=True)

    async with app.test_client() as client:
        inline = await client.get("/static/bundle.tar.gz")
        attachment = await client.get("/download")
    assert inline.headers["content-type"] == "application/x-tar"
    assert inline.headers["content-encoding"] == "gzip"
    assert inline.content == b"archive"  # httpx undid the gzip the header announced
    # A browser would unpack the archive on save; Flask leaves the encoding off downloads.
    assert "content-encoding" not in attachment.headers


# -- Cache-Control ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(None, "no-cache", id="none"),
        pytest.param(0, "no-cache, max-age=0", id="zero"),
        pytest.param(3600, "public, max-age=3600", id="int"),
        pytest.param(timedelta(hours=2), "public, max-age=7200", id="timedelta"),
    ],
)
async def test_send_file_max_age_default(site: Path, config: Any, expected: str) -> None:
    app = make_app(site)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = config
    before = time.time()
    async with app.test_client() as client:
        response = await client.get("/static/app.css")
    assert response.headers["cache-control"] == expected
    if config is None:
        assert "expires" not in response.headers
    else:
        expires = parsedate_to_datetime(response.headers["expires"]).timestamp()
        seconds = config.total_seconds() if isinstance(config, timedelta) else config
        assert before + seconds - 2 <= expires <= time.time() + seconds + 2


async def test_max_age_callable_and_app_override(site: Path) -> None:
    seen: list[str | None] = []

    def by_extension(path: str | None) -> int:
        seen.append(path)
        return 600 if path and path.endswith(".css") else 0

    class CachingApp(AsyncFlask):
        def get_send_file_max_age(self, path: str | None) -> int:
            return 42

    app = make_app(site)
    override = CachingApp(__name__, root_path=str(site))

    @app.route("/f")
    async def by_callable() -> Any:
        return await send_file(site / "static" / "app.css", max_age=by_extension)

    async with app.test_client() as client:
        response = await client.get("/f")
    async with override.test_client() as client:
        overridden = await client.get("/static/app.css")
    assert response.headers["cache-control"] == "public, max-age=600"
    assert seen == [str(site / "static" / "app.css")]
    assert overridden.headers["cache-control"] == "public, max-age=42"


async def test_negative_max_age_is_a_clear_error(site: Path) -> None:
    app = make_app(site)
    async with app.app_context():
        with pytest.raises(ValueError, match="max_age"):
            await send_file(site / "static" / "app.css", max_age=-1)


# -- conditional requests ---------------------------------------------------------------------


async def test_304_by_etag(site: Path) -> None:
    app = make_app(site)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 60
    async with app.test_client() as client:
        etag = (await client.get("/static/app.css")).headers["etag"]
        exact = await client.get("/static/app.css", headers={"If-None-Match": etag})
        listed = await client.get("/static/app.css", headers={"If-None-Match": f'"other", W/{etag}'})
        star = await client.get("/static/app.css", headers={"If-None-Match": "*"})
        other = await client.get("/static/app.css", headers={"If-None-Match": '"other"'})
        head = await client.head("/static/app.css", headers={"If-None-Match": etag})
    for response in (exact, listed, star, head):
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "public, max-age=60"
        assert "expires" in response.headers
        assert "content-length" not in response.headers
        assert "content-type" not in response.headers
    assert (other.status_code, other.content) == (200, CSS)


async def test_304_by_date(site: Path) -> None:
    app = make_app(site)
    last_modified = mtime_http(site / "static" / "app.css")
    hour_before = formatdate(int((site / "static" / "app.css").stat().st_mtime) - 3600, usegmt=True)
    async with app.test_client() as client:
        same = await client.get("/static/app.css", headers={"If-Modified-Since": last_modified})
        later = await client.get("/static/app.css", headers={"If-Modified-Since": formatdate(usegmt=True)})
        earlier = await client.get("/static/app.css", headers={"If-Modified-Since": hour_before})
        garbage = await client.get("/static/app.css", headers={"If-Modified-Since": "yesterday-ish"})
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
        both = await client.get(
            "/static/app.css", headers={"If-Modified-Since": last_modified, "If-None-Match": '"other"'}
        )
    assert same.status_code == later.status_code == 304
    assert "etag" in same.headers
    assert [r.status_code for r in (earlier, garbage, both)] == [200, 200, 200]


async def test_304_by_date_without_etag_keeps_last_modified(site: Path) -> None:
    app = make_app(site)

    @app.route("/f")
    async def no_etag() -> Any:
        return await send_file(site / "static" / "app.css", etag=False)

    last_modified = mtime_http(site / "static" / "app.css")
    async with app.test_client() as client:
        response = await client.get("/f", headers={"If-Modified-Since": last_modified})
    assert response.status_code == 304
    assert response.headers["last-modified"] == last_modified
    assert "etag" not in response.headers


async def test_412_on_failed_if_match_or_if_unmodified_since(site: Path) -> None:
    app = make_app(site)
    mtime = int((site / "static" / "app.css").stat().st_mtime)
    async with app.test_client() as client:
        etag = (await client.get("/static/app.css")).headers["etag"]
        matching = await client.get("/static/app.css", headers={"If-Match": etag})
        star = await client.get("/static/app.css", headers={"If-Match": "*"})
        mismatch = await client.get("/static/app.css", headers={"If-Match": '"other"'})
        weak = await client.get("/static/app.css", headers={"If-Match": f"W/{etag}"})
        stale = await client.get(
            "/static/app.css", headers={"If-Unmodified-Since": formatdate(mtime - 60, usegmt=True)}
        )
        fresh = await client.get("/static/app.css", headers={"If-Unmodified-Since": formatdate(usegmt=True)})
    assert [r.status_code for r in (matching, star, fresh)] == [200, 200, 200]
    # If-Match uses the strong comparison: a weak tag never matches.
    assert [r.status_code for r in (mismatch, weak, stale)] == [412, 412, 412]


async def test_conditional_false_ignores_validators_and_ranges(site: Path) -> None:
    app = make_app(site)

    @app.route("/f")
    async def unconditional() -> Any:
        return await send_file(site / "static" / "data.bin", conditional=False)

    async with app.test_client() as client:
        etag = (await client.get("/f")).headers["etag"]
        response = await client.get("/f", headers={"If-None-Match": etag, "Range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.content == DATA
    assert "accept-ranges" not in response.headers


async def test_conditionals_apply_to_get_and_head_only(site: Path) -> None:
    app = make_app(site)

    @app.route("/f", methods=["POST"])
    async def posted() -> Any:
        return await send_file(site / "static" / "app.css")

    async with app.test_client() as client:
        etag = (await client.get("/static/app.css")).headers["etag"]
        response = await client.post("/f", headers={"If-None-Match": etag, "Range": "bytes=0-1"})
    assert (response.status_code, response.content) == (200, CSS)


# -- ranges -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        pytest.param("bytes=0-9", 0, 10, id="first-bytes"),
        pytest.param("bytes=1000-", 1000, 1024, id="open-ended"),
        pytest.param("bytes=-24", 1000, 1024, id="suffix"),
        pytest.param("bytes=-5000", 0, 1024, id="suffix-longer-than-file"),
        pytest.param("bytes=10-99999", 10, 1024, id="end-past-size"),
        pytest.param("bytes=1023-1023", 1023, 1024, id="last-byte"),
        pytest.param("Bytes = 0-9", 0, 10, id="unit-case-and-spaces"),
        pytest.param("bytes=0-4, 3-9", 0, 10, id="overlapping-merged"),
        pytest.param("bytes=0-4,5-9", 0, 10, id="adjacent-merged"),
        pytest.param("bytes=0-4,5000-", 0, 5, id="unsatisfiable-part-dropped"),
        pytest.param("bytes=,0-9,", 0, 10, id="empty-list-elements"),
        pytest.param("bytes=0000000000000000000000010-19", 10, 20, id="leading-zeros"),
    ],
)
async def test_single_range_206(site: Path, header: str, start: int, end: int) -> None:
    app = make_app(site)
    async with app.test_client() as client:
        response = await client.get("/static/data.bin", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/1024"
    assert response.headers["content-length"] == str(end - start)
    assert response.headers["content-type"] == "application/octet-stream"
    assert "etag" in response.headers


async def test_multiple_ranges_206_multipart(site: Path) -> None:
    app = make_app(site)
    async with app.test_client() as client:
        response = await client.get("/static/data.bin", headers={"Range": "bytes=100-109,0-4,-3"})
        head = await client.head("/static/data.bin", headers={"Range": "bytes=0-4,100-109"})
    assert response.status_code == 206
    parts = byteranges(response)
    # Sorted by position, each with its own Content-Type and Content-Range.
    assert [part[1] for part in parts] == [DATA[0:5], DATA[100:110], DATA[1021:1024]]
    assert [part[0]["content-range"] for part in parts] == [
        "bytes 0-4/1024",
        "bytes 100-109/1024",
        "bytes 1021-1023/1024",
    ]
    assert all(part[0]["content-type"] == "application/octet-stream" for part in parts)
    assert head.status_code == 206
    assert head.content == b""
    assert head.headers["content-type"].startswith("multipart/byteranges; boundary=")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("bytes=1024-", id="start-at-size"),
        pytest.param("bytes=5000-6000", id="past-the-end"),
        pytest.param("bytes=-0", id="empty-suffix"),
        pytest.param("bytes=2000-,3000-3001", id="all-parts-past-the-end"),
        pytest.param("bytes=" + "9" * 100_000 + "-", id="huge-start"),
    ],
)
async def test_unsatisfiable_range_416(site: Path, header: str) -> None:
    app = make_app(site)
    async with app.test_client() as client:
        response = await client.get("/static/data.bin", headers={"Range": header})
        after = await client.get("/static/data.bin")
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */1024"
    assert SECRET not in response.content and DATA not in response.content
    assert after.status_code == 200


async def test_416_goes_through_the_error_handlers(site: Path) -> None:
    app = make_app(site)

    @app.errorhandler(416)
    async def custom(error: Any) -> Any:
        return f"custom {error.length}", 416

    async with app.test_client() as client:
        response = await client.get("/static/data.bin", headers={"Range": "bytes=9999-"})
    assert (response.status_code, response.text) == (416, "custom 1024")


# Malformed headers are ignored (RFC 9110 14.2 allows ignoring them): the whole file with
# 200, never Starlette's 400 and never a 500. Only a valid but unsatisfiable set is 416.
@pytest.mark.parametrize(
    "header",
    [
        pytest.param("bytes=abc", id="letters"),
        pytest.param("bytes=5-1", id="reversed"),
        pytest.param("items=0-1", id="other-unit"),
        pytest.param("bytes=-", id="lone-dash"),
        pytest.param("bytes=", id="empty-set"),
        pytest.param("bytes=,,", id="only-commas"),
        pytest.param("bytes", id="no-equals"),
        pytest.param("0-9", id="no-unit"),
        pytest.param("bytes=0-1,junk", id="one-bad-part"),
        pytest.param("bytes=1-2-3", id="two-dashes"),
        pytest.param("bytes=0x10-", id="hex"),
        pytest.param("bytes=+1-2", id="sign"),
        pytest.param("bytes=0 - 9", id="inner-spaces"),
        pytest.param("bytes=\uff11-\uff12", id="fullwidth-digits"),
        pytest.param("bytes=" + ",".join(["0-0"] * (MAX_RANGES + 1)), id="over-the-cap"),
    ],
)
async def test_invalid_range_is_ignored_200(site: Path, header: str) -> None:
    app = make_app(site)
    headers = [(b"range", header.encode("utf-8"))]
    status, response_headers, body = await asgi_get(app, b"/static/data.bin", headers)
    assert status == 200
    assert body == DATA
    assert "content-range" not in response_headers


async def test_hostile_range_headers_answer_fast(site: Path) -> None:
    app = make_app(site)
    thousands = "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 20_000, 2))
    hostile = {
        "thousands-of-ranges": (thousands, 200),
        "commas": ("bytes=" + "," * 100_000, 200),
        "long-digits": ("bytes=0-" + "9" * 100_000, 206),
        "overlapping-cap": ("bytes=" + ",".join(["0-"] * MAX_RANGES), 206),
        "many-small": ("bytes=" + ",".join(f"{i * 10}-{i * 10}" for i in range(MAX_RANGES)), 206),
    }
    async with app.test_client() as client:
        for name, (header, status) in hostile.items():
            started = time.perf_counter()
            response = await client.get("/static/data.bin", headers={"Range": header})
            assert time.perf_counter() - started < 1.0, name
            assert response.status_code == status, name
        # Every identical range collapses into one: the whole file once, not a hundred times.
        merged = await client.get("/static/data.bin", headers={"Range": hostile["overlapping-cap"][0]})
        assert (merged.headers["content-range"], merged.content) == ("bytes 0-1023/1024", DATA)
        many = await client.get("/static/data.bin", headers={"Range": hostile["many-small"][0]})
        assert len(byteranges(many)) == MAX_RANGES
        assert (await client.get("/static/data.bin")).status_code == 200


async def test_if_range(site: Path) -> None:
    app = make_app(site)
    last_modified = mtime_http(site / "static" / "data.bin")
    async with app.test_client() as client:
        etag = (await client.get("/static/data.bin")).headers["etag"]

        async def status(if_range: str) -> int:
            response = await client.get(
                "/static/data.bin", headers={"Range": "bytes=0-9", "If-Range": if_range}
            )
            return response.status_code

        assert await status(etag) == 206
        assert await status(last_modified) == 206
        assert await status('"stale"') == 200
        assert await status(f"W/{etag}") == 200
        assert await status("Mon, 01 Jan 2001 00:00:00 GMT") == 200
        assert await status("not a date") == 200


async def test_if_range_without_an_etag_is_not_a_500(site: Path) -> None:
    app = make_app(site)

    @app.route("/f")
    async def no_etag() -> Any:
        return await send_file(site / "static" / "data.bin", etag=False)

    async with app.test_client() as client:
        response = await client.get("/f", headers={"Range": "bytes=0-9", "If-Range": '"x"'})
    assert (response.status_code, response.content) == (200, DATA)


async def test_response_made_outside_a_request_checks_ranges_when_sent(site: Path) -> None:
    app = make_app(site)
    async with app.app_context():
        response = await send_file(site / "static" / "data.bin")
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"range", b"bytes=4096-")]}
    await response(scope, receive, send)
    assert sent[0]["status"] == 416
    assert (b"content-range", b"bytes */1024") in sent[0]["headers"]


# -- Content-Disposition ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("report.pdf", "attachment; filename=report.pdf", id="ascii-token"),
        pytest.param("my report.pdf", 'attachment; filename="my report.pdf"', id="ascii-space"),
        pytest.param('say "hi".txt', r'attachment; filename="say \"hi\".txt"', id="ascii-quotes"),
        pytest.param(
            "résumé.pdf",
            "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
            id="latin",
        ),
        pytest.param(
            "日本語 file.txt",
            "attachment; filename=\" file.txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%20file.txt",
            id="cjk",
        ),
        pytest.param(
            "a\r\nSet-Cookie: x=1.txt",
            'attachment; filename="aSet-Cookie: x=1.txt";'
            " filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1.txt",
            id="crlf-cannot-split",
        ),
    ],
)
async def test_as_attachment(site: Path, name: str, expected: str) -> None:
    app = make_app(site)

    @app.route("/download")
    async def download() -> Any:
        return await send_file(site / "static" / "app.css", as_attachment=True, download_name=name)

    async with app.test_client() as client:
        response = await client.get("/download")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == expected
    assert "set-cookie" not in response.headers


async def test_download_name_without_attachment_is_inline(site: Path) -> None:
    app = make_app(site)

    @app.route("/f")
    async def inline() -> Any:
        return await send_file(site / "static" / "data.bin", download_name="picture.png")

    async with app.test_client() as client:
        response = await client.get("/f")
    assert response.headers["content-disposition"] == "inline; filename=picture.png"
    assert response.headers["content-type"] == "image/png"


# -- file objects -----------------------------------------------------------------------------


class ReadOnly(io.RawIOBase):
    """A binary stream that cannot seek, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


async def test_bytesio_with_download_name(site: Path) -> None:
    app = make_app(site)
    buffers: list[io.BytesIO] = []

    @app.route("/f")
    async def from_memory() -> Any:
        buffers.append(io.BytesIO(b"hello world"))
        return await send_file(buffers[-1], download_name="hello.txt")

    async with app.test_client() as client:
        response = await client.get("/f")
        head = await client.head("/f")
    assert response.status_code == 200
    assert response.content == b"hello world"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "11"
    assert response.headers["content-disposition"] == "inline; filename=hello.txt"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "no-cache"
    assert "etag" not in response.headers
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "11")
    assert all(buffer.closed for buffer in buffers)


async def test_file_object_ranges(site: Path) -> None:
    app = make_app(site)

    @app.route("/f")
    async def from_memory() -> Any:
        return await send_file(io.BytesIO(DATA), mimetype="application/octet-stream")

    @app.route("/tail")
    async def from_position() -> Any:
        buffer = io.BytesIO(b"hello world")
        buffer.seek(6)  # Sent from where the file stands, as Flask does.
        return await send_file(buffer, mimetype="text/plain")

    async with app.test_client() as client:
        single = await client.get("/f", headers={"Range": "bytes=10-19"})
        several = await client.get("/f", headers={"Range": "bytes=0-1,10-11"})
        unsatisfiable = await client.get("/f", headers={"Range": "bytes=2000-"})
        garbage = await client.get("/f", headers={"Range": "bytes=x"})
        tail = await client.get("/tail")
        tail_range = await client.get("/tail", headers={"Range": "bytes=1-2"})
    assert (single.status_code, single.content) == (206, DATA[10:20])
    assert single.headers["content-range"] == "bytes 10-19/1024"
    assert single.headers["content-length"] == "10"
    # Several ranges of a file object: the whole file, which RFC 9110 allows.
    assert (several.status_code, several.content) == (200, DATA)
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == "bytes */1024"
    assert (garbage.status_code, garbage.content) == (200, DATA)
    assert (tail.content, tail.headers["content-length"]) == (b"world", "5")
    assert (tail_range.status_code, tail_range.content) == (206, b"or")
    assert tail_range.headers["content-range"] == "bytes 1-2/5"


async def test_file_object_conditional_with_etag(site: Path) -> None:
    app = make_app(site)
    buffers: list[io.BytesIO] = []

    @app.route("/f")
    async def tagged() -> Any:
        buffers.append(io.BytesIO(b"data"))
        return await send_file(buffers[-1], mimetype="text/plain", etag="abc")

    async with app.test_client() as client:
        response = await client.get("/f", headers={"If-None-Match": '"abc"'})
        failed = await client.get("/f", headers={"If-Match": '"zzz"'})
    assert response.status_code == 304
    assert response.headers["etag"] == '"abc"'
    assert failed.status_code == 412
    assert len(buffers) == 2 and all(buffer.closed for buffer in buffers)


async def test_unseekable_file_object_streams_without_length(site: Path) -> None:
    app = make_app(site)
    payload = DATA * 200  # Several chunks.

    @app.route("/f")
    async def piped() -> Any:
        return await send_file(io.BufferedReader(ReadOnly(payload)), mimetype="application/octet-stream")

    async with app.test_client() as client:
        response = await client.get("/f", headers={"Range": "bytes=0-9"})
    assert (response.status_code, response.content) == (200, payload)
    assert "content-length" not in response.headers
    assert "accept-ranges" not in response.headers


async def test_open_binary_file_is_streamed_and_closed(site: Path) -> None:
    app = make_app(site)
    opened: list[Any] = []

    @app.route("/f")
    async def from_disk() -> Any:
        opened.append(open(site / "static" / "data.bin", "rb"))  # send_file closes it
        return await send_file(opened[-1], mimetype="application/octet-stream")

    async with app.test_client() as client:
        response = await client.get("/f")
    assert (response.status_code, response.content) == (200, DATA)
    assert opened[0].closed


async def test_file_object_errors(site: Path) -> None:
    app = make_app(site)
    async with app.app_context():
        buffer = io.BytesIO(b"x")
        with pytest.raises(ValueError, match="Unable to detect the MIME type") as info:
            await send_file(buffer)
        assert isinstance(info.value, TypeError)  # Flask raises TypeError here.
        assert buffer.closed
        with pytest.raises(ValueError, match="No name provided"):
            await send_file(io.BytesIO(b"x"), mimetype="text/plain", as_attachment=True)
        with open(site / "static" / "app.css", encoding="utf-8") as text:
            with pytest.raises(TypeError, match="binary mode"):
                await send_file(text)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="path or a binary file object"):
            await send_file(42)  # type: ignore[arg-type]


# -- the static route -------------------------------------------------------------------------


async def test_static_url_path_and_url_for(site: Path) -> None:
    app = make_app(site, static_url_path="/assets")
    async with app.test_client() as client:
        moved = await client.get("/assets/app.css")
        old = await client.get("/static/app.css")
    assert (moved.status_code, moved.content) == (200, CSS)
    assert old.status_code == 404
    assert app.url_for("static", filename="app.css", _external=False) == "/assets/app.css"
    default = make_app(site)
    async with default.test_request_context("/"):
        assert url_for("static", filename="app.css") == "/static/app.css"


async def test_no_static_folder_means_no_static_route(site: Path) -> None:
    app = make_app(site, static_folder=None)
    async with app.test_client() as client:
        response = await client.get("/static/app.css")
    assert response.status_code == 404
    with pytest.raises(BuildError):
        app.url_for("static", filename="app.css", _external=False)


# -- traversal: nothing outside the folder, ever ----------------------------------------------

# Raw request paths below /static/, as they would arrive on the wire; the server decodes
# them once. "{secret}" stands for the absolute path of a real file outside the folder.
TRAVERSAL = [
    pytest.param(b"../secret.txt", id="dotdot"),
    pytest.param(b"sub/../../secret.txt", id="dotdot-nested"),
    pytest.param(b"..%2Fsecret.txt", id="dotdot-encoded-slash"),
    pytest.param(b"%2e%2e/secret.txt", id="dotdot-encoded-dots"),
    pytest.param(b"%2e%2e%2fsecret.txt", id="dotdot-all-encoded"),
    pytest.param(b"%2E%2E%2Fsecret.txt", id="dotdot-all-encoded-upper"),
    pytest.param(b".%2e/secret.txt", id="dotdot-half-encoded"),
    pytest.param(b"%252e%252e%252fsecret.txt", id="dotdot-double-encoded"),
    pytest.param(b"sub/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd", id="dotdot-deep-etc-passwd"),
    pytest.param(b"%2e%2e", id="dotdot-alone"),
    pytest.param(b"sub/%2e%2e", id="dotdot-to-folder"),
    pytest.param(b"%c0%ae%c0%ae/secret.txt", id="overlong-utf8-dots"),
    pytest.param(b"..%5Csecret.txt", id="backslash-encoded"),
    pytest.param(b"sub%5C..%5C..%5Csecret.txt", id="backslash-nested"),
    pytest.param(b"..\\secret.txt", id="backslash-raw"),
    pytest.param(b"%2Fetc%2Fpasswd", id="absolute-etc-passwd"),
    pytest.param(b"{secret}", id="absolute-real-file"),
    pytest.param(b"/etc/passwd", id="double-slash"),
    pytest.param(b"C:%5CWindows%5Cwin.ini", id="windows-drive"),
    pytest.param(b"C:/secret.txt", id="windows-drive-slash"),
    pytest.param(b"app.css%00.png", id="nul-byte"),
    pytest.param(b"app.css%00", id="nul-byte-end"),
    pytest.param(b"a" * 5000, id="overlong-path"),
    pytest.param(b"a" * 300 + b".css", id="overlong-name"),
    pytest.param(b"link_out.txt", id="symlink-to-file-outside"),
    pytest.param(b"outdir/secret.txt", id="symlink-to-folder-outside"),
    pytest.param(b"loop", id="symlink-loop"),
    pytest.param(b"sub", id="directory"),
    pytest.param(b"sub/", id="directory-slash"),
    pytest.param(b".", id="dot"),
    pytest.param(b"missing.txt", id="missing"),
]


def _vector(site: Path, raw: bytes) -> bytes:
    secret = quote(str(site / "secret.txt")).encode("ascii")
    return raw.replace(b"{secret}", b"%2F" + secret.lstrip(b"/"))


@pytest.mark.parametrize("raw", TRAVERSAL)
async def test_traversal_through_the_server_path(site: Path, raw: bytes) -> None:
    app = make_app(site)
    status, _, body = await asgi_get(app, b"/static/" + _vector(site, raw))
    assert status == 404
    assert SECRET not in body
    status, _, body = await asgi_get(app, b"/static/app.css")
    assert (status, body) == (200, CSS)


@pytest.mark.parametrize("raw", TRAVERSAL)
async def test_traversal_through_the_test_client(site: Path, raw: bytes) -> None:
    app = make_app(site)
    # httpx keeps percent-escapes in raw_path (it does collapse literal `..` segments,
    # which the hand-made scope above covers).
    url = httpx.URL("http://localhost", raw_path=b"/static/" + _vector(site, raw))
    async with app.test_client() as client:
        response = await client.get(url)
        normal = await client.get("/static/app.css")
    assert response.status_code == 404
    assert SECRET not in response.content
    assert (normal.status_code, normal.content) == (200, CSS)


@pytest.mark.parametrize("raw", TRAVERSAL)
async def test_traversal_through_send_from_directory(site: Path, raw: bytes) -> None:
    app = make_app(site)
    path = unquote(_vector(site, raw).decode("ascii"))
    async with app.test_request_context("/"):
        with pytest.raises(NotFound):
            await send_from_directory(site / "static", path)
        # A relative folder is below root_path, and just as closed.
        with pytest.raises(NotFound):
            await send_from_directory("static", path)
        response = await send_from_directory("static", "app.css")
    assert response.status_code == 200


async def test_unreadable_file_is_404_not_a_cut_off_200(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Faked, because root (as in many CI containers) can read anything.
    real_access = os.access
    unreadable = str(site / "static" / "data.bin")
    monkeypatch.setattr(os, "access", lambda path, mode: path != unreadable and real_access(path, mode))
    app = make_app(site)
    async with app.test_client() as client:
        response = await client.get("/static/data.bin")
    assert response.status_code == 404
    async with app.app_context():
        with pytest.raises(PermissionError):
            await send_file(unreadable)


async def test_head_of_a_traversal_is_404_too(site: Path) -> None:
    app = make_app(site)
    status, _, body = await asgi_get(app, b"/static/..%2Fsecret.txt", method="HEAD")
    assert (status, body) == (404, b"")


# -- safe_join --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        pytest.param(("a.css",), "base/a.css", id="plain"),
        pytest.param(("sub/a.css",), "base/sub/a.css", id="nested"),
        pytest.param(("sub//./a.css",), "base/sub/a.css", id="normalized"),
        pytest.param(("sub", "a.css"), "base/sub/a.css", id="several"),
        pytest.param(("....",), "base/....", id="dots-name"),
        pytest.param(("a..b",), "base/a..b", id="dots-inside-name"),
        pytest.param(("..",), None, id="dotdot"),
        pytest.param(("sub/../a.css",), None, id="dotdot-inside"),
        pytest.param(("sub", "../x"), None, id="dotdot-in-later-part"),
        pytest.param(("/etc/passwd",), None, id="absolute"),
        pytest.param(("a\\b",), None, id="backslash"),
        pytest.param(("C:x",), None, id="drive"),
        pytest.param(("a\x00b",), None, id="nul"),
    ],
)
def test_safe_join(paths: tuple[str, ...], expected: str | None) -> None:
    assert safe_join("base", *paths) == expected


def test_safe_join_empty_directory_stays_relative() -> None:
    assert safe_join("", "a.css") == "./a.css"


# -- streaming -------------------------------------------------------------------------------------


async def test_file_response_streams_in_chunks(site: Path) -> None:
    big = site / "static" / "big.bin"
    big.write_bytes(DATA * 512)  # 512 kB: several 64 kB reads, none of them on the loop.
    app = make_app(site)
    chunks: list[bytes] = []
    async with app.test_client() as client:
        async with client.stream("GET", "/static/big.bin") as response:
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
    assert len(chunks) > 1
    assert b"".join(chunks) == DATA * 512
