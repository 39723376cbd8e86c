"""The pytest plugin: `client` and `runner` fixtures for a project's own `app` fixture.

It registers through the `pytest11` entry point, so it loads in every project where
asyncflask is installed. It therefore defines no autouse fixtures, and nothing happens
unless a test asks for `client` or `runner` and the project provides an `app` fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .cli import AsyncFlaskCliRunner
    from .testing import TestClient

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
    pytest_asyncio = None


def _require_app(request: pytest.FixtureRequest) -> AsyncFlask:
    from .app import AsyncFlask

    try:
        app = request.getfixturevalue("app")
    except pytest.FixtureLookupError:
        raise pytest.UsageError(
            "The 'client' and 'runner' fixtures of asyncflask need an 'app' fixture that returns"
            " your AsyncFlask application; define one in conftest.py."
        ) from None
    if not isinstance(app, AsyncFlask):
        raise pytest.UsageError(f"The 'app' fixture must return an AsyncFlask application, not {app!r}.")
    return app


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def client(request: pytest.FixtureRequest) -> AsyncIterator[TestClient]:
        """The app's test client with the lifespan running (needs an `app` fixture)."""
        async with _require_app(request).test_client() as test_client:
            yield test_client

else:  # pragma: no cover

    @pytest.fixture
    def client(request: pytest.FixtureRequest) -> Any:
        """Without pytest-asyncio there is no loop to run the client in."""
        raise pytest.UsageError("The 'client' fixture needs pytest-asyncio: pip install pytest-asyncio.")


@pytest.fixture
def runner(request: pytest.FixtureRequest) -> AsyncFlaskCliRunner:
    """A click runner for the app's commands (needs an `app` fixture)."""
    return _require_app(request).test_cli_runner()
