"""Rendering a template synchronously when nothing in it can await.

The app's environment is async (`enable_async=True`), so a template may call async globals
and filters or loop over async iterables. Most templates do neither, and Jinja's async
runtime costs them about a third more than a plain render. So each named template also has
a twin compiled by a sync environment: an overlay of the app's, sharing its loader, filters,
tests, globals and policies (the same dict objects, so registrations made later show in
both). The twin is used when no registered global, filter or test is a coroutine function
and no value in the render's context is awaitable, an async iterable or a coroutine
function; otherwise the async template renders, as before.
"""

from __future__ import annotations

import functools
import inspect
from collections import ChainMap
from collections.abc import AsyncIterable, Awaitable, Mapping
from types import FunctionType, MethodType
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, Environment, Template, TemplateNotFound
from werkzeug.local import LocalProxy

from .globals import ContextProxy

if TYPE_CHECKING:
    from .app import AsyncFlask


class WatchedDict(dict[str, Any]):
    """A dict that counts its changes, so a scan of its values is redone only after one."""

    version = 0

    def _changed(self) -> None:
        self.version += 1

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def setdefault(self, key: str, default: Any = None) -> Any:
        value = super().setdefault(key, default)
        self._changed()
        return value

    def pop(self, key: str, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._changed()
        return value

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()


def watch_registries(env: Environment) -> None:
    """Make the environment's filters, tests and globals count their changes."""
    env.filters = WatchedDict(env.filters)
    env.tests = WatchedDict(env.tests)
    env.globals = WatchedDict(env.globals)


class SyncTwins:
    """The sync overlay of one app's environment, and what it knows about its registries."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.overlay = self._make_overlay()
        self._versions: tuple[int, ...] | None = None
        self._registries_sync = False

    def _make_overlay(self) -> Environment:
        # A cache of its own (Jinja gives an overlay one): sync- and async-compiled templates
        # must never mix.
        return self.env.overlay(enable_async=False, loader=_QuietLoader(self.env.loader))

    def _shares_registries(self) -> bool:
        env, overlay = self.env, self.overlay
        return (
            overlay.filters is env.filters
            and overlay.tests is env.tests
            and overlay.globals is env.globals
            and isinstance(overlay.loader, _QuietLoader)
            and overlay.loader.loader is env.loader
            and overlay.policies is env.policies
            and overlay.autoescape is env.autoescape
            and overlay.extensions.keys() == env.extensions.keys()
        )

    def registries_are_sync(self) -> bool:
        """Whether no global, filter or test is a coroutine function (rescanned after a change)."""
        env = self.env
        if not self._shares_registries():
            # Something was replaced wholesale (`env.globals = {...}`): start over from it.
            if not isinstance(env.globals, WatchedDict):
                watch_registries(env)
            self.overlay = self._make_overlay()
            self._versions = None
        registries = (env.filters, env.tests, env.globals)
        versions = tuple(getattr(registry, "version", -1) for registry in registries)
        if versions != self._versions or -1 in versions:
            self._registries_sync = not any(
                _is_async(value) for registry in registries for value in registry.values()
            )
            self._versions = versions
        return self._registries_sync

    def twin(self, template: Template, context: Mapping[str, Any]) -> Template | None:
        """The sync twin of `template` for this render, or None when it must render async."""
        if template.name is None or template.environment is not self.env:
            return None
        if not self.registries_are_sync() or any(_is_async(value) for value in context.values()):
            return None
        return self.overlay.get_template(template.name)


class _QuietLoader(BaseLoader):
    """The app's loader for the twins: the same sources, without explaining the lookup again."""

    def __init__(self, loader: BaseLoader | None) -> None:
        self.loader = loader

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Any]:
        if self.loader is None:
            raise TemplateNotFound(template)
        quiet = getattr(self.loader, "get_source_quietly", None)
        if quiet is not None:
            return quiet(environment, template)  # type: ignore[no-any-return]
        return self.loader.get_source(environment, template)


def _is_async(value: Any) -> bool:
    # Only `type(value)` is looked at: a context proxy (`session`) must not be resolved here,
    # which could open the session or fail outside a request.
    kind = type(value)
    verdict = _verdicts.get(kind)
    if verdict is not None:
        return verdict
    if kind in _FUNCTION_TYPES:
        return inspect.iscoroutinefunction(value)
    # Everything else is judged by its type alone, so the answer is kept per type: the
    # same few types (str, list, the request, `g`) come with every render.
    verdict = kind not in _PROXY_TYPES and (
        issubclass(kind, (Awaitable, AsyncIterable))
        # A callable object whose `__call__` is async.
        or inspect.iscoroutinefunction(getattr(kind, "__call__", None))  # noqa: B004
    )
    if len(_verdicts) < _MAX_VERDICTS:
        _verdicts[kind] = verdict
    return verdict


_FUNCTION_TYPES = (FunctionType, MethodType, functools.partial)
_verdicts: dict[type, bool] = {}
_MAX_VERDICTS = 1024  # types made on the fly must not grow it without bound
_PROXY_TYPES: tuple[type, ...] = (ContextProxy, LocalProxy)


def render_twin(twin: Template, context: Mapping[str, Any]) -> str:
    """Render a sync twin: what `twin.render(context)` does, with the globals kept flat.

    A template's globals are a ChainMap over the environment's, and Jinja flattens that
    into a new dict on every render; with an app's dozen globals, that is a tenth of a small
    page's time. The flat copy is kept on the template and redone when the environment's
    globals change (their version) or the template's own do.
    """
    globals_map = twin.globals
    # The template's own globals (the ChainMap's first map) are almost always empty.
    own = globals_map.maps[0] if isinstance(globals_map, ChainMap) else globals_map
    version = (getattr(twin.environment.globals, "version", None), tuple(own.items()))
    cached = twin.__dict__.get("_flat_globals")
    if cached is None or cached[0] != version or version[0] is None:
        cached = twin.__dict__["_flat_globals"] = (version, dict(globals_map))
    # `shared=True` takes the dict as the whole context, so it must hold the globals too.
    jinja_context = twin.new_context({**cached[1], **context}, shared=True)
    try:
        return twin.environment.concat(twin.root_render_func(jinja_context))
    except Exception:
        twin.environment.handle_exception()
    raise AssertionError("unreachable: handle_exception always raises")


def sync_twin(app: AsyncFlask, template: Template, context: Mapping[str, Any]) -> Template | None:
    """The sync twin of one of `app`'s templates for this render, if it needs no awaiting."""
    twins: SyncTwins | None = app.__dict__.get("_sync_twins")
    if twins is None or twins.env is not app.jinja_env:
        twins = app.__dict__["_sync_twins"] = SyncTwins(app.jinja_env)
    return twins.twin(template, context)
