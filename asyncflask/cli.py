"""The `asyncflask` command: finds the app, serves it with uvicorn, lists routes, opens a shell.

Behaves like Flask's `flask` command: `asyncflask --app hello run`, `asyncflask routes`,
`asyncflask shell`, and commands added with `@app.cli.command()` (sync or `async def`).
"""

from __future__ import annotations

import ast
import asyncio
import code
import contextvars
import functools
import importlib
import importlib.metadata
import inspect
import os
import platform
import re
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

import click
from click.core import ParameterSource
from click.testing import CliRunner, Result

from .config import get_debug_flag

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .ctx import AppContext

__all__ = [
    "AppGroup",
    "AsyncFlaskCliRunner",
    "AsyncFlaskGroup",
    "NoAppException",
    "ScriptInfo",
    "cli",
    "find_app_by_string",
    "find_best_app",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "routes_command",
    "run_command",
    "shell_command",
    "with_appcontext",
]

T = TypeVar("T")

# The files tried, in order, when no app is named.
_DEFAULT_APP_FILES = ("wsgi.py", "app.py", "asgi.py")
# Loaded in this order, later files winning: like Flask, the private `.env` beats the
# committed `.asyncflaskenv`; an explicit --env-file wins over both.
_DOTENV_FILES = (".asyncflaskenv", ".env")
# Carries the app spec to the processes uvicorn starts for --reload and --workers.
_UVICORN_APP_ENV = "_ASYNCFLASK_UVICORN_APP"
_UVICORN_FACTORY = "asyncflask.cli:_load_app_for_uvicorn"
# ctx.meta key: the app contexts AsyncFlaskGroup pushed for the command being invoked.
_PUSHED_CONTEXTS = "asyncflask.pushed_contexts"
_NO_APP_HINT = (
    'Use the "--app" option, the "ASYNCFLASK_APP" environment variable, or an "app.py",'
    ' "wsgi.py" or "asgi.py" file in the current directory.'
)


class NoAppException(click.UsageError):
    """The application could not be found, imported or created."""


# ---------------------------------------------------------------------------------------------
# Finding the app


def _app_class() -> type[AsyncFlask]:
    # Imported on use: asyncflask.app builds `app.cli` from this module, so this module must not
    # need asyncflask.app to be importable first.
    from .app import AsyncFlask

    return AsyncFlask


