"""Blueprints: groups of routes and hooks, recorded now and replayed onto an app later."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .scaffold import Scaffold, registering, setupmethod

if TYPE_CHECKING:
    from .app import AsyncFlask
    from .cli import AppGroup

__all__ = ["Blueprint", "BlueprintSetupState"]

F = TypeVar("F", bound=Callable[..., Any])
DeferredSetup = Callable[["BlueprintSetupState"], Any]

_MISSING: Any = object()


def _join_prefix(outer: str | None, inner: str | None) -> str | None:
    """A nested blueprint's URL prefix: the parent's, then the child's (`None`: no prefix)."""
    if outer is not None and inner is not None:
        return f"{outer.rstrip('/')}/{inner.lstrip('/')}"
    return inner if inner is not None else outer


def _join_subdomain(outer: str | None, inner: str | None) -> str | None:
    """A nested blueprint's subdomain: the child's below the parent's (`api` + `v1` → `v1.api`)."""
    if outer is not None and inner is not None:
        return f"{inner}.{outer}"
    return inner if inner is not None else outer


def _option(options: dict[str, Any], key: str, default: Any) -> Any:
    """A registration option, where `None` (or leaving it out) means the blueprint's own value."""
    value = options.get(key)
    return default if value is None else value


class BlueprintSetupState:
    """One registration of a blueprint on an app: the app, the options and the name used.

    Args:
        blueprint: the blueprint being registered.
        app: the application.
        options: the keyword arguments of `register_blueprint`.
        first_registration: whether this blueprint object is registered for the first time.
    """

    def __init__(
        self,
        blueprint: Blueprint,
        app: AsyncFlask,
        options: dict[str, Any],
        first_registration: bool,
    ) -> None:
        self.app = app
        self.blueprint = blueprint
        self.options = options
        self.first_registration = first_registration
        self.subdomain: str | None = _option(options, "subdomain", blueprint.subdomain)
        self.url_prefix: str | None = _option(options, "url_prefix", blueprint.url_prefix)
        self.name: str = _option(options, "name", blueprint.name)
        self.name_prefix: str = options.get("name_prefix") or ""
        self.url_defaults = dict(blueprint.url_values_defaults)
        self.url_defaults.update(options.get("url_defaults") or {})

    @property
    def full_name(self) -> str:
        """The dotted name endpoints get as prefix, e.g. `parent.child`."""
        return f"{self.name_prefix}.{self.name}".lstrip(".")

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        **options: Any,
    ) -> None:
        """Register a rule on the app with this registration's prefix, subdomain and name."""
        if self.url_prefix is not None:
            rule = self.url_prefix.rstrip("/") + "/" + rule.lstrip("/") if rule else self.url_prefix
        options.setdefault("subdomain", self.subdomain)
        if endpoint is None:
            if view_func is None:
                raise TypeError("add_url_rule() needs an 'endpoint' when no 'view_func' is given.")
            endpoint = view_func.__name__
        defaults = self.url_defaults
        if "defaults" in options:
            defaults = {**defaults, **(options.pop("defaults") or {})}
        self.app.add_url_rule(
            rule,
            f"{self.full_name}.{endpoint}",
            view_func,
            defaults=defaults or None,
            _allow_dots=True,
            **options,
        )


class Blueprint(Scaffold):
    """A set of routes, hooks, templates and static files to register on an app.

    Everything decorated on a blueprint applies only to the blueprint's own requests;
    the `app_*` variants apply to the whole app.

    Args:
        name: the blueprint's name, the prefix of its endpoints (`"name.view"`).
        import_name: the blueprint's module, usually `__name__`.
        static_folder: a folder of static files served at `static_url_path`.
        static_url_path: the URL of the static folder (below `url_prefix`).
        template_folder: a folder added to the template search path (after the app's).
        url_prefix: a path prepended to every rule.
        subdomain: the subdomain its rules match.
        url_defaults: default view arguments for every rule.
        root_path: the blueprint's folder (found from `import_name` by default).
        cli_group: the name of its command group (default: the name it is registered under;
            `None` adds its commands to the app's own group).
    """

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = _MISSING,
    ) -> None:
        super().__init__(import_name, static_folder, static_url_path, template_folder, root_path)
        if not name:
            raise ValueError("A blueprint needs a non-empty name.")
        if "." in name:
            raise ValueError(
                f"The blueprint name {name!r} may not contain a dot; dots separate nested names."
            )
        self.name = name
        self.url_prefix = url_prefix
        self.subdomain = subdomain
        self.url_values_defaults = url_defaults or {}
        # Left out: the group is named after the blueprint as registered (its dotted name).
        self.cli_group = cli_group
        self.deferred_functions: list[DeferredSetup] = []
        self._blueprints: list[tuple[Blueprint, dict[str, Any]]] = []
        self._got_registered_once = False
        self._cli: AppGroup | None = None

    @property
    def cli(self) -> AppGroup:
        """The click group of this blueprint's commands (`@bp.cli.command()`)."""
        if self._cli is None:
            from .cli import AppGroup

            self._cli = AppGroup(self.name)
        return self._cli

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_registered_once:
            raise RuntimeError(
                f"The setup method '{f_name}' can no longer be called on the blueprint '{self.name}'."
                " It has already been registered at least once, so changes would not be applied"
                " consistently. Finish setting it up before registering it."
            )

    @setupmethod
    def record(self, func: DeferredSetup) -> None:
        """Call `func(state)` each time the blueprint is registered on an app."""
        self.deferred_functions.append(func)

    @setupmethod
    def record_once(self, func: DeferredSetup) -> None:
        """Call `func(state)` on the first registration only."""

        def once(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        self.record(once)

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Nest another blueprint: its names become `self.name.child`, its prefix joins ours."""
        if blueprint is self:
            raise ValueError("A blueprint cannot be registered on itself.")
        self._blueprints.append((blueprint, options))

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Record a rule; it is added (prefixed and named) when the blueprint is registered."""
        if endpoint and "." in endpoint:
            raise ValueError(f"The endpoint {endpoint!r} may not contain a dot.")
        if view_func is not None and "." in getattr(view_func, "__name__", ""):
            raise ValueError("The view function's name may not contain a dot.")
        self.record(
            lambda state: state.add_url_rule(
                rule,
                endpoint,
                view_func,
                provide_automatic_options=provide_automatic_options,
                **options,
            )
        )

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Seconds a static file of this blueprint may be cached; override it to choose.

        Returns:
            `None` (the default) leaves it to the app (`SEND_FILE_MAX_AGE_DEFAULT`).
        """
        return None

    async def send_static_file(self, filename: str) -> Any:
        """The view of the blueprint's `static` endpoint."""
        from .sending import send_from_directory

        if self.static_folder is None:
            raise RuntimeError(f"The blueprint {self.name!r} has no static folder.")
        max_age = self.get_send_file_max_age(filename)
        return await send_from_directory(self.static_folder, filename, max_age=max_age)

    def register(self, app: AsyncFlask, options: dict[str, Any]) -> None:
        """Replay everything recorded onto `app` (called by `app.register_blueprint`)."""
        name_prefix = options.get("name_prefix", "")
        self_name: str = _option(options, "name", self.name)
        if "." in self_name:
            raise ValueError(f"The blueprint name {self_name!r} may not contain a dot.")
        name = f"{name_prefix}.{self_name}".lstrip(".")
        if name in app.blueprints:
            existing = "this" if app.blueprints[name] is self else "a different"
            raise ValueError(
                f"The name {self_name!r} is already registered for {existing} blueprint. Use 'name=' to"
                " provide a unique name."
            )
        first_registration = not any(bp is self for bp in app.blueprints.values())
        app.blueprints[name] = self
        self._got_registered_once = True
        state = BlueprintSetupState(self, app, options, first_registration)

        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                view_func=self.send_static_file,
                endpoint="static",
            )
        self._merge_into(app, name)
        for deferred in self.deferred_functions:
            deferred(state)

        if self._cli is not None and self._cli.commands:
            cli_group = options.get("cli_group", self.cli_group)
            if cli_group is None:
                app.cli.commands.update(self._cli.commands)
            else:
                self._cli.name = name if cli_group is _MISSING else cli_group
                app.cli.add_command(self._cli)

        for child, child_options in self._blueprints:
            child_options = dict(child_options)
            child_options["url_prefix"] = _join_prefix(
                state.url_prefix, _option(child_options, "url_prefix", child.url_prefix)
            )
            child_options["subdomain"] = _join_subdomain(
                state.subdomain, _option(child_options, "subdomain", child.subdomain)
            )
            child_options["name_prefix"] = name
            child.register(app, child_options)

    def _merge_into(self, app: AsyncFlask, name: str) -> None:
        """Copy this blueprint's own hooks into the app's registries under its name."""
        registries = (
            "before_request_funcs",
            "after_request_funcs",
            "teardown_request_funcs",
            "before_websocket_funcs",
            "after_websocket_funcs",
            "template_context_processors",
            "url_value_preprocessors",
            "url_default_functions",
        )
        for attribute in registries:
            own = getattr(self, attribute).get(None)
            if own:
                getattr(app, attribute)[name].extend(own)
        for code, handlers in self.error_handler_spec.get(None, {}).items():
            app.error_handler_spec[name][code].update(handlers)
        # Views attached with `@bp.endpoint(name)` serve app-level rules, under that exact name.
        app.view_functions.update(self.view_functions)
        app._invalidate()

    # -- app-wide variants --------------------------------------------------------------------

    def _on_app(self, register: Callable[[AsyncFlask], Any]) -> None:
        self.record_once(lambda state: register(state.app))

    @setupmethod
    def before_app_request(self, f: F) -> F:
        """Like `app.before_request`: runs before every request of the app."""
        self._on_app(lambda app: app.before_request(f))
        return f

    @setupmethod
    def after_app_request(self, f: F) -> F:
        """Like `app.after_request`: runs after every request of the app."""
        self._on_app(lambda app: app.after_request(f))
        return f

    @setupmethod
    def teardown_app_request(self, f: F) -> F:
        """Like `app.teardown_request`: runs when any request of the app ends."""
        self._on_app(lambda app: app.teardown_request(f))
        return f

    @setupmethod
    def before_app_websocket(self, f: F) -> F:
        """Like `app.before_websocket`: runs before every websocket of the app."""
        self._on_app(lambda app: app.before_websocket(f))
        return f

    @setupmethod
    def after_app_websocket(self, f: F) -> F:
        """Like `app.after_websocket`: runs after every websocket of the app."""
        self._on_app(lambda app: app.after_websocket(f))
        return f

    @setupmethod
    def app_context_processor(self, f: F) -> F:
        """Like `app.context_processor`: adds names to every template of the app."""
        self._on_app(lambda app: app.context_processor(f))
        return f

    @setupmethod
    def app_errorhandler(self, code_or_exception: int | type[BaseException]) -> Callable[[F], F]:
        """Like `app.errorhandler`: handles the error for every request of the app."""

        def decorator(f: F) -> F:
            self._on_app(lambda app: app.register_error_handler(code_or_exception, f))
            return f

        return decorator

    @setupmethod
    def app_url_value_preprocessor(self, f: F) -> F:
        """Like `app.url_value_preprocessor`, for every request of the app."""
        self._on_app(lambda app: app.url_value_preprocessor(f))
        return f

    @setupmethod
    def app_url_defaults(self, f: F) -> F:
        """Like `app.url_defaults`, for every URL the app builds."""
        self._on_app(lambda app: app.url_defaults(f))
        return f

    @overload
    def app_template_filter(self, name: F) -> F: ...

    @overload
    def app_template_filter(self, name: str | None = None) -> Callable[[F], F]: ...

    def app_template_filter(self, name: F | str | None = None) -> F | Callable[[F], F]:
        """Like `app.template_filter`: a filter for every template of the app, used as
        `@bp.app_template_filter`, `@bp.app_template_filter()` or `@bp.app_template_filter("name")`.
        """
        return registering(self.add_app_template_filter, name)

    @setupmethod
    def add_app_template_filter(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register a template filter on the app (default name: the function's)."""
        self._on_app(lambda app: app.add_template_filter(f, name=name))

    @overload
    def app_template_test(self, name: F) -> F: ...

    @overload
    def app_template_test(self, name: str | None = None) -> Callable[[F], F]: ...

    def app_template_test(self, name: F | str | None = None) -> F | Callable[[F], F]:
        """Like `app.template_test`: a test for every template of the app, with or without
        parentheses or a name."""
        return registering(self.add_app_template_test, name)

    @setupmethod
    def add_app_template_test(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register a template test on the app (default name: the function's)."""
        self._on_app(lambda app: app.add_template_test(f, name=name))

    @overload
    def app_template_global(self, name: F) -> F: ...

    @overload
    def app_template_global(self, name: str | None = None) -> Callable[[F], F]: ...

    def app_template_global(self, name: F | str | None = None) -> F | Callable[[F], F]:
        """Like `app.template_global`: a global for every template of the app, with or without
        parentheses or a name."""
        return registering(self.add_app_template_global, name)

    @setupmethod
    def add_app_template_global(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register a template global on the app (default name: the function's)."""
        self._on_app(lambda app: app.add_template_global(f, name=name))

    def __repr__(self) -> str:
        return f"<Blueprint {self.name!r}>"
