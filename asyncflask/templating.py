"""Jinja2, async: one environment per app, a loader over the app's and blueprints' folders,
and the `render_template` / `stream_template` helpers.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, cast, overload

import jinja2
from jinja2 import BaseLoader, FileSystemLoader, Template, TemplateNotFound, TemplatesNotFound

from . import signals
from .globals import _cv_context, g, request, session
from .scaffold import registering, setupmethod
from .sync_render import render_twin, sync_twin, watch_registries
from .threads import also_sync

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .dispatch import RequestHandler
    from .wrappers import Response

__all__ = [
    "DispatchingLoader",
    "Environment",
    "TemplateNotFound",
    "TemplatingMixin",
    "create_environment",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]

F = TypeVar("F", bound=Callable[..., Any])

_AUTOESCAPE_EXTENSIONS = (".html", ".htm", ".xml", ".xhtml", ".svg")


class Environment(jinja2.Environment):
    """A Jinja2 environment bound to an app; its loader searches the app's template folders.

    Args:
        app: the application.
        **options: Jinja2 `Environment` options (`loader` defaults to a `DispatchingLoader`).
    """

    def __init__(self, app: AsyncFlask, **options: Any) -> None:
        options.setdefault("loader", app.create_global_jinja_loader())
        super().__init__(**options)
        self.app = app


def create_environment(app: AsyncFlask) -> Environment:
    """Create the app's async Jinja2 environment (`app.jinja_env` calls this once).

    Args:
        app: the application.

    Returns:
        An environment with `enable_async=True`, autoescaping chosen by
        `app.select_jinja_autoescape`, and the `url_for`, `get_flashed_messages`, `config`,
        `request`, `session` and `g` globals.
    """
    options = dict(app.jinja_options)
    options.setdefault("autoescape", app.select_jinja_autoescape)
    if "auto_reload" not in options:
        auto_reload = app.config["TEMPLATES_AUTO_RELOAD"]
        options["auto_reload"] = app.debug if auto_reload is None else bool(auto_reload)
    # The helpers render with `render_async` / `generate_async`, which need an async environment.
    options["enable_async"] = True
    env = app.jinja_environment(app, **options)
    from .helpers import get_flashed_messages

    env.globals.update(
        url_for=app.url_for,
        get_flashed_messages=get_flashed_messages,
        config=app.config,
        request=request,
        session=session,
        g=g,
    )
    # Counted, so the sync rendering path knows when to look for async callables again.
    watch_registries(env)
    # Looked up per call, so `tojson` follows a provider replaced after the environment exists.
    env.policies["json.dumps_function"] = lambda obj, **kwargs: app.json.dumps(obj, **kwargs)
    return env


class DispatchingLoader(BaseLoader):
    """Finds templates in the app's `template_folder` first, then in each blueprint's, in
    registration order.

    A blueprint takes part by having `template_folder` and `root_path`, as the app does.
    With `EXPLAIN_TEMPLATE_LOADING` on, every lookup is logged through `app.logger`.

    Args:
        app: the application whose folders are searched.
    """

    def __init__(self, app: AsyncFlask) -> None:
        self.app = app
        self._loaders: dict[str, FileSystemLoader] = {}

    def folders(self) -> list[tuple[str, str]]:
        """`(label, absolute folder)` of the app and each blueprint with templates, in search order."""
        app = self.app
        scaffolds: list[tuple[str, Any]] = [(f"application {app.name!r}", app)]
        scaffolds += [(f"blueprint {name!r}", bp) for name, bp in app.blueprints.items()]
        folders: dict[str, str] = {}
        for label, scaffold in scaffolds:
            folder = getattr(scaffold, "template_folder", None)
            if folder is not None:
                # A blueprint registered twice (or sharing the app's folder) is searched once.
                folders.setdefault(os.path.join(scaffold.root_path, folder), label)
        return [(label, folder) for folder, label in folders.items()]

    def _loader(self, folder: str) -> FileSystemLoader:
        loader = self._loaders.get(folder)
        if loader is None:
            loader = self._loaders[folder] = FileSystemLoader(folder)
        return loader

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        """The source, file name and up-to-date check of `template` (the first folder that has it).

        Raises:
            TemplateNotFound: no folder has it; the message lists the folders searched.
        """
        folders = self.folders()
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template, folders)
        return self.get_source_quietly(environment, template, folders)

    def get_source_quietly(
        self, environment: jinja2.Environment, template: str, folders: list[tuple[str, str]] | None = None
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        """`get_source` without explaining (the sync twin of a template that was just found)."""
        folders = self.folders() if folders is None else folders
        for _, folder in folders:
            try:
                return self._loader(folder).get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template, f"{template!r} was not found. {describe_search(folders)}")

    def _get_source_explained(
        self, environment: jinja2.Environment, template: str, folders: list[tuple[str, str]]
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        lines = [f"Locating template {template!r}:"]
        found: tuple[str, str | None, Callable[[], bool] | None] | None = None
        matches = 0
        for number, (label, folder) in enumerate(folders, 1):
            try:
                source = self._loader(folder).get_source(environment, template)
            except TemplateNotFound:
                outcome = "no match" if os.path.isdir(folder) else "no match (the folder does not exist)"
            else:
                matches += 1
                outcome = "found" if found is None else "found, but shadowed by the first match"
                if found is None:
                    found = source
            lines.append(f"  {number}: {label}: {folder} -> {outcome}")
        if not folders:
            lines.append("  no template folders are configured")
        if found is None:
            lines.append("Error: the template was not found.")
        elif matches > 1:
            lines.append(
                "Warning: several folders have this template; the first one wins. Move blueprint"
                " templates into a subfolder named after the blueprint to keep them apart."
            )
        self.app.logger.info("\n".join(lines))
        if found is None:
            raise TemplateNotFound(template, f"{template!r} was not found. {describe_search(folders)}")
        return found

    def list_templates(self) -> list[str]:
        """Every template name any of the folders provides."""
        names: set[str] = set()
        for _, folder in self.folders():
            names.update(self._loader(folder).list_templates())
        return sorted(names)


def describe_search(folders: Iterable[tuple[str, str]]) -> str:
    """A sentence naming the folders a lookup searched, for `TemplateNotFound` messages."""
    described = [
        f"{folder} ({label}{'' if os.path.isdir(folder) else ', folder does not exist'})"
        for label, folder in folders
    ]
    if not described:
        return "No template folder is configured (template_folder=None everywhere)."
    return "Searched: " + "; ".join(described) + "."


class TemplatingMixin:
    """The template registration methods of `AsyncFlask`, and how its environment is made."""

    #: The class of `app.jinja_env`.
    jinja_environment: ClassVar[type[Environment]] = Environment
    #: Extra options for the Jinja2 environment (set before `app.jinja_env` is first used).
    jinja_options: ClassVar[dict[str, Any]] = {}

    if TYPE_CHECKING:
        # Provided by AsyncFlask and Scaffold.
        template_context_processors: dict[str | None, list[Callable[..., Any]]]
        _handler: RequestHandler

    @property
    def jinja_env(self) -> Environment:
        """The app's Jinja2 environment (async), created on first use."""
        env: Environment | None = self.__dict__.get("_jinja_env")
        if env is None:
            env = self.__dict__["_jinja_env"] = self.create_jinja_environment()
        return env

    def create_jinja_environment(self) -> Environment:
        """Make the app's async Jinja2 environment (`jinja_env` calls it once)."""
        return create_environment(cast("AsyncFlask", self))

    def create_global_jinja_loader(self) -> DispatchingLoader:
        """The loader of `jinja_env`: it searches the app's and then the blueprints' folders."""
        return DispatchingLoader(cast("AsyncFlask", self))

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Whether to autoescape a template: for string templates and .html/.htm/.xml/.xhtml/.svg files.

        Args:
            filename: the template's name (None for `render_template_string`).

        Returns:
            True to autoescape.
        """
        return filename is None or filename.endswith(_AUTOESCAPE_EXTENSIONS)

    async def update_template_context(self, context: dict[str, Any]) -> None:
        """Add `g`, `request`, `session` and the context processors' names to `context`.

        Processors run app first, then the request's blueprints outermost first, so inner ones
        override outer ones; names already in `context` (the caller's) are kept.

        Args:
            context: the template context, updated in place.
        """
        extra: dict[str, Any] = {}
        endpoint: str | None = None
        ctx = _cv_context.get(None)
        if ctx is not None:
            extra["g"] = ctx.g
            if ctx.request is not None:
                extra["request"] = ctx.request
                endpoint = ctx.request.endpoint
            elif ctx.websocket is not None:
                extra["websocket"] = ctx.websocket
                endpoint = ctx.websocket.endpoint
            if ctx.request is not None or ctx.websocket is not None:
                # The proxy opens the session only if the template reads it.
                extra["session"] = session
        # The app's processors, then the endpoint's blueprints from the outside in; sync ones
        # run in a worker thread like every other sync hook.
        for processor in self._handler.chain_for(endpoint).context_processors:
            rv = await processor()
            if not isinstance(rv, Mapping):
                raise TypeError(
                    f"The context processor {getattr(processor, '__name__', processor)!r} returned"
                    f" {type(rv).__name__}; it must return a dict of names for the template."
                )
            extra.update(rv)
        for key, value in extra.items():
            context.setdefault(key, value)

    @overload
    def template_filter(self, name: F) -> F: ...

    @overload
    def template_filter(self, name: str | None = None) -> Callable[[F], F]: ...

    def template_filter(self, name: F | str | None = None) -> F | Callable[[F], F]:
        """Decorator: register a Jinja filter, as `@app.template_filter` or `@app.template_filter("name")`.

        Args:
            name: the filter's name (default: the function's name).

        Returns:
            The function unchanged, or a decorator that registers it.
        """
        return registering(self.add_template_filter, name)

    @setupmethod
    def add_template_filter(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register a Jinja filter.

        Args:
            f: the filter function.
            name: the filter's name (default: the function's name).
        """
        self.jinja_env.filters[name or f.__name__] = f

    @overload
    def template_test(self, name: F) -> F: ...

    @overload
    def template_test(self, name: str | None = None) -> Callable[[F], F]: ...

    def template_test(self, name: F | str | None = None) -> F | Callable[[F], F]:
        """Decorator: register a Jinja test (`{% if x is name %}`), with or without parentheses.

        Args:
            name: the test's name (default: the function's name).

        Returns:
            The function unchanged, or a decorator that registers it.
        """
        return registering(self.add_template_test, name)

    @setupmethod
    def add_template_test(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register a Jinja test.

        Args:
            f: the test function, returning a bool.
            name: the test's name (default: the function's name).
        """
        self.jinja_env.tests[name or f.__name__] = f

    @overload
    def template_global(self, name: F) -> F: ...

    @overload
    def template_global(self, name: str | None = None) -> Callable[[F], F]: ...

    def template_global(self, name: F | str | None = None) -> F | Callable[[F], F]:
        """Decorator: make a function available in every template, with or without parentheses.

        Args:
            name: the global's name (default: the function's name).

        Returns:
            The function unchanged, or a decorator that registers it.
        """
        return registering(self.add_template_global, name)

    @setupmethod
    def add_template_global(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Make a function available in every template; an async function's result is awaited.

        Args:
            f: the function.
            name: the global's name (default: the function's name).
        """
        self.jinja_env.globals[name or f.__name__] = f


