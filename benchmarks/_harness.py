"""Shared machinery for the in-process ASGI benchmarks.

The benchmarks call each ASGI application directly: no server, no sockets. A request is a
prepared ``scope`` dict (shallow-copied per call, as a server builds a fresh one per
request), a ``receive`` that hands over the body once and then reports ``http.disconnect``
(once the response is complete, as a server does), and a ``send`` that collects the
messages. What is timed is therefore the framework's own cost per request plus a small,
identical harness overhead (measured by the hand-written "bare" app, which is the floor).

The machine running these is shared and noisy, so the design aims at trustworthy *ratios*:

* all frameworks run in one process and one event loop;
* each round visits every framework once per case, in an order rotated every round, so a
  burst of noise lands on all of them rather than on whichever happened to run then;
* a round's figure is the mean over a batch of requests (garbage collection off during the
  batch, a full collection between batches), and the reported figure is the median over
  rounds; ratios are medians of per-round ratios, which cancels slow drift in machine speed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The benchmarks measure the working tree, not whatever copy may be installed: put the
# repository root first on the path before anything imports ``asyncflask``.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------


def build_scope(
    method: str,
    path: str,
    *,
    query_string: bytes = b"",
    body: bytes = b"",
    content_type: str | None = None,
    extra_headers: Iterable[tuple[bytes, bytes]] = (),
) -> dict[str, Any]:
    """Return an HTTP scope shaped like the one uvicorn builds for a typical client.

    Every key a server provides is present, because some frameworks (Quart) read
    ``server``, ``client`` or ``http_version`` unconditionally.
    """
    headers: list[tuple[bytes, bytes]] = [
        (b"host", b"localhost"),
        (b"user-agent", b"asyncflask-bench/1"),
        (b"accept", b"*/*"),
        (b"accept-encoding", b"gzip, deflate"),
        (b"connection", b"keep-alive"),
    ]
    if body or method in {"POST", "PUT", "PATCH"}:
        headers.append((b"content-length", str(len(body)).encode("ascii")))
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("latin-1")))
    headers.extend(extra_headers)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 54321),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": query_string,
        "headers": headers,
        "state": {},
    }


class Exchange:
    """The server side of one request: in-memory ``receive`` and ``send``.

    After the body has been handed over, ``receive`` waits until the response is complete
    before reporting ``http.disconnect``, as a real server does for a client that stays
    connected. Returning the disconnect at once would be wrong, not just different: Quart
    listens for it concurrently with the view and cancels the view when it arrives.
    The future is only created when someone actually waits, to keep the common path cheap.
    """

    __slots__ = ("_body", "_body_sent", "_complete", "_waiter", "messages")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._body_sent = False
        self._complete = False
        self._waiter: asyncio.Future[None] | None = None
        self.messages: list[Message] = []

    async def receive(self) -> Message:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        if not self._complete:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self._complete = True
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def status(self) -> int | None:
        for message in self.messages:
            if message["type"] == "http.response.start":
                return int(message["status"])
        return None


@dataclass
class Response:
    """What an application answered, decoded enough to validate it."""

    status: int | None
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        key = name.lower().encode("latin-1")
        for k, v in self.headers:
            if k.lower() == key:
                return v.decode("latin-1")
        return None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request_scope(scope: Scope, state: dict[str, Any]) -> dict[str, Any]:
    """A fresh scope for one request: a shallow copy with its own copy of lifespan state."""
    fresh = dict(scope)
    fresh["state"] = state.copy()
    return fresh


async def call_once(app: ASGIApp, scope: Scope, body: bytes, state: dict[str, Any]) -> Response:
    """Run one full ASGI request and return the decoded response."""
    exchange = Exchange(body)
    await app(request_scope(scope, state), exchange.receive, exchange.send)
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    for message in exchange.messages:
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
    return Response(status, headers, b"".join(chunks))


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

Expectation = Callable[[Response], "str | None"]
"""Checks a response; returns a description of what is wrong, or None if it is right."""


def _status_problem(response: Response) -> str | None:
    if response.status != 200:
        return f"status {response.status}, body {response.body[:200]!r}"
    return None


def expect_text(expected: str) -> Expectation:
    """The body must be exactly ``expected``."""

    def check(response: Response) -> str | None:
        problem = _status_problem(response)
        if problem is None and response.text() != expected:
            problem = f"body {response.body[:200]!r}, expected {expected!r}"
        return problem

    return check


def expect_json(expected: Any) -> Expectation:
    """The body must parse as JSON equal to ``expected``."""

    def check(response: Response) -> str | None:
        problem = _status_problem(response)
        if problem is not None:
            return problem
        try:
            value = json.loads(response.body)
        except ValueError as exc:
            return f"body is not JSON ({exc}): {response.body[:200]!r}"
        if value != expected:
            return f"JSON {value!r}, expected {expected!r}"
        return None

    return check


def normalise_whitespace(text: str) -> str:
    """Collapse runs of whitespace, so template engines' newline handling does not matter."""
    return " ".join(text.split())


