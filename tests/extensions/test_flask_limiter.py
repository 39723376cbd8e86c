# mypy: disable-error-code="untyped-decorator,misc,no-untyped-call"
"""Flask-Limiter, unchanged, on an asyncflask app: limits are enforced with a 429 and headers."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("flask_limiter")

from flask_limiter import Limiter

from asyncflask import AsyncFlask, request


def api_key() -> str:
    return request.headers.get("X-Api-Key", "anonymous")


def make_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    limiter = Limiter(
        api_key,
        app=app,  # type: ignore[arg-type]
        default_limits=["3 per minute"],
        storage_uri="memory://",
        headers_enabled=True,
    )

    @app.get("/async")
    async def async_view() -> str:
        return "async"

    @app.get("/sync")
    @limiter.limit("2/minute")
    def sync_view() -> str:
        return "sync"

    @app.get("/free")
    @limiter.exempt
    async def free() -> str:
        return "free"

    @app.get("/json")
    @limiter.limit("1/minute")
    async def json_view() -> dict[str, str]:
        return {"ok": "yes"}

    @app.errorhandler(429)
    async def too_many(error: Exception) -> tuple[dict[str, str], int]:
        if request.path == "/json":
            return {"error": "slow down"}, 429
        return error  # type: ignore[return-value]

    return app


async def test_default_limit_counts_down_then_refuses() -> None:
    app = make_app()
    before = int(time.time())
    async with app.test_client() as client:
        remaining = []
        for _ in range(3):
            response = await client.get("/async")
            assert (response.status_code, response.text) == (200, "async")
            assert response.headers["X-RateLimit-Limit"] == "3"
            remaining.append(response.headers["X-RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]

        refused = await client.get("/async")
        assert refused.status_code == 429
        assert "<title>429 Too Many Requests</title>" in refused.text
        assert refused.headers["X-RateLimit-Limit"] == "3"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["Retry-After"] == "60"
        assert before < int(refused.headers["X-RateLimit-Reset"]) <= before + 61


async def test_route_limit_on_a_sync_view_and_keys_apart() -> None:
    app = make_app()
    async with app.test_client() as client:
        statuses = [(await client.get("/sync")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        # Another key has its own budget.
        other = await client.get("/sync", headers={"X-Api-Key": "other"})
        assert (other.status_code, other.text) == (200, "sync")
        assert other.headers["X-RateLimit-Remaining"] == "1"


async def test_exempt_route_is_never_limited() -> None:
    app = make_app()
    async with app.test_client() as client:
        for _ in range(6):
            response = await client.get("/free")
            assert (response.status_code, response.text) == (200, "free")
            assert "X-RateLimit-Limit" not in response.headers


async def test_app_error_handler_shapes_the_429() -> None:
    app = make_app()
    async with app.test_client() as client:
        assert (await client.get("/json")).json() == {"ok": "yes"}
        refused = await client.get("/json")
        assert refused.status_code == 429
        assert refused.json() == {"error": "slow down"}
        assert refused.headers["X-RateLimit-Limit"] == "1"
        assert refused.headers["Retry-After"] == "60"
