"""Request data containers: multi-value dicts for query strings and forms, and Accept headers."""

from __future__ import annotations

import copy as _copy
import enum
import re
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar, overload

from .exceptions import BadRequest

if TYPE_CHECKING:
    from typing import TypeAlias

    from _typeshed import SupportsKeysAndGetItem
    from starlette.responses import Response as StarletteResponse

__all__ = [
    "Accept",
    "BadRequestKeyError",
    "CombinedMultiDict",
    "ImmutableMultiDict",
    "MIMEAccept",
    "MultiDict",
]

V = TypeVar("V")
T = TypeVar("T")
D = TypeVar("D")

if TYPE_CHECKING:
    MultiDictInput: TypeAlias = (
        "MultiDict[V] | Mapping[str, V | list[V] | tuple[V, ...]] | Iterable[tuple[str, V]]"
    )


class _Missing(enum.Enum):
    MISSING = enum.auto()


class BadRequestKeyError(BadRequest, KeyError):
    """A missing key in request data: a `KeyError` that is also a 400 `BadRequest`.

    Args:
        key: the key that was looked up.
        description: replaces the default explanation.
        response: a ready response to send instead of the generated page.
    """

    #: Add the missing key to the description (set per instance or class, e.g. in debug mode).
    show_exception: bool = False
    _description: str = BadRequest.description

    def __init__(
        self,
        key: str | None = None,
        description: str | None = None,
        response: StarletteResponse | None = None,
    ) -> None:
        self.key = key
        super().__init__(description, response)
        # HTTPException put the description in args; KeyError's contract is that args[0] is the key.
        if key is None:
            self.args = ()
        else:
            self.args = (key,)

    @property
    def description(self) -> str:
        """The explanation, with the missing key appended when `show_exception` is true."""
        if self.show_exception:
            return f"{self._description}\nKeyError: {self.key!r}"
        return self._description

    @description.setter
    def description(self, value: str) -> None:
        self._description = value


def _extend(lists: dict[str, list[Any]], data: Any) -> None:
    """Append every (key, value) of a MultiDict, mapping or iterable of pairs to ``lists``."""
    if isinstance(data, MultiDict):
        for key, values in data.lists():
            if key in lists:
                lists[key].extend(values)
            else:
                lists[key] = values
    elif hasattr(data, "keys"):
        for key in data.keys():
            value = data[key]
            # A list or tuple in a plain mapping stands for several values, as in Werkzeug.
            if isinstance(value, (list, tuple)):
                if not value:
                    continue
                if key in lists:
                    lists[key].extend(value)
                else:
                    lists[key] = list(value)
            elif key in lists:
                lists[key].append(value)
            else:
                lists[key] = [value]
    else:
        for key, value in data:
            existing = lists.get(key)
            if existing is None:
                lists[key] = [value]
            else:
                existing.append(value)


class _FirstItemsView(ItemsView[str, V]):
    __slots__ = ()
    _mapping: MultiDict[V]

    def __iter__(self) -> Iterator[tuple[str, V]]:
        for key, values in self._mapping._lists.items():
            if values:
                yield key, values[0]


class _AllItemsView(ItemsView[str, V]):
    __slots__ = ()
    _mapping: MultiDict[V]

    def __iter__(self) -> Iterator[tuple[str, V]]:
        for key, values in self._mapping._lists.items():
            for value in values:
                yield key, value

    def __len__(self) -> int:
        return sum(len(values) for values in self._mapping._lists.values())

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        key, value = item
        values = self._mapping._lists.get(key) if isinstance(key, str) else None
        return values is not None and value in values


class _FirstValuesView(ValuesView[V]):
    __slots__ = ()
    _mapping: MultiDict[V]

    def __iter__(self) -> Iterator[V]:
        for values in self._mapping._lists.values():
            if values:
                yield values[0]


