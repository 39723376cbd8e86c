"""The blog through the test client: every route, bad input and authorisation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asyncflask import AsyncFlask
from asyncflask.testing import TestClient
from examples.blog import create_app

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every test runs on SQLite (the default) and on a real PostgreSQL through asyncpg."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'blog.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> AsyncFlask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SLOW_CALL_SECONDS": 0.2,
            "DATABASE_URL": database_url,
        },
        instance_path=str(tmp_path / "instance"),
    )


@pytest.fixture
async def client(app: AsyncFlask) -> AsyncIterator[TestClient]:
    async with app.test_client() as c:
        yield c


async def csrf(client: TestClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text)
    assert match, response.text
    return match.group(1)


async def register(client: TestClient, name: str, password: str = "long-password") -> None:
    token = await csrf(client, "/auth/register")
    r = await client.post(
        "/auth/register",
        data={"csrf_token": token, "username": name, "password": password, "confirm": password},
    )
    assert r.status_code == 302 and r.headers["location"] == "/auth/login"


async def login(client: TestClient, name: str, password: str = "long-password") -> None:
    token = await csrf(client, "/auth/login")
    r = await client.post("/auth/login", data={"csrf_token": token, "username": name, "password": password})
    assert r.status_code == 302 and r.headers["location"] == "/"


async def new_post(client: TestClient, title: str, image: bytes | None = PNG) -> str:
    token = await csrf(client, "/create")
    files = {"image": ("p.png", image, "image/png")} if image is not None else None
    r = await client.post("/create", data={"csrf_token": token, "title": title, "body": "text"}, files=files)
    assert r.status_code == 302, r.text
    location: str = r.headers["location"]
    return location


async def test_index_shows_the_seeded_demo_posts(client: TestClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert "Hello, async world" in r.text and "by demo" in r.text
    assert (await client.get("/static/style.css")).headers["content-type"].startswith("text/css")


async def test_register_login_post_with_image_and_logout(client: TestClient) -> None:
    await register(client, "alice")
    await login(client, "alice")
    location = await new_post(client, "Mine")
    page = await client.get(location)
    assert page.status_code == 200 and "Post published." in page.text
    src = re.search(r'<img src="(/uploads/[0-9a-f]+\.png)"', page.text)
    assert src
    image = await client.get(src.group(1))
    assert image.status_code == 200 and image.content == PNG and image.headers["etag"]
    assert image.headers["content-type"] == "image/png"
    part = await client.get(src.group(1), headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.content == PNG[:8]
    assert (
        await client.get(src.group(1), headers={"If-None-Match": image.headers["etag"]})
    ).status_code == 304
    assert "Mine" in (await client.get("/")).text
    token = await csrf(client, location)
    r = await client.post("/auth/logout", data={"csrf_token": token})
    assert r.status_code == 302
    assert "Log in" in (await client.get("/")).text


async def test_wrong_or_missing_csrf_token_is_400(client: TestClient) -> None:
    await csrf(client, "/auth/register")
    data = {"username": "bob", "password": "long-password", "confirm": "long-password"}
    assert (await client.post("/auth/register", data={**data, "csrf_token": "forged"})).status_code == 400
    assert (await client.post("/auth/register", data=data)).status_code == 400


async def test_duplicate_username_is_a_form_error(client: TestClient) -> None:
    await register(client, "carol")
    token = await csrf(client, "/auth/register")
    r = await client.post(
        "/auth/register",
        data={
            "csrf_token": token,
            "username": "carol",
            "password": "long-password",
            "confirm": "long-password",
        },
    )
    assert r.status_code == 400
    assert '<span class="error" data-for="username">That username is taken.</span>' in r.text


async def test_bad_login_and_short_password_show_errors(client: TestClient) -> None:
    token = await csrf(client, "/auth/login")
    r = await client.post("/auth/login", data={"csrf_token": token, "username": "demo", "password": "nope"})
    assert r.status_code == 400 and "Wrong username or password." in r.text
    token = await csrf(client, "/auth/register")
    r = await client.post(
        "/auth/register",
        data={"csrf_token": token, "username": "dave", "password": "short", "confirm": "short"},
    )
    assert r.status_code == 400 and 'data-for="password"' in r.text


async def test_non_image_is_refused_with_a_message(client: TestClient) -> None:
    await register(client, "erin")
    await login(client, "erin")
    token = await csrf(client, "/create")
    r = await client.post(
        "/create",
        data={"csrf_token": token, "title": "t", "body": "b"},
        files={"image": ("evil.png", b"<script>alert(1)</script>", "image/png")},
    )
    assert r.status_code == 400
    assert "Only PNG, JPEG, GIF or WebP images can be uploaded." in r.text


async def test_oversized_upload_is_413(app: AsyncFlask, client: TestClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    await register(client, "frank")
    await login(client, "frank")
    token = await csrf(client, "/create")
    r = await client.post(
        "/create",
        data={"csrf_token": token, "title": "t", "body": "b"},
        files={"image": ("big.png", PNG + bytes(4096), "image/png")},
    )
    assert r.status_code == 413


async def test_only_the_author_edits_or_deletes(client: TestClient) -> None:
    await register(client, "gina")
    await register(client, "hank")
    await login(client, "gina")
    location = await new_post(client, "Gina's", image=None)
    post_id = location.rsplit("/", 1)[1]
    await login(client, "hank")
    assert (await client.get(f"/{post_id}/edit")).status_code == 403
    token = await csrf(client, location)
    assert (await client.post(f"/{post_id}/delete", data={"csrf_token": token})).status_code == 403
    await login(client, "gina")
    token = await csrf(client, f"/{post_id}/edit")
    r = await client.post(f"/{post_id}/edit", data={"csrf_token": token, "title": "Edited", "body": "b"})
    assert r.status_code == 302 and "Edited" in (await client.get(location)).text
    r = await client.post(f"/{post_id}/delete", data={"csrf_token": token})
    assert r.status_code == 302
    assert (await client.get(location)).status_code == 404


async def test_anonymous_visitors_are_sent_to_log_in(client: TestClient) -> None:
    r = await client.get("/create")
    assert r.status_code == 302 and r.headers["location"] == "/auth/login?next=/create"
    assert (await client.post("/1/comments")).status_code == 302
    assert (await client.get("/999")).status_code == 404


async def test_comment_is_saved_and_published_to_listeners(app: AsyncFlask, client: TestClient) -> None:
    await login(client, "demo", "demo-password")
    async with app.app_context():
        import asyncio

        from examples.blog.posts import listeners

        queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        listeners(1).add(queue)
    token = await csrf(client, "/1")
    r = await client.post("/1/comments", data={"csrf_token": token, "body": "First!"})
    assert r.status_code == 302
    assert (await queue.get())["body"] == "First!"
    assert "First!" in (await client.get("/1")).text
    assert (await client.post("/1/comments", data={"csrf_token": token, "body": ""})).status_code == 400


async def test_slow_calls_are_awaited_together(client: TestClient) -> None:
    r = await client.get("/slow")
    assert r.status_code == 200 and "weather: ok" in r.text
    elapsed = float(re.search(r"Took ([0-9.]+) s", r.text).group(1))  # type: ignore[union-attr]
    assert 0.2 <= elapsed < 0.5  # three 0.2 s calls overlap


async def test_upload_paths_never_escape(client: TestClient) -> None:
    assert (await client.get("/uploads/..%2F..%2Fblog.sqlite")).status_code == 404
