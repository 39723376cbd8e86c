"""The application: configuration, registration, and the ASGI entry point."""

from __future__ import annotations

import inspect
import logging
import os
import sys
from collections.abc import AsyncGenerator, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send
from werkzeug.datastructures import ImmutableDict

from .app_methods import AppMethods
from .config import DEFAULT_CONFIG, Config, ConfigAttribute, get_debug_flag
from .ctx import AppContext, _AppCtxGlobals
from .dispatch import RequestHandler, ensure_async
from .globals import _cv_context
from .instance import InstanceMixin
from .json import DefaultJSONProvider, JSONProvider
from .routing import BuildError, Map, Rule
from .scaffold import Scaffold, is_async_callable, setupmethod
from .sessions import SecureCookieSessionInterface, SessionInterface
from .shutdown import ShutdownNotice
from .templating import TemplatingMixin
from .testing import TestClient, make_test_scope
from .wrappers import Request, Response

if TYPE_CHECKING:
    from .blueprints import Blueprint
    from .cli import AppGroup, AsyncFlaskCliRunner

__all__ = ["AsyncFlask"]

F = Callable[..., Any]


class AsyncFlask(AppMethods, InstanceMixin, TemplatingMixin, Scaffold):
    """An async Flask application; an ASGI 3 callable.

    Args:
        import_name: the name of the app's module, usually `__name__`.
        static_url_path: the URL prefix of static files (default: `/static`).
        static_folder: the folder of static files, relative to `root_path`.
        static_host: the host that serves static files when `host_matching` is on.
        host_matching: match rules on the Host header too.
        subdomain_matching: match rule subdomains relative to `SERVER_NAME`.
        template_folder: the folder of templates, relative to `root_path`.
        instance_path: the instance folder (default: Flask's rule, see `auto_find_instance_path`).
        instance_relative_config: load relative config files from the instance folder.
        root_path: the app's folder (found from `import_name` by default).
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    app_ctx_globals_class: type[_AppCtxGlobals] = _AppCtxGlobals
    config_class: type[Config] = Config
    test_client_class: type[TestClient] = TestClient
    test_cli_runner_class: type[AsyncFlaskCliRunner] | None = None
    url_map_class: type[Map] = Map
    url_rule_class: type[Rule] = Rule
    #: The config every app starts from (`make_config` copies it).
    default_config = ImmutableDict(DEFAULT_CONFIG)
    #: Shared by every app of the class, as in Flask; assign one per app to change it.
    session_interface: SessionInterface = SecureCookieSessionInterface()

    testing = ConfigAttribute[bool]("TESTING")
    secret_key = ConfigAttribute[Any]("SECRET_KEY")
    permanent_session_lifetime = ConfigAttribute[timedelta](
        "PERMANENT_SESSION_LIFETIME",
        get_converter=lambda v: v if isinstance(v, timedelta) else timedelta(seconds=v),
    )

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(import_name, static_folder, static_url_path, template_folder, root_path)
        if instance_path is not None and not os.path.isabs(instance_path):
            raise ValueError("The instance_path must be an absolute path.")
        self.instance_path = instance_path or self.auto_find_instance_path()
        self.config = self.make_config(instance_relative_config)
        self.json: JSONProvider = self.json_provider_class(self)
        self.aborter = self.make_aborter()
        self.url_map = self.url_map_class(host_matching=host_matching, subdomain_matching=subdomain_matching)
        self.extensions: dict[str, Any] = {}
        self.blueprints: dict[str, Blueprint] = {}
        self.teardown_appcontext_funcs: list[F] = []
        self.before_serving_funcs: list[F] = []
        self.after_serving_funcs: list[F] = []
        self.while_serving_gens: list[Callable[[], AsyncGenerator[Any, None]]] = []
        self.url_build_error_handlers: list[F] = []
        self.shell_context_processors: list[F] = []
        self._got_first_request = False
        self._middleware_stack: ASGIApp | None = None
        self._handler = RequestHandler(self)
        self._serving_gens: list[AsyncGenerator[Any, None]] = []
        #: Set when the server begins to shut down: `await app.shutting_down`.
        self.shutting_down = ShutdownNotice()
        self._logger: logging.Logger | None = None
        self._cli: AppGroup | None = None
        self.static_host = static_host
        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise ValueError(
                    "Set 'static_host' exactly when 'host_matching' is on, so static files can be matched."
                )
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=self.send_static_file,
            )

    # -- identity, config ---------------------------------------------------------------------

    @property
    def name(self) -> str:  # type: ignore[override]
        """The app's name: the import name, or the script's name when run as `__main__`."""
        if self.import_name == "__main__":
            filename = getattr(sys.modules["__main__"], "__file__", None)
            return os.path.splitext(os.path.basename(filename))[0] if filename else "__main__"
        return self.import_name

    @property
    def debug(self) -> bool:
        """Debug mode (`DEBUG`): tracebacks in error pages and template auto-reload."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None and "_jinja_env" in self.__dict__:
            self.jinja_env.auto_reload = value

    @property
    def logger(self) -> logging.Logger:
        """A `logging.Logger` named after the app, with a stderr handler if none is set up."""
        if self._logger is None:
            logger = logging.getLogger(self.name)
            if self.debug and logger.level == logging.NOTSET:
                logger.setLevel(logging.DEBUG)
            if not logger.hasHandlers():
                handler = logging.StreamHandler()
                handler.setFormatter(
                    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
                )
                logger.addHandler(handler)
            self._logger = logger
        return self._logger

    @property
    def cli(self) -> AppGroup:
        """The click group of this app's commands (`@app.cli.command()`)."""
        if self._cli is None:
            from .cli import AppGroup

            self._cli = AppGroup(self.name)
        return self._cli

    def make_config(self, instance_relative: bool = False) -> Config:
        """The app's `config`: `default_config` with `DEBUG` from the environment.

        Args:
            instance_relative: resolve relative config files from the instance folder.
        """
        root = self.instance_path if instance_relative else self.root_path
        config = self.config_class(root, dict(self.default_config))
        config["DEBUG"] = bool(get_debug_flag())
        return config

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise RuntimeError(
                f"The setup method '{f_name}' can no longer be called on the application. It has already"
                " handled its first request or started serving, so changes would not be applied"
                " consistently. Register everything (routes, hooks, blueprints) before serving."
            )

    def _invalidate(self) -> None:
        self._handler.invalidate()

    # -- routing ------------------------------------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Register a URL rule.

        Args:
            rule: the rule, e.g. `/post/<int:id>`.
            endpoint: the name for `url_for` (default: the view function's name).
            view_func: the view; may be left out and attached later with `@app.endpoint`.
            provide_automatic_options: answer OPTIONS automatically (default: unless the
                methods include OPTIONS).
            **options: `methods`, `defaults`, `strict_slashes`, `host`, `subdomain`,
                `redirect_to`, `websocket`.
        """
        if endpoint is None:
            if view_func is None:
                raise TypeError("add_url_rule() needs an 'endpoint' when no 'view_func' is given.")
            endpoint = view_func.__name__
        if "." in endpoint and not options.pop("_allow_dots", False):
            raise ValueError(
                f"The endpoint {endpoint!r} may not contain a dot; dots separate blueprint names."
            )
        websocket = bool(options.get("websocket"))
        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError("'methods' must be a list of strings, e.g. methods=['GET'], not a single string.")
        methods = {item.upper() for item in methods}
        methods |= set(getattr(view_func, "required_methods", ()))
        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:
            provide_automatic_options = (
                "OPTIONS" not in methods and not websocket and bool(self.config["PROVIDE_AUTOMATIC_OPTIONS"])
            )
        url_rule = self.url_rule_class(
            rule,
            endpoint,
            methods=methods,
            provide_automatic_options=provide_automatic_options,
            **options,
        )
        if view_func is not None:
            existing = self.view_functions.get(endpoint)
            if existing is not None and existing is not view_func:
                raise _EndpointConflict(
                    f"View function mapping is overwriting an existing endpoint function: {endpoint}."
                    " Give one of the views another endpoint name."
                )
        self.url_map.server_name = self.config["SERVER_NAME"]
        url_rule.app = self._handler.handle_matched
        self.url_map.add(url_rule)
        # Only once the rule compiled: a rejected rule must not leave its view behind.
        if view_func is not None:
            self.view_functions[endpoint] = view_func
        self._invalidate()

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Register a blueprint: its rules, hooks, templates and static files join the app.

        Args:
            blueprint: the blueprint.
            **options: `url_prefix`, `subdomain`, `url_defaults` and `name` override the
                blueprint's own for this registration.
        """
        blueprint.register(self, options)

    def iter_blueprints(self) -> list[Blueprint]:
        """The registered blueprints, in registration order."""
        return list(self.blueprints.values())

    @setupmethod
    def mount(self, path: str, app: ASGIApp, name: str | None = None) -> None:
        """Serve another ASGI app (Starlette, FastAPI, a wrapped WSGI app) under a path prefix.

        Args:
            path: the prefix, e.g. `/api`.
            app: the ASGI application.
            name: a name for Starlette's `url_path_for`.
        """
        self._handler.mounts.append(Mount(path.rstrip("/"), app=app, name=name))

    def url_for(
        self,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        """Build the URL of an endpoint; see `asyncflask.url_for` (absolute outside a request)."""
        from .helpers import build_url

        return build_url(self, endpoint, values, _anchor, _method, _scheme, _external)

    def inject_url_defaults(self, endpoint: str, values: dict[str, Any]) -> None:
        """Let the `url_defaults` functions of the app and the endpoint's blueprints fill `values`."""
        for func in self._handler.url_defaults_for(endpoint):
            func(endpoint, values)

    def handle_url_build_error(self, error: BuildError, endpoint: str, values: dict[str, Any]) -> str:
        """Give `url_build_error_handlers` a chance to produce a URL, else re-raise."""
        for handler in self.url_build_error_handlers:
            try:
                result = handler(error, endpoint, values)
            except BuildError as replaced:
                error = replaced
                continue
            if result is not None:
                return str(result)
        if error is sys.exc_info()[1]:
            raise
        raise error

    # -- lifespan and hooks -------------------------------------------------------------------

    @setupmethod
    def teardown_appcontext(self, f: F) -> F:
        """Run `f(exc)` whenever an app context ends (after every request, too)."""
        self.teardown_appcontext_funcs.append(f)
        self._invalidate()
        return f

    @setupmethod
    def before_serving(self, f: F) -> F:
        """Run `f()` once at start-up, before the first request (in an app context)."""
        self.before_serving_funcs.append(f)
        return f

    @setupmethod
    def after_serving(self, f: F) -> F:
        """Run `f()` once at shutdown (in an app context)."""
        self.after_serving_funcs.append(f)
        return f

    @setupmethod
    def while_serving(
        self, f: Callable[[], AsyncGenerator[Any, None]]
    ) -> Callable[[], AsyncGenerator[Any, None]]:
        """Register an async generator: its code before `yield` runs at start-up, after it at shutdown."""
        if not inspect.isasyncgenfunction(f):
            raise TypeError(
                "@app.while_serving needs an async generator function (an 'async def' with 'yield')."
            )
        self.while_serving_gens.append(f)
        return f

    @setupmethod
    def shell_context_processor(self, f: F) -> F:
        """Register `f()` returning names for `asyncflask shell`."""
        self.shell_context_processors.append(f)
        return f

    def make_shell_context(self) -> dict[str, Any]:
        """The namespace of `asyncflask shell`."""
        from .globals import g

        context: dict[str, Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            context.update(processor())
        return context

    def ensure_async(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """`func` as an async callable: sync ones run in a worker thread with the context."""
        return ensure_async(func)

    async def startup(self) -> None:
        """Start serving: freeze setup, run `before_serving` and the start of `while_serving`."""
        self._got_first_request = True
        self._handler.prepare()
        try:
            async with self._serving_context():
                for func in self.before_serving_funcs:
                    await ensure_async(func)()
                for gen_func in self.while_serving_gens:
                    gen = gen_func()
                    await gen.__anext__()
                    self._serving_gens.append(gen)
        except BaseException:
            # A failed start-up still closes the generators that did start.
            while self._serving_gens:
                await self._serving_gens.pop().aclose()
            raise

    async def shutdown(self) -> None:
        """Stop serving: wait for background tasks, then finish `while_serving` and run
        `after_serving` (so tasks still have what those close)."""
        await self._handler.wait_background(float(self.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"]))
        async with self._serving_context():
            while self._serving_gens:
                gen = self._serving_gens.pop()
                try:
                    await gen.__anext__()
                except StopAsyncIteration:
                    continue
                raise RuntimeError(f"The while_serving generator {gen!r} must yield only once.")
            for func in self.after_serving_funcs:
                await ensure_async(func)()

    def add_background_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `func(*args, **kwargs)` in the background, with the app context.

        During a request it starts after the response is sent; shutdown waits for it.
        """
        ctx = _cv_context.get(None)
        if ctx is not None and ctx.request is not None:
            ctx.background_tasks.append((func, args, kwargs))
        else:
            self._handler.spawn_background(func, args, kwargs)

    # -- contexts -----------------------------------------------------------------------------

    def app_context(self) -> AppContext:
        """A new app context: `async with app.app_context():`."""
        return AppContext(self)

    def _serving_context(self) -> AppContext:
        ctx = AppContext(self)
        ctx._served = True  # lifespan work runs while requests may be served
        return ctx

    def test_request_context(
        self,
        path: str = "/",
        method: str = "GET",
        headers: Any = None,
        query_string: str | bytes | dict[str, Any] | None = None,
        json: Any = None,
        data: str | bytes | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AppContext:
        """A request context for a made-up request: `async with app.test_request_context("/x"):`."""
        scope, receive = make_test_scope(self, path, method, headers, query_string, json, data, **kwargs)
        request = self.request_class(scope, receive, self)
        ctx = AppContext(self, request)
        self._handler.bind_request(ctx, request)
        return ctx

    async def do_teardown(self, ctx: AppContext, exc: BaseException | None) -> None:
        """Run the teardown functions for a context that is ending (called by `ctx.pop`)."""
        await self._handler.teardown(ctx, exc)

    # -- responses ----------------------------------------------------------------------------

    async def send_static_file(self, filename: str) -> Any:
        """The view of the `static` endpoint."""
        from .sending import send_from_directory

        if self.static_folder is None:
            raise RuntimeError("'static_folder' is not set; there are no static files to send.")
        return await send_from_directory(self.static_folder, filename)

    # -- serving ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._got_first_request and scope["type"] != "lifespan":
            self._got_first_request = True
            self._handler.prepare()
        if self._middleware_stack is None:
            await self.asgi_app(scope, receive, send)
        else:
            await self._middleware_stack(scope, receive, send)

    @setupmethod
    def add_middleware(self, middleware_class: Callable[..., ASGIApp], *args: Any, **options: Any) -> None:
        """Wrap the app in an ASGI middleware (any Starlette middleware works).

        The middleware added last is the outermost. `app.asgi_app = M(app.asgi_app)` keeps
        working too and sits inside these.

        Args:
            middleware_class: called as `middleware_class(app, *args, **options)`.
            *args: positional options.
            **options: keyword options.
        """
        inner = self._middleware_stack or self._call_asgi_app
        self._middleware_stack = middleware_class(inner, *args, **options)

    async def _call_asgi_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Looked up per call, so a later `app.asgi_app = M(app.asgi_app)` is honoured.
        await self.asgi_app(scope, receive, send)

    @setupmethod
    def fallback(self, asgi_or_wsgi_app: Any, *, wsgi: bool | None = None) -> None:
        """Send every HTTP request that no rule matches to another app, at the same URL.

        This is how a Flask (WSGI) app keeps serving the routes not yet moved to asyncflask.
        A WSGI app runs through a2wsgi, in a worker thread (`pip install asyncflask[legacy]`).

        Args:
            asgi_or_wsgi_app: an ASGI app, or a WSGI app (such as a Flask app).
            wsgi: force the kind; by default a Flask app or anything with `wsgi_app` is WSGI.
        """
        if wsgi is None:
            wsgi = hasattr(asgi_or_wsgi_app, "wsgi_app") or not is_async_callable(asgi_or_wsgi_app)
        if wsgi:
            try:
                from a2wsgi import WSGIMiddleware
            except ImportError:
                raise RuntimeError(
                    "Serving a WSGI app as a fallback needs a2wsgi: pip install 'asyncflask[legacy]'."
                ) from None
            asgi_or_wsgi_app = WSGIMiddleware(asgi_or_wsgi_app)
        self._handler.fallback = asgi_or_wsgi_app

    async def asgi_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The inner ASGI app; wrap it with middleware: `app.asgi_app = M(app.asgi_app)`."""
        kind = scope["type"]
        if kind == "http":
            await self._handler.handle_http(scope, receive, send)
        elif kind == "websocket":
            await self._handler.handle_websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._handler.handle_lifespan(scope, receive, send)

    def test_client(self, use_cookies: bool = True, **kwargs: Any) -> TestClient:
        """An `httpx.AsyncClient` bound to this app; `async with` also runs the lifespan.

        Args:
            use_cookies: keep cookies between requests; False stores and sends none.
            **kwargs: passed to `test_client_class` (and from there to `httpx.AsyncClient`).
        """
        return self.test_client_class(self, use_cookies=use_cookies, **kwargs)

    def test_cli_runner(self, **kwargs: Any) -> AsyncFlaskCliRunner:
        """A click runner for this app's commands."""
        from .cli import AsyncFlaskCliRunner

        return (self.test_cli_runner_class or AsyncFlaskCliRunner)(self, **kwargs)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: Any,
    ) -> None:
        """Serve the app with uvicorn (for development; production runs `uvicorn module:app`).

        Args:
            host: the interface to listen on.
            port: the port.
            debug: turn debug mode on or off.
            load_dotenv: load `.env` and `.asyncflaskenv` first (needs python-dotenv).
            **options: `use_reloader` (default: on in debug mode, when the app can be imported
                again by name), `ssl_context=(certfile, keyfile)`, or options of `uvicorn.run`.
                Werkzeug's other server options raise a `TypeError` naming what to use.
        """
        import uvicorn

        from .cli import get_load_dotenv
        from .cli import load_dotenv as load_env_files
        from .serving import run_options

        if get_load_dotenv(load_dotenv):
            load_env_files()
            if "ASYNCFLASK_DEBUG" in os.environ:
                self.debug = bool(get_debug_flag())
        if debug is not None:
            self.debug = bool(debug)
        target, uvicorn_options = run_options(self, options)
        uvicorn.run(target, host=host, port=int(port), **uvicorn_options)

    def server_options(self) -> dict[str, Any]:
        """Uvicorn settings that bound what one client can make the server hold.

        `app.run()` and `asyncflask run` use them; pass your own to override any.

        Returns:
            Keyword arguments for `uvicorn.run`.
        """
        return {
            # h11 caps the size of a request head (httptools does not), so an endless or
            # huge header is refused instead of buffered.
            "http": "h11",
            "h11_max_incomplete_event_size": 64 * 1024,
            "ws_max_size": int(self.config["WEBSOCKET_MAX_MESSAGE_SIZE"]),
            "ws_max_queue": 32,
            # Streams and websockets end when the shutdown begins (`app.shutting_down`); this
            # bounds what is left (a slow download, a handler that ignores the notice), so
            # `after_serving` always runs.
            "timeout_graceful_shutdown": float(self.config["GRACEFUL_SHUTDOWN_TIMEOUT"]),
        }

    def __repr__(self) -> str:
        return f"<AsyncFlask {self.name!r}>"


class _EndpointConflict(AssertionError, ValueError):
    """Two different views were registered under one endpoint name."""
