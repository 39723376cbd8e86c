# mypy: disable-error-code="untyped-decorator,misc"
"""Flask-Caching, unchanged, on an asyncflask app: `cached` and `memoize` really cache."""

from __future__ import annotations

import pytest

pytest.importorskip("flask_caching")

from flask_caching import Cache

from asyncflask import AsyncFlask


def make_app() -> tuple[AsyncFlask, Cache, dict[str, int]]:
    app = AsyncFlask(__name__)
    cache = Cache(app, config={"CACHE_TYPE": "SimpleCache"})  # type: ignore[arg-type]
    calls = {"async": 0, "sync": 0, "memo": 0}

    @app.get("/async")
    @cache.cached(timeout=60)
    async def cached_async() -> str:
        calls["async"] += 1
        return f"async {calls['async']}"

    @app.get("/sync")
    @cache.cached(timeout=60, query_string=True)
    def cached_sync() -> str:
        calls["sync"] += 1
        return f"sync {calls['sync']}"

    @cache.memoize(timeout=60)
    def square(n: int) -> int:
        calls["memo"] += 1
        return n * n

    @app.get("/square/<int:n>")
    async def square_view(n: int) -> str:
        return str(square(n))

    return app, cache, calls


async def test_cached_views_run_once() -> None:
    app, cache, calls = make_app()
    async with app.test_client() as client:
        first = await client.get("/async")
        second = await client.get("/async")
        assert (first.text, second.text) == ("async 1", "async 1")
        assert (await client.get("/sync?a=1")).text == "sync 1"
        assert (await client.get("/sync?a=1")).text == "sync 1"
        assert (await client.get("/sync?a=2")).text == "sync 2"
        async with app.app_context():
            cache.clear()
        assert (await client.get("/async")).text == "async 2"
    assert calls["async"] == 2


async def test_memoize() -> None:
    app, _, calls = make_app()
    async with app.test_client() as client:
        for _ in range(3):
            assert (await client.get("/square/7")).text == "49"
        assert (await client.get("/square/8")).text == "64"
    assert calls["memo"] == 2
