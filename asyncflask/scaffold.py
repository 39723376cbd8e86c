"""What an app and a blueprint share: the registries that route and hook decorators fill.

Decorators only register. Registries are keyed by blueprint name (`None` for the app), so a
blueprint's hooks apply to its own requests and the app's to every request.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from typing import IO, Any, TypeVar

from .exceptions import HTTPException, default_exceptions

F = TypeVar("F", bound=Callable[..., Any])
ExceptionKey = type[BaseException]

__all__ = ["Scaffold", "setupmethod"]


def setupmethod(f: F) -> F:
    """Mark a method that registers something: it refuses to run once serving has started."""
    name = f.__name__

    @functools.wraps(f)
    def wrapper(self: Scaffold, *args: Any, **kwargs: Any) -> Any:
        self._check_setup_finished(name)
        return f(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def registering(
    add: Callable[[Callable[..., Any], str | None], None], name: F | str | None
) -> F | Callable[[F], F]:
    """Support a registering decorator used bare (`@app.template_filter`) or called
    (`@app.template_filter()` / `@app.template_filter("name")`): `name` is then the function."""
    if callable(name):
        add(name, None)
        return name

    def decorator(f: F) -> F:
        add(f, name)
        return f

    return decorator


def get_root_path(import_name: str) -> str:
    """The folder of the module or package named `import_name` (the cwd when unknown)."""
    module = sys.modules.get(import_name)
    filename = getattr(module, "__file__", None) if module is not None else None
    if filename is None:
        try:
            import importlib.util

            spec = importlib.util.find_spec(import_name)
        except (ImportError, ValueError):
            spec = None
        filename = spec.origin if spec is not None and spec.origin not in (None, "namespace") else None
    if filename is None:
        return os.getcwd()
    return os.path.dirname(os.path.abspath(filename))


class Scaffold:
    """Registries and decorators common to `AsyncFlask` and `Blueprint`."""

    name: str

    def __init__(
        self,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        root_path: str | None = None,
    ) -> None:
        self.import_name = import_name
        self.root_path = root_path if root_path is not None else get_root_path(import_name)
        self._static_folder = os.fspath(static_folder) if static_folder is not None else None
        self._static_url_path = static_url_path
        self.template_folder = os.fspath(template_folder) if template_folder is not None else None
        self.view_functions: dict[str, Callable[..., Any]] = {}
        self.before_request_funcs: dict[str | None, list[Callable[..., Any]]] = defaultdict(list)
        self.after_request_funcs: dict[str | None, list[Callable[..., Any]]] = defaultdict(list)
        self.teardown_request_funcs: dict[str | None, list[Callable[..., Any]]] = defaultdict(list)
        self.before_websocket_funcs: dict[str | None, list[Callable[..., Any]]] = defaultdict(list)
        self.after_websocket_funcs: dict[str | None, list[Callable[..., Any]]] = defaultdict(list)
        self.template_context_processors: dict[str | None, list[Callable[..., Any]]] = defaultdict(list)
        self.url_value_preprocessors: dict[str | None, list[Callable[..., Any]]] = defaultdict(list)
        self.url_default_functions: dict[str | None, list[Callable[..., Any]]] = defaultdict(list)
        self.error_handler_spec: dict[
            str | None, dict[int | None, dict[ExceptionKey, Callable[..., Any]]]
        ] = defaultdict(lambda: defaultdict(dict))

    def open_resource(self, resource: str, mode: str = "rb", encoding: str | None = "utf-8") -> IO[Any]:
        """Open a file that ships with the code (relative to `root_path`), for reading.

        Args:
            resource: the path, relative to `root_path`, e.g. `"schema.sql"`.
            mode: `"rb"`, or `"r"`/`"rt"` for text.
            encoding: the text encoding, used in text mode.
        """
        if mode not in ("r", "rt", "rb"):
            raise ValueError(f"Resources can only be opened for reading ('r', 'rt' or 'rb'), not {mode!r}.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    def _check_setup_finished(self, f_name: str) -> None:
        raise NotImplementedError

    @property
    def static_folder(self) -> str | None:
        """The absolute path of the static folder, if any."""
        if self._static_folder is None:
            return None
        return os.path.join(self.root_path, self._static_folder)

    @static_folder.setter
    def static_folder(self, value: str | os.PathLike[str] | None) -> None:
        self._static_folder = os.fspath(value).rstrip("/\\") if value is not None else None

    @property
    def static_url_path(self) -> str | None:
        """The URL prefix of static files (`/<folder name>` by default)."""
        if self._static_url_path is not None:
            return self._static_url_path
        if self._static_folder is not None:
            return "/" + os.path.basename(self._static_folder.rstrip("/\\"))
        return None

    @static_url_path.setter
    def static_url_path(self, value: str | None) -> None:
        self._static_url_path = value.rstrip("/") if value is not None else None

    @functools.cached_property
    def jinja_loader(self) -> Any:
        """A Jinja `FileSystemLoader` for `template_folder`, or None without one."""
        if self.template_folder is None:
            return None
        from jinja2 import FileSystemLoader

        return FileSystemLoader(os.path.join(self.root_path, self.template_folder))

    @property
    def has_static_folder(self) -> bool:
        """Whether a static folder is configured."""
        return self._static_folder is not None

    # -- routes -----------------------------------------------------------------------------------

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Register a rule (see `AsyncFlask.add_url_rule`)."""
        raise NotImplementedError

    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        """Decorator: register the function as the view for `rule`.

        Args:
            rule: the URL rule, e.g. `/user/<int:id>`.
            **options: `methods`, `endpoint`, `defaults`, `strict_slashes`, `host`,
                `subdomain`, `redirect_to`, `provide_automatic_options`.
        """

        def decorator(f: F) -> F:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, f, **options)
            return f

        return decorator

    def _method_route(self, method: str, rule: str, options: dict[str, Any]) -> Callable[[F], F]:
        if "methods" in options:
            raise TypeError(
                f"Use the 'route' decorator to pass 'methods'; '{method.lower()}' sets it to {method}."
            )
        return self.route(rule, methods=[method], **options)

    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        """`route(rule, methods=["GET"])`."""
        return self._method_route("GET", rule, options)

    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        """`route(rule, methods=["POST"])`."""
        return self._method_route("POST", rule, options)

    def put(self, rule: str, **options: Any) -> Callable[[F], F]:
        """`route(rule, methods=["PUT"])`."""
        return self._method_route("PUT", rule, options)

    def patch(self, rule: str, **options: Any) -> Callable[[F], F]:
        """`route(rule, methods=["PATCH"])`."""
        return self._method_route("PATCH", rule, options)

    def delete(self, rule: str, **options: Any) -> Callable[[F], F]:
        """`route(rule, methods=["DELETE"])`."""
        return self._method_route("DELETE", rule, options)

    def websocket(self, rule: str, **options: Any) -> Callable[[F], F]:
        """Decorator: register the function as the websocket handler for `rule`."""
        return self.route(rule, websocket=True, **options)

    @setupmethod
    def endpoint(self, endpoint: str) -> Callable[[F], F]:
        """Decorator: register the function as the view of an endpoint added with `add_url_rule`."""

        def decorator(f: F) -> F:
            self.view_functions[endpoint] = f
            self._invalidate()
            return f

        return decorator

    # -- hooks ------------------------------------------------------------------------------------

    def _invalidate(self) -> None:
        """Forget anything precomputed from the registries (the app overrides this)."""

    def _register(self, registry: dict[str | None, list[Callable[..., Any]]], f: F) -> F:
        registry[None].append(f)
        self._invalidate()
        return f

    @setupmethod
    def before_request(self, f: F) -> F:
        """Run `f()` before each request; a non-None return value becomes the response."""
        return self._register(self.before_request_funcs, f)

    @setupmethod
    def after_request(self, f: F) -> F:
        """Run `f(response)` after each request; it must return a response."""
        return self._register(self.after_request_funcs, f)

    @setupmethod
    def teardown_request(self, f: F) -> F:
        """Run `f(exc)` when a request ends, even after an error (`exc` is that error or None)."""
        return self._register(self.teardown_request_funcs, f)

    @setupmethod
    def before_websocket(self, f: F) -> F:
        """Run `f()` before each websocket handler."""
        return self._register(self.before_websocket_funcs, f)

    @setupmethod
    def after_websocket(self, f: F) -> F:
        """Run `f(response)` after each websocket handler."""
        return self._register(self.after_websocket_funcs, f)

    @setupmethod
    def context_processor(self, f: F) -> F:
        """Register `f()` returning a dict of names added to every template's context."""
        return self._register(self.template_context_processors, f)

    @setupmethod
    def url_value_preprocessor(self, f: F) -> F:
        """Register `f(endpoint, values)` to edit the view arguments before the view runs."""
        return self._register(self.url_value_preprocessors, f)

    @setupmethod
    def url_defaults(self, f: F) -> F:
        """Register `f(endpoint, values)` to fill in values when `url_for` builds a URL."""
        return self._register(self.url_default_functions, f)

    @setupmethod
    def errorhandler(self, code_or_exception: int | ExceptionKey) -> Callable[[F], F]:
        """Decorator: handle an HTTP status code or an exception class with `f(error)`."""

        def decorator(f: F) -> F:
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    @setupmethod
    def register_error_handler(self, code_or_exception: int | ExceptionKey, f: Callable[..., Any]) -> None:
        """Handle an HTTP status code or an exception class with `f(error)`."""
        exc_class, code = self._get_exc_class_and_code(code_or_exception)
        self.error_handler_spec[None][code][exc_class] = f
        self._invalidate()

    @staticmethod
    def _get_exc_class_and_code(code_or_exception: int | ExceptionKey) -> tuple[ExceptionKey, int | None]:
        if isinstance(code_or_exception, int):
            try:
                exc_class: ExceptionKey = default_exceptions[code_or_exception]
            except KeyError:
                raise ValueError(
                    f"'{code_or_exception}' is not a recognized HTTP error code. Use a subclass of"
                    " HTTPException with that code instead."
                ) from None
        elif isinstance(code_or_exception, BaseException):
            raise TypeError(
                f"{code_or_exception!r} is an instance, not a class. Handlers can only be registered"
                " for exception classes or HTTP error codes."
            )
        elif isinstance(code_or_exception, type) and issubclass(code_or_exception, BaseException):
            exc_class = code_or_exception
        else:
            raise TypeError(f"'{code_or_exception!r}' is not a subclass of Exception.")
        if not issubclass(exc_class, Exception):
            raise ValueError(
                f"'{exc_class.__name__}' is not a subclass of Exception. Handlers can only be registered"
                " for Exception classes or HTTP error codes."
            )
        if issubclass(exc_class, HTTPException):
            return exc_class, exc_class.code
        return exc_class, None


def is_async_callable(f: Any) -> bool:
    """Whether calling `f` gives a coroutine (functions, partials and objects with async __call__)."""
    while isinstance(f, functools.partial):
        f = f.func
    return inspect.iscoroutinefunction(f) or (
        callable(f) and not inspect.isfunction(f) and inspect.iscoroutinefunction(type(f).__call__)
    )
