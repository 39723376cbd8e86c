"""Lifespan: before/after/while_serving, background tasks, and a real uvicorn start-up."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import textwrap
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.types import Message, Scope

from asyncflask import (
    AsyncFlask,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
)
from asyncflask.testing import LifespanError

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServers

# -- before_serving, after_serving, while_serving ---------------------------------------------


async def test_serving_hooks_run_in_order_with_an_app_context() -> None:
    app = AsyncFlask(__name__)
    events: list[str] = []

    @app.before_serving
    async def first_startup() -> None:
        assert has_app_context() and not has_request_context()
        events.append(f"before_serving 1 {current_app.name}")
        g.startup = "set at start-up"

    @app.before_serving
    def second_startup() -> None:  # sync: runs in a worker thread with the app context
        events.append(f"before_serving 2 {current_app.name}")

    @app.while_serving
    async def outer() -> AsyncGenerator[None, None]:
        events.append(f"while_serving outer start {current_app.name}")
        yield
        events.append(f"while_serving outer end {current_app.name}")

    @app.while_serving
    async def inner() -> AsyncGenerator[None, None]:
        events.append("while_serving inner start")
        yield
        events.append("while_serving inner end")

    @app.after_serving
    async def first_shutdown() -> None:
        assert "startup" not in g  # shutdown has its own app context
        events.append(f"after_serving 1 {current_app.name}")

    @app.after_serving
    def second_shutdown() -> None:
        events.append(f"after_serving 2 {current_app.name}")

    @app.route("/")
    async def index() -> str:
        events.append("request")
        return "ok"

    name = app.name
    assert events == []
    async with app.test_client() as client:
        assert events == [
            f"before_serving 1 {name}",
            f"before_serving 2 {name}",
            f"while_serving outer start {name}",
            "while_serving inner start",
        ]
        await client.get("/")
        assert events[-1] == "request"
        del events[:]
    assert events == [
        "while_serving inner end",
        f"while_serving outer end {name}",
        f"after_serving 1 {name}",
        f"after_serving 2 {name}",
    ]


def test_while_serving_needs_an_async_generator() -> None:
    app = AsyncFlask(__name__)

    async def not_a_generator() -> None:
        pass

    with pytest.raises(TypeError, match="async generator"):
        app.while_serving(not_a_generator)  # type: ignore[arg-type]


async def test_startup_failure_raises_from_the_test_client() -> None:
    app = AsyncFlask(__name__)
    events: list[str] = []

    @app.before_serving
    async def connect_to_database() -> None:
        raise ConnectionError("database is unreachable")

    @app.after_serving
    async def never() -> None:
        events.append("after_serving")

    client = app.test_client()
    with pytest.raises(LifespanError) as info:
        async with client:
            events.append("served")
    message = str(info.value)
    assert "Traceback" in message
    assert "connect_to_database" in message
    assert "ConnectionError: database is unreachable" in message
    assert events == []
    assert client.is_closed


async def test_while_serving_failure_at_startup() -> None:
    app = AsyncFlask(__name__)

    @app.while_serving
    async def broken() -> AsyncGenerator[None, None]:
        raise RuntimeError("cannot start")
        yield

    with pytest.raises(LifespanError, match="cannot start"):
        async with app.test_client():
            pass


async def test_shutdown_failure_raises_from_the_test_client() -> None:
    app = AsyncFlask(__name__)

    @app.after_serving
    async def flush() -> None:
        raise OSError("flush failed")

    with pytest.raises(LifespanError, match="flush failed"):
        async with app.test_client():
            pass


async def test_while_serving_that_yields_twice_is_an_error() -> None:
    app = AsyncFlask(__name__)

    @app.while_serving
    async def twice() -> AsyncGenerator[None, None]:
        yield
        yield

    with pytest.raises(LifespanError, match="must yield only once"):
        async with app.test_client():
            pass


class _LifespanDriver:
    """Plays the server's side of the ASGI lifespan protocol, message by message."""

    def __init__(self, app: AsyncFlask) -> None:
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self.task = asyncio.ensure_future(app(scope, self.to_app.get, self.from_app.put))

    async def send(self, message_type: str) -> Message:
        await self.to_app.put({"type": message_type})
        return await asyncio.wait_for(self.from_app.get(), 5)


