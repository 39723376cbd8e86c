"""A tiny headless-Chromium driver for end-to-end tests, over the Chrome DevTools Protocol.

No browser automation library: Chromium is started as a subprocess with a throwaway profile, and
its DevTools websocket is driven with `websockets`. One browser-level connection carries every
page, each attached with `flatten: true` so its commands and events are routed by `sessionId`.

Every wait is bounded, and the browser, its profile and any example app started here are
always cleaned up, whatever happens in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import websockets.asyncio.client
from websockets.exceptions import ConnectionClosed, WebSocketException

if TYPE_CHECKING:  # the root conftest.py, shared through its `live_server` fixture
    from conftest import LiveServers

__all__ = [
    "Browser",
    "CDPError",
    "JavaScriptError",
    "Page",
    "find_chromium",
    "launch_chromium",
    "serve_app",
]

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-crash-reporter",
    # Several pages are driven at once: none of them may be throttled as a background tab.
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)

DEVTOOLS_LINE = re.compile(r"DevTools listening on (ws://\S+)")

# How long one DevTools command may take before the test fails.
COMMAND_TIMEOUT = 10.0


class CDPError(Exception):
    """A DevTools command failed, timed out, or the connection to the browser was lost."""


class JavaScriptError(CDPError):
    """The evaluated expression threw (or its promise rejected)."""


def find_chromium() -> str | None:
    """The Chromium executable: `chromium` on the PATH, else Debian's `/usr/bin/chromium`."""
    found = shutil.which("chromium")
    if found is not None:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _tail(path: Path, limit: int = 2000) -> str:
    """The end of a log file, for failure messages."""
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


async def _wait_exited(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait (without blocking the event loop) for `process` to exit; whether it did."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _stop(process: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """Stop `process` and everything in its process group (it leads one), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    if not await _wait_exited(process, grace):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await _wait_exited(process, 10)
    # Stragglers of the group (Chromium's helper processes) go too, the leader is already gone.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)


class _Connection:
    """The browser's DevTools websocket: numbered commands, their answers, and events."""

    def __init__(self, devtools: websockets.asyncio.client.ClientConnection) -> None:
        self._socket = devtools
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        # (sessionId, method) -> futures waiting for the next such event.
        self._waiters: dict[tuple[str | None, str], list[asyncio.Future[dict[str, Any]]]] = {}
        self._closed: CDPError | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self._socket:
                message = json.loads(raw)
                if "id" in message:
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                    continue
                key = (message.get("sessionId"), message.get("method", ""))
                for waiter in self._waiters.pop(key, []):
                    if not waiter.done():
                        waiter.set_result(message.get("params", {}))
        except ConnectionClosed:
            pass
        finally:
            self._closed = CDPError("the connection to the browser was closed")
            for future in [*self._pending.values(), *(w for ws in self._waiters.values() for w in ws)]:
                if not future.done():
                    future.set_exception(self._closed)
            self._pending.clear()
            self._waiters.clear()

    def expect(self, method: str, session_id: str | None = None) -> asyncio.Future[dict[str, Any]]:
        """A future for the next `method` event (register it *before* causing the event)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self._closed is not None:
            future.set_exception(self._closed)
        else:
            self._waiters.setdefault((session_id, method), []).append(future)
        return future

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> dict[str, Any]:
        """Run one command and return its result, raising `CDPError` if it fails."""
        if self._closed is not None:
            raise self._closed
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id is not None:
            command["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        try:
            await self._socket.send(json.dumps(command))
            answer = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise CDPError(f"{method} got no answer within {timeout} s") from None
        except ConnectionClosed as exc:
            raise CDPError(f"the connection to the browser was lost during {method}") from exc
        finally:
            self._pending.pop(command["id"], None)
        if "error" in answer:
            raise CDPError(f"{method} failed: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def close(self) -> None:
        await self._socket.close()
        try:
            await asyncio.wait_for(self._reader, 5)
        except asyncio.TimeoutError:  # pragma: no cover - the close handshake is bounded itself
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


class Page:
    """One tab, attached to the browser connection with its own session."""

    def __init__(self, connection: _Connection, target_id: str, session_id: str) -> None:
        self._connection = connection
        self.target_id = target_id
        self.session_id = session_id

    async def send(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> dict[str, Any]:
        """Run a DevTools command in this page's session."""
        return await self._connection.send(method, params, self.session_id, timeout)

    def expect(self, method: str) -> asyncio.Future[dict[str, Any]]:
        """A future for this page's next `method` event, e.g. `Page.loadEventFired`."""
        return self._connection.expect(method, self.session_id)

    async def navigate(self, url: str, timeout: float = COMMAND_TIMEOUT) -> None:
        """Load `url` and wait until the new document has finished loading.

        A `load` event may still be pending from the previous navigation (a form submit, say),
        so the old document is marked first and the wait is for a complete, unmarked one.
        """
        # Polled: if a navigation is under way, evaluating in the old document can fail.
        await self.wait_for("window.__replacedByNavigation = true", timeout)
        result = await self.send("Page.navigate", {"url": url}, timeout)
        if result.get("errorText"):
            raise CDPError(f"navigating to {url} failed: {result['errorText']}")
        try:
            await self.wait_for(
                "!window.__replacedByNavigation && document.readyState === 'complete'", timeout
            )
        except CDPError:
            raise CDPError(f"{url} did not finish loading within {timeout} s") from None

    async def evaluate(self, expression: str, timeout: float = COMMAND_TIMEOUT) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout,
        )
        details = result.get("exceptionDetails")
        if details is not None:
            thrown = details.get("exception", {})
            description = thrown.get("description") or thrown.get("value") or details.get("text")
            raise JavaScriptError(f"{expression!r} threw: {description}")
        return result.get("result", {}).get("value")

    async def wait_for(self, condition: str, timeout: float = COMMAND_TIMEOUT, interval: float = 0.05) -> Any:
        """Poll a JavaScript expression until it is truthy, and return that value.

        An expression that throws counts as "not yet" (the element may not exist yet, or a
        navigation may be replacing the document); the last error is reported on timeout.
        """
        deadline = time.monotonic() + timeout
        last: str = "it stayed falsy"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CDPError(f"timed out after {timeout} s waiting for {condition!r}: {last}")
            try:
                value = await self.evaluate(condition, timeout=remaining)
            except CDPError as exc:
                last = str(exc)
            else:
                if value:
                    return value
                last = f"its last value was {value!r}"
            await asyncio.sleep(interval)