# -- rendering --------------------------------------------------------------------------------


def _current_app() -> AsyncFlask:
    ctx = _cv_context.get(None)
    if ctx is None:
        raise RuntimeError(
            "Working outside of application context. Rendering a template needs the app: call it"
            " inside a request or inside 'async with app.app_context():'."
        )
    return ctx.app


def _get_template(app: AsyncFlask, name_or_list: str | Template | Iterable[str | Template]) -> Template:
    env: Environment = app.jinja_env
    if isinstance(name_or_list, (str, Template)):
        return env.get_template(name_or_list)
    names = list(name_or_list)
    try:
        return env.select_template(names)
    except TemplatesNotFound as error:
        if not names:
            raise
        # Jinja's message names the templates; add where they were looked for.
        search = describe_search(env.loader.folders()) if isinstance(env.loader, DispatchingLoader) else ""
        # Only names are left here: a Template object in the list would have been selected.
        searched = [name for name in names if isinstance(name, str)]
        raise TemplatesNotFound(searched, f"{error.message} {search}".strip()) from None


@overload
async def _render(
    app: AsyncFlask, template: Template, context: dict[str, Any], stream: Literal[False] = False
) -> str: ...


@overload
async def _render(
    app: AsyncFlask, template: Template, context: dict[str, Any], stream: Literal[True]
) -> AsyncIterator[str]: ...


