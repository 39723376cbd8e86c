"""Flask's rule syntax on Starlette's route protocol, with an index that keeps dispatch flat.

A `Rule` is a Starlette route (`matches`, `url_path_for`, `handle`), so anything that walks
routes keeps working. The `Map` holds the rules and converters of one app and answers
"which rule serves this path?" through an index: fully static paths in a dict, the other
rules in a tree keyed by their leading static segments, so the cost of a match does not grow
with the number of rules.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlencode

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from .exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound, error_response

if TYPE_CHECKING:
    from starlette.responses import Response as StarletteResponse

__all__ = [
    "AnyConverter",
    "BaseConverter",
    "BuildError",
    "FloatConverter",
    "IntegerConverter",
    "Map",
    "PathConverter",
    "RequestRedirect",
    "Rule",
    "UUIDConverter",
    "UnicodeConverter",
    "ValidationError",
]

_URL_SAFE = "!$&'()*+,/:;=@"
_QUERY_SAFE = "!$'()*,/:;?@"


class ValidationError(ValueError):
    """Raised by a converter's `to_python` to say "this value does not match the rule"."""


class BuildError(LookupError):
    """`url_for` could not build a URL: unknown endpoint, missing values or wrong method."""

    def __init__(
        self,
        endpoint: str,
        values: Mapping[str, Any],
        method: str | None,
        suggestion: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.values = dict(values)
        self.method = method
        message = f"Could not build url for endpoint {endpoint!r}"
        if method:
            message += f" ({method!r})"
        if values:
            message += f" with values {sorted(values)!r}"
        message += "."
        if suggestion:
            message += " " + suggestion
        super().__init__(message)


class RequestRedirect(HTTPException):
    """A routing redirect (308): a missing trailing slash or a rule's `redirect_to`."""

    code = 308
    name = "Permanent Redirect"
    description = "This resource has moved permanently."

    def __init__(self, new_url: str, code: int = 308) -> None:
        super().__init__(f"Redirecting to {new_url}.")
        self.new_url = new_url
        self.code = code

    def get_response(self, environ: Any = None, scope: Any = None) -> StarletteResponse:  # type: ignore[override]
        """The redirect to `new_url`."""
        from .helpers import redirect

        return redirect(self.new_url, self.code)


# ---------------------------------------------------------------------------------------------
# Converters


class BaseConverter:
    """Turns one URL variable into a Python value and back.

    Subclass it, set `regex`, and override `to_python` / `to_url`; register the class on
    `app.url_map.converters[name]`. Raise `ValidationError` in `to_python` to reject a value.
    """

    regex: str = "[^/]+"
    weight: int = 100
    part_isolating: bool = True

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        self.map = map

    def to_python(self, value: str) -> Any:
        """The view argument for the matched text."""
        return value

    def to_url(self, value: Any) -> str:
        """The URL text for a value given to `url_for`."""
        return quote(str(value), safe=_URL_SAFE)


class UnicodeConverter(BaseConverter):
    """`string` (the default): one path segment, with optional length limits."""

    def __init__(
        self,
        map: Map,
        minlength: int = 1,
        maxlength: int | None = None,
        length: int | None = None,
    ) -> None:
        super().__init__(map)
        if length is not None:
            size = f"{{{int(length)}}}"
        else:
            size = f"{{{int(minlength)},{'' if maxlength is None else int(maxlength)}}}"
        self.regex = f"[^/]{size}"


class AnyConverter(BaseConverter):
    """`any(a, b, c)`: exactly one of the listed words."""

    def __init__(self, map: Map, *items: str) -> None:
        super().__init__(map)
        if not items:
            raise ValueError("The 'any' converter needs at least one choice, e.g. <any(a, b):kind>.")
        # Compared as text: `any(1, 2)` parses its choices as ints, the URL gives strings.
        self.items = tuple(str(item) for item in items)
        self.regex = "(?:" + "|".join(re.escape(item) for item in self.items) + ")"

    def to_url(self, value: Any) -> str:
        if str(value) not in self.items:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, self.items))}.")
        return super().to_url(value)


class PathConverter(BaseConverter):
    """`path`: like the default but also accepts slashes."""

    regex = "[^/].*?"
    weight = 200
    part_isolating = False