def find_best_app(module: ModuleType) -> AsyncFlask:
    """Find the app in a module the way Flask does.

    Tries, in order: an `app` or `application` attribute, the only AsyncFlask instance in the
    module, then a `create_app()` or `make_app()` factory called without arguments.

    Raises:
        NoAppException: nothing fits, or the choice is ambiguous.
    """
    app_class = _app_class()
    name = module.__name__
    for attr in ("app", "application"):
        candidate = getattr(module, attr, None)
        if isinstance(candidate, app_class):
            return candidate

    found = [value for value in vars(module).values() if isinstance(value, app_class)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise NoAppException(
            f"Detected multiple AsyncFlask applications in module '{name}'."
            f" Use '{name}:name' to specify the correct one."
        )

    for attr in ("create_app", "make_app"):
        factory = getattr(module, attr, None)
        if not inspect.isfunction(factory):
            continue
        # Checked before the call, so a TypeError raised inside the factory shows as itself.
        if not _signature_fits(factory):
            raise NoAppException(
                f"Detected factory '{attr}' in module '{name}', but could not call it without"
                f" arguments. Use '{name}:{attr}(args)' to specify arguments."
            )
        result = factory()
        if isinstance(result, app_class):
            return result

    raise NoAppException(
        f"Failed to find an AsyncFlask application or factory in module '{name}'."
        f" Use '{name}:name' to specify one."
    )


def _signature_fits(func: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Whether `func` accepts these arguments (True when it has no signature to check)."""
    try:
        inspect.signature(func).bind(*args, **kwargs)
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def _parse_app_expression(app_name: str) -> tuple[str, list[Any], dict[str, Any], bool]:
    """Split `name` or `factory(args)` into the name, literal arguments, and whether it is a call."""
    try:
        expr = ast.parse(app_name.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.") from None

    if isinstance(expr, ast.Name):
        return expr.id, [], {}, False
    if not isinstance(expr, ast.Call):
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.")
    if not isinstance(expr.func, ast.Name):
        raise NoAppException(f"Function reference must be a simple name: {app_name!r}.")
    # Only literals are accepted, so an app spec can never run arbitrary code.
    try:
        args = [ast.literal_eval(arg) for arg in expr.args]
        kwargs: dict[str, Any] = {}
        for keyword in expr.keywords:
            if keyword.arg is None:
                raise ValueError("'**' is not a literal")
            kwargs[keyword.arg] = ast.literal_eval(keyword.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise NoAppException(
            f"Failed to parse arguments as literal values: {app_name!r}. Only strings, numbers,"
            " booleans, None, and lists, tuples, dicts or sets of them can be passed."
        ) from None
    return expr.func.id, args, kwargs, True


def find_app_by_string(module: ModuleType, app_name: str) -> AsyncFlask:
    """Get the app from `module` by attribute name or by calling a factory.

    Args:
        module: the imported module.
        app_name: `name`, or `factory(args)` with literal arguments, e.g.
            `create_app("dev", debug=True)`. A bare name that is a function is called without
            arguments.

    Raises:
        NoAppException: the name cannot be parsed or found, or it does not give an app.
    """
    app_class = _app_class()
    name, args, kwargs, is_call = _parse_app_expression(app_name)
    try:
        attr = getattr(module, name)
    except AttributeError:
        raise NoAppException(f"Failed to find attribute {name!r} in {module.__name__!r}.") from None

    if inspect.isfunction(attr) or (is_call and callable(attr)):
        if not _signature_fits(attr, *args, **kwargs):
            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r} could not be called with the"
                " specified arguments."
            )
        app = attr(*args, **kwargs)
    elif is_call:
        raise NoAppException(f"{name!r} in module {module.__name__!r} is not callable: {app_name!r}.")
    else:
        app = attr

    if isinstance(app, app_class):
        return app
    raise NoAppException(
        f"A valid AsyncFlask application was not obtained from '{module.__name__}:{app_name}'."
    )


def prepare_import(path: str) -> str:
    """Turn a module name or file path into an importable module name.

    `examples/hello.py` and `examples/hello` become `hello`, with `examples` put first on
    `sys.path`; inside packages (directories with `__init__.py`) the dotted name is built, so
    `proj/pkg/app.py` becomes `pkg.app` with `proj` on the path.

    Returns:
        The module name to import.
    """
    path = os.path.realpath(path)
    stem, ext = os.path.splitext(path)
    if ext == ".py":
        path = stem
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)

    parts: list[str] = []
    while True:
        path, part = os.path.split(path)
        parts.append(part)
        # Climb out of the package so the import uses its full dotted name.
        if not os.path.isfile(os.path.join(path, "__init__.py")):
            break

    if not sys.path or sys.path[0] != path:
        sys.path.insert(0, path)
    return ".".join(reversed(parts))


def _user_traceback(error: BaseException) -> str:
    """The formatted traceback of `error`, from the first frame outside the import machinery."""
    machinery = (__file__, importlib.__file__)
    tb = error.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code.co_filename in machinery
        or tb.tb_frame.f_code.co_filename.startswith("<frozen importlib")
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))


def _is_missing_module(error: ImportError, module_name: str) -> bool:
    """Whether `error` says `module_name` itself (or a parent package) does not exist."""
    missing = getattr(error, "name", None)
    if not isinstance(error, ModuleNotFoundError) or not missing:
        return False
    return module_name == missing or module_name.startswith(missing + ".")


@overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: Literal[True] = True
) -> AsyncFlask: ...


@overload
def locate_app(module_name: str, app_name: str | None, raise_if_not_found: bool) -> AsyncFlask | None: ...


def locate_app(module_name: str, app_name: str | None, raise_if_not_found: bool = True) -> AsyncFlask | None:
    """Import `module_name` and find the app in it.

    Args:
        module_name: a dotted module name (see `prepare_import`).
        app_name: an attribute name or factory call, or None to search the module.
        raise_if_not_found: when False, a module that does not exist gives None.

    Raises:
        NoAppException: the module cannot be imported (an `ImportError` raised while the module
            runs is shown with its traceback), or it holds no app.
    """
    try:
        importlib.import_module(module_name)
    except ImportError as error:
        if not _is_missing_module(error, module_name):
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was raised:\n\n{_user_traceback(error)}"
            ) from None
        if not raise_if_not_found:
            return None
        raise NoAppException(
            f"Could not import {module_name!r}. Check the name, or give the path to the file"
            f" (for example --app path/to/{module_name.rpartition('.')[2]}.py)."
        ) from None

    module = sys.modules[module_name]
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


# ---------------------------------------------------------------------------------------------
# Environment


def get_load_dotenv(default: bool = True) -> bool:
    """Whether to load the default dotenv files; `ASYNCFLASK_SKIP_DOTENV=1` turns it off."""
    value = os.environ.get("ASYNCFLASK_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in {"0", "false", "no"}


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load environment variables from dotenv files, if python-dotenv is installed.

    The default files `.env` and `.asyncflaskenv` are searched upwards from the current
    directory; `.env` wins over `.asyncflaskenv`, and `path` wins over both. Variables already
    in the environment are never changed.

    Args:
        path: an extra file to load.
        load_defaults: whether to search for the default files.

    Returns:
        Whether any variable was read (False when python-dotenv is not installed).
    """
    try:
        import dotenv
    except ImportError:
        return False

    values: dict[str, str | None] = {}
    if load_defaults:
        for name in _DOTENV_FILES:
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                values.update(dotenv.dotenv_values(found, encoding="utf-8"))
    if path is not None and os.path.isfile(path):
        values.update(dotenv.dotenv_values(path, encoding="utf-8"))

    for key, value in values.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value
    return bool(values)


# ---------------------------------------------------------------------------------------------
# Script info and app contexts


class ScriptInfo:
    """What the command line knows about the app; commands get it through click's `obj`.

    Args:
        app_import_path: the `--app` value, e.g. `hello:create_app("dev")`.
        create_app: a function returning the app, used instead of importing one.
        set_debug_flag: whether `ASYNCFLASK_DEBUG` (set by `--debug`) sets `app.debug`.
        load_dotenv_defaults: whether `.env` and `.asyncflaskenv` are loaded.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: Callable[[], AsyncFlask] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        #: Free storage for extensions' commands.
        self.data: dict[Any, Any] = {}
        self._loaded_app: AsyncFlask | None = None

    def load_app(self) -> AsyncFlask:
        """Find, import or create the app (once; later calls return the same app).

        Raises:
            NoAppException: no app was found, saying what was tried.
        """
        if self._loaded_app is not None:
            return self._loaded_app

        app: AsyncFlask | None = None
        if self.create_app is not None:
            app = self.create_app()
        elif self.app_import_path:
            # Split at the first colon that is not part of a Windows drive ("C:\...").
            path, *name = re.split(r":(?![\\/])", self.app_import_path, maxsplit=1)
            app = locate_app(prepare_import(path), name[0] if name else None)
        else:
            for filename in _DEFAULT_APP_FILES:
                # Only files that exist: a module of the same name elsewhere on sys.path is not the app.
                if os.path.isfile(filename):
                    app = locate_app(prepare_import(filename), None, raise_if_not_found=False)
                    if app is not None:
                        break

        if app is None:
            raise NoAppException(f"Could not locate an AsyncFlask application. {_NO_APP_HINT}")

        if self.set_debug_flag:
            debug = get_debug_flag()
            if debug is not None:
                app.debug = debug

        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)
"""Pass the `ScriptInfo` as the first argument of a command callback."""


async def _step_in_context(coro: Coroutine[Any, Any, T], context: contextvars.Context) -> T:
    """Await `coro` with each of its steps run inside `context` (Python 3.10 has no Runner)."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            awaited = context.run(coro.send, value) if error is None else context.run(coro.throw, error)
        except StopIteration as stop:
            return cast(T, stop.value)
        value, error = None, None
        try:
            if awaited is None:
                # A bare yield (asyncio.sleep(0)) only gives other tasks a turn.
                await asyncio.sleep(0)
            else:
                # The future protocol: whoever receives a yielded future clears this flag, as
                # a Task does, before waiting on it.
                awaited._asyncio_future_blocking = False
                value = await awaited
        except BaseException as exc:
            error = exc


def _run_coroutine(coro: Coroutine[Any, Any, T], context: contextvars.Context) -> T:
    """Run `coro` to completion on a new event loop, inside `context`."""

    def run() -> T:
        if sys.version_info >= (3, 11):
            with asyncio.Runner() as runner:
                return runner.run(coro, context=context)
        return asyncio.run(_step_in_context(coro, context))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    # A loop already runs in this thread (a command invoked from an async test); loops do not
    # nest, so this one gets a thread of its own while the caller waits.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _exc_for_teardown(error: BaseException | None) -> BaseException | None:
    # Leaving a command through ctx.exit() is not an error for teardown functions.
    if error is None or isinstance(error, click.exceptions.Exit):
        return None
    return error


def _call_in_app_context(app: AsyncFlask, func: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """Call a command callback with `app`'s context pushed; run it on a loop if it is async."""
    is_async = inspect.iscoroutinefunction(func)
    # The context is pushed and popped inside one contextvars.Context of our own: popping
    # resets a ContextVar token, which only works in the Context that set it, and every loop
    # task would otherwise run in a copy.
    context = contextvars.copy_context()
    app_ctx = app.app_context()
    context.run(app_ctx.push)
    error: BaseException | None = None
    try:
        if is_async:

            async def call() -> Any:
                return await func(*args, **kwargs)

            return _run_coroutine(call(), context)
        return context.run(func, *args, **kwargs)
    except BaseException as exc:
        error = exc
        raise
    finally:
        _run_coroutine(app_ctx.pop(_exc_for_teardown(error)), context)


def with_appcontext(f: Callable[..., Any]) -> Callable[..., Any]:
    """Run a click command callback inside the app's context (loading the app if needed).

    An `async def` callback runs on a new event loop with the context pushed inside it. If an
    app context is already active, it is used as is.
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .ctx import has_app_context

        if has_app_context():
            if inspect.iscoroutinefunction(f):
                return _run_coroutine(f(*args, **kwargs), contextvars.copy_context())
            return f(*args, **kwargs)
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        return _call_in_app_context(app, f, args, kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------------
# Groups


class AppGroup(click.Group):
    """A click group whose commands run inside the app context (`app.cli` is one).

    `command()` wraps callbacks with `with_appcontext` (pass `with_appcontext=False` to opt
    out); `async def` callbacks are run on an event loop. `group()` makes `AppGroup`s.
    """

    @overload
    def command(self, __func: Callable[..., Any]) -> click.Command: ...

    @overload
    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]: ...

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Command] | click.Command:
        """Declare a command of this group, like `click.Group.command`, run in the app context."""
        wrap = kwargs.pop("with_appcontext", True)
        # Used bare, as `@group.command`.
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.command(with_appcontext=wrap)(args[0])

        def decorator(f: Callable[..., Any]) -> click.Command:
            if wrap:
                f = with_appcontext(f)
            make = cast(
                "Callable[[Callable[..., Any]], click.Command]",
                super(AppGroup, self).command(*args, **kwargs),
            )
            return make(f)

        return decorator

    @overload
    def group(self, __func: Callable[..., Any]) -> AppGroup: ...

    @overload
    def group(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], AppGroup]: ...

    def group(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], AppGroup] | AppGroup:
        """Declare a sub-group, like `click.Group.group`; it is an `AppGroup` by default."""
        kwargs.setdefault("cls", AppGroup)
        if len(args) == 1 and len(kwargs) == 1 and callable(args[0]):
            return self.group(**kwargs)(args[0])
        return cast("Callable[[Callable[..., Any]], AppGroup]", super().group(*args, **kwargs))


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        # Run from a source checkout that is not installed.
        return str(getattr(sys.modules.get(name), "__version__", "unknown"))


def get_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """`--version`: print the versions of Python, asyncflask, Starlette and uvicorn, and exit."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(
        f"Python {platform.python_version()}\n"
        f"AsyncFlask {_dist_version('asyncflask')}\n"
        f"Starlette {_dist_version('starlette')}\n"
        f"Uvicorn {_dist_version('uvicorn')}",
        color=ctx.color,
    )
    ctx.exit()


def _set_app(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool | None) -> bool | None:
    source = ctx.get_parameter_source(param.name or "debug")
    if source is None or source in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None
    # Through the environment, so a factory can read it and uvicorn's child processes inherit it.
    os.environ["ASYNCFLASK_DEBUG"] = "1" if value else "0"
    return value


def _env_file_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        import dotenv  # noqa: F401
    except ImportError:
        if value is not None:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file (pip install python-dotenv).",
                ctx=ctx,
                param=param,
            ) from None
        return None
    info = ctx.ensure_object(ScriptInfo)
    if value is not None or info.load_dotenv_defaults:
        load_dotenv(value, load_defaults=info.load_dotenv_defaults)
    return value


# Declared in this order on purpose: env files are read before --app and --debug look at the
# environment.
_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    help="Load environment variables from this file (python-dotenv must be installed).",
    is_eager=True,
    expose_value=False,
    callback=_env_file_callback,
)
_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    envvar="ASYNCFLASK_APP",
    help=(
        "The AsyncFlask application or factory function to load, in the form 'module:name'."
        " Module can be a dotted import or file path. Name is not required if it is 'app',"
        " 'application', 'create_app', or 'make_app', and can be 'name(args)' to pass arguments."
    ),
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)
_debug_option = click.Option(
    ["--debug/--no-debug"],
    envvar="ASYNCFLASK_DEBUG",
    default=None,
    help="Set debug mode.",
    expose_value=False,
    callback=_set_debug,
)
version_option = click.Option(
    ["--version"],
    help="Show the AsyncFlask version.",
    expose_value=False,
    callback=get_version,
    is_flag=True,
    is_eager=True,
)