def expect_html(expected: str) -> Expectation:
    """The body must equal ``expected`` up to whitespace (escaping must match exactly)."""
    want = normalise_whitespace(expected)

    def check(response: Response) -> str | None:
        problem = _status_problem(response)
        if problem is None and normalise_whitespace(response.text()) != want:
            problem = f"body {response.body[:300]!r}, expected (up to whitespace) {want[:300]!r}"
        return problem

    return check


# --------------------------------------------------------------------------------------
# Lifespan
# --------------------------------------------------------------------------------------


class LifespanError(RuntimeError):
    """The application reported ``lifespan.startup.failed``."""


class Lifespan:
    """Drive an application's ASGI lifespan, as uvicorn does with ``lifespan="auto"``.

    ``async with Lifespan(app) as state:`` runs start-up (Quart refuses requests until it
    has run; asyncflask runs its ``before_serving`` hooks) and yields the lifespan state
    that each request scope then receives a copy of. An application that raises on the
    lifespan scope without answering is taken not to support lifespan, and is served
    anyway, as uvicorn would.
    """

    _RETURNED = "benchmark.app.returned"

    def __init__(self, app: ASGIApp, timeout: float = 30.0) -> None:
        self.app = app
        self.timeout = timeout
        self.state: dict[str, Any] = {}
        self.supported = True
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._to_app.get, self._send)
        except BaseException as exc:  # reported through _error, not re-raised
            self._error = exc
        finally:
            self._from_app.put_nowait({"type": self._RETURNED})

    async def _send(self, message: Message) -> None:
        await self._from_app.put(message)

    async def __aenter__(self) -> dict[str, Any]:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        message = await asyncio.wait_for(self._from_app.get(), self.timeout)
        if message["type"] == "lifespan.startup.complete":
            return self.state
        if message["type"] == "lifespan.startup.failed":
            raise LifespanError(f"lifespan start-up failed: {message.get('message', '')}")
        # The app returned (or raised) without answering: it does not do lifespan.
        self.supported = False
        return self.state

    async def __aexit__(self, *exc_info: object) -> None:
        # Shutdown problems are reported, not raised: by now the measurements are taken,
        # and an app that shuts down badly should not cost the whole run its results.
        if self._task is None:
            return
        try:
            if self.supported and not self._task.done():
                await self._to_app.put({"type": "lifespan.shutdown"})
                message = await asyncio.wait_for(self._from_app.get(), self.timeout)
                if message["type"] == "lifespan.shutdown.failed":
                    note(f"lifespan shutdown failed: {message.get('message', '')}")
            await asyncio.wait_for(self._task, self.timeout)
        except asyncio.TimeoutError:
            note("lifespan shutdown timed out")
            self._task.cancel()
        if self.supported and self._error is not None:
            note(f"lifespan raised at shutdown: {describe(self._error)}")


VALIDATION_TIMEOUT = 10.0
"""Seconds one validation request may take."""


class SetupError(Exception):
    """A framework could not be built, started or validated; the message says which."""