class NumberConverter(BaseConverter):
    """The shared base of `int` and `float`: bounds, sign and fixed width."""

    weight = 50
    num_convert: Callable[[str], Any] = int
    unsigned_regex: ClassVar[str] = r"\d+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: float | None = None,
        max: float | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map)
        self.fixed_digits = fixed_digits
        self.min = min
        self.max = max
        self.signed = signed
        self.regex = ("-?" if signed else "") + self.unsigned_regex

    def to_python(self, value: str) -> Any:
        if self.fixed_digits and len(value) != self.fixed_digits:
            raise ValidationError()
        number = self.num_convert(value)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        text = str(self.num_convert(value))
        if self.fixed_digits:
            text = text.zfill(self.fixed_digits)
        return text


class IntegerConverter(NumberConverter):
    """`int`: a non-negative integer (`int(signed=True)` allows a minus sign)."""

    unsigned_regex = r"\d+"
    num_convert = int


class FloatConverter(NumberConverter):
    """`float`: a decimal number with a point (`float(signed=True)` allows a minus sign)."""

    unsigned_regex = r"\d+\.\d+"
    num_convert = float

    def __init__(
        self, map: Map, min: float | None = None, max: float | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, min=min, max=max, signed=signed)


class UUIDConverter(BaseConverter):
    """`uuid`: a UUID in its canonical hyphenated form, passed as `uuid.UUID`."""

    regex = r"[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value: Any) -> str:
        return str(value)


DEFAULT_CONVERTERS: dict[str, type[BaseConverter]] = {
    "default": UnicodeConverter,
    "string": UnicodeConverter,
    "any": AnyConverter,
    "path": PathConverter,
    "int": IntegerConverter,
    "float": FloatConverter,
    "uuid": UUIDConverter,
}

# ---------------------------------------------------------------------------------------------
# Rule syntax

_VARIABLE = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>[^)]*)\))?:)?(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)
_ARGUMENT = re.compile(
    r"""\s*(?:(?P<name>\w+)\s*=\s*)?(?P<value>"[^"]*"|'[^']*'|[^,]+?)\s*(?:,|$)""",
)