class MultiDict(MutableMapping[str, V]):
    """A dict that keeps every value given for a key, in order; plain lookups give the first.

    Args:
        mapping: a MultiDict, a mapping (a list or tuple value stands for several values),
            or an iterable of ``(key, value)`` pairs, where repeated keys accumulate.
    """

    __slots__ = ("_lists",)

    def __init__(self, mapping: MultiDictInput[V] | None = None) -> None:
        lists: dict[str, list[V]] = {}
        if mapping is not None:
            _extend(lists, mapping)
        self._lists = lists

    def __getitem__(self, key: str) -> V:
        try:
            return self._lists[key][0]
        except (KeyError, IndexError):
            raise BadRequestKeyError(key) from None

    def __setitem__(self, key: str, value: V) -> None:
        self._lists[key] = [value]

    def __delitem__(self, key: str) -> None:
        del self._lists[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    def __contains__(self, key: object) -> bool:
        return key in self._lists

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiDict):
            return self._lists == other._lists
        if isinstance(other, Mapping):
            # A plain mapping holds one value per key, so compare the first values.
            return self.to_dict() == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.items(multi=True))!r})"

    def __getstate__(self) -> object:
        return self._lists

    def __setstate__(self, state: Any) -> None:
        self._lists = state

    @overload
    def get(self, key: str, default: None = None, type: None = None) -> V | None: ...
    @overload
    def get(self, key: str, default: V, type: None = None) -> V: ...
    @overload
    def get(self, key: str, default: T, type: None = None) -> V | T: ...
    @overload
    def get(self, key: str, default: None = None, *, type: Callable[[V], T]) -> T | None: ...
    @overload
    def get(self, key: str, default: D, type: Callable[[V], T]) -> T | D: ...

    def get(self, key: str, default: Any = None, type: Callable[[V], Any] | None = None) -> Any:
        """The first value for ``key``, or ``default`` when there is none.

        Args:
            key: the key to look up.
            default: returned when the key is missing or the conversion fails.
            type: a callable converting the value; a `ValueError` or `TypeError` it raises
                gives ``default``.
        """
        try:
            value = self._lists[key][0]
        except (KeyError, IndexError):
            return default
        if type is None:
            return value
        try:
            return type(value)
        except (ValueError, TypeError):
            return default

    @overload
    def getlist(self, key: str) -> list[V]: ...
    @overload
    def getlist(self, key: str, type: Callable[[V], T]) -> list[T]: ...

    def getlist(self, key: str, type: Callable[[V], Any] | None = None) -> list[Any]:
        """Every value for ``key`` (a new list, empty when the key is missing).

        Args:
            key: the key to look up.
            type: a callable converting each value; values it rejects with a `ValueError`
                or `TypeError` are left out.
        """
        values = self._lists.get(key)
        if values is None:
            return []
        if type is None:
            return list(values)
        converted = []
        for value in values:
            try:
                converted.append(type(value))
            except (ValueError, TypeError):
                continue
        return converted

    def setlist(self, key: str, new_list: Iterable[V]) -> None:
        """Replace the values for ``key``; an empty iterable removes the key."""
        values = list(new_list)
        if values:
            self._lists[key] = values
        else:
            self._lists.pop(key, None)

    def add(self, key: str, value: V) -> None:
        """Append ``value`` to the values for ``key``."""
        values = self._lists.get(key)
        if values is None:
            self._lists[key] = [value]
        else:
            values.append(value)

    def setlistdefault(self, key: str, default_list: Iterable[V] | None = None) -> list[V]:
        """The stored list for ``key``, created from ``default_list`` if missing.

        Returns:
            The list itself, so appending to it adds values to this dict.
        """
        values = self._lists.get(key)
        if values is None:
            values = list(default_list) if default_list is not None else []
            self._lists[key] = values
        return values

    def poplist(self, key: str) -> list[V]:
        """Remove ``key`` and return all its values (an empty list when it is missing)."""
        return self._lists.pop(key, [])

    @overload
    def pop(self, key: str) -> V: ...
    @overload
    def pop(self, key: str, default: V) -> V: ...
    @overload
    def pop(self, key: str, default: T) -> V | T: ...

    def pop(self, key: str, default: Any = _Missing.MISSING) -> Any:
        """Remove ``key`` and return its first value, or ``default`` when it is missing.

        Raises:
            BadRequestKeyError: the key is missing and no default was given.
        """
        values = self._lists.pop(key, None)
        if values:
            return values[0]
        if default is _Missing.MISSING:
            raise BadRequestKeyError(key)
        return default

    def popitem(self) -> tuple[str, V]:
        """Remove a key (the last one added) and return it with its first value."""
        while True:
            key, values = self._lists.popitem()
            if values:
                return key, values[0]

    def popitemlist(self) -> tuple[str, list[V]]:
        """Remove a key (the last one added) and return it with all its values."""
        return self._lists.popitem()

    @overload
    def setdefault(self: MultiDict[T | None], key: str, default: None = None) -> T | None: ...
    @overload
    def setdefault(self, key: str, default: V) -> V: ...

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The first value for ``key``; if there is none, store ``default`` and return it."""
        values = self._lists.get(key)
        if values:
            return values[0]
        self._lists[key] = [default]
        return default

    def update(
        self,
        mapping: MultiDictInput[V] | SupportsKeysAndGetItem[str, V] | None = None,
        /,
        **kwargs: V,
    ) -> None:
        """Add the values of ``mapping`` and ``kwargs``; unlike `dict.update`, nothing is replaced."""
        if mapping is not None:
            _extend(self._lists, mapping)
        if kwargs:
            _extend(self._lists, kwargs)

    def clear(self) -> None:
        """Remove every key."""
        self._lists.clear()

    def keys(self) -> KeysView[str]:
        """The keys, each once, in insertion order."""
        return self._lists.keys()

    def values(self) -> ValuesView[V]:
        """The first value of each key."""
        return _FirstValuesView(self)

    def items(self, multi: bool = False) -> ItemsView[str, V]:
        """``(key, first value)`` pairs, or with ``multi`` one pair per value."""
        return _AllItemsView(self) if multi else _FirstItemsView(self)

    def lists(self) -> Iterator[tuple[str, list[V]]]:
        """``(key, values)`` pairs; each list is a copy."""
        for key, values in self._lists.items():
            yield key, list(values)

    def listvalues(self) -> Iterator[list[V]]:
        """The list of values of each key; each list is a copy."""
        for values in self._lists.values():
            yield list(values)

    @overload
    def to_dict(self, flat: Literal[True] = True) -> dict[str, V]: ...
    @overload
    def to_dict(self, flat: Literal[False]) -> dict[str, list[V]]: ...
    @overload
    def to_dict(self, flat: bool) -> dict[str, V] | dict[str, list[V]]: ...

    def to_dict(self, flat: bool = True) -> dict[str, V] | dict[str, list[V]]:
        """A plain dict: the first value per key, or with ``flat=False`` a list per key."""
        if flat:
            return {key: values[0] for key, values in self._lists.items() if values}
        return {key: list(values) for key, values in self._lists.items()}

    def copy(self) -> MultiDict[V]:
        """A shallow copy: new lists holding the same values."""
        return type(self)(self)

    def deepcopy(self, memo: dict[int, Any] | None = None) -> MultiDict[V]:
        """A copy whose values are deep-copied too."""
        return type(self)(_copy.deepcopy(self.to_dict(flat=False), memo))

    def __copy__(self) -> MultiDict[V]:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> MultiDict[V]:
        return self.deepcopy(memo)


class ImmutableMultiDict(MultiDict[V]):
    """A read-only `MultiDict`; every mutating method raises `TypeError`. It is hashable."""

    __slots__ = ()

    def _immutable(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is immutable")

    __setitem__ = __delitem__ = _immutable
    setlist = add = setlistdefault = poplist = _immutable
    pop = popitem = popitemlist = setdefault = update = clear = _immutable

    def __hash__(self) -> int:
        return hash(frozenset(self.items(multi=True)))

    def copy(self) -> MultiDict[V]:
        """A mutable `MultiDict` with the same contents."""
        return MultiDict(self)

    def __copy__(self) -> ImmutableMultiDict[V]:
        # Nothing can change it, so sharing is as good as copying.
        return self


class CombinedMultiDict(ImmutableMultiDict[V]):
    """A read-only view over several MultiDicts, as for ``request.values``.

    ``d[key]`` and ``get`` look in each dict in order and return the first value found;
    ``getlist`` joins the values from all of them.

    Args:
        dicts: the MultiDicts, in lookup order.
    """

    __slots__ = ("dicts",)

    def __init__(self, dicts: Iterable[MultiDict[V]] | None = None) -> None:
        self.dicts: list[MultiDict[V]] = list(dicts) if dicts is not None else []

    @property
    def _lists(self) -> dict[str, list[V]]:
        # Merged on demand so the view follows the dicts underneath; the lookups
        # below avoid building it.
        merged: dict[str, list[V]] = {}
        for d in self.dicts:
            for key, values in d.lists():
                if not values:
                    continue
                if key in merged:
                    merged[key].extend(values)
                else:
                    merged[key] = values
        return merged

    @_lists.setter
    def _lists(self, value: dict[str, list[V]]) -> None:
        self._immutable()

    def __getitem__(self, key: str) -> V:
        for d in self.dicts:
            if key in d:
                return d[key]
        raise BadRequestKeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(key in d for d in self.dicts)

    def _keys(self) -> dict[str, None]:
        return dict.fromkeys(key for d in self.dicts for key in d)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def keys(self) -> KeysView[str]:
        """The keys of all dicts, each once, in first-seen order."""
        return self._keys().keys()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dicts!r})"

    def __getstate__(self) -> object:
        return self.dicts

    def __setstate__(self, state: Any) -> None:
        self.dicts = state

    @overload
    def get(self, key: str, default: None = None, type: None = None) -> V | None: ...
    @overload
    def get(self, key: str, default: V, type: None = None) -> V: ...
    @overload
    def get(self, key: str, default: T, type: None = None) -> V | T: ...
    @overload
    def get(self, key: str, default: None = None, *, type: Callable[[V], T]) -> T | None: ...
    @overload
    def get(self, key: str, default: D, type: Callable[[V], T]) -> T | D: ...

    def get(self, key: str, default: Any = None, type: Callable[[V], Any] | None = None) -> Any:
        """The first value for ``key`` in the first dict that has one, converted with ``type``.

        A value that ``type`` rejects is skipped and the next dict is tried.
        """
        for d in self.dicts:
            if key not in d:
                continue
            if type is None:
                return d[key]
            try:
                return type(d[key])
            except (ValueError, TypeError):
                continue
        return default

    @overload
    def getlist(self, key: str) -> list[V]: ...
    @overload
    def getlist(self, key: str, type: Callable[[V], T]) -> list[T]: ...

    def getlist(self, key: str, type: Callable[[V], Any] | None = None) -> list[Any]:
        """The values for ``key`` from every dict, in order (``type`` as in `MultiDict.getlist`)."""
        result: list[Any] = []
        for d in self.dicts:
            result.extend(d.getlist(key) if type is None else d.getlist(key, type))
        return result

    def deepcopy(self, memo: dict[int, Any] | None = None) -> MultiDict[V]:
        """A mutable `MultiDict` holding deep copies of the merged contents."""
        return MultiDict(_copy.deepcopy(self.to_dict(flat=False), memo))


# Bounds on work done for a single Accept header, whatever the client sends.
MAX_ACCEPT_ENTRIES = 100
MAX_ACCEPT_PARAMS = 10

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_QVALUE = re.compile(r"[0-9]{1,5}(?:\.[0-9]{0,5})?|\.[0-9]{1,5}")

_Key = tuple[str, ...]


class Accept:
    """A parsed ``Accept-*`` header of plain tokens (languages, encodings, charsets).

    Iterating gives ``(value, quality)`` pairs, best quality first, in header order among
    equals. Malformed entries are ignored and only the first `MAX_ACCEPT_ENTRIES` entries
    are read, so any header is parsed in linear time without raising. A value with
    quality 0 is listed but not acceptable.

    Args:
        header: the header's value; ``None`` when the request has none.
    """

    __slots__ = ("_entries", "provided")

    def __init__(self, header: str | None = None) -> None:
        #: Whether the request sent the header at all.
        self.provided = header is not None
        entries: list[tuple[str, float, _Key]] = []
        if header:
            pieces = header.split(",", MAX_ACCEPT_ENTRIES)
            del pieces[MAX_ACCEPT_ENTRIES:]
            for piece in pieces:
                entry = self._parse(piece)
                if entry is not None:
                    entries.append(entry)
            # list.sort is stable, so equal qualities keep the header's order.
            entries.sort(key=itemgetter(1), reverse=True)
        self._entries = entries

    def _parse(self, text: str) -> tuple[str, float, _Key] | None:
        """Split one entry into its display value, quality and matching key."""
        parts = text.split(";", MAX_ACCEPT_PARAMS + 1)
        if len(parts) > MAX_ACCEPT_PARAMS + 1:
            return None
        quality = 1.0
        params: list[str] = []
        for part in parts[1:]:
            name, sep, value = part.partition("=")
            name = name.strip().lower()
            value = value.strip()
            if not name and not sep:
                continue
            if not sep or _TOKEN.fullmatch(name) is None:
                return None
            if name == "q":
                if _QVALUE.fullmatch(value) is None:
                    return None
                quality = float(value)
                if quality > 1:
                    return None
                # Anything after q is an accept-extension, not part of the range.
                break
            if _TOKEN.fullmatch(value) is None and _QUOTED.fullmatch(value) is None:
                return None
            params.append(f"{name}={value}")
        parsed = self._parse_value(parts[0].strip(), params)
        if parsed is None:
            return None
        return parsed[0], quality, parsed[1]

    def _parse_value(self, value: str, params: list[str]) -> tuple[str, _Key] | None:
        """The display value and matching key of a value, or None if it is malformed."""
        if _TOKEN.fullmatch(value) is None:
            return None
        return value, (value.lower(),)

    def _match(self, client: _Key, server: _Key) -> int:
        """How specifically the client's ``client`` covers ``server``: -1 for not at all."""
        if client[0] == "*":
            return 0
        return 1 if client == server else -1

    def _score(self, value: str) -> tuple[float, int]:
        """The quality of ``value`` and the specificity of the entry that gave it."""
        entry = self._parse(value)
        if entry is None:
            return 0.0, -1
        server = entry[2]
        quality, specificity = 0.0, -1
        # Entries are sorted by quality, so the first at a given specificity has the highest.
        for _, q, client in self._entries:
            spec = self._match(client, server)
            if spec > specificity:
                quality, specificity = q, spec
        return quality, specificity

    def quality(self, value: str) -> float:
        """The quality the client gives ``value``, from its most specific matching entry.

        Returns:
            A number from 0 (not acceptable, or not listed) to 1.
        """
        return self._score(value)[0]

    @overload
    def best_match(self, matches: Iterable[str]) -> str | None: ...
    @overload
    def best_match(self, matches: Iterable[str], default: str) -> str: ...
    @overload
    def best_match(self, matches: Iterable[str], default: T) -> str | T: ...

    def best_match(self, matches: Iterable[str], default: Any = None) -> Any:
        """The value from ``matches`` the client prefers most.

        Higher quality wins, then a more specific matching entry, then the earlier value
        in ``matches``.

        Args:
            matches: the values the server can produce.
            default: returned when none of them is acceptable.
        """
        best: Any = default
        best_score = (0.0, -1)
        for value in matches:
            score = self._score(value)
            if score[0] > 0 and score > best_score:
                best, best_score = value, score
        return best

    @property
    def best(self) -> str | None:
        """The value the client prefers most, or None if nothing is acceptable."""
        for value, quality, _ in self._entries:
            if quality > 0:
                return value
        return None

    def values(self) -> Iterator[str]:
        """The values, best quality first."""
        for value, _, _ in self._entries:
            yield value

    def __iter__(self) -> Iterator[tuple[str, float]]:
        for value, quality, _ in self._entries:
            yield value, quality

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and self._score(value)[0] > 0

    @overload
    def __getitem__(self, key: int) -> tuple[str, float]: ...
    @overload
    def __getitem__(self, key: str) -> float: ...

    def __getitem__(self, key: int | str) -> tuple[str, float] | float:
        if isinstance(key, str):
            return self.quality(key)
        value, quality, _ = self._entries[key]
        return value, quality

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class MIMEAccept(Accept):
    """A parsed ``Accept`` header: media ranges such as ``text/html``, ``text/*`` and ``*/*``.

    Parameters other than ``q`` are part of a range: ``text/html;level=1`` matches only
    that exact value, ``text/html`` matches any parameters.
    """

    __slots__ = ()

    def _parse_value(self, value: str, params: list[str]) -> tuple[str, _Key] | None:
        kind, sep, subtype = value.partition("/")
        if not sep or _TOKEN.fullmatch(kind) is None or _TOKEN.fullmatch(subtype) is None:
            return None
        kind = kind.lower()
        subtype = subtype.lower()
        if kind == "*" and subtype != "*":
            return None
        display = f"{kind}/{subtype}"
        if params:
            display = ";".join([display, *params])
        return display, (kind, subtype, ";".join(sorted(params)))

    def _match(self, client: _Key, server: _Key) -> int:
        kind, subtype, params = client
        if kind == "*":
            return 0
        if kind != server[0]:
            return -1
        if subtype == "*":
            return 1
        if subtype != server[1]:
            return -1
        if not params:
            return 2
        return 3 if params == server[2] else -1

    @property
    def accept_html(self) -> bool:
        """Whether HTML (``text/html`` or ``application/xhtml+xml``) is acceptable."""
        return "text/html" in self or "application/xhtml+xml" in self

    @property
    def accept_xhtml(self) -> bool:
        """Whether XHTML (``application/xhtml+xml`` or ``application/xml``) is acceptable."""
        return "application/xhtml+xml" in self or "application/xml" in self

    @property
    def accept_json(self) -> bool:
        """Whether ``application/json`` is acceptable."""
        return "application/json" in self
