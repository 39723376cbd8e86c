"""Shared setup for `tests/` and `examples/`: the `live_server` fixture, real servers in subprocesses.

A test that needs a real server (uvicorn, or an example's `python app.py`) asks for `live_server`
and calls it with the command line; the fixture picks a free port on 127.0.0.1, starts the
command in its own process group, waits until the port accepts connections, and stops every
process it started when the test is over::

    def test_served(live_server: LiveServers, tmp_path: Path) -> None:
        server = live_server(live_server.uvicorn_argv("my_app:app", tmp_path))
        assert httpx.get(server.url).status_code == 200

Test modules cannot import this file (`tests/conftest.py` is a `conftest` module too), so the
fixture is the way to share it; type annotations import it under `TYPE_CHECKING` only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

__all__ = ["LiveServer", "LiveServers", "free_port", "live_server"]

HOST = "127.0.0.1"
PORT_PLACEHOLDER = "{port}"

# How long a stopped server has between SIGTERM and SIGKILL.
STOP_GRACE = 5.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _read(path: Path | None) -> str:
    """The text captured in `path` so far ("" when nothing is captured)."""
    if path is None:
        return ""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


class LiveServer:
    """One server process, started by the `live_server` fixture.

    Its output goes to files (never to pipes, which a server could fill and block on), so it can
    be read at any time, while the server runs as well as after it exited.
    """

    def __init__(
        self, argv: list[str], port: int, process: subprocess.Popen[bytes], logs: tuple[Path, Path] | None
    ) -> None:
        self.argv = argv
        self.port = port
        self.process = process
        self._logs = logs
        self._terminated = False
        self._stopped = False

    def __repr__(self) -> str:
        return f"<LiveServer {self.url} pid={self.process.pid} returncode={self.process.returncode}>"

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    def stdout(self) -> str:
        """What the server wrote to its stdout so far ("" unless started with `capture_output`)."""
        return _read(self._logs[0] if self._logs else None)

    def stderr(self) -> str:
        """What the server wrote to its stderr so far ("" unless started with `capture_output`)."""
        return _read(self._logs[1] if self._logs else None)

    def describe_exit(self) -> str:
        """For failure messages: its exit code, and its output if captured."""
        message = f"{self.argv!r} exited with {self.process.returncode}"
        if self._logs is not None:
            message += f"\n--- stdout ---\n{self.stdout()[-4000:]}\n--- stderr ---\n{self.stderr()[-4000:]}"
        return message

    def wait_listening(self, timeout: float = 15.0) -> None:
        """Wait until the port accepts TCP connections; fail the test if it exits or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited before listening on port {self.port}: {self.describe_exit()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.1):
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                output = f"\n--- stderr so far ---\n{self.stderr()[-4000:]}" if self._logs else ""
                pytest.fail(f"{self.argv!r} did not listen on port {self.port} within {timeout} s{output}")
            time.sleep(0.05)

    def wait_exit(self, timeout: float) -> tuple[int, str, str]:
        """Wait for the server to exit on its own: `(exit code, stdout, stderr)`.

        Raises `subprocess.TimeoutExpired` if it is still running after `timeout` seconds (it is
        then stopped at the end of the test, like any other).
        """
        code = self.process.wait(timeout=timeout)
        return code, self.stdout(), self.stderr()

    def terminate(self) -> None:
        """Send SIGTERM to its whole process group (nothing if the group is gone already)."""
        self._terminated = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, grace: float = STOP_GRACE) -> int:
        """Stop it and its process group: SIGTERM, SIGKILL after `grace` seconds; return its exit code.

        Bounded in time, and idempotent: once stopped, calling it again only returns the exit code.
        """
        if self._stopped:
            return self.process.returncode
        if self.process.poll() is None:
            if not self._terminated:
                self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Whatever the leader left behind in its group goes too (it is gone, the group id is not reused
        # while a member is alive).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._stopped = True
        return self.process.returncode


class LiveServers:
    """The `live_server` fixture: call it to start a server; all of them are stopped after the test."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self.started: list[LiveServer] = []

    @staticmethod
    def uvicorn_argv(app: str, app_dir: Path | str, *options: str) -> list[str]:
        """`python -m uvicorn APP --app-dir APP_DIR --host 127.0.0.1 --port {port} OPTIONS...`."""
        command = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir)]
        return [*command, "--host", HOST, "--port", PORT_PLACEHOLDER, *options]

    def __call__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 15.0,
        capture_output: bool = False,
        wait: bool = True,
    ) -> LiveServer:
        """Start `argv` on a free port and (unless `wait=False`) wait until it listens.

        Args:
            argv: the command; `{port}` in any argument is replaced by the port, which is also in
                the environment as `PORT` (for `python app.py` that reads it).
            env: variables added to (or replacing some of) this process's environment.
            timeout: how long it may take to listen before the test fails.
            capture_output: keep its stdout and stderr, for `LiveServer.stdout()`/`stderr()`,
                `wait_exit()` and failure messages (otherwise they are discarded).
            wait: `False` returns at once: for a server expected to exit (`wait_exit`), or one
                waited for otherwise (`wait_listening`).
        """
        port = free_port()
        command = [arg.replace(PORT_PLACEHOLDER, str(port)) for arg in argv]
        environment = {**os.environ, **(env or {}), "PORT": str(port)}
        logs: tuple[Path, Path] | None = None
        if capture_output:
            number = len(self.started) + 1
            logs = (self._log_dir / f"server-{number}.stdout", self._log_dir / f"server-{number}.stderr")
            with logs[0].open("wb") as stdout, logs[1].open("wb") as stderr:
                process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=environment,
                    start_new_session=True,
                )  # fmt: skip
        else:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=environment, start_new_session=True,
            )  # fmt: skip
        server = LiveServer(command, port, process, logs)
        self.started.append(server)
        if wait:
            server.wait_listening(timeout)
        return server

    def stop_all(self, grace: float = STOP_GRACE) -> None:
        """Stop every server started: all are sent SIGTERM first, so their grace periods overlap."""
        for server in self.started:
            if server.process.poll() is None:
                server.terminate()
        deadline = time.monotonic() + grace
        errors: list[BaseException] = []
        for server in self.started:
            try:
                server.stop(grace=max(0.0, deadline - time.monotonic()))
            except Exception as exc:  # stop the others all the same
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServers]:
    """Start real servers on free ports: `live_server(argv, ...)` (see `LiveServers.__call__`).

    Every process started is stopped at the end of the test (SIGTERM to its process group, then
    SIGKILL), whatever happened.
    """
    servers = LiveServers(tmp_path_factory.mktemp("live-server"))
    try:
        yield servers
    finally:
        servers.stop_all()