def _parse_converter_args(text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for match in _ARGUMENT.finditer(text):
        raw = match.group("value")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw  # a bare word, as in any(a, b)
        if match.group("name"):
            kwargs[match.group("name")] = value
        else:
            args.append(value)
    return tuple(args), kwargs


def parse_rule(rule: str) -> Iterator[tuple[str | None, str | None, str]]:
    """Split a rule into `(converter, args, variable)` parts; static text is `(None, None, text)`."""
    position = 0
    for match in _VARIABLE.finditer(rule):
        if match.start() > position:
            yield None, None, rule[position : match.start()]
        yield match.group("converter") or "default", match.group("args") or "", match.group("variable")
        position = match.end()
    if position < len(rule):
        yield None, None, rule[position:]


# ---------------------------------------------------------------------------------------------
# Rules


class Rule(BaseRoute):
    """One URL rule: a Flask-syntax path bound to an endpoint name and a set of methods."""

    def __init__(
        self,
        rule: str,
        endpoint: str | None = None,
        *,
        methods: Iterable[str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
        subdomain: str | None = None,
        redirect_to: str | Callable[..., str] | None = None,
        provide_automatic_options: bool | None = None,
        websocket: bool = False,
    ) -> None:
        if not rule.startswith("/"):
            raise ValueError(f"URL rule {rule!r} must start with a slash, e.g. '/{rule}'.")
        self.rule = rule
        self.endpoint: str = endpoint or ""
        self.defaults = dict(defaults) if defaults else None
        self.strict_slashes = strict_slashes
        self.host = host
        self.subdomain = subdomain
        self.redirect_to = redirect_to
        self.websocket = websocket
        self.methods: set[str] | None = None
        if methods is not None:
            self.methods = {m.upper() for m in ([methods] if isinstance(methods, str) else methods)}
            if "GET" in self.methods:
                self.methods.add("HEAD")
        self.provide_automatic_options = bool(provide_automatic_options)
        if self.provide_automatic_options and self.methods is not None:
            self.methods.add("OPTIONS")
        self.arguments: set[str] = set()
        self.map: Map | None = None
        self.app: ASGIApp | None = None
        # Filled by `bind`:
        self._regex: re.Pattern[str] | None = None
        self._host_regex: re.Pattern[str] | None = None
        self._host_keeps_port = False
        self._converters: dict[str, BaseConverter] = {}
        self._path_converters: dict[str, BaseConverter] = {}
        self._parts: list[tuple[bool, str]] = []
        self._host_parts: list[tuple[bool, str]] = []
        # Rules of the same endpoint whose defaults make them the canonical URL for this one
        # (`/page/` with page=1 for `/page/<int:page>`); filled by the map's index.
        self._default_rules: tuple[Rule, ...] = ()
        self.is_static = False
        self.sort_key: tuple[tuple[int, int], ...] = ()
        self.static_prefix: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The endpoint name, under the attribute Starlette's routes use."""
        return self.endpoint

    @property
    def path(self) -> str:
        """The rule text, under the attribute Starlette's routes use."""
        return self.rule

    def bind(self, map: Map) -> None:
        """Compile the rule with the map's converters; called when the rule is added."""
        self.map = map
        strict = map.strict_slashes if self.strict_slashes is None else self.strict_slashes
        self.strict_slashes = strict
        pattern, parts, converters, sort_key = self._compile(self.rule, map)
        if not strict and self.rule.endswith("/") and len(self.rule) > 1:
            pattern = pattern[: -len(re.escape("/"))] + "/?"
        elif not strict and len(self.rule) > 1:
            pattern += "/?"
        # \Z, not $: "$" also matches before a final newline, so "/user/1%0A" would be user 1.
        self._regex = re.compile(f"^{pattern}\\Z")
        # Static text is built quoted, as Werkzeug does ("/a b" builds "/a%20b").
        self._parts = [(is_var, text if is_var else quote(text, safe=_URL_SAFE)) for is_var, text in parts]
        self._path_converters = converters
        # The end of the rule sorts after any part, so where one rule's parts begin another's,
        # the longer one is tried first: `/<path:p>/raw` before `/<path:p>`, as in Werkzeug.
        self.sort_key = (*sort_key, (2, 0))
        self.is_static = not converters and strict
        self.bind_host(map)
        # The leading segments without variables: where the rule sits in the map's index. A
        # rule with an optional trailing slash also matches without it, so its last
        # segment is not a prefix of every path it matches.
        segments = self.rule[1:].split("/")
        if not strict and self.rule.endswith("/"):
            segments.pop()
        prefix: list[str] = []
        for segment in segments[:-1]:
            if "<" in segment:
                break
            prefix.append(segment)
        self.static_prefix = tuple(prefix)

    def bind_host(self, map: Map) -> None:
        """Compile the host part (host rules, or subdomains of the map's `server_name`)."""
        self._converters = dict(self._path_converters)
        self.arguments = set(self._converters) | set(self.defaults or ())
        host_pattern = self._host_pattern(map)
        if host_pattern is None:
            self._host_regex = None
            self._host_parts = []
            return
        host_regex, host_parts, host_converters, _ = self._compile(host_pattern, map)
        for name in host_converters:
            if name in self._converters:
                raise ValueError(
                    f"The rule {self.rule!r} uses the variable name {name!r} in its host and path."
                )
        self._host_regex = re.compile(f"^{host_regex}\\Z", re.IGNORECASE)
        # A pattern without a port matches any port ("example.org:8080" fits "example.org").
        self._host_keeps_port = ":" in host_pattern
        self._host_parts = host_parts
        self._converters.update(host_converters)
        self.arguments |= set(host_converters)

    def _host_pattern(self, map: Map) -> str | None:
        if map.host_matching:
            return self.host or None
        if self.subdomain is not None and map.server_name:
            return f"{self.subdomain}.{map.server_name}" if self.subdomain else map.server_name
        if map.subdomain_matching and map.server_name:
            return map.server_name
        return None

    @staticmethod
    def _compile(
        text: str, map: Map
    ) -> tuple[str, list[tuple[bool, str]], dict[str, BaseConverter], list[tuple[int, int]]]:
        regex: list[str] = []
        parts: list[tuple[bool, str]] = []
        converters: dict[str, BaseConverter] = {}
        weights: list[tuple[int, int]] = []
        for converter_name, args, value in parse_rule(text):
            if converter_name is None:
                if "<" in value:
                    raise ValueError(
                        f"The rule {text!r} is malformed near {value!r}: write a variable as"
                        " <name> or <converter:name>, e.g. <int:id>."
                    )
                regex.append(re.escape(value))
                parts.append((False, value))
                weights.extend((0, -len(segment)) for segment in value.split("/") if segment)
                continue
            try:
                converter_cls = map.converters[converter_name]
            except KeyError:
                raise LookupError(
                    f"The rule {text!r} uses the converter {converter_name!r}, which is not registered."
                    f" Add it with app.url_map.converters[{converter_name!r}] = YourConverter."
                ) from None
            c_args, c_kwargs = _parse_converter_args(args or "")
            converter = converter_cls(map, *c_args, **c_kwargs)
            if value in converters:
                raise ValueError(f"The rule {text!r} uses the variable name {value!r} twice.")
            converters[value] = converter
            regex.append(f"(?P<{value}>{converter.regex})")
            parts.append((True, value))
            weights.append((1, converter.weight))
        return "".join(regex), parts, converters, weights

    # -- matching ------------------------------------------------------------------------------

    def match(self, path: str, host: str | None = None) -> dict[str, Any] | None:
        """The view arguments when `path` (and `host`) fit this rule, else None."""
        values: dict[str, Any] = {}
        if self._host_regex is not None:
            if host and not self._host_keeps_port and not host.endswith("]"):
                host = host.rpartition(":")[0] or host
            host_match = self._host_regex.match(host or "")
            if host_match is None:
                return None
            for key, text in host_match.groupdict().items():
                try:
                    values[key] = self._converters[key].to_python(text)
                except (ValidationError, ValueError):
                    return None
        if not self.is_static:
            assert self._regex is not None
            path_match = self._regex.match(path)
            if path_match is None:
                return None
            for key, text in path_match.groupdict().items():
                try:
                    values[key] = self._converters[key].to_python(text)
                except (ValidationError, ValueError):
                    return None
        if self.defaults:
            for key, value in self.defaults.items():
                values.setdefault(key, value)
        return values

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Starlette's route protocol: FULL, PARTIAL (wrong method) or NONE."""
        if (scope["type"] == "websocket") != self.websocket:
            return Match.NONE, {}
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :] or "/"
        host = None
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value.decode("latin-1")
        values = self.match(path, host)
        if values is None:
            return Match.NONE, {}
        child: Scope = {"endpoint": self.endpoint, "path_params": values}
        if self.methods is not None and scope.get("method", "GET") not in self.methods:
            return Match.PARTIAL, child
        return Match.FULL, child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's route protocol: serve a matched request through the app."""
        if self.app is None:
            raise RuntimeError(f"The rule {self.rule!r} is not attached to an application.")
        if scope["type"] == "http":
            # A router hands over PARTIAL matches too (wrong method): answer them as Starlette's
            # `Route` does, with a 405, rather than running the view.
            error: HTTPException | None = None
            if self.methods is not None and scope["method"] not in self.methods:
                error = MethodNotAllowed(valid_methods=sorted(self.methods))
            elif self.redirect_to is not None and self.map is not None:
                error = RequestRedirect(self.map.redirect_target(self, dict(scope.get("path_params", {}))))
            if error is not None:
                await error_response(error)(scope, receive, send)
                return
        scope["route"] = self
        await self.app(scope, receive, send)

    # -- building ------------------------------------------------------------------------------

    def suitable_for(self, values: Mapping[str, Any], method: str | None) -> bool:
        """Whether this rule can build a URL from `values` (and serves `method`)."""
        if method is not None and self.methods is not None and method not in self.methods:
            return False
        defaults = self.defaults or {}
        for key in self.arguments:
            if key not in defaults and key not in values:
                return False
        for key, value in defaults.items():
            if key in values and values[key] != value:
                return False
        return True

    def build(self, values: Mapping[str, Any]) -> tuple[str | None, str]:
        """Fill the rule with `values`: `(host or None, path)`."""
        defaults = self.defaults or {}

        def fill(parts: list[tuple[bool, str]]) -> str:
            out: list[str] = []
            for is_variable, text in parts:
                if is_variable:
                    value = values[text] if text in values else defaults[text]
                    out.append(self._converters[text].to_url(value))
                else:
                    out.append(text)
            return "".join(out)

        host = fill(self._host_parts) if self._host_regex is not None else None
        return host, fill(self._parts)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Starlette's route protocol: the path for this endpoint and exactly these values."""
        if (
            name != self.endpoint
            or set(path_params) - self.arguments
            or not self.suitable_for(path_params, None)
        ):
            raise NoMatchFound(name, path_params)
        return URLPath(path=self.build(path_params)[1], protocol="websocket" if self.websocket else "http")

    def __repr__(self) -> str:
        methods = f" ({', '.join(sorted(self.methods))})" if self.methods else ""
        return f"<Rule {self.rule!r}{methods} -> {self.endpoint}>"

    def __str__(self) -> str:
        return self.rule


# ---------------------------------------------------------------------------------------------
# The map


class Map:
    """All URL rules and converters of one app, with the index that finds a rule fast."""

    def __init__(
        self,
        rules: Iterable[Rule] = (),
        *,
        strict_slashes: bool = True,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        server_name: str | None = None,
        converters: Mapping[str, type[BaseConverter]] | None = None,
    ) -> None:
        self.converters: dict[str, type[BaseConverter]] = dict(DEFAULT_CONVERTERS)
        if converters:
            self.converters.update(converters)
        self.strict_slashes = strict_slashes
        self.host_matching = host_matching
        self.subdomain_matching = subdomain_matching
        self._server_name = server_name
        self._rules: list[Rule] = []
        self._by_endpoint: dict[str, list[Rule]] = {}
        self._index_ready = False
        self._static: dict[str, tuple[Rule, ...]] = {}
        self._tree = _IndexNode()
        self._needs_host = False
        self._has_slash_rules = False
        for rule in rules:
            self.add(rule)

    @property
    def server_name(self) -> str | None:
        """`SERVER_NAME`: the host that subdomain rules (and `subdomain_matching`) are relative to."""
        return self._server_name

    @server_name.setter
    def server_name(self, value: str | None) -> None:
        if value == self._server_name:
            return
        self._server_name = value
        # Host patterns depend on it: recompile them, so a SERVER_NAME set after the routes
        # were registered still takes effect.
        for rule in self._rules:
            rule.bind_host(self)
        self._index_ready = False

    def add(self, rule: Rule) -> None:
        """Compile and add a rule."""
        rule.bind(self)
        self._rules.append(rule)
        self._by_endpoint.setdefault(rule.endpoint, []).append(rule)
        # Rules that need the most values come first, so url_for uses every value it can.
        self._by_endpoint[rule.endpoint].sort(key=lambda r: (-len(r.arguments), -len(r.defaults or ())))
        self._index_ready = False

    @property
    def needs_host(self) -> bool:
        """Whether some rule matches on the Host header (host or subdomain rules)."""
        if not self._index_ready:
            self._build_index()
        return self._needs_host

    def is_endpoint_expecting(self, endpoint: str, *arguments: str) -> bool:
        """Whether some rule of `endpoint` takes all of `arguments` (for `url_defaults` functions)."""
        return any(set(arguments) <= rule.arguments for rule in self._by_endpoint.get(endpoint, ()))

    def iter_rules(self, endpoint: str | None = None) -> Iterator[Rule]:
        """Every rule, or those of one endpoint, in registration order."""
        if endpoint is not None:
            return iter(list(self._by_endpoint.get(endpoint, ())))
        return iter(list(self._rules))

    def __iter__(self) -> Iterator[Rule]:
        return self.iter_rules()

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"Map({self._rules!r})"

    def _build_index(self) -> None:
        static: dict[str, list[Rule]] = {}
        tree = _IndexNode()
        for rule in self._rules:
            if rule.is_static:
                static.setdefault(rule.rule, []).append(rule)
                continue
            node = tree
            for segment in rule.static_prefix:
                node = node.children.setdefault(segment, _IndexNode())
            node.rules.append(rule)
        tree.freeze(())
        self._static = {path: tuple(rules) for path, rules in static.items()}
        self._tree = tree
        self._needs_host = any(rule._host_regex is not None for rule in self._rules)
        self._has_slash_rules = any(
            rule.strict_slashes and len(rule.rule) > 1 and rule.rule.endswith("/") for rule in self._rules
        )
        for rules in self._by_endpoint.values():
            for position, rule in enumerate(rules):
                # Werkzeug's `redirect_defaults`: `/page/1` redirects to `/page/` when that rule
                # has defaults={"page": 1}. Only rules listed earlier (preferred for building) count.
                rule._default_rules = tuple(
                    other
                    for other in rules[:position]
                    if other.defaults and other.arguments == rule.arguments and not other.websocket
                )
        self._index_ready = True

    def _candidates(self, path: str) -> Iterator[Rule]:
        static = self._static.get(path)
        if static:
            yield from static
        # Walk down the static segments as far as they go; that node already holds, in
        # precedence order, every rule whose static prefix is a prefix of this path.
        node = self._tree
        children = node.children
        if children:
            for segment in path[1:].split("/")[:-1]:
                child = children.get(segment)
                if child is None:
                    break
                node = child
                children = child.children
                if not children:
                    break
        yield from node.candidates

    def match(
        self, path: str, method: str, host: str | None = None, websocket: bool = False
    ) -> tuple[Rule, dict[str, Any]]:
        """Find the rule for a request.

        Args:
            path: the request path below the app's root.
            method: the HTTP method (`GET` for websockets).
            host: the Host header, for host or subdomain rules.
            websocket: match websocket rules instead of HTTP ones.

        Returns:
            The rule and the converted view arguments.

        Raises:
            NotFound: no rule fits the path.
            MethodNotAllowed: rules fit the path but not the method.
            RequestRedirect: a slash is missing, or the rule redirects.
        """
        if not self._index_ready:
            self._build_index()
        allowed: set[str] | None = None
        for rule in self._candidates(path):
            if rule.websocket is not websocket:
                continue
            values = rule.match(path, host)
            if values is None:
                continue
            if rule.methods is None or method in rule.methods:
                if self._has_slash_rules and not path.endswith("/"):
                    # A rule with the slash that ranks above this one wins, by redirect.
                    self._slash_redirect(path, host, method, websocket, rule)
                if rule.redirect_to is not None:
                    raise RequestRedirect(self.redirect_target(rule, values))
                if rule._default_rules:
                    self._redirect_to_defaults(rule, values, method)
                return rule, values
            if allowed is None:
                allowed = set()
            allowed |= rule.methods
        if allowed:
            raise MethodNotAllowed(valid_methods=sorted(allowed))
        if not path.endswith("/"):
            self._slash_redirect(path, host, method, websocket, None)
        for rule in self._candidates(path):
            if rule.websocket is not websocket and rule.match(path, host) is not None:
                # The URL exists for the other kind of connection.
                kind = "websocket" if rule.websocket else "HTTP"
                raise BadRequest(f"This URL only accepts {kind} requests.")
        raise NotFound()

    def _slash_redirect(
        self, path: str, host: str | None, method: str, websocket: bool, ranked_below: Rule | None
    ) -> None:
        """Redirect to `path + "/"` when a strict rule with the trailing slash serves it (and
        ranks above `ranked_below`, the rule that matched without the slash, if any)."""
        target = path + "/"
        for rule in self._candidates(target):
            if ranked_below is not None and rule.sort_key >= ranked_below.sort_key:
                continue
            if (
                rule.websocket is websocket
                and rule.strict_slashes
                and (rule.methods is None or method in rule.methods)
                and rule.match(target, host) is not None
            ):
                # The path was decoded by the server: quote it again for the Location header.
                raise RequestRedirect(quote(target, safe=_URL_SAFE))

    def allowed_methods(self, path: str, host: str | None = None) -> list[str]:
        """Every method some rule accepts for this path (for OPTIONS and 405)."""
        if not self._index_ready:
            self._build_index()
        methods: set[str] = set()
        for rule in self._candidates(path):
            if not rule.websocket and rule.match(path, host) is not None:
                methods |= rule.methods or {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
        return sorted(methods)

    def _redirect_to_defaults(self, rule: Rule, values: dict[str, Any], method: str) -> None:
        for other in rule._default_rules:
            if other.suitable_for(values, method):
                raise RequestRedirect(other.build({**values, **(other.defaults or {})})[1])

    def redirect_target(self, rule: Rule, values: dict[str, Any]) -> str:
        """Where a rule's `redirect_to` sends a request that matched it with `values`.

        A callable is called as Werkzeug does, `redirect_to(map, **values)` (the map stands
        in for Werkzeug's adapter), or with the values alone if it takes no extra argument.
        """
        target = rule.redirect_to
        if callable(target):
            try:
                inspect.signature(target).bind(self, **values)
            except TypeError:
                return str(target(**values))
            except ValueError:  # no signature (a builtin): assume Werkzeug's convention
                pass
            return str(target(self, **values))
        if target is None:
            raise ValueError(f"The rule {rule.rule!r} has no 'redirect_to'.")

        def substitute(match: re.Match[str]) -> str:
            name = match.group("variable")
            return (
                rule._converters[name].to_url(values[name]) if name in rule._converters else str(values[name])
            )

        return _VARIABLE.sub(substitute, target)

    def build(
        self,
        endpoint: str,
        values: Mapping[str, Any],
        method: str | None = None,
        append_unknown: bool = True,
    ) -> tuple[Rule, str | None, str]:
        """Build a URL for an endpoint.

        Args:
            endpoint: the endpoint name.
            values: the rule's variables; the rest become the query string.
            method: pick a rule that serves this method.
            append_unknown: add values the rule does not use as a query string.

        Returns:
            `(rule, host or None, path with query string)`.

        Raises:
            BuildError: no rule of that endpoint fits.
        """
        rules = self._by_endpoint.get(endpoint)
        if not rules:
            close = difflib.get_close_matches(endpoint, list(self._by_endpoint), n=1)
            hint = f"Did you mean {close[0]!r} instead?" if close else "No rule has this endpoint."
            raise BuildError(endpoint, values, method, hint)
        clean = {key: value for key, value in values.items() if value is not None}
        for rule in rules:
            if rule.suitable_for(clean, method):
                host, path = rule.build(clean)
                if append_unknown:
                    query = _encode_query((k, v) for k, v in clean.items() if k not in rule.arguments)
                    if query:
                        path += "?" + query
                return rule, host, path
        missing = sorted(
            set().union(*(r.arguments for r in rules)) - set(clean) - set(rules[0].defaults or ())
        )
        if method is not None and not any(r.methods is None or method in r.methods for r in rules):
            hint = f"The endpoint does not serve the method {method!r}."
        elif missing:
            hint = f"Did you forget to specify values {missing!r}?"
        else:
            hint = "The given values do not fit any of its rules."
        raise BuildError(endpoint, values, method, hint)


class _IndexNode:
    """A node of the index: rules whose static prefix ends here, and the deeper prefixes."""

    __slots__ = ("candidates", "children", "rules")

    def __init__(self) -> None:
        self.children: dict[str, _IndexNode] = {}
        self.rules: list[Rule] = []
        self.candidates: tuple[Rule, ...] = ()

    def freeze(self, inherited: tuple[Rule, ...]) -> None:
        # Werkzeug's precedence: static text beats variables, cheap converters beat greedy
        # ones; ties keep registration order (the sort is stable).
        self.candidates = tuple(sorted((*inherited, *self.rules), key=lambda rule: rule.sort_key))
        for child in self.children.values():
            child.freeze(self.candidates)


def _encode_query(items: Iterable[tuple[str, Any]]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        if isinstance(value, (list, tuple)):
            pairs.extend((key, str(item)) for item in value if item is not None)
        elif hasattr(value, "items") and hasattr(value, "getlist"):
            continue
        else:
            pairs.append((key, str(value)))
    # Werkzeug's safe set, so `url_for(..., next="/a/b")` gives `?next=/a/b` as in Flask.
    return urlencode(pairs, safe=_QUERY_SAFE)
