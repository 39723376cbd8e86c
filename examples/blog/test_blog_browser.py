"""The blog in headless Chromium: a comment posted in one page appears live in another."""

from __future__ import annotations

import asyncio
import sys
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
