"""Tests for the hello example, through the test client."""

from __future__ import annotations

from hello import app


async def test_index_greets_the_world() -> None:
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Hello World!</h1>" in response.text
    assert 'href="/hello/asyncflask"' in response.text


async def test_index_uses_the_name_argument() -> None:
    async with app.test_client() as client:
        response = await client.get("/", params={"name": "Ada"})
    assert "<h1>Hello Ada!</h1>" in response.text


async def test_greet_returns_json() -> None:
    async with app.test_client() as client:
        response = await client.get("/hello/Bob")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"greeting": "Hello Bob!"}


async def test_slow_view_answers() -> None:
    async with app.test_client() as client:
        response = await client.get("/slow")
    assert response.text == "Done waiting."


async def test_index_escapes_the_name() -> None:
    async with app.test_client() as client:
        response = await client.get("/", params={"name": "<script>x</script>"})
    assert "<h1>Hello &lt;script&gt;x&lt;/script&gt;!</h1>" in response.text