def describe(exc: BaseException) -> str:
    """One line naming an exception, for skip notes."""
    return f"{type(exc).__name__}: {exc}".strip()


async def start_app(build: Callable[[], ASGIApp], stack: AsyncExitStack) -> tuple[ASGIApp, dict[str, Any]]:
    """Build an app and run its lifespan start-up; ``stack`` runs the shutdown later.

    Any failure becomes a ``SetupError``: the framework may be missing, or (asyncflask,
    while it is being written) incomplete, and that must cost only its own column.
    """
    try:
        app = build()
    except Exception as exc:
        raise SetupError(f"cannot build the app: {describe(exc)}") from exc
    try:
        state = await stack.enter_async_context(Lifespan(app))
    except Exception as exc:
        raise SetupError(f"lifespan start-up: {describe(exc)}") from exc
    return app, state


async def validate(
    app: ASGIApp, scope: Scope, body: bytes, state: dict[str, Any], expect: Expectation
) -> str | None:
    """Make one request and check the answer; return what is wrong, or None.

    Bounded by ``VALIDATION_TIMEOUT``: an unfinished framework may wait forever (for a
    message that never comes), and that must be a skip, not a hung benchmark.
    """
    try:
        response = await asyncio.wait_for(call_once(app, scope, body, state), VALIDATION_TIMEOUT)
    except asyncio.TimeoutError:
        return f"no complete response within {VALIDATION_TIMEOUT:g}s"
    except Exception as exc:
        return f"raised {describe(exc)}"
    return expect(response)


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass(eq=False)
class Target:
    """One thing to time: one application answering one prepared request.

    ``samples`` holds one figure per measured round (mean nanoseconds per request in that
    round's batch); the rounds of every target in a run line up index for index, which is
    what makes per-round (paired) ratios possible.
    """

    framework: str
    case: str
    app: ASGIApp
    scope: dict[str, Any]
    body: bytes = b""
    state: dict[str, Any] = field(default_factory=dict)
    requests: int = 1000
    samples: list[float] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples) / 1000.0

    def summary(self) -> dict[str, Any]:
        """Machine-readable figures, in microseconds per request."""
        us = sorted(s / 1000.0 for s in self.samples)
        q1, _, q3 = statistics.quantiles(us, n=4) if len(us) >= 2 else (us[0], us[0], us[0])
        return {
            "median_us": round(statistics.median(us), 4),
            "min_us": round(us[0], 4),
            "max_us": round(us[-1], 4),
            "q1_us": round(q1, 4),
            "q3_us": round(q3, 4),
            "rounds": len(us),
            "requests_per_round": self.requests,
        }


async def time_batch(target: Target) -> float:
    """Run ``target.requests`` full ASGI calls back to back; return mean ns per request.

    Garbage collection is off for the batch so a collection triggered by one framework's
    allocations is not billed to whichever request happened to trigger it; the caller
    collects between batches instead.
    """
    app = target.app
    scope = target.scope
    body = target.body
    state = target.state
    n = target.requests
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        exchange = Exchange(body)
        start = time.perf_counter_ns()
        for _ in range(n):
            request = dict(scope)
            request["state"] = state.copy()
            exchange = Exchange(body)
            await app(request, exchange.receive, exchange.send)
        elapsed = time.perf_counter_ns() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    # One cheap check per batch that the app is still answering properly (an app that
    # starts failing fast would otherwise look like a very fast app).
    status = exchange.status()
    if status != 200:
        raise RuntimeError(f"{target.framework} {target.case}: status {status} during timing")
    return elapsed / n


async def calibrate(targets: Iterable[Target], batch_ms: float, max_requests: int, floor: int = 20) -> None:
    """Size each target's batch to take about ``batch_ms``, capped at ``max_requests``.

    Used where per-request costs differ by orders of magnitude (a regex scan over 1000
    routes against a hash lookup), so a fixed count would either take minutes for the slow
    targets or be too short to be stable for the fast ones.
    """
    for target in targets:
        target.requests = min(max_requests, 10)
        await time_batch(target)  # warm caches, lazy compilation, first-request set-up
        target.requests = min(max_requests, 50)
        per_request_ns = await time_batch(target)
        wanted = int(batch_ms * 1e6 / max(per_request_ns, 1.0))
        target.requests = max(min(floor, max_requests), min(max_requests, wanted))


