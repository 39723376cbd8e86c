"""Application configuration: a dict with loaders, and attributes bound to its keys."""

from __future__ import annotations

import errno
import importlib
import json
import os
import types
from collections.abc import Callable, Mapping, MutableMapping
from datetime import timedelta
from typing import IO, Any, Generic, Protocol, TypeVar, overload

__all__ = ["DEFAULT_CONFIG", "Config", "ConfigAttribute", "get_debug_flag"]

T = TypeVar("T")


def get_debug_flag() -> bool | None:
    """Debug mode from `ASYNCFLASK_DEBUG` (`0`, `false`, `no`, `off` mean off), or None if unset."""
    value = os.environ.get("ASYNCFLASK_DEBUG")
    if not value:
        return None
    return value.lower() not in {"0", "false", "no", "off"}


# A missing file is the only failure ``silent=True`` hides; a file that exists
# but cannot be read (permissions, I/O errors) is always reported.
_MISSING_FILE_ERRNOS = frozenset({errno.ENOENT, errno.EISDIR, errno.ENOTDIR})

DEFAULT_CONFIG: dict[str, Any] = {
    "DEBUG": None,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": None,
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": None,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    "USE_X_SENDFILE": False,
    "TRUSTED_HOSTS": None,
    "SERVER_NAME": None,
    "APPLICATION_ROOT": "/",
    "SESSION_COOKIE_NAME": "session",
    "SESSION_COOKIE_DOMAIN": None,
    "SESSION_COOKIE_PATH": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_PARTITIONED": False,
    "SESSION_COOKIE_SAMESITE": None,
    "SESSION_REFRESH_EACH_REQUEST": True,
    "MAX_CONTENT_LENGTH": None,
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_FORM_PARTS": 1_000,
    # Read form bodies before the hooks, so sync code can use request.form (None: once a
    # Flask extension is in use).
    "PRELOAD_BODY": None,
    "SEND_FILE_MAX_AGE_DEFAULT": None,
    "TRAP_BAD_REQUEST_ERRORS": None,
    "TRAP_HTTP_EXCEPTIONS": False,
    "EXPLAIN_TEMPLATE_LOADING": False,
    "PREFERRED_URL_SCHEME": "http",
    "TEMPLATES_AUTO_RELOAD": None,
    "MAX_COOKIE_SIZE": 4093,
    "PROVIDE_AUTOMATIC_OPTIONS": True,
    "WEBSOCKET_MAX_MESSAGE_SIZE": 16 * 1024 * 1024,
    # Origins, besides the app's own, whose pages may open websockets ("*": any).
    "WEBSOCKET_ALLOWED_ORIGINS": (),
    "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5.0,
    # Seconds `app.run()` and `asyncflask run` wait for open connections at shutdown.
    "GRACEFUL_SHUTDOWN_TIMEOUT": 10.0,
}
"""The configuration every application starts with, with Flask 3.1's defaults.

``DEBUG`` is ``None`` so that the application can resolve it (from its environment or
``app.run(debug=...)``) when it is not set explicitly.
"""


class _HasConfig(Protocol):
    """Anything exposing a mutable ``config`` mapping, such as the application."""

    # A read-only property keeps the protocol covariant, so an owner declaring
    # ``config: Config`` (or a plain dict) still matches.
    @property
    def config(self) -> MutableMapping[str, Any]: ...


class ConfigAttribute(Generic[T]):
    """A descriptor that forwards an attribute to a key of its owner's ``config``.

    ``debug = ConfigAttribute[bool]("DEBUG")`` on the application class makes
    ``app.debug`` read and write ``app.config["DEBUG"]``. Read on the class itself, it
    returns the descriptor.
    """

    def __init__(self, name: str, get_converter: Callable[[Any], T] | None = None) -> None:
        """Bind the attribute to a config key.

        Args:
            name: The config key the attribute reads and writes.
            get_converter: Optional callable applied to the stored value on every read.
        """
        self.__name__ = name
        self.get_converter = get_converter

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> ConfigAttribute[T]: ...

    @overload
    def __get__(self, obj: _HasConfig, owner: type[Any] | None = None) -> T: ...

    def __get__(self, obj: _HasConfig | None, owner: type[Any] | None = None) -> T | ConfigAttribute[T]:
        """Return the config value (converted), or the descriptor when read on the class.

        Args:
            obj: The instance the attribute is read on, or ``None`` for the class.
            owner: The class the attribute is defined on.

        Returns:
            The current config value, or this descriptor for class access.
        """
        if obj is None:
            return self
        value = obj.config[self.__name__]
        if self.get_converter is not None:
            value = self.get_converter(value)
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: _HasConfig, value: Any) -> None:
        """Store ``value`` under the bound config key.

        Args:
            obj: The instance the attribute is set on.
            value: The new config value.
        """
        obj.config[self.__name__] = value

    def __repr__(self) -> str:
        """Show which config key the attribute is bound to."""
        return f"<{type(self).__name__} {self.__name__!r}>"