async def _render(
    app: AsyncFlask, template: Template, context: dict[str, Any], stream: bool = False
) -> str | AsyncIterator[str]:
    """Render `template`: the one path every render takes, so the `before_render_template` and
    `template_rendered` signals belong here.

    The context processors run now, even for a stream, so their errors become an error
    response instead of breaking a response that has already started.
    """
    await app.update_template_context(context)
    if signals.before_render_template.receivers:
        await signals.send(signals.before_render_template, app, template=template, context=context)
    if not stream:
        twin = sync_twin(app, template, context)
        if twin is not None:
            rendered = render_twin(twin, context)
        else:
            rendered = await template.render_async(context)
        if signals.template_rendered.receivers:
            await signals.send(signals.template_rendered, app, template=template, context=context)
        return rendered

    async def generate() -> AsyncIterator[str]:
        async for chunk in template.generate_async(context):
            if chunk:
                yield chunk
        if signals.template_rendered.receivers:
            await signals.send(signals.template_rendered, app, template=template, context=context)

    return generate()


@also_sync
async def render_template(
    template_name_or_list: str | Template | Iterable[str | Template], **context: Any
) -> str:
    """Render a template from the template folders with the given context.

    Args:
        template_name_or_list: a template name, or a list of names (the first that exists is used).
        **context: the names available in the template.

    Returns:
        The rendered text.

    Raises:
        TemplateNotFound: no folder has the template (the message lists the folders searched).
    """
    app = _current_app()
    return await _render(app, _get_template(app, template_name_or_list), context)


