"""Tests for the live clock example: the page, and events read one by one from the endless stream."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import httpx
import pytest

from asyncflask import AsyncFlask
from asyncflask.sse import ServerSentEvent, parse_events

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServers

APP_PATH = Path(__file__).with_name("app.py")


def load_example() -> ModuleType:
    # Imported by path under a unique name: every example has an app.py.
    spec = importlib.util.spec_from_file_location("clock_example", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


app: AsyncFlask = load_example().app


@pytest.fixture
def fast_clock() -> Iterator[AsyncFlask]:
    """The example app, ticking every 10 ms instead of every second."""
    saved = app.config["CLOCK_INTERVAL"]
    app.config["CLOCK_INTERVAL"] = 0.01
    try:
        yield app
    finally:
        app.config["CLOCK_INTERVAL"] = saved


async def read_ticks(
    app: AsyncFlask, count: int, headers: dict[str, str] | None = None
) -> list[ServerSentEvent]:
    async with app.test_client() as client, client.stream("GET", "/clock", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        events = parse_events(response.aiter_bytes())
        return [await anext(events) for _ in range(count)]


async def test_page_listens_with_event_source() -> None:
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert "<title>asyncflask clock</title>" in response.text
    assert 'new EventSource("/clock")' in response.text
    assert 'addEventListener("tick"' in response.text


async def test_first_ticks_of_the_endless_stream(fast_clock: AsyncFlask) -> None:
    ticks = await read_ticks(fast_clock, 3)
    assert [(tick.event, tick.id, tick.retry) for tick in ticks] == [
        ("tick", "1", 2000),
        ("tick", "2", None),
        ("tick", "3", None),
    ]
    payloads = [json.loads(tick.data) for tick in ticks]
    assert [payload["n"] for payload in payloads] == [1, 2, 3]
    times = [datetime.fromisoformat(payload["time"]) for payload in payloads]
    assert all(moment.tzinfo is not None for moment in times)
    assert times == sorted(times)


@pytest.mark.parametrize(
    ("last_id", "first"),
    [
        pytest.param("41", 42, id="resumes-after-last-seen"),
        pytest.param("not a number", 1, id="garbage-starts-over"),
        pytest.param("9" * 40, 1, id="absurd-starts-over"),
    ],
)
async def test_reconnecting_browser_resumes(fast_clock: AsyncFlask, last_id: str, first: int) -> None:
    ticks = await read_ticks(fast_clock, 2, headers={"Last-Event-ID": last_id})
    assert [tick.id for tick in ticks] == [str(first), str(first + 1)]


async def test_ticks_arrive_at_the_configured_pace() -> None:
    saved = app.config["CLOCK_INTERVAL"]
    app.config["CLOCK_INTERVAL"] = 0.2
    try:
        started = time.monotonic()
        ticks = await read_ticks(app, 2)
        elapsed = time.monotonic() - started
    finally:
        app.config["CLOCK_INTERVAL"] = saved
    assert [tick.id for tick in ticks] == ["1", "2"]
    assert 0.2 <= elapsed < 2


# -- running it ----------------------------------------------------------------------------------------


@pytest.fixture
def running_example(live_server: LiveServers) -> int:
    """`python examples/sse/app.py`, on a free port (its PORT)."""
    return live_server([sys.executable, str(APP_PATH)], capture_output=True).port


async def test_runs_with_one_command(running_example: int) -> None:
    base_url = f"http://127.0.0.1:{running_example}"
    async with (
        asyncio.timeout(15),
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", "/clock", headers={"Last-Event-ID": "99"}) as response,
    ):
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        first = await anext(parse_events(response.aiter_bytes()))
    assert (first.event, first.id) == ("tick", "100")
