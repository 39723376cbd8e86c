"""The blog in headless Chromium: a comment posted in one page appears live in another."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "tests"))
from browser import find_chromium, launch_chromium

if TYPE_CHECKING:
    from conftest import LiveServers

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
ROOT = Path(__file__).parents[2]
PASSWORD = "long-password"


async def test_comment_appears_live_in_a_second_page(live_server: LiveServers, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    argv = live_server.uvicorn_argv("examples.blog:create_app", ROOT, "--factory", "--lifespan", "on")
    server = live_server(argv, env={"BLOG_INSTANCE_PATH": str(tmp_path / "instance")}, wait=False)
    await asyncio.to_thread(server.wait_listening, 15.0)
    base = server.url
    async with launch_chromium(CHROMIUM) as browser:
        writer = await browser.new_page()
        await writer.navigate(base + "/auth/login?next=/1")
        await writer.evaluate(
            "document.querySelector('[name=username]').value='demo';"
            "document.querySelector('[name=password]').value='demo-password';"
            "document.querySelector('main form').submit()"
        )
        await writer.wait_for("location.pathname === '/1' && !!document.getElementById('comment-form')")
        reader = await browser.new_page(base + "/1")
        await reader.wait_for("document.getElementById('comments').dataset.ready === '1'")
        await writer.wait_for("document.getElementById('comments').dataset.ready === '1'")
        await writer.evaluate(
            "document.querySelector('#comment-form textarea').value='Live from page one';"
            "document.querySelector('#comment-form button').click()"
        )
        text = await reader.wait_for(
            "[...document.querySelectorAll('#comments li')].map(li => li.textContent).join('|')"
            ".includes('Live from page one') && document.getElementById('comments').textContent"
        )
        assert "demo Live from page one" in text


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    """A valid red PNG, built by hand so the test needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def fill(fields: dict[str, str]) -> str:
    sets = "".join(f"document.querySelector('[name={k}]').value={json.dumps(v)};" for k, v in fields.items())
    return sets + "document.querySelector('main form').submit()"


async def test_register_log_in_post_an_image_and_see_it_on_the_index(
    live_server: LiveServers, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    image = tmp_path / "red.png"
    image.write_bytes(tiny_png())
    argv = live_server.uvicorn_argv("examples.blog:create_app", ROOT, "--factory", "--lifespan", "on")
    server = live_server(argv, env={"BLOG_INSTANCE_PATH": str(tmp_path / "instance")}, wait=False)
    await asyncio.to_thread(server.wait_listening, 15.0)
    base = server.url
    async with launch_chromium(CHROMIUM) as browser:
        page = await browser.new_page()
        await page.navigate(base + "/auth/register")
        await page.evaluate(fill({"username": "ivy", "password": PASSWORD, "confirm": PASSWORD}))
        await page.wait_for("location.pathname === '/auth/login' && !!document.querySelector('.flash')")
        await page.evaluate(fill({"username": "ivy", "password": PASSWORD}))
        await page.wait_for(
            "location.pathname === '/' && document.body.textContent.includes('Welcome, ivy.')",
        )
        await page.navigate(base + "/create")
        found = await page.send("Runtime.evaluate", {"expression": "document.querySelector('[name=image]')"})
        await page.send(
            "DOM.setFileInputFiles", {"files": [str(image)], "objectId": found["result"]["objectId"]}
        )
        await page.evaluate(fill({"title": "A red square", "body": "Posted from Chromium."}))
        await page.wait_for("document.body.textContent.includes('Post published.')")
        await page.navigate(base + "/")
        loaded = await page.wait_for(
            "(() => { const img = document.querySelector('.post img');"
            " return img && img.complete && img.naturalWidth; })()"
        )
        assert loaded == 8
        visible = await page.evaluate(
            "(() => { const r = document.querySelector('.post h2').getBoundingClientRect();"
            " return r.width > 0 && r.height > 0 && document.querySelector('.post h2').textContent; })()"
        )
        assert visible == "A red square"
        shot = await page.send("Page.captureScreenshot", {"format": "png"})
        screenshot = tmp_path / "index.png"
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 1000
