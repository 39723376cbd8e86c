"""Hostile clients against a real server: raw bytes over TCP, exact answers, and it keeps serving.

Each case starts `tests/hostile_apps/hostile_app.py` the way users do (`python hostile_app.py`,
whose `__main__` calls `app.run()`, so uvicorn runs with the options `run()` sets), in
production mode (TESTING and debug off, `MAX_CONTENT_LENGTH` 1024, `MAX_FORM_MEMORY_SIZE` 256,
`MAX_FORM_PARTS` 10, `WEBSOCKET_MAX_MESSAGE_SIZE` 512). The case writes its request as raw
bytes on a plain socket (httpx would normalize it), reads the answer off the wire and checks the
status line and what matters in the headers and body. Then, for every case:

* a normal `GET /` on a fresh connection still answers 200;
* the server stops cleanly when asked (no hung connection or task keeps it alive);
* its log has no traceback, no "Exception in ASGI application", no error or warning line at
  all, except the ones a case expects (a view that really fails), each exactly once;
* no file was left unclosed (the server runs with ResourceWarning shown, and collects garbage
  before it is stopped).

Every socket has a 5 s timeout, so a hang fails the case instead of the run.
"""

from __future__ import annotations

import re
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import websockets.exceptions
import websockets.sync.client

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServers

APP_FILE = Path(__file__).parent / "hostile_apps" / "hostile_app.py"
HOST = "127.0.0.1"
TIMEOUT = 5.0

# The file next to the static folder, which no request may ever read.
SECRET = b"HOSTILE-SECRET-d41d8cd98f00"
# static/hello.txt: 100 bytes.
STATIC_TEXT = b"0123456789" * 10
SIZE = len(STATIC_TEXT)


# -- the raw client ---------------------------------------------------------------------------


def request(
    method: str,
    target: str,
    *lines: str | bytes,
    body: bytes = b"",
    host: str | bytes | None = HOST,
    length: bool = True,
) -> bytes:
    """An HTTP/1.1 request, byte for byte (`Connection: close`, and Content-Length if a body)."""
    head = [f"{method} {target} HTTP/1.1".encode("latin-1")]
    if host is not None:
        head.append(b"Host: " + (host.encode("latin-1") if isinstance(host, str) else host))
    head.append(b"Connection: close")
    head += [line.encode("latin-1") if isinstance(line, str) else line for line in lines]
    if body and length:
        head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def chunked(*chunks: bytes, end: bool = True) -> bytes:
    """A chunked body: the chunks, then (if `end`) the last, empty one."""
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return encoded + (b"0\r\n\r\n" if end else b"")


def multipart(parts: Sequence[tuple[str, str | None, bytes]], boundary: str = "hostile-boundary") -> bytes:
    """A multipart/form-data body of `(name, filename or None, content)` parts."""
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


FORM_TYPE = "multipart/form-data; boundary=hostile-boundary"
MULTIPART = f"Content-Type: {FORM_TYPE}"


