"""Tests for the chat example: the page, and two websocket clients talking through a room."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import websockets.asyncio.client

from asyncflask import AsyncFlask
from asyncflask.exceptions import WebSocketDisconnect

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServers

APP_PATH = Path(__file__).with_name("app.py")


def load_example() -> ModuleType:
    # Imported by path under a unique name: every example has an app.py.
    spec = importlib.util.spec_from_file_location("chat_example", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


chat = load_example()
app: AsyncFlask = chat.app


async def test_page_opens_a_websocket_from_its_own_address() -> None:
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>asyncflask chat</title>" in response.text
    assert "new WebSocket(url)" in response.text
    assert 'location.protocol === "https:" ? "wss:" : "ws:"' in response.text
    assert "${location.host}/ws/" in response.text


async def test_a_message_from_one_client_reaches_the_other() -> None:
    async with app.test_client() as client:
        async with client.websocket("/ws/lobby?name=ada") as ada:
            assert await ada.receive_json() == {"type": "join", "name": "ada"}
            async with client.websocket("/ws/lobby?name=bob") as bob:
                assert await bob.receive_json() == {"type": "join", "name": "bob"}
                assert await ada.receive_json() == {"type": "join", "name": "bob"}

                await ada.send_text("Hello, Bob!")
                expected = {"type": "message", "name": "ada", "text": "Hello, Bob!"}
                assert await bob.receive_json() == expected
                assert await ada.receive_json() == expected  # everyone sees it, the sender too

                await bob.send_bytes("Hi Ada 👋".encode())
                assert await ada.receive_json() == {"type": "message", "name": "bob", "text": "Hi Ada 👋"}
                assert (await client.get("/rooms")).json() == {"rooms": {"lobby": 2}}
            assert await ada.receive_json() == {"type": "leave", "name": "bob"}
            assert (await client.get("/rooms")).json() == {"rooms": {"lobby": 1}}
        assert (await client.get("/rooms")).json() == {"rooms": {}}


async def test_rooms_are_separate() -> None:
    async with (
        app.test_client() as client,
        client.websocket("/ws/red?name=r") as red,
        client.websocket("/ws/blue?name=b") as blue,
    ):
        assert await red.receive_json() == {"type": "join", "name": "r"}
        assert await blue.receive_json() == {"type": "join", "name": "b"}
        await red.send_text("only for red")
        assert await red.receive_json() == {"type": "message", "name": "r", "text": "only for red"}
        await blue.send_text("only for blue")
        assert await blue.receive_json() == {"type": "message", "name": "b", "text": "only for blue"}
        assert (await client.get("/rooms")).json() == {"rooms": {"blue": 1, "red": 1}}


async def test_blank_messages_are_ignored_and_names_are_cleaned() -> None:
    async with app.test_client() as client, client.websocket("/ws/lobby?name=%20%20") as anon:
        assert await anon.receive_json() == {"type": "join", "name": "anonymous"}
        await anon.send_text("   ")
        await anon.send_text(" trimmed ")
        assert await anon.receive_json() == {"type": "message", "name": "anonymous", "text": "trimmed"}


async def test_an_oversized_message_closes_the_connection() -> None:
    async with app.test_client() as client, client.websocket("/ws/lobby?name=spam") as spammer:
        assert await spammer.receive_json() == {"type": "join", "name": "spam"}
        await spammer.send_text("x" * 5000)
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                await spammer.receive_json()
    assert closed.value.code == 1009
    assert chat.rooms == {}


# -- running it ----------------------------------------------------------------------------------------


@pytest.fixture
def running_example(live_server: LiveServers) -> int:
    """`python examples/chat/app.py`, on a free port (its PORT)."""
    return live_server([sys.executable, str(APP_PATH)], capture_output=True).port


async def test_runs_with_one_command(running_example: int) -> None:
    url = f"ws://127.0.0.1:{running_example}/ws/lobby"
    async with asyncio.timeout(15), websockets.asyncio.client.connect(f"{url}?name=ada") as ada:
        assert json.loads(await ada.recv()) == {"type": "join", "name": "ada"}
        async with websockets.asyncio.client.connect(f"{url}?name=bob") as bob:
            assert json.loads(await bob.recv()) == {"type": "join", "name": "bob"}
            assert json.loads(await ada.recv()) == {"type": "join", "name": "bob"}
            await bob.send("hi")
            expected = {"type": "message", "name": "bob", "text": "hi"}
            assert json.loads(await ada.recv()) == expected
            assert json.loads(await bob.recv()) == expected