class AsyncFlaskGroup(AppGroup):
    """The top-level `asyncflask` group: global options, built-in, plugin and app commands.

    Args:
        add_default_commands: add `run`, `routes` and `shell`.
        create_app: a function returning the app, instead of `--app` discovery.
        add_version_option: add `--version`.
        load_dotenv: load `.env` and `.asyncflaskenv`.
        set_debug_flag: let `--debug` set `app.debug`.
        **extra: passed to `click.Group`.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: Callable[[], AsyncFlask] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        params.extend((_env_file_option, _app_option, _debug_option))
        if add_version_option:
            params.append(version_option)
        extra.setdefault("context_settings", {}).setdefault("auto_envvar_prefix", "ASYNCFLASK")
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(routes_command)
            self.add_command(shell_command)
        self._loaded_plugin_commands = False

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        self._loaded_plugin_commands = True
        for entry_point in importlib.metadata.entry_points(group="asyncflask.commands"):
            try:
                command = entry_point.load()
            except Exception as exc:
                # One broken plugin must not take the whole command line down.
                click.secho(
                    f"Error: could not load the command {entry_point.name!r} ({entry_point.value}): {exc}",
                    err=True,
                    fg="red",
                )
                continue
            self.add_command(command, entry_point.name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A built-in or plugin command, else one of the app's (loading the app)."""
        self._load_plugin_commands()
        # Built-in and plugin commands work even when the app cannot be loaded.
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except NoAppException as exc:
            click.secho(f"Error: {exc.format_message()}\n", err=True, fg="red")
            return None
        command = app.cli.get_command(ctx, cmd_name)
        # While invoking, the app's commands (even plain click ones) run in its context, as in
        # Flask; `invoke` pops it.
        pushed: list[AppContext] | None = ctx.meta.get(_PUSHED_CONTEXTS)
        if command is not None and pushed is not None and not pushed:
            from .ctx import has_app_context

            if not has_app_context():
                app_ctx = app.app_context()
                app_ctx.push()
                pushed.append(app_ctx)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Invoke the chosen command; an app command gets the app context for its whole run."""
        # A Context of our own, so the app context pushed by get_command (which runs inside it)
        # can be popped afterwards: popping resets a ContextVar token in the Context that set it.
        context = contextvars.copy_context()
        pushed: list[AppContext] = []
        ctx.meta[_PUSHED_CONTEXTS] = pushed
        error: BaseException | None = None
        try:
            return context.run(super().invoke, ctx)
        except BaseException as exc:
            error = exc
            raise
        finally:
            del ctx.meta[_PUSHED_CONTEXTS]
            for app_ctx in reversed(pushed):
                _run_coroutine(app_ctx.pop(_exc_for_teardown(error)), context)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name: built-in, plugin, and the app's when it can be loaded."""
        self._load_plugin_commands()
        names = set(super().list_commands(ctx))
        try:
            names.update(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except NoAppException as exc:
            # Help still works without an app; say why the app's commands are missing.
            click.secho(f"Error: {exc.format_message()}\n", err=True, fg="red")
        except Exception:
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        return sorted(names)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Create the context, with a `ScriptInfo` as `obj` unless one was given."""
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse arguments; for bare help, read env files and the app first so its commands show."""
        if (not args and self.no_args_is_help) or (
            len(args) == 1 and args[0] in self.get_help_option_names(ctx)
        ):
            # Help is printed while parsing, before --app from the environment would be read.
            _env_file_option.handle_parse_result(ctx, {}, [])
            _app_option.handle_parse_result(ctx, {}, [])
        return super().parse_args(ctx, args)


# ---------------------------------------------------------------------------------------------
# Built-in commands


#: Flask's name for the command group (`AsyncFlaskGroup`).
FlaskGroup = AsyncFlaskGroup

def _is_within(path: str, directory: str) -> bool:
    directory = os.path.realpath(directory)
    try:
        return os.path.commonpath([os.path.realpath(path), directory]) == directory
    except ValueError:  # Different drives on Windows.
        return False


def _load_app_for_uvicorn() -> AsyncFlask:
    """Uvicorn's factory for `--reload` and `--workers`: find the app again in a new process."""
    return ScriptInfo(app_import_path=os.environ.get(_UVICORN_APP_ENV) or None).load_app()


def _validate_cert(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--cert`: an existing file; Werkzeug's `adhoc` is refused with how to make one."""
    if value is None:
        return None
    if value == "adhoc":
        raise click.BadParameter(
            "'adhoc' certificates are not supported. Make a certificate and key, for example"
            " with 'openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem"
            " -days 365 -subj /CN=localhost', and pass '--cert cert.pem --key key.pem'.",
            ctx,
            param,
        )
    return cast(str, click.Path(exists=True, dir_okay=False, resolve_path=True).convert(value, param, ctx))


def _validate_key(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--key` and `--cert` go together, as in Flask (`--cert` is parsed first)."""
    cert = ctx.params.get("cert")
    if value is not None and not cert:
        raise click.BadParameter('"--cert" must also be specified.', ctx, param)
    if value is None and cert:
        raise click.BadParameter('Required when using "--cert".', ctx, param)
    return value


@click.command("run", short_help="Run a development server.")
@click.option("--host", "-h", default="127.0.0.1", show_default=True, help="The interface to bind to.")
@click.option("--port", "-p", default=5000, show_default=True, help="The port to bind to.")
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart the server when code changes. On by default in debug mode.",
)
@click.option("--debug/--no-debug", default=None, help="Set debug mode (overrides the global --debug).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Number of worker processes.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug", "trace"]),
    default=None,
    help="Uvicorn's log level.",
)
@click.option(
    "--cert",
    is_eager=True,
    callback=_validate_cert,
    help="A certificate file, to serve HTTPS (with --key).",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key,
    help="The private key file of --cert.",
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    debug: bool | None,
    workers: int,
    log_level: str | None,
    cert: str | None,
    key: str | None,
) -> None:
    """Serve the app with uvicorn.

    With --reload or several --workers, uvicorn imports the app again in its own processes,
    from the same --app value.
    """
    if debug is not None:
        os.environ["ASYNCFLASK_DEBUG"] = "1" if debug else "0"
    app = info.load_app()
    if debug is not None:
        app.debug = debug
    debug = bool(app.debug)
    if reload is None:
        reload = debug
    in_process = not reload and workers == 1
    if not in_process and info.create_app is not None:
        raise click.UsageError(
            "--reload and --workers need an app that can be imported again; name it with --app"
            " or ASYNCFLASK_APP instead of passing an app object."
        )

    options = app.server_options()
    if log_level is not None:
        options["log_level"] = log_level
    if cert is not None:
        options.update(ssl_certfile=cert, ssl_keyfile=key)

    click.echo(f" * Serving AsyncFlask app '{info.app_import_path or app.name}'")
    click.echo(f" * Debug mode: {'on' if debug else 'off'}")

    if in_process:
        # The command line has already loaded the dotenv files and chosen the reloader.
        app.run(host=host, port=port, debug=debug, load_dotenv=False, use_reloader=False, **options)
        return

    import uvicorn

    # What app.run() would choose, for the processes uvicorn starts itself.
    options.setdefault("log_level", "debug" if debug else "info")
    if reload:
        # uvicorn watches the current directory; an app kept elsewhere must be watched too.
        cwd, root = os.getcwd(), os.path.realpath(app.root_path)
        if not _is_within(root, cwd):
            options["reload_dirs"] = [cwd, root]
    os.environ[_UVICORN_APP_ENV] = info.app_import_path or ""
    uvicorn.run(
        _UVICORN_FACTORY,
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=workers if workers > 1 else None,
        lifespan="on",
        **options,
    )


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help=(
        "Method to sort routes by. 'match' is the order AsyncFlask matches routes when dispatching a request."
    ),
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all registered routes with endpoints and methods."""
    from .globals import current_app

    rules = list(current_app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return

    ignored = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = current_app.url_map.host_matching
    domains = [(rule.host if host_matching else rule.subdomain) or "" for rule in rules]
    has_domain = any(domains)

    rows: list[list[str]] = []
    for rule, domain in zip(rules, domains, strict=True):
        if rule.websocket:
            methods = "WEBSOCKET"
        else:
            methods = ", ".join(sorted((rule.methods or set()) - ignored))
        row = [rule.endpoint, methods]
        if has_domain:
            row.append(domain)
        row.append(rule.rule)
        rows.append(row)

    headers = ["Endpoint", "Methods"]
    sort_keys = ["endpoint", "methods"]
    if has_domain:
        headers.append("Host" if host_matching else "Subdomain")
        sort_keys.append("domain")
    headers.append("Rule")
    sort_keys.append("rule")
    # "match" (and "domain" with no domain column) keep the order the app matches in.
    if sort in sort_keys:
        rows.sort(key=itemgetter(sort_keys.index(sort)))

    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, ["-" * width for width in widths], *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@click.command("shell", short_help="Run a shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """Run an interactive Python shell with the app context pushed.

    `app` and `g` are defined, plus whatever `app.make_shell_context()` returns.
    """
    from .globals import current_app, g

    app: AsyncFlask = current_app._get_current_object()  # type: ignore[attr-defined]
    banner = f"Python {sys.version} on {sys.platform}\nApp: {app.import_name}\nInstance: {app.instance_path}"

    namespace: dict[str, Any] = {}
    # Honour PYTHONSTARTUP as the plain interpreter does.
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup, encoding="utf-8") as f:
            exec(compile(f.read(), startup, "exec"), namespace)
    namespace.update(app=app, g=g)
    namespace.update(app.make_shell_context())

    # site.py installs this hook to set up readline history and completion.
    interactive_hook = getattr(sys, "__interactivehook__", None)
    if interactive_hook is not None:
        try:
            import readline
            from rlcompleter import Completer
        except ImportError:
            pass
        else:
            readline.set_completer(Completer(namespace).complete)
        interactive_hook()

    code.interact(banner=banner, local=namespace)


cli = AsyncFlaskGroup(
    name="asyncflask",
    help="""\
A general utility script for AsyncFlask applications.

An application to load must be given with the '--app' option, the 'ASYNCFLASK_APP'
environment variable, or an 'app.py', 'wsgi.py' or 'asgi.py' file in the current directory.
""",
)


def main() -> None:
    """Run the `asyncflask` command line."""
    cli.main()


# ---------------------------------------------------------------------------------------------
# Testing


class AsyncFlaskCliRunner(CliRunner):
    """A click `CliRunner` that invokes commands against one app (`app.test_cli_runner()`).

    Args:
        app: the app whose commands are run.
        **kwargs: passed to `click.testing.CliRunner`.
    """

    def __init__(self, app: AsyncFlask, **kwargs: Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]
        self, cli: click.Command | None = None, args: str | Sequence[str] | None = None, **kwargs: Any
    ) -> Result:
        """Invoke a command (the app's `cli` group by default) with a `ScriptInfo` for the app.

        Args:
            cli: the command to run; `app.cli` when None.
            args: the command-line arguments.
            **kwargs: passed to `CliRunner.invoke` (`input`, `env`, `catch_exceptions`, ...).

        Returns:
            click's `Result`, with `output` and `exit_code`.
        """
        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            app = self.app
            kwargs["obj"] = ScriptInfo(create_app=lambda: app, set_debug_flag=False)
        return super().invoke(cli, args, **kwargs)