@also_sync
async def render_template_string(source: str, **context: Any) -> str:
    """Render a template given as a string (autoescaped) with the given context.

    Args:
        source: the template's source.
        **context: the names available in the template.

    Returns:
        The rendered text.
    """
    app = _current_app()
    return await _render(app, app.jinja_env.from_string(source), context)


@also_sync
async def stream_template(
    template_name_or_list: str | Template | Iterable[str | Template], **context: Any
) -> Response:
    """A response that sends a template as it renders, chunk by chunk.

    The request context stays available while it streams, as long as the response is sent
    by the request that made it (return it from the view).

    Args:
        template_name_or_list: a template name, or a list of names (the first that exists is used).
        **context: the names available in the template.

    Returns:
        A streamed `text/html` response.
    """
    app = _current_app()
    chunks = await _render(app, _get_template(app, template_name_or_list), context, stream=True)
    return app.response_class(chunks)


@also_sync
async def stream_template_string(source: str, **context: Any) -> Response:
    """A response that sends a string template as it renders, chunk by chunk.

    Args:
        source: the template's source.
        **context: the names available in the template.

    Returns:
        A streamed `text/html` response.
    """
    app = _current_app()
    chunks = await _render(app, app.jinja_env.from_string(source), context, stream=True)
    return app.response_class(chunks)


@also_sync
async def get_template_attribute(template_name: str, attribute: str) -> Any:
    """A macro or variable a template defines, to call or read from Python code.

    The environment is async, so a macro returned here is awaited when called:
    `hello = await get_template_attribute("_macros.html", "hello")`, then `await hello("World")`.

    Args:
        template_name: the template's name.
        attribute: the name of the macro or variable it exports.
    """
    module = await _current_app().jinja_env.get_template(template_name).make_module_async()
    return getattr(module, attribute)
