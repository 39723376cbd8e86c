"""End to end, in a real browser: the example apps served by uvicorn and driven in headless Chromium.

Skipped, with the reason shown, only where Chromium is not installed (CI installs it, so there
these run). The helper in `browser.py` talks to Chromium over the DevTools Protocol.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser import Browser, find_chromium, launch_chromium, serve_app

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServers

CHROMIUM = find_chromium()
if CHROMIUM is None:
    pytest.skip(
        "Chromium is not installed (no `chromium` on the PATH, no /usr/bin/chromium): "
        "`apt-get install chromium` to run the browser tests",
        allow_module_level=True,
    )

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@contextlib.asynccontextmanager
async def serve_and_browse(live_server: LiveServers, app_file: Path) -> AsyncIterator[tuple[str, Browser]]:
    """The example served on a free port, and a fresh browser.

    The browser goes first on the way out: the server then has no open connections (the
    clock's endless stream, the chat's sockets) to wait for while it shuts down.
    """
    assert CHROMIUM is not None
    async with serve_app(live_server, app_file) as base_url, launch_chromium(CHROMIUM) as browser:
        yield base_url, browser


async def test_hello_page_renders_and_its_link_leads_to_the_json_greeting(live_server: LiveServers) -> None:
    async with serve_and_browse(live_server, EXAMPLES / "hello.py") as (base_url, browser):
        page = await browser.new_page(base_url + "/")
        assert await page.evaluate("document.querySelector('h1').textContent") == "Hello World!"

        await page.evaluate("document.querySelector('a[href=\"/hello/asyncflask\"]').click()")
        await page.wait_for("location.pathname === '/hello/asyncflask'", timeout=10)
        await page.wait_for("document.readyState === 'complete'", timeout=10)
        assert await page.evaluate("document.contentType") == "application/json"
        # Chromium shows a JSON document as its raw text in a <pre>.
        body = await page.evaluate("document.querySelector('pre').textContent")
        assert json.loads(body) == {"greeting": "Hello asyncflask!"}

        # The name from the query string is escaped: it shows as text, not as markup.
        await page.navigate(base_url + "/?name=%3Ci%3Ex%3C/i%3E")
        assert await page.evaluate("document.querySelector('h1').textContent") == "Hello <i>x</i>!"
        assert await page.evaluate("document.querySelector('h1 i') === null") is True


async def test_sse_clock_ticks_in_the_browser(live_server: LiveServers) -> None:
    async with serve_and_browse(live_server, EXAMPLES / "sse" / "app.py") as (base_url, browser):
        page = await browser.new_page(base_url + "/")
        tick = "document.getElementById('n').textContent"
        # The first tick comes at once, the next one CLOCK_INTERVAL (1 s) later.
        first = int(await page.wait_for(f"{tick} !== '0' && {tick}", timeout=10))
        second = int(await page.wait_for(f"{tick} !== '0' && {tick} !== '{first}' && {tick}", timeout=10))
        assert second > first >= 1
        assert await page.evaluate("document.getElementById('status').textContent") == "live"
        assert await page.evaluate("document.getElementById('time').textContent") != "--:--:--"


async def test_chat_message_reaches_the_other_tab_as_text(live_server: LiveServers) -> None:
    async with serve_and_browse(live_server, EXAMPLES / "chat" / "app.py") as (base_url, browser):
        room_url = base_url + "/?room=browser-test"
        sender = await browser.new_page(room_url)
        receiver = await browser.new_page(room_url)
        for page in (sender, receiver):
            # Connected (the input is enabled), and in the room: its own "joined" came back.
            await page.wait_for("!document.getElementById('text').disabled", timeout=10)
            await page.wait_for("document.querySelector('#log li.event') !== null", timeout=10)

        message = "hi from A <b>x</b> & more"
        await sender.evaluate(
            f"""(() => {{
                const text = document.getElementById('text');
                text.value = {json.dumps(message)};
                document.getElementById('form').requestSubmit();
            }})()"""
        )
        lines = "[...document.querySelectorAll('#log li:not(.event)')].map((li) => li.textContent)"
        received = await receiver.wait_for(f"{lines}.length > 0 && {lines}", timeout=10)
        assert len(received) == 1 and received[0].endswith(": " + message), received
        # Shown as literal text: the markup was not parsed into an element.
        assert await receiver.evaluate("document.querySelector('#log b') === null") is True
        # The sender sees its own message too, and its input was cleared.
        assert (await sender.wait_for(f"{lines}.length > 0 && {lines}", timeout=10)) == received
        assert await sender.evaluate("document.getElementById('text').value") == ""
