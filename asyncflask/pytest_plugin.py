"""The pytest plugin: `client` and `runner` fixtures for a project's own `app` fixture.

It registers through the `pytest11` entry point, so it loads in every project where
asyncflask is installed. It therefore defines no autouse fixtures and no `app` fixture of
its own, and nothing happens unless a test asks for `client` or `runner`.
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
    pytest_asyncio = None  # type: ignore[assignment]

_FIXTURES = ("client", "runner")
_MISSING_APP = (
    "The {name!r} fixture of asyncflask needs an 'app' fixture that returns your AsyncFlask"
    " application. Define one in conftest.py, e.g.\n\n"
    "    @pytest.fixture\n"
    "    def app():\n"
    "        return create_app()\n"
)


def _checked(app: Any) -> AsyncFlask:
    __tracebackhide__ = True
    from .app import AsyncFlask

    if not isinstance(app, AsyncFlask):
        raise pytest.UsageError(f"The 'app' fixture must return an AsyncFlask application, not {app!r}.")
    return app


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Explain a missing `app` fixture before pytest's generic "fixture 'app' not found".

    Only tests that use this plugin's own `client` or `runner` are looked at.
    """
    __tracebackhide__ = True
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    if fixtureinfo is None or "app" in fixtureinfo.name2fixturedefs:
        return
    for name in _FIXTURES:
        definitions = fixtureinfo.name2fixturedefs.get(name)
        if definitions and getattr(definitions[-1].func, "__module__", None) == __name__:
            raise pytest.UsageError(_MISSING_APP.format(name=name))


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def client(app: Any) -> AsyncIterator[TestClient]:
        """The app's test client with the lifespan running (needs an `app` fixture)."""
        async with _checked(app).test_client() as test_client:
            yield test_client

else:  # pragma: no cover

    @pytest.fixture
    def client(app: Any) -> Any:
        """Without pytest-asyncio there is no loop to run the client in."""
        raise pytest.UsageError("The 'client' fixture needs pytest-asyncio: pip install pytest-asyncio.")


@pytest.fixture
def runner(app: Any) -> AsyncFlaskCliRunner:
    """A click runner for the app's commands (needs an `app` fixture)."""
    return _checked(app).test_cli_runner()
