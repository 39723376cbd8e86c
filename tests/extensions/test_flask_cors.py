# mypy: disable-error-code="untyped-decorator"
"""Flask-CORS, unchanged, on an asyncflask app."""

from __future__ import annotations

import pytest

pytest.importorskip("flask_cors")

from flask_cors import CORS, cross_origin

from asyncflask import AsyncFlask, abort

ORIGIN = "https://app.example"


def make_app() -> AsyncFlask:
    app = AsyncFlask(__name__)
    # Flask-CORS is typed for Flask's app class; at run time it takes any app with its methods.
    CORS(app, resources={r"/api/*": {"origins": ORIGIN, "expose_headers": ["X-Total"]}})  # type: ignore[arg-type]

    @app.get("/api/items")
    async def items() -> tuple[dict[str, int], dict[str, str]]:
        return {"count": 2}, {"X-Total": "2"}

    @app.get("/api/missing")
    async def missing() -> str:
        abort(404)

    @app.get("/api/boom")
    async def boom() -> str:
        raise ValueError("boom")

    @app.get("/private")
    async def private() -> str:
        return "no cors here"

    @app.route("/open", methods=["GET", "POST"])
    @cross_origin(origins="*")
    def open_view() -> str:
        return "open to all"

    return app


async def test_simple_request_from_an_allowed_origin() -> None:
    async with make_app().test_client() as client:
        response = await client.get("/api/items", headers={"Origin": ORIGIN})
    assert (response.status_code, response.json()) == (200, {"count": 2})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-expose-headers"] == "X-Total"
    assert response.headers["x-total"] == "2"


async def test_other_origins_and_other_paths_get_no_cors_headers() -> None:
    async with make_app().test_client() as client:
        stranger = await client.get("/api/items", headers={"Origin": "https://evil.example"})
        private = await client.get("/private", headers={"Origin": ORIGIN})
    assert stranger.status_code == 200 and "access-control-allow-origin" not in stranger.headers
    assert private.status_code == 200 and "access-control-allow-origin" not in private.headers


async def test_preflight() -> None:
    async with make_app().test_client() as client:
        response = await client.options(
            "/api/items",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "GET" in response.headers["access-control-allow-methods"].split(", ")


async def test_errors_get_cors_headers_too() -> None:
    app = make_app()
    async with app.test_client() as client:
        missing = await client.get("/api/missing", headers={"Origin": ORIGIN})
        boom = await client.get("/api/boom", headers={"Origin": ORIGIN})
        after = await client.get("/api/items", headers={"Origin": ORIGIN})
    assert (missing.status_code, missing.headers["access-control-allow-origin"]) == (404, ORIGIN)
    assert (boom.status_code, boom.headers["access-control-allow-origin"]) == (500, ORIGIN)
    assert after.status_code == 200


async def test_cross_origin_decorator() -> None:
    async with make_app().test_client() as client:
        response = await client.get("/open", headers={"Origin": "https://anyone.example"})
        preflight = await client.options(
            "/open", headers={"Origin": "https://anyone.example", "Access-Control-Request-Method": "POST"}
        )
    # As on Flask: "*" is answered with the request's origin, and Vary says so.
    assert (response.status_code, response.text) == (200, "open to all")
    assert response.headers["access-control-allow-origin"] == "https://anyone.example"
    assert response.headers["vary"] == "Origin"
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://anyone.example"
