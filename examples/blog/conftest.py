"""A real PostgreSQL server for the blog's tests, started on a loopback port for the run.

The blog's tests run on SQLite and, where PostgreSQL and asyncpg are installed, again on
PostgreSQL (``DATABASE_URL=postgresql+asyncpg://…``), each test in a database of its own.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

_databases = itertools.count()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """`host:port` of a throwaway PostgreSQL cluster (trust auth, user `blog`, no fsync)."""
    pytest.importorskip("asyncpg")
    bindir = _server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # PostgreSQL refuses to run as root: the cluster then belongs to the `postgres` user,
    # in a folder that user can reach (pytest's own temp folders are private to root).
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = tempfile.mkdtemp(prefix="asyncflask-pg-")
    os.chmod(root, 0o755)
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    data = os.path.join(root, "data")
    subprocess.run(
        [*as_user, f"{bindir}/initdb", "-D", data, "-U", "blog", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            *as_user,
            f"{bindir}/postgres",
            "-D", data,
            "-h", "127.0.0.1",
            "-p", str(port),
            "-k", root,
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [f"{bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not start (exit code {server.poll()})")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()  # SIGTERM: a "smart" shutdown once clients have gone
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


async def _execute(server: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(f"postgresql://blog@{server}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database, dropped after the test."""
    name = f"blog_{os.getpid()}_{next(_databases)}"
    asyncio.run(_execute(postgres_server, f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://blog@{postgres_server}/{name}"
    finally:
        asyncio.run(_execute(postgres_server, f'DROP DATABASE "{name}" WITH (FORCE)'))
