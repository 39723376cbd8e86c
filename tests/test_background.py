"""Background work: `app.add_background_task`, shutdown, and the copy-context decorators."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from asyncflask import (
    AsyncFlask,
    copy_current_app_context,
    copy_current_request_context,
    current_app,
    g,
    has_request_context,
    request,
)


def make_app(**config: Any) -> AsyncFlask:
    app = AsyncFlask(__name__)
    app.config.update(config)
    return app


async def test_task_runs_after_the_response_with_the_app_context() -> None:
    app = make_app()
    release = asyncio.Event()
    done = asyncio.Event()
    seen: dict[str, Any] = {}

    async def notify(user: str, *, greeting: str) -> None:
        await asyncio.wait_for(release.wait(), 5)
        seen.update(
            message=f"{greeting} {user}",
            app=current_app.name,
            has_request=has_request_context(),
            g_empty=g.get("user") is None,
        )
        done.set()

    @app.post("/signup")
    async def signup() -> str:
        g.user = "ada"
        app.add_background_task(notify, "ada", greeting="welcome")
        return "signed up"

    async with app.test_client() as client:
        response = await client.post("/signup")
        # The response is complete while the task still waits.
        assert (response.status_code, response.text) == (200, "signed up")
        assert not done.is_set()
        release.set()
        await asyncio.wait_for(done.wait(), 5)
    assert seen == {"message": "welcome ada", "app": __name__, "has_request": False, "g_empty": True}


async def test_task_starts_only_after_the_body_was_sent() -> None:
    app = make_app()
    order: list[str] = []
    done = asyncio.Event()

    async def task() -> None:
        order.append("task")
        done.set()

    @app.get("/stream")
    async def stream() -> Any:
        app.add_background_task(task)

        async def generate() -> Any:
            for n in range(3):
                order.append(f"chunk {n}")
                yield f"{n}"
                await asyncio.sleep(0.01)

        return generate()

    async with app.test_client() as client:
        response = await client.get("/stream")
        await asyncio.wait_for(done.wait(), 5)
    assert response.text == "012"
    assert order == ["chunk 0", "chunk 1", "chunk 2", "task"]


async def test_sync_task_runs_in_a_thread_with_the_app_context() -> None:
    app = make_app()
    main_thread = threading.get_ident()
    seen: list[Any] = []
    done = asyncio.Event()

    def blocking(value: int) -> None:
        seen.append((value * 2, current_app.name, threading.get_ident() != main_thread))

    async def after() -> None:
        done.set()

    @app.get("/")
    async def index() -> str:
        app.add_background_task(blocking, 21)
        app.add_background_task(after)
        return "ok"

    async with app.test_client() as client:
        await client.get("/")
        # Shutdown waits for both tasks.
    assert seen == [(42, __name__, True)]
    assert done.is_set()


async def test_task_from_a_sync_view() -> None:
    app = make_app()
    results: list[str] = []

    async def record(value: str) -> None:
        results.append(value)

    @app.get("/")
    def index() -> str:
        app.add_background_task(record, request.args["v"])
        return "ok"

    async with app.test_client() as client:
        await client.get("/?v=from-a-thread")
    assert results == ["from-a-thread"]


async def test_task_errors_are_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    ran: list[str] = []

    async def failing() -> None:
        raise ValueError("task failed")

    def also_failing() -> None:
        raise KeyError("sync failed")

    async def fine() -> None:
        ran.append("fine")

    @app.get("/")
    async def index() -> str:
        app.add_background_task(failing)
        app.add_background_task(also_failing)
        app.add_background_task(fine)
        return "ok"

    async with app.test_client() as client:
        response = await client.get("/")
        assert response.status_code == 200
        assert (await client.get("/")).status_code == 200
    assert ran == ["fine", "fine"]
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert sorted(record.getMessage() for record in errors) == sorted(
        ["Background task 'failing' failed", "Background task 'also_failing' failed"] * 2
    )
    assert {type(record.exc_info[1]) for record in errors if record.exc_info} == {ValueError, KeyError}


async def test_task_outside_a_request_starts_at_once() -> None:
    app = make_app()
    started = asyncio.Event()

    async def job() -> None:
        assert current_app.name == __name__
        started.set()

    async with app.test_client():
        async with app.app_context():
            app.add_background_task(job)
        await asyncio.wait_for(started.wait(), 5)


async def test_task_added_at_startup_is_awaited_at_shutdown() -> None:
    app = make_app()
    finished: list[str] = []

    async def warm_cache() -> None:
        await asyncio.sleep(0.05)
        finished.append("warm")

    @app.before_serving
    async def startup() -> None:
        app.add_background_task(warm_cache)

    async with app.test_client():
        assert finished == []
    assert finished == ["warm"]


async def test_shutdown_waits_for_running_tasks() -> None:
    app = make_app(BACKGROUND_TASK_SHUTDOWN_TIMEOUT=5)
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.1)
        finished.append("slow")

    @app.get("/")
    async def index() -> str:
        app.add_background_task(slow)
        return "ok"

    async with app.test_client() as client:
        await client.get("/")
        assert finished == []
    assert finished == ["slow"]


async def test_shutdown_cancels_tasks_after_the_grace_period(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(BACKGROUND_TASK_SHUTDOWN_TIMEOUT=0.05)
    events: list[str] = []

    async def forever() -> None:
        events.append("started")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    @app.get("/")
    async def index() -> str:
        app.add_background_task(forever)
        return "ok"

    loop = asyncio.get_running_loop()
    async with app.test_client() as client:
        await client.get("/")
        await asyncio.sleep(0.01)
        started = loop.time()
    assert loop.time() - started < 2
    assert events == ["started", "cancelled"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == ["Cancelled 1 background task(s) still running at shutdown."]
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_copy_current_request_context_in_a_spawned_task() -> None:
    app = make_app(SECRET_KEY="secret")
    done = asyncio.Event()
    seen: dict[str, Any] = {}
    tasks: list[asyncio.Task[None]] = []

    @app.get("/report")
    async def report() -> str:
        g.job = "report-1"

        @copy_current_request_context
        async def work() -> None:
            await asyncio.sleep(0.01)  # runs on after the view returned
            seen.update(path=request.path, q=request.args["q"], job=g.job, app=current_app.name)
            done.set()

        tasks.append(asyncio.create_task(work()))
        return "started"

    async with app.test_client() as client:
        response = await client.get("/report?q=weekly")
        assert response.text == "started"
        await asyncio.wait_for(done.wait(), 5)
        await tasks[0]
    assert seen == {"path": "/report", "q": "weekly", "job": "report-1", "app": __name__}


async def test_copy_current_request_context_for_a_plain_function_in_a_thread() -> None:
    app = make_app()
    seen: list[str] = []

    @app.get("/")
    async def index() -> str:
        @copy_current_request_context
        def work() -> None:
            seen.append(request.args["q"])

        thread = threading.Thread(target=work)
        thread.start()
        await asyncio.to_thread(thread.join)
        return "ok"

    async with app.test_client() as client:
        await client.get("/?q=threaded")
    assert seen == ["threaded"]


async def test_copy_current_app_context_in_a_spawned_task() -> None:
    app = make_app()
    seen: list[Any] = []

    async with app.app_context():
        g.value = 7

        @copy_current_app_context
        async def work() -> None:
            seen.append((current_app.name, g.value, has_request_context()))

    await asyncio.create_task(work())
    assert seen == [(__name__, 7, False)]


@pytest.mark.parametrize(
    ("decorator", "message"),
    [
        pytest.param(copy_current_request_context, "needs an active request context", id="request"),
        pytest.param(copy_current_app_context, "needs an active application context", id="app"),
    ],
)
def test_copy_decorators_outside_a_context_raise(decorator: Any, message: str) -> None:
    def work() -> None:
        pass

    with pytest.raises(RuntimeError, match=message):
        decorator(work)
