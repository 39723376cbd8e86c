from __future__ import annotations

from typing import Any

from flaskr import create_app


def test_config() -> None:
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


async def test_hello(client: Any) -> None:
    response = await client.get("/hello")
    assert response.data == b"Hello, World!"