async def test_raw_lifespan_startup_and_shutdown() -> None:
    app = AsyncFlask(__name__)
    events: list[str] = []

    @app.before_serving
    async def start() -> None:
        events.append("start")

    @app.after_serving
    async def stop() -> None:
        events.append("stop")

    driver = _LifespanDriver(app)
    assert await driver.send("lifespan.startup") == {"type": "lifespan.startup.complete"}
    assert events == ["start"]
    assert await driver.send("lifespan.shutdown") == {"type": "lifespan.shutdown.complete"}
    assert events == ["start", "stop"]
    await asyncio.wait_for(driver.task, 5)


async def test_raw_lifespan_answers_startup_failed() -> None:
    app = AsyncFlask(__name__)

    @app.before_serving
    async def fail() -> None:
        raise ValueError("bad configuration")

    driver = _LifespanDriver(app)
    reply = await driver.send("lifespan.startup")
    assert reply["type"] == "lifespan.startup.failed"
    assert "ValueError: bad configuration" in reply["message"]
    assert "Traceback" in reply["message"]
    # The app returns instead of raising: the server reports the message and exits.
    await asyncio.wait_for(driver.task, 5)
    assert driver.task.exception() is None


# -- background tasks -------------------------------------------------------------------------


async def test_background_task_runs_after_the_response_was_sent() -> None:
    app = AsyncFlask(__name__)
    events: list[str] = []
    done = asyncio.Event()
    response_sent = False

    inner = app.asgi_app

    async def watch(scope: Scope, receive: Any, send: Any) -> None:
        async def watching_send(message: Message) -> None:
            nonlocal response_sent
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                response_sent = True

        await inner(scope, receive, watching_send if scope["type"] == "http" else send)

    app.asgi_app = watch  # type: ignore[method-assign]

    async def task(label: str, *, suffix: str) -> None:
        events.append(f"task {label}{suffix} sent={response_sent} app={current_app.name}")
        events.append(f"task has request context: {has_request_context()}")
        done.set()

    @app.route("/")
    async def index() -> str:
        app.add_background_task(task, "job", suffix="!")
        events.append("view returned")
        return "accepted"

    async with app.test_client() as client:
        response = await client.get("/")
        assert response.text == "accepted"
        await asyncio.wait_for(done.wait(), 5)
    assert events == [
        "view returned",
        f"task job! sent=True app={app.name}",
        "task has request context: False",
    ]


async def test_sync_background_task() -> None:
    app = AsyncFlask(__name__)
    results: list[str] = []

    def task(value: int) -> None:
        results.append(f"{current_app.name} {value}")

    @app.route("/")
    async def index() -> str:
        app.add_background_task(task, 7)
        return "ok"

    async with app.test_client() as client:
        await client.get("/")
    assert results == [f"{app.name} 7"]


async def test_shutdown_waits_for_background_tasks() -> None:
    app = AsyncFlask(__name__)
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.2)
        finished.append("slow")

    @app.route("/")
    async def index() -> str:
        app.add_background_task(slow)
        return "ok"

    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
        assert finished == []
    assert finished == ["slow"]


async def test_background_task_outside_a_request_starts_right_away() -> None:
    app = AsyncFlask(__name__)
    seen: list[str] = []
    ran = asyncio.Event()

    async def task() -> None:
        seen.append(current_app.name)
        ran.set()

    @app.before_serving
    async def start() -> None:
        app.add_background_task(task)

    async with app.test_client():
        await asyncio.wait_for(ran.wait(), 5)
    assert seen == [app.name]


async def test_background_task_running_past_the_timeout_is_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = AsyncFlask(__name__)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.1
    events: list[str] = []
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    @app.route("/")
    async def index() -> str:
        app.add_background_task(forever)
        return "ok"

    begin = time.monotonic()
    async with app.test_client() as client:
        await client.get("/")
        await asyncio.wait_for(started.wait(), 5)
    assert time.monotonic() - begin < 3
    assert events == ["cancelled"]
    warnings = [r for r in caplog.records if r.name == app.name and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Cancelled 1 background task" in warnings[0].getMessage()


async def test_failing_background_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = AsyncFlask(__name__)

    async def broken_job() -> None:
        raise ValueError("job failed")

    @app.route("/")
    async def index() -> str:
        app.add_background_task(broken_job)
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
        assert (response.status_code, response.text) == (200, "ok")
    errors = [r for r in caplog.records if r.name == app.name and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "broken_job" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], ValueError)