class Browser:
    """A running headless Chromium, driven over one DevTools connection."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def new_page(self, url: str = "about:blank") -> Page:
        """Open a new tab, attached and ready for commands; navigate it if `url` is given."""
        created = await self._connection.send("Target.createTarget", {"url": "about:blank"})
        target_id: str = created["targetId"]
        attached = await self._connection.send(
            "Target.attachToTarget", {"targetId": target_id, "flatten": True}
        )
        page = Page(self._connection, target_id, attached["sessionId"])
        await page.send("Page.enable")
        if url != "about:blank":
            await page.navigate(url)
        return page

    async def close_page(self, page: Page) -> None:
        await self._connection.send("Target.closeTarget", {"targetId": page.target_id})


@contextlib.asynccontextmanager
async def launch_chromium(executable: str, timeout: float = 20.0) -> AsyncIterator[Browser]:
    """Start headless Chromium with a throwaway profile; always stop it and delete the profile."""
    with tempfile.TemporaryDirectory(prefix="asyncflask-chromium-", ignore_cleanup_errors=True) as tmp:
        profile = Path(tmp, "profile")
        log_path = Path(tmp, "chromium.log")
        # The log goes to a file, not a pipe: nobody has to keep reading it for Chromium to go on.
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: its helpers are stopped with it
            )
        try:
            url = await _devtools_url(process, log_path, timeout)
            try:
                devtools = await asyncio.wait_for(
                    websockets.asyncio.client.connect(
                        url,
                        max_size=64 * 1024 * 1024,
                        compression=None,
                        open_timeout=None,
                        ping_interval=None,
                    ),
                    timeout,
                )
            except (OSError, asyncio.TimeoutError, WebSocketException) as exc:
                raise CDPError(f"could not connect to Chromium's DevTools at {url}: {exc!r}") from exc
            connection = _Connection(devtools)
            try:
                yield Browser(connection)
            finally:
                with contextlib.suppress(CDPError):
                    await connection.send("Browser.close", timeout=3)
                await connection.close()
        finally:
            await _stop(process)


async def _devtools_url(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> str:
    """The DevTools websocket URL, from the `DevTools listening on ws://...` line Chromium logs."""
    deadline = time.monotonic() + timeout
    while True:
        found = DEVTOOLS_LINE.search(_tail(log_path, 1_000_000))
        if found is not None:
            return found.group(1)
        if process.poll() is not None:
            raise CDPError(f"Chromium exited with {process.returncode}:\n{_tail(log_path)}")
        if time.monotonic() >= deadline:
            raise CDPError(f"Chromium did not open DevTools within {timeout} s:\n{_tail(log_path)}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def serve_app(live_server: LiveServers, app_file: Path, timeout: float = 15.0) -> AsyncIterator[str]:
    """Serve the `app` in `app_file` with uvicorn on 127.0.0.1 and a free port; yield its base URL.

    Started by the `live_server` fixture (the root conftest.py), which also stops it at the end of
    the test if this does not; ready once it listens (with `--lifespan on`, after its start-up).
    """
    argv = live_server.uvicorn_argv(
        f"{app_file.stem}:app", app_file.parent, "--lifespan", "on", "--log-level", "warning"
    )
    server = live_server(argv, timeout=timeout, capture_output=True, wait=False)
    try:
        # The fixture's waiting and stopping block: in a thread, so the event loop goes on.
        await asyncio.to_thread(server.wait_listening, timeout)
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)
