"""Shared test setup: fail any test that leaves an app or request context pushed.

pytest-asyncio runs each async test in its own copy of the context (and each async fixture
in another), so a fixture cannot see what the test left behind. The check therefore runs at
the end of the test itself: async tests are wrapped before pytest-asyncio runs them, sync
tests are checked right after they return.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from asyncflask.globals import _cv_context

if TYPE_CHECKING:
    from asyncflask.ctx import AppContext


def _unbind_leaked() -> AppContext | None:
    """Unbind whatever is still pushed (without its teardown), so the next test starts clean."""
    leaked = _cv_context.get(None)
    while (current := _cv_context.get(None)) is not None and current._tokens:
        _cv_context.reset(current._tokens.pop())
    return leaked


def _fail_on_leaked_context(nodeid: str) -> None:
    leaked = _unbind_leaked()
    if leaked is not None:
        pytest.fail(f"{nodeid} left a context pushed: {leaked!r}", pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """The leak detector (Flask's `leak_detector`, done where the test's context is visible)."""
    if not isinstance(item, pytest.Function):
        return (yield)
    original = item.obj
    if not inspect.iscoroutinefunction(original):
        try:
            yield
        except BaseException:
            _unbind_leaked()  # the test's own failure is the one to report
            raise
        _fail_on_leaked_context(item.nodeid)
        return None

    @functools.wraps(original)
    async def checked(*args: Any, **kwargs: Any) -> Any:
        # Only the test's own context is cleaned here; pytest-asyncio discards it afterwards.
        result = await original(*args, **kwargs)
        _fail_on_leaked_context(item.nodeid)
        return result

    item.obj = checked
    try:
        return (yield)
    finally:
        item.obj = original