class Config(dict[str, Any]):
    """A dict of configuration values, with helpers to load them, as Flask's config.

    Only UPPERCASE keys are taken from objects, files and mappings, so helper names
    and lowercase variables in a config module are ignored.
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str],
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        """Create the config.

        Args:
            root_path: The folder relative file names given to the loaders are resolved
                against (usually the application's root or instance path).
            defaults: Initial values, copied into the config.
        """
        super().__init__(defaults or {})
        self.root_path = root_path

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load a Python config file whose path is in an environment variable.

        Args:
            variable_name: The environment variable holding the file's path.
            silent: Return ``False`` instead of raising when the variable is unset or
                the file is missing.

        Returns:
            ``True`` if the file was loaded, ``False`` if skipped in silent mode.
        """
        path = os.environ.get(variable_name)
        if not path:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set, so no configuration"
                f" file could be loaded from it. Set it to the path of a Python configuration"
                f" file (for example 'export {variable_name}=/path/to/settings.cfg'), or pass"
                f" silent=True to continue without it."
            )
        return self.from_pyfile(path, silent=silent)

    def from_prefixed_env(
        self, prefix: str = "ASYNCFLASK", *, loads: Callable[[str], Any] = json.loads
    ) -> bool:
        """Load every environment variable named ``{prefix}_{KEY}``.

        Values are parsed with ``loads`` (so ``"true"``, ``"42"`` and JSON objects become
        Python values); a value that does not parse is kept as a string. A double
        underscore nests: ``ASYNCFLASK_DB__HOST`` sets ``config["DB"]["HOST"]``, creating
        the intermediate dicts that do not exist yet. Variables are applied in sorted
        order, so ``ASYNCFLASK_DB`` is set before ``ASYNCFLASK_DB__HOST`` updates it.

        Args:
            prefix: The prefix, without the trailing underscore.
            loads: Parses each value; any exception it raises keeps the raw string.

        Returns:
            Always ``True``.
        """
        full_prefix = f"{prefix}_"
        for env_key in sorted(os.environ):
            if not env_key.startswith(full_prefix):
                continue
            raw = os.environ[env_key]
            key = env_key[len(full_prefix) :]
            value: Any
            try:
                value = loads(raw)
            except Exception:
                value = raw

            if "__" not in key:
                self[key] = value
                continue

            *parents, leaf = key.split("__")
            current: MutableMapping[str, Any] = self
            walked: list[str] = []
            for part in parents:
                walked.append(part)
                if part not in current:
                    current[part] = {}
                child = current[part]
                if not isinstance(child, MutableMapping):
                    path = "".join(f"[{p!r}]" for p in walked)
                    raise TypeError(
                        f"Cannot apply environment variable {env_key!r}: config{path} is a"
                        f" {type(child).__name__}, not a dict, so {leaf!r} cannot be set inside"
                        f" it. Rename the variable, or make that value a dict (for example a"
                        f" JSON object in {full_prefix}{'__'.join(walked)})."
                    )
                current = child
            current[leaf] = value
        return True

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Execute a Python file and load its UPPERCASE names, as :meth:`from_object`.

        Args:
            filename: The file, absolute or relative to ``root_path``.
            silent: Return ``False`` instead of raising when the file is missing.

        Returns:
            ``True`` if the file was loaded, ``False`` if skipped in silent mode.
        """
        path = os.path.join(self.root_path, filename)
        try:
            with open(path, mode="rb") as config_file:
                source = config_file.read()
        except OSError as e:
            if silent and e.errno in _MISSING_FILE_ERRNOS:
                return False
            raise _explain_file_error(e) from None

        module = types.ModuleType("config")
        module.__file__ = path
        exec(compile(source, path, "exec"), module.__dict__)
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Load the UPPERCASE attributes of a module, class or instance.

        A string is imported first: ``"pkg.settings"``, ``"pkg.settings:ProdConfig"`` or
        ``"pkg.settings.ProdConfig"``. Lowercase attributes are ignored, so a config class
        can hold helpers.

        Args:
            obj: The object, or an import string naming it.
        """
        if isinstance(obj, str):
            obj = _import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: Callable[[IO[Any]], Mapping[str, Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a data file (JSON, TOML, ...) with ``load`` and merge its UPPERCASE keys.

        ``config.from_file("config.json", load=json.load)`` or, since ``tomllib`` reads
        bytes, ``config.from_file("config.toml", load=tomllib.load, text=False)``.

        Args:
            filename: The file, absolute or relative to ``root_path``.
            load: Called with the open file; must return a mapping.
            silent: Return ``False`` instead of raising when the file is missing.
            text: Open the file in text mode (UTF-8); ``False`` opens it in binary.

        Returns:
            ``True`` if the file was loaded, ``False`` if skipped in silent mode.
        """
        path = os.path.join(self.root_path, filename)
        try:
            data_file: IO[Any] = open(path, encoding="utf-8") if text else open(path, mode="rb")
        except OSError as e:
            if silent and e.errno in _MISSING_FILE_ERRNOS:
                return False
            raise _explain_file_error(e) from None

        with data_file:
            obj = load(data_file)
        if not isinstance(obj, Mapping):
            raise TypeError(
                f"Loading configuration file {path!r} gave a {type(obj).__name__}, not a mapping."
                f" The file's top level must be an object/table of KEY = value pairs."
            )
        return self.from_mapping(obj)

    def from_mapping(self, mapping: Mapping[str, Any] | None = None, **kwargs: Any) -> bool:
        """Merge the UPPERCASE keys of a mapping and of keyword arguments.

        Args:
            mapping: Values to merge; keyword arguments override its keys.
            **kwargs: More values to merge.

        Returns:
            Always ``True``.
        """
        values: dict[str, Any] = {}
        if mapping is not None:
            values.update(mapping)
        values.update(kwargs)
        for key, value in values.items():
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, Any]:
        """Return the values whose keys start with ``namespace``, as a new dict.

        With ``IMAGE_STORE_TYPE`` and ``IMAGE_STORE_PATH`` set,
        ``config.get_namespace("IMAGE_STORE_")`` gives ``{"type": ..., "path": ...}``,
        handy as keyword arguments for a constructor.

        Args:
            namespace: The key prefix, usually ending in ``_``.
            lowercase: Lowercase the returned keys.
            trim_namespace: Drop the prefix from the returned keys.

        Returns:
            A dict of the matching keys (transformed as asked) and their values.
        """
        found: dict[str, Any] = {}
        for key, value in self.items():
            if not key.startswith(namespace):
                continue
            name = key[len(namespace) :] if trim_namespace else key
            if lowercase:
                name = name.lower()
            found[name] = value
        return found

    def __repr__(self) -> str:
        """Show the class name and the values."""
        return f"<{type(self).__name__} {dict.__repr__(self)}>"


def _explain_file_error(error: OSError) -> OSError:
    """Reword an OSError from opening a config file so it says what to check."""
    # Keeping errno and filename leaves the original type (FileNotFoundError,
    # IsADirectoryError, ...) catchable, while the message gains the advice.
    error.strerror = (
        f"Unable to load configuration file ({error.strerror}). Check the path (relative"
        f" paths are resolved against the config's root_path), or pass silent=True to"
        f" ignore a missing file"
    )
    return error


def _import_string(import_name: str) -> Any:
    """Import ``"pkg.mod"``, ``"pkg.mod:Obj.attr"`` or ``"pkg.mod.Obj"`` and return it."""
    name = import_name.strip()
    hint = (
        "Pass 'package.module', 'package.module:Object' or 'package.module.Object', naming a"
        " module importable from sys.path and, optionally, an attribute defined in it."
    )
    if not name:
        raise ImportError(f"Cannot import configuration from an empty string. {hint}")

    if ":" in name:
        module_name, _, attr_path = name.partition(":")
        attrs = [a for a in attr_path.split(".") if a]
    elif "." in name:
        module_name, _, last = name.rpartition(".")
        attrs = [last]
    else:
        module_name, attrs = name, []

    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ImportError(f"Could not import {import_name!r} for configuration: {e}. {hint}") from e

    for i, attr in enumerate(attrs):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            # "pkg.mod" written with dots may name a submodule the package does not
            # import itself; only then is importing it the right fallback.
            if i == 0 and ":" not in name:
                try:
                    return importlib.import_module(name)
                except ModuleNotFoundError as e:
                    if e.name != name:
                        raise ImportError(
                            f"Could not import {import_name!r} for configuration: {e}. {hint}"
                        ) from e
            raise ImportError(
                f"Could not import {import_name!r} for configuration: module {module_name!r}"
                f" has no attribute {'.'.join(attrs[: i + 1])!r}. {hint}"
            ) from None
    return obj