def rotated(items: Sequence[Target], k: int) -> list[Target]:
    """``items`` rotated left by ``k``: round ``k`` starts with a different framework."""
    if not items:
        return []
    k %= len(items)
    return [*items[k:], *items[:k]]


async def run_rounds(
    groups: Sequence[Sequence[Target]],
    rounds: int,
    warmup_rounds: int = 1,
    progress: Callable[[int, int, float], None] | None = None,
) -> None:
    """Time every target once per round, round-robin within each group.

    A group is the set of targets that will be compared with each other (one endpoint
    across frameworks). The first ``warmup_rounds`` are run but not recorded.
    """
    total = warmup_rounds + rounds
    for index in range(total):
        started = time.perf_counter()
        for group in groups:
            for target in rotated(group, index):
                gc.collect()
                per_request = await time_batch(target)
                if index >= warmup_rounds:
                    target.samples.append(per_request)
        if progress is not None:
            progress(index + 1 - warmup_rounds, rounds, time.perf_counter() - started)


def paired_ratio(numerator: Target, denominator: Target) -> float:
    """Median over rounds of the per-round ratio ``numerator / denominator``.

    Both were timed within the same round, moments apart, so a slow patch of the machine
    inflates both and largely cancels; the median then discards the rounds where it did not.
    """
    ratios = [a / b for a, b in zip(numerator.samples, denominator.samples, strict=True)]
    return statistics.median(ratios)


def settle() -> None:
    """Collect, then freeze what survives (the apps, the imported modules).

    Frozen objects are skipped by later collections, so the ``gc.collect()`` between batches
    stays cheap and the apps' object graphs are not re-traversed thousands of times.
    """
    gc.collect()
    gc.freeze()


# --------------------------------------------------------------------------------------
# Command line and output
# --------------------------------------------------------------------------------------


def add_common_arguments(
    parser: argparse.ArgumentParser, *, rounds: int, requests: int, batch_ms: float
) -> None:
    """Options every benchmark script shares."""
    parser.add_argument("--rounds", type=int, default=rounds, help=f"measured rounds (default {rounds})")
    parser.add_argument(
        "--requests",
        type=int,
        default=requests,
        help=f"requests per batch, i.e. per framework per case per round (default {requests})",
    )
    parser.add_argument(
        "--batch-ms",
        type=float,
        default=batch_ms,
        help="size each batch to take about this many ms, at most --requests; 0 means exactly "
        f"--requests (default {batch_ms:g})",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--json", action="store_true", help="print results as JSON instead of a table")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="FRAMEWORK",
        help="fail (exit 2) instead of skipping if this framework cannot be imported or "
        "validated; may be repeated",
    )
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")


def run(main: Callable[[], Awaitable[int]], use_uvloop: bool = False) -> int:
    """Run ``main`` in a fresh event loop (uvloop's if asked for and installed)."""
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            note("uvloop is not installed; using asyncio's default loop")
        else:
            return uvloop.run(main())
    return asyncio.run(main())


def note(message: str) -> None:
    """Progress and diagnostics go to stderr, so ``--json`` output stays parseable."""
    print(message, file=sys.stderr, flush=True)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], left_columns: int = 1) -> str:
    """Plain-text table; the first ``left_columns`` columns left-aligned, the rest right."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            out.append(cell.ljust(widths[i]) if i < left_columns else cell.rjust(widths[i]))
        return " | ".join(out).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def fmt_us(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def environment() -> dict[str, Any]:
    """Versions of what was measured, for the JSON output."""
    versions: dict[str, Any] = {"python": sys.version.split()[0]}
    from importlib import metadata

    for dist in ("starlette", "quart", "fastapi", "jinja2", "uvloop"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions
