"""Class-based views: `View` and `MethodView`."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, ClassVar

from .dispatch import ensure_async
from .exceptions import MethodNotAllowed
from .globals import request

__all__ = ["MethodView", "View", "http_method_funcs"]

#: The HTTP methods a `MethodView` may implement as methods of the same (lower-case) name.
http_method_funcs = frozenset(["get", "post", "head", "options", "delete", "put", "trace", "patch"])


class View:
    """A view as a class: override `dispatch_request`, register with `Cls.as_view(name)`.

    Class attributes:
        methods: the methods the rule accepts.
        decorators: applied to the generated view function, first one innermost.
        init_every_request: make a new instance per request (False shares one).
        provide_automatic_options: answer OPTIONS automatically.
    """

    methods: ClassVar[Collection[str] | None] = None
    provide_automatic_options: ClassVar[bool | None] = None
    decorators: ClassVar[list[Callable[..., Any]]] = []
    init_every_request: ClassVar[bool] = True

    if TYPE_CHECKING:
        # Subclasses choose their own signature (the rule's variables) and may be sync or
        # async, so type checkers see a callable of any shape rather than one fixed method.
        dispatch_request: Callable[..., Any]
    else:

        async def dispatch_request(self, **kwargs: Any) -> Any:
            """Handle the request; the rule's variables arrive as keyword arguments."""
            raise NotImplementedError(
                f"{type(self).__name__} must define 'dispatch_request' (or, for a MethodView, 'get',"
                " 'post', ...)."
            )

    @classmethod
    def as_view(cls, name: str, *class_args: Any, **class_kwargs: Any) -> Callable[..., Any]:
        """A view function for `add_url_rule`.

        Args:
            name: the endpoint name (and the function's name).
            *class_args: passed to the class on construction.
            **class_kwargs: passed to the class on construction.
        """
        view: Callable[..., Any]
        if cls.init_every_request:

            async def view(**kwargs: Any) -> Any:
                # `view_class` is read per request (as in Flask), from the outermost function.
                instance = registered.view_class(*class_args, **class_kwargs)  # type: ignore[attr-defined]
                return await ensure_async(instance.dispatch_request)(**kwargs)

        else:
            shared = cls(*class_args, **class_kwargs)

            async def view(**kwargs: Any) -> Any:
                return await ensure_async(shared.dispatch_request)(**kwargs)

        registered = view
        for decorator in cls.decorators:
            registered = decorator(registered)
        registered.view_class = cls  # type: ignore[attr-defined]
        registered.__name__ = name
        registered.__doc__ = cls.__doc__
        registered.__module__ = cls.__module__
        registered.methods = cls.methods  # type: ignore[attr-defined]
        registered.provide_automatic_options = cls.provide_automatic_options  # type: ignore[attr-defined]
        return registered


class MethodView(View):
    """Dispatches each HTTP method to the method of the same name (`get`, `post`, …).

    Only the standard methods the class defines are served; HEAD falls back to `get`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "methods" not in cls.__dict__:
            methods = {name.upper() for name in http_method_funcs if callable(getattr(cls, name, None))}
            for base in cls.__bases__:
                methods |= set(getattr(base, "methods", None) or ())
            if methods:
                cls.methods = methods

    async def dispatch_request(self, **kwargs: Any) -> Any:
        method = request.method.lower()
        handler = getattr(self, method, None) if method in http_method_funcs else None
        if handler is None and method == "head":
            handler = getattr(self, "get", None)
        if handler is None or not callable(handler):
            raise MethodNotAllowed(valid_methods=sorted(self.methods or ()))
        return await ensure_async(handler)(**kwargs)