class _Wire:
    """What the server sent on one connection, read on demand."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def until(self, marker: bytes) -> bytes | None:
        """The bytes before `marker` (consumed with it), or None if the connection ends first."""
        while marker not in self.buffer:
            if not self._fill():
                return None
        data, _, self.buffer = self.buffer.partition(marker)
        return data

    def exactly(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            if not self._fill():
                return None
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def rest(self) -> bytes:
        """Everything until the server closes the connection."""
        while self._fill():
            pass
        data, self.buffer = self.buffer, b""
        return data


@dataclass
class Answer:
    """One response as it came off the wire."""

    status: int  # 0: the connection ended without an answer
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes
    complete: bool  # the body ended as its framing said (not cut short)
    after: bytes  # what came after it before the server closed the connection

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    @property
    def raw(self) -> bytes:
        head = "\r\n".join([self.status_line, *(f"{k}: {v}" for k, v in self.headers)])
        return head.encode("latin-1") + b"\r\n\r\n" + self.body + self.after


def read_answer(wire: _Wire, method: str = "GET") -> Answer:
    """Read one response (and then whatever comes until the server closes the connection)."""
    head = wire.until(b"\r\n\r\n")
    if head is None:
        return Answer(0, "", [], b"", False, wire.rest())
    status_line, *lines = head.decode("latin-1").split("\r\n")
    match = re.fullmatch(r"HTTP/1\.[01] (\d{3})(?: .*)?", status_line)
    assert match is not None, f"not a status line: {status_line!r}"
    status = int(match.group(1))
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    answer = Answer(status, status_line, headers, b"", True, b"")
    if method == "HEAD" or status in (204, 304) or status < 200:
        pass
    elif (answer.header("transfer-encoding") or "").lower() == "chunked":
        answer.complete = False
        while (size_line := wire.until(b"\r\n")) is not None:
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                answer.complete = wire.until(b"\r\n") is not None
                break
            chunk = wire.exactly(size)
            if chunk is None or wire.until(b"\r\n") is None:
                answer.body += chunk or b""
                break
            answer.body += chunk
    elif (length := answer.header("content-length")) is not None:
        body = wire.exactly(int(length))
        answer.complete = body is not None
        answer.body = body if body is not None else wire.rest()
    else:
        answer.body = wire.rest()
    answer.after = wire.rest()
    return answer


def connect(port: int) -> socket.socket:
    return socket.create_connection((HOST, port), timeout=TIMEOUT)


def send(sock: socket.socket, data: bytes) -> None:
    """Send, tolerating a server that answered and closed before reading everything."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def exchange(port: int, data: bytes, method: str = "GET") -> Answer:
    """Send `data` on a new connection; the answer (the server closes after it)."""
    with connect(port) as sock:
        send(sock, data)
        return read_answer(_Wire(sock), method)


# -- cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The server under attack: its port, and the folder holding its static folder and the secret."""

    port: int
    site: Path


Attack = Callable[[Target], None]


@dataclass(frozen=True)
class Case:
    attack: Attack
    env: Mapping[str, str] = field(default_factory=dict)
    # Log lines this case must cause, each exactly once (a view that really fails); any other
    # error or warning in the server's log fails the case.
    logged: tuple[str, ...] = ()
    # Log lines this case may cause, at most once (where the answer depends on the HTTP parser).
    may_log: tuple[str, ...] = ()
    tracebacks: int = 0


def check(
    answer: Answer,
    status: int | tuple[int, ...],
    headers: Mapping[str, str] | None = None,
    has: Sequence[bytes] = (),
    lacks: Sequence[bytes] = (),
    body: bytes | tuple[bytes, ...] | None = None,
) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert answer.status in statuses, f"expected {statuses}, got {answer.raw[:600]!r}"
    assert answer.status_line == f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}"
    assert answer.complete, f"the body was cut short: {answer.raw[:600]!r}"
    assert answer.after == b"", f"more came after the answer: {answer.after[:300]!r}"
    for name, value in (headers or {}).items():
        assert answer.header(name) == value, f"{name}: {answer.header(name)!r}, not {value!r}"
    for part in has:
        assert part in answer.body, f"{part!r} not in {answer.body[:600]!r}"
    for part in (*lacks, SECRET, b"Traceback"):
        assert part not in answer.raw, f"{part!r} in {answer.raw[:600]!r}"
    if body is not None:
        assert answer.body in (body if isinstance(body, tuple) else (body,)), answer.body[:600]


def expect(
    data: bytes | Callable[[Target], bytes],
    status: int | tuple[int, ...],
    headers: Mapping[str, str] | None = None,
    *,
    has: Sequence[bytes] = (),
    lacks: Sequence[bytes] = (),
    body: bytes | tuple[bytes, ...] | None = None,
) -> Attack:
    """The attack that sends `data` (or what it makes for the target) and checks the answer."""

    def attack(target: Target) -> None:
        raw = data(target) if callable(data) else data
        answer = exchange(target.port, raw)
        check(answer, status, headers, has, lacks, body)

    return attack


def post(path: str, body: bytes, content_type: str | None = "application/json", *lines: str) -> bytes:
    type_line = [f"Content-Type: {content_type}"] if content_type else []
    return request("POST", path, *type_line, *lines, body=body)