def test_background_task_needs_an_event_loop() -> None:
    app = AsyncFlask(__name__)

    async def job() -> None:
        pass

    with pytest.raises(RuntimeError, match="running event loop"):
        app.add_background_task(job)


# -- a real server ----------------------------------------------------------------------------


def _write_app(directory: Path, name: str, body: str) -> None:
    source = "from asyncflask import AsyncFlask\n\napp = AsyncFlask(__name__)\n\n" + textwrap.dedent(body)
    (directory / f"{name}.py").write_text(source)


def test_uvicorn_refuses_to_start_when_startup_fails(tmp_path: Path, live_server: LiveServers) -> None:
    _write_app(
        tmp_path,
        "failing_app",
        """
        @app.before_serving
        async def connect() -> None:
            raise RuntimeError("database is unreachable")
        """,
    )
    # Plain `uvicorn module:app` (lifespan "auto"), as users run it; expected to exit.
    argv = live_server.uvicorn_argv("failing_app:app", tmp_path)
    server = live_server(argv, capture_output=True, wait=False)
    try:
        returncode, _, text = server.wait_exit(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("uvicorn kept running although the app failed at start-up")
    assert returncode != 0
    assert "RuntimeError: database is unreachable" in text
    assert "connect" in text


def test_uvicorn_serves_a_healthy_app(tmp_path: Path, live_server: LiveServers) -> None:
    _write_app(
        tmp_path,
        "healthy_app",
        """
        @app.get("/")
        async def index() -> str:
            return "served by uvicorn"
        """,
    )
    # Not waited for by the fixture: this test polls for the first answer itself.
    argv = live_server.uvicorn_argv("healthy_app:app", tmp_path)
    server = live_server(argv, capture_output=True, wait=False)
    process, port = server.process, server.port
    deadline = time.monotonic() + 10
    response: httpx.Response | None = None
    with httpx.Client(timeout=2) as http:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = http.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.TransportError:
                time.sleep(0.1)
    assert process.poll() is None, "uvicorn exited early"
    assert response is not None, "uvicorn did not answer within 10 seconds"
    assert response.status_code == 200
    assert response.text == "served by uvicorn"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_background_task_added_in_a_test_request_context_runs_when_it_ends() -> None:
    app = AsyncFlask(__name__)
    ran = asyncio.Event()
    seen: list[str] = []

    async def job(value: str) -> None:
        seen.append(f"{value} {current_app.name} request={has_request_context()}")
        ran.set()

    async with app.test_request_context("/"):
        app.add_background_task(job, "queued")
        await asyncio.sleep(0)
        assert seen == []  # not before the request is over
    await asyncio.wait_for(ran.wait(), 5)
    assert seen == [f"queued {app.name} request=False"]


async def test_background_task_added_from_a_copied_request_context() -> None:
    app = AsyncFlask(__name__)
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    @app.route("/")
    async def index() -> str:
        @copy_current_request_context
        async def helper() -> None:
            app.add_background_task(job)

        await asyncio.ensure_future(helper())
        assert not ran.is_set()  # it waits for the response, like one added by the view
        return "ok"

    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
        await asyncio.wait_for(ran.wait(), 5)


async def test_sync_hooks_and_views_can_add_background_tasks() -> None:
    app = AsyncFlask(__name__)
    ran: list[str] = []

    async def job(label: str) -> None:
        ran.append(f"{label} {current_app.name}")

    @app.before_serving
    def start() -> None:  # runs in a worker thread
        app.add_background_task(job, "from before_serving")

    @app.route("/")
    def index() -> str:  # runs in a worker thread
        app.add_background_task(job, "from sync view")
        return "ok"

    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
    assert sorted(ran) == [f"from before_serving {app.name}", f"from sync view {app.name}"]


async def test_shutdown_waits_for_background_tasks_even_when_after_serving_fails() -> None:
    app = AsyncFlask(__name__)
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.1)
        finished.append("slow")

    @app.after_serving
    async def broken() -> None:
        raise RuntimeError("after_serving failed")

    @app.route("/")
    async def index() -> str:
        app.add_background_task(slow)
        return "ok"

    with pytest.raises(LifespanError, match="after_serving failed"):
        async with app.test_client() as client:
            await client.get("/")
    assert finished == ["slow"]