def gives_up(path: str, lines: Sequence[str], body: bytes, *, length: bool = True) -> Attack:
    """A client that announces a body, sends part of it, waits, and goes away."""

    def attack(target: Target) -> None:
        declared = [f"Content-Length: {len(body) * 10}"] if length else []
        with connect(target.port) as sock:
            send(sock, request("POST", path, *lines, *declared, length=False) + body)
            time.sleep(0.2)  # the view is now waiting for the rest

    return attack


def chunked_without_end(path: str) -> Attack:
    """Chunks that never end: the 413 must come once the limit is passed, not at the end."""

    def attack(target: Target) -> None:
        with connect(target.port) as sock:
            send(sock, request("POST", path, "Transfer-Encoding: chunked", length=False))
            sock.settimeout(0.05)
            answered = False
            for _ in range(100):  # at most 100 × 256 bytes, far over the 1024-byte limit
                send(sock, chunked(b"x" * 256, end=False))
                try:
                    first = sock.recv(65536, socket.MSG_PEEK)
                except TimeoutError:
                    continue
                answered = bool(first)
                break
            assert answered, "no answer while the chunked body went on past MAX_CONTENT_LENGTH"
            sock.settimeout(TIMEOUT)
            answer = read_answer(_Wire(sock), "POST")
        assert answer.status == 413, answer.raw[:600]

    return attack


def login_cookie(target: Target) -> str:
    """A genuine session cookie (`user=alice`), from the app itself."""
    answer = exchange(target.port, request("GET", "/login"))
    assert answer.status == 200
    cookie = answer.header("set-cookie")
    assert cookie is not None and cookie.startswith("session=")
    return cookie.split(";")[0].removeprefix("session=")


def with_session(make: Callable[[str], bytes | str], seen: bytes = b"{}") -> Attack:
    """GET /session with the cookie header `make(genuine cookie)` gives; the session it reads."""

    def attack(target: Target) -> None:
        cookie = make(login_cookie(target))
        line = b"Cookie: " + (cookie.encode("latin-1") if isinstance(cookie, str) else cookie)
        answer = exchange(target.port, request("GET", "/session", line))
        check(answer, 200, {"content-type": "application/json"}, body=b'{"session":%s}\n' % seen)
        assert answer.header("vary") == "Cookie"
        assert answer.header("set-cookie") is None

    return attack


def flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def big_header(size: int, piece: int) -> Attack:
    """One header line of `size` bytes, written `piece` bytes at a time: refused, or the connection cut."""

    def attack(target: Target) -> None:
        with connect(target.port) as sock:
            send(sock, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Big: ")
            for _ in range(0, size, piece):
                send(sock, b"a" * piece)
                time.sleep(0.002)
            send(sock, b"\r\n\r\n")
            answer = read_answer(_Wire(sock))
        assert answer.status in (0, 400, 431), f"a {size}-byte header was accepted: {answer.raw[:300]!r}"

    return attack


def stream_fails(target: Target) -> None:
    answer = exchange(target.port, request("GET", "/stream-fails"))
    assert answer.status_line == "HTTP/1.1 200 OK"
    assert answer.header("transfer-encoding") == "chunked"
    assert answer.body == b"first chunk;"
    assert not answer.complete, "the stream was ended as if it had succeeded"
    assert answer.after == b"", f"something came after the cut: {answer.after!r}"


def websocket_too_big(target: Target) -> None:
    url = f"ws://{HOST}:{target.port}/ws"
    with websockets.sync.client.connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        ws.send("small")
        assert ws.recv(timeout=TIMEOUT) == "small"
        ws.send("x" * 2048)
        with pytest.raises(websockets.exceptions.ConnectionClosedError) as closed:
            ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def websocket_origin(origin: str | None, allowed: bool) -> Attack:
    """A handshake with this Origin (None: no header) is accepted, or refused with 403."""

    def attack(target: Target) -> None:
        url = f"ws://{HOST}:{target.port}/ws"
        header = origin.replace("{port}", str(target.port)) if origin is not None else None
        connect = websockets.sync.client.connect
        if allowed:
            with connect(url, origin=header, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:  # type: ignore[arg-type]
                ws.send("hello")
                assert ws.recv(timeout=TIMEOUT) == "hello"
            return
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            with connect(url, origin=header, open_timeout=TIMEOUT, close_timeout=TIMEOUT):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
        assert b"may not be opened from the origin" in refused.value.response.body

    return attack


def static(target: str, status: int = 404, lacks: Sequence[bytes] = ()) -> Attack:
    return expect(
        request("GET", target), status, lacks=lacks, body=STATIC_TEXT if status == 200 else NOT_FOUND
    )


def ranged(
    value: str, status: int, headers: Mapping[str, str] | None = None, body: bytes | None = None
) -> Attack:
    return expect(request("GET", "/static/hello.txt", f"Range: {value}"), status, headers, body=body)


def chunked_post(path: str, *chunks: bytes) -> bytes:
    return request("POST", path, "Transfer-Encoding: chunked", body=chunked(*chunks), length=False)


def refused(data: bytes) -> Case:
    """A request uvicorn itself refuses (400, logged as one warning): the app never sees it."""
    return Case(expect(data, 400, body=INVALID.encode()), logged=(INVALID,))


INVALID = "Invalid HTTP request received."
INJECTION = "/inject?value=ok%0d%0aSet-Cookie:%20injected=1%0d%0a%0d%0a<h1>injected</h1>"
NOT_JSON = b"Did not attempt to load JSON data"
NOT_FOUND = (
    b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    b"<p>The requested URL was not found on the server. If you entered the URL manually please check your"
    b" spelling and try again.</p>\n"
)
AMBIGUOUS_FRAMING = b"Bad Request: a request must not have both Content-Length and Transfer-Encoding."
SMUGGLED = chunked(b"abc") + b"GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HUGE_CHUNK = b"ffffffffffffffffffff\r\n" + b"x" * 2000
BIG = {"HOSTILE_MAX_CONTENT_LENGTH": "1000000"}
TRUSTED = {"HOSTILE_TRUSTED_HOSTS": "localhost,127.0.0.1"}
MANY_RANGES = ",".join(f"{n}-{n}" for n in range(0, 10000, 2))
FORM = multipart([("a", None, b"b"), ("upload", "x.bin", b"y" * 300)])
CASES = [
    # -- JSON bodies
    pytest.param(
        Case(expect(post("/json", b"{not json"), 400, has=[b"Failed to decode JSON object"])),
        id="json-malformed",
    ),
    pytest.param(
        Case(expect(post("/json", b'{"a": "\xff\xfe"}'), 400, has=[b"utf-8"])), id="json-invalid-utf8"
    ),
    pytest.param(Case(expect(post("/json", b"[" * 100_000), 400), env=BIG), id="json-nested-100k"),
    pytest.param(
        Case(expect(post("/json", b"[" * 5000 + b"]" * 5000), 400), env=BIG), id="json-nested-balanced"
    ),
    pytest.param(Case(expect(post("/json", b"[" * 100_000), 413)), id="json-nested-100k-over-limit"),
    pytest.param(
        Case(expect(post("/json", b'{"a": 1}', "text/plain"), 415, has=[NOT_JSON])), id="json-text-plain"
    ),
    pytest.param(
        Case(expect(post("/json", b'{"a": 1}', None), 415, has=[NOT_JSON])), id="json-no-content-type"
    ),
    pytest.param(
        Case(expect(post("/json", b'{"a": 1}'), 200, body=b'{"json":{"a":1}}\n')), id="json-control"
    ),
    # -- body size: announced, chunked, endless, abandoned
    pytest.param(
        Case(expect(request("POST", "/data", "Content-Length: 10000000", length=False), 413)),
        id="body-content-length-over-limit-unsent",
    ),
    pytest.param(
        Case(expect(request("POST", "/body-stream", "Content-Length: 10000000", length=False), 413)),
        id="body-content-length-over-limit-streamed",
    ),
    pytest.param(Case(expect(post("/data", b"x" * 1025, None), 413)), id="body-one-byte-over"),
    pytest.param(
        Case(expect(post("/data", b"x" * 1024, None), 200, body=b'{"length":1024}\n')),
        id="body-at-limit-control",
    ),
    pytest.param(Case(expect(chunked_post("/data", *[b"x" * 256] * 5), 413)), id="body-chunked-over-limit"),
    pytest.param(
        Case(expect(chunked_post("/body-stream", *[b"x" * 256] * 5), 413)),
        id="body-chunked-over-limit-streamed",
    ),
    pytest.param(
        Case(expect(chunked_post("/data", b"x" * 512, b"y" * 512), 200, body=b'{"length":1024}\n')),
        id="body-chunked-at-limit-control",
    ),
    pytest.param(Case(chunked_without_end("/data")), id="body-chunked-endless"),
    pytest.param(Case(chunked_without_end("/body-stream")), id="body-chunked-endless-streamed"),
    pytest.param(Case(gives_up("/data", [], b"x" * 100)), id="body-client-gives-up"),
    pytest.param(Case(gives_up("/body-stream", [], b"x" * 100)), id="body-client-gives-up-streamed"),
    pytest.param(
        Case(gives_up("/json", ["Content-Type: application/json"], b'{"a": "' + b"x" * 50)),
        id="body-client-gives-up-json",
    ),
    pytest.param(Case(gives_up("/form", [MULTIPART], FORM[:100])), id="body-client-gives-up-multipart"),
    pytest.param(
        Case(gives_up("/data", ["Transfer-Encoding: chunked"], chunked(b"x" * 100, end=False), length=False)),
        id="body-client-gives-up-chunked",
    ),
    # -- framing uvicorn refuses before the app runs
    pytest.param(
        # httptools refuses it itself; under h11 the app refuses it (RFC 9112 6.1), and closes.
        Case(
            expect(
                request(
                    "POST",
                    "/data",
                    "Transfer-Encoding: chunked",
                    "Content-Length: 5",
                    body=SMUGGLED,
                    length=False,
                ),
                (400,),
                body=(INVALID.encode(), AMBIGUOUS_FRAMING),
            ),
            may_log=(INVALID,),
        ),
        id="framing-content-length-and-chunked",
    ),
    pytest.param(
        refused(
            request("POST", "/data", "Content-Length: 3", "Content-Length: 4", body=b"abcd", length=False)
        ),
        id="framing-two-content-lengths",
    ),
    pytest.param(
        refused(request("POST", "/data", "Content-Length: -5", body=b"abc", length=False)),
        id="framing-negative-content-length",
    ),
    pytest.param(
        # httptools refuses the size; h11 takes it, and the app stops at MAX_CONTENT_LENGTH.
        Case(
            expect(
                request("POST", "/data", "Transfer-Encoding: chunked", body=HUGE_CHUNK, length=False),
                (400, 413),
            ),
            may_log=(INVALID,),
        ),
        id="framing-huge-chunk-size",
    ),
    # -- forms
    pytest.param(
        Case(expect(post("/form", multipart([("field", None, b"x" * 500)]), FORM_TYPE), 413)),
        id="form-field-over-memory-size",
    ),
    pytest.param(
        Case(expect(post("/form", FORM, FORM_TYPE), 200, body=b'{"files":["upload"],"form":{"a":"b"}}\n')),
        id="form-file-over-memory-size-control",
    ),
    pytest.param(
        Case(expect(post("/form", multipart([(f"f{n}", None, b"v") for n in range(11)]), FORM_TYPE), 413)),
        id="form-too-many-parts",
    ),
    pytest.param(
        Case(expect(post("/form", multipart([("f", "f.txt", b"v")] * 11), FORM_TYPE), 413)),
        id="form-too-many-files",
    ),
    pytest.param(
        Case(
            expect(
                post("/form", multipart([(f"f{n}", None, b"v") for n in range(10)]), FORM_TYPE),
                200,
                has=[b'"f9":"v"'],
            )
        ),
        id="form-max-parts-control",
    ),
    pytest.param(
        Case(expect(post("/form", FORM, "multipart/form-data"), 400, has=[b"Missing boundary"])),
        id="form-no-boundary",
    ),
    pytest.param(
        Case(expect(post("/form", b"just some garbage", FORM_TYPE), 400, has=[b"Invalid multipart data"])),
        id="form-garbage",
    ),
    pytest.param(
        Case(expect(post("/form", FORM[:-100], FORM_TYPE), 400)),
        id="form-truncated",
    ),
    pytest.param(
        Case(expect(post("/form", FORM[:-100], FORM_TYPE), (200, 400), lacks=[b'"upload"'])),
        id="form-truncated-file-not-leaked",
    ),
    pytest.param(
        Case(expect(post("/form", b"a=" + b"x" * 2000, "application/x-www-form-urlencoded"), 413)),
        id="form-urlencoded-over-limit",
    ),
    # -- static files: nothing outside the folder, whatever the encoding
    pytest.param(Case(static("/static/hello.txt", 200)), id="static-control"),
    pytest.param(Case(static("/static/../app.py")), id="static-dotdot"),
    pytest.param(Case(static("/static/%2e%2e/app.py")), id="static-dotdot-encoded"),
    pytest.param(Case(static("/static/..%2fapp.py")), id="static-dotdot-slash-encoded"),
    pytest.param(Case(static("/static/%252e%252e/app.py")), id="static-dotdot-double-encoded"),
    pytest.param(Case(static("/static/..\\app.py")), id="static-backslash"),
    pytest.param(Case(static("/static/..%5capp.py")), id="static-backslash-encoded"),
    pytest.param(Case(static("/static/%5c..%5capp.py")), id="static-backslash-leading"),
    pytest.param(
        Case(static("/static/../../../../../../../../etc/passwd", lacks=[b"root:"])), id="static-etc-passwd"
    ),
    pytest.param(Case(static("/static/%00")), id="static-nul"),
    pytest.param(Case(static("/static/hello.txt%00.png")), id="static-nul-suffix"),
    pytest.param(Case(static("/static/" + "a" * 4000)), id="static-long-name"),
    pytest.param(Case(static("/static/" + "/".join(["a" * 250] * 20))), id="static-long-path"),
    pytest.param(Case(static("/static/escape.txt")), id="static-symlink-out"),
    pytest.param(
        Case(
            expect(
                lambda target: request("GET", "/static/" + str(target.site / "app.py")), 404, body=NOT_FOUND
            )
        ),
        id="static-absolute",
    ),
    pytest.param(
        Case(
            expect(
                lambda target: request("GET", "/static/%2F" + str(target.site / "app.py")[1:]),
                404,
                body=NOT_FOUND,
            )
        ),
        id="static-absolute-encoded",
    ),
    # -- byte ranges on static/hello.txt (100 bytes)
    pytest.param(Case(ranged("bytes=garbage", 200, body=STATIC_TEXT)), id="range-garbage"),
    pytest.param(Case(ranged("items=0-5", 200, body=STATIC_TEXT)), id="range-wrong-unit"),
    pytest.param(Case(ranged("bytes=10-5", 200, body=STATIC_TEXT)), id="range-reversed"),
    pytest.param(Case(ranged("bytes=,,,", 200, body=STATIC_TEXT)), id="range-empty-list"),
    pytest.param(
        Case(ranged("bytes=0-4", 206, {"content-range": f"bytes 0-4/{SIZE}"}, b"01234")), id="range-single"
    ),
    pytest.param(
        Case(ranged("bytes=-5", 206, {"content-range": f"bytes 95-99/{SIZE}"}, b"56789")), id="range-suffix"
    ),
    pytest.param(
        Case(
            ranged("bytes=" + ",".join(["0-5"] * 99), 206, {"content-range": f"bytes 0-5/{SIZE}"}, b"012345")
        ),
        id="range-99-overlapping",
    ),
    pytest.param(Case(ranged("bytes=" + MANY_RANGES, 200, body=STATIC_TEXT)), id="range-5000"),
    pytest.param(
        Case(ranged("bytes=1000-2000", 416, {"content-range": f"bytes */{SIZE}"})), id="range-unsatisfiable"
    ),
    pytest.param(
        Case(ranged("bytes=" + "9" * 30 + "-", 416, {"content-range": f"bytes */{SIZE}"})),
        id="range-huge-number",
    ),
    pytest.param(Case(ranged("bytes=-0", 416, {"content-range": f"bytes */{SIZE}"})), id="range-zero-suffix"),
    # -- Host
    pytest.param(
        Case(expect(request("GET", "/external", host="evil.com/<x>"), 400, lacks=[b"<x>"])),
        id="host-malformed",
    ),
    pytest.param(
        Case(expect(request("GET", "/external", host="evil.com@attacker.example"), 400)), id="host-userinfo"
    ),
    pytest.param(Case(expect(request("GET", "/external", host=b"ev\xffil.com"), 400)), id="host-non-ascii"),
    pytest.param(
        Case(expect(request("GET", "/external", host="evil.com"), 400, lacks=[b"evil.com/"]), env=TRUSTED),
        id="host-untrusted",
    ),
    pytest.param(
        Case(expect(request("GET", "/", host="evil.com"), 400), env=TRUSTED), id="host-untrusted-index"
    ),
    pytest.param(
        # (h11 refuses it itself, httptools passes it on.)
        Case(
            expect(request("GET", "/external", "Host: evil.com"), 400, lacks=[b"evil.com"]),
            env=TRUSTED,
            may_log=(INVALID,),
        ),
        id="host-duplicated",
    ),
    pytest.param(
        Case(
            expect(
                request("GET", "/external", host="localhost:8000"),
                200,
                has=[b'"url":"http://localhost:8000/"'],
            ),
            env=TRUSTED,
        ),
        id="host-trusted-control",
    ),
    pytest.param(
        Case(
            expect(
                # httptools routes by the target's path (and the Host header), h11 by the whole target (404).
                b"GET http://evil.com/external HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                (200, 404),
                lacks=[b"evil.com"],
                body=(b'{"request_url":"http://localhost/external","url":"http://localhost/"}\n', NOT_FOUND),
            ),
            env=TRUSTED,
        ),
        id="host-absolute-form-target",
    ),
    # -- sessions
    pytest.param(
        Case(with_session(lambda good: f"session={good}", seen=b'{"user":"alice"}')), id="session-control"
    ),
    pytest.param(Case(with_session(lambda good: f"session={flip(good, 3)}")), id="session-tampered-payload"),
    pytest.param(
        Case(with_session(lambda good: f"session={flip(good, len(good) - 2)}")), id="session-tampered-mac"
    ),
    pytest.param(Case(with_session(lambda good: "session=!!!not.a.cookie!!!")), id="session-garbage"),
    pytest.param(
        Case(with_session(lambda good: b"session=\xff\xfe\xfd; other=\x80")), id="session-non-ascii"
    ),
    pytest.param(Case(with_session(lambda good: 'session="unterminated')), id="session-bad-quotes"),
    pytest.param(
        Case(with_session(lambda good: "session=" + "A" * 3000 + ".AAAA.AAAA")), id="session-huge-3kb"
    ),
    pytest.param(
        Case(with_session(lambda good: "; ".join(f"c{n}=v" for n in range(1000)) + "; session=x")),
        id="session-many-cookies",
    ),
    # -- server limits
    pytest.param(
        Case(big_header(100_000, 8192), logged=(INVALID,)),
        id="header-100kb-in-pieces",
    ),
    pytest.param(
        Case(big_header(1_000_000, 65536), logged=(INVALID,)),
        id="header-1mb",
    ),
    # -- views that fail: by design a 500 (or a cut stream), logged once
    pytest.param(
        Case(
            expect(request("GET", INJECTION), 500, lacks=[b"injected", b"set-cookie"]),
            logged=("Exception on /inject [GET]", "ValueError: Header 'X-Echo' contains a newline"),
            tracebacks=1,
        ),
        id="view-header-injection",
    ),
    pytest.param(
        Case(
            stream_fails,
            logged=(
                "Exception while sending the response to /stream-fails [GET]",
                "RuntimeError: the stream broke after its first chunk",
                "ASGI callable returned without completing response.",
            ),
            tracebacks=1,
        ),
        id="view-stream-fails-after-first-chunk",
    ),
    # -- websockets
    pytest.param(Case(websocket_too_big), id="websocket-message-too-big"),
    pytest.param(Case(websocket_origin("http://evil.example", allowed=False)), id="websocket-foreign-origin"),
    pytest.param(Case(websocket_origin("null", allowed=False)), id="websocket-null-origin"),
    pytest.param(Case(websocket_origin(None, allowed=True)), id="websocket-no-origin"),
    pytest.param(
        Case(websocket_origin("http://127.0.0.1:{port}", allowed=True)), id="websocket-same-origin"
    ),
    pytest.param(
        Case(websocket_origin("https://app.example", allowed=True)), id="websocket-listed-origin"
    ),
]


# -- the test ---------------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """`site/static/` (served, with hello.txt and a symlink out) next to `site/app.py` (the secret)."""
    root = tmp_path / "site"
    (root / "static").mkdir(parents=True)
    (root / "app.py").write_bytes(b"# " + SECRET + b"\n")
    (root / "static" / "hello.txt").write_bytes(STATIC_TEXT)
    (root / "static" / "escape.txt").symlink_to(root / "app.py")
    return root


def assert_still_serving(port: int) -> None:
    answer = exchange(port, request("GET", "/"))
    assert answer.status_line == "HTTP/1.1 200 OK", answer.raw[:600]
    assert answer.body == b"still serving"
    # Unreachable objects go now, so an unclosed file shows its ResourceWarning in the log.
    assert exchange(port, request("GET", "/collect")).status == 200


def assert_quiet_log(log: str, case: Case) -> None:
    assert "Exception in ASGI application" not in log, log
    assert "ResourceWarning" not in log, log
    assert log.count("Traceback (most recent call last)") == case.tracebacks, log
    for message in case.logged:
        assert log.count(message) == 1, f"{message!r} logged {log.count(message)} times:\n{log}"
    for message in case.may_log:
        assert log.count(message) <= 1, f"{message!r} logged {log.count(message)} times:\n{log}"
    for line in log.splitlines():
        if re.match(r"(ERROR|WARNING|CRITICAL):|\[[^]]*\] (ERROR|WARNING|CRITICAL) in ", line):
            expected = (*case.logged, *case.may_log)
            assert any(message in line for message in expected), f"unexpected log line {line!r}:\n{log}"


@pytest.mark.parametrize("case", CASES)
def test_hostile_client(case: Case, site: Path, live_server: LiveServers) -> None:
    env = {"HOSTILE_STATIC": str(site / "static"), **case.env}
    argv = [sys.executable, "-W", "always::ResourceWarning", str(APP_FILE)]
    server = live_server(argv, env=env, capture_output=True)
    case.attack(Target(server.port, site))
    assert_still_serving(server.port)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3, f"the server took long to stop:\n{server.stderr()}"
    log = server.stderr()
    assert "Application shutdown complete." in log, log
    assert_quiet_log(log, case)


# -- cookies: parsed in linear time ----------------------------------------------------------------


async def test_cookie_of_escaped_quotes_parses_in_linear_time() -> None:
    from asyncflask import AsyncFlask, request

    app = AsyncFlask(__name__)
    seen: dict[str, int] = {}

    @app.get("/")
    async def view() -> str:
        started = time.perf_counter()
        cookies = request.cookies
        seen["ms"] = int((time.perf_counter() - started) * 1000)
        return str(len(cookies))

    # CPython's http.cookies unquotes this in quadratic time (CVE-2024-7592): seconds.
    hostile = 'k0="' + '\\"' * 25_000 + '"'
    async with app.test_client() as client:
        response = await client.get("/", headers={"cookie": hostile})
    assert response.status_code == 200
    assert seen["ms"] < 100, f"parsing took {seen['ms']} ms"


async def test_ten_thousand_cookie_pairs_come_out_right() -> None:
    from asyncflask import AsyncFlask, request

    app = AsyncFlask(__name__)

    @app.get("/")
    async def view() -> dict[str, str]:
        return dict(request.cookies)

    header = "; ".join(f"name{i}=value{i}" for i in range(10_000))
    async with app.test_client() as client:
        response = await client.get("/", headers={"cookie": header})
    assert response.json() == {f"name{i}": f"value{i}" for i in range(10_000)}


async def test_repeated_cookie_name_keeps_the_first_and_quoted_values_unquote() -> None:
    from asyncflask import AsyncFlask, request

    app = AsyncFlask(__name__)

    @app.get("/")
    async def view() -> dict[str, str]:
        return {"a": request.cookies["a"], "q": request.cookies["q"]}

    async with app.test_client() as client:
        response = await client.get("/", headers={"cookie": 'a=1; a=2; q="x\\"y"'})
    assert response.json() == {"a": "1", "q": 'x"y'}
