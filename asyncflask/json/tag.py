"""Tagged JSON: the session cookie's serialization format, compatible with Flask's.

Plain JSON cannot round-trip tuples, bytes, UUIDs, datetimes or Markup, so such values
are wrapped in a one-key object whose key is a tag (`{" t": [...]}`), and unwrapped on load.
A one-key dict whose key happens to be a tag is itself tagged (`" di"`), so it stays a dict.
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from uuid import UUID

from markupsafe import Markup

from . import dumps, loads

__all__ = ["JSONTag", "TaggedJSONSerializer"]


class JSONTag:
    """One tagged type: `check` recognises it, `to_json` / `to_python` convert it.

    Args:
        serializer: the `TaggedJSONSerializer` the tag belongs to (for nested values).
    """

    __slots__ = ("serializer",)

    #: The tag's key in the JSON object; an empty key means "untagged" (dict and list walkers).
    key: str = ""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self.serializer = serializer

    def check(self, value: Any) -> bool:
        """Whether this tag handles `value`."""
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """The JSON-safe form of `value` (tagging nested values too)."""
        raise NotImplementedError

    def to_python(self, value: Any) -> Any:
        """The Python value back from its JSON form."""
        raise NotImplementedError

    def tag(self, value: Any) -> Any:
        """`value` converted and wrapped in this tag's one-key object."""
        return {self.key: self.to_json(value)}


class TagDict(JSONTag):
    """A one-key dict whose key looks like a tag: the key gets a `__` suffix to stay literal."""

    __slots__ = ()
    key = " di"

    def check(self, value: Any) -> bool:
        return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in self.serializer.tags

    def to_json(self, value: Any) -> Any:
        key = next(iter(value))
        return {f"{key}__": self.serializer.tag(value[key])}

    def to_python(self, value: Any) -> Any:
        key = next(iter(value))
        return {key[:-2]: value[key]}


class PassDict(JSONTag):
    """Any other dict: untagged, its values tagged."""

    __slots__ = ()

    def check(self, value: Any) -> bool:
        return isinstance(value, dict)

    def to_json(self, value: Any) -> Any:
        # JSON keys are strings anyway; tagging them would make them unhashable.
        return {key: self.serializer.tag(item) for key, item in value.items()}

    tag = to_json


class TagTuple(JSONTag):
    """A tuple, which JSON would turn into a list."""

    __slots__ = ()
    key = " t"

    def check(self, value: Any) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: Any) -> Any:
        return [self.serializer.tag(item) for item in value]

    def to_python(self, value: Any) -> Any:
        return tuple(value)


class PassList(JSONTag):
    """A list: untagged, its items tagged."""

    __slots__ = ()

    def check(self, value: Any) -> bool:
        return isinstance(value, list)

    def to_json(self, value: Any) -> Any:
        return [self.serializer.tag(item) for item in value]

    tag = to_json


class TagBytes(JSONTag):
    """Bytes, as base64."""

    __slots__ = ()
    key = " b"

    def check(self, value: Any) -> bool:
        return isinstance(value, bytes)

    def to_json(self, value: Any) -> Any:
        return b64encode(value).decode("ascii")

    def to_python(self, value: Any) -> Any:
        return b64decode(value)


class TagMarkup(JSONTag):
    """Anything with `__html__` (Markup), kept as safe HTML."""

    __slots__ = ()
    key = " m"

    def check(self, value: Any) -> bool:
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: Any) -> Any:
        return str(value.__html__())

    def to_python(self, value: Any) -> Any:
        return Markup(value)


class TagUUID(JSONTag):
    """A UUID, as 32 hex digits."""

    __slots__ = ()
    key = " u"

    def check(self, value: Any) -> bool:
        return isinstance(value, UUID)

    def to_json(self, value: Any) -> Any:
        return value.hex

    def to_python(self, value: Any) -> Any:
        return UUID(value)


class TagDateTime(JSONTag):
    """A datetime, as an HTTP date: second precision, UTC (a naive value is taken as UTC)."""

    __slots__ = ()
    key = " d"

    def check(self, value: Any) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: Any) -> Any:
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return format_datetime(value.astimezone(timezone.utc), usegmt=True)

    def to_python(self, value: Any) -> Any:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None  # a date nobody could have written: no value, as in Flask
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


class TaggedJSONSerializer:
    """Serializes values with the tags above; `register` adds a tag for another type.

    JSON goes through the current app's JSON provider (the standard library outside an
    app), as Flask does, so both frameworks write the same text.
    """

    __slots__ = ("order", "tags")

    #: Tag classes registered on creation, in checking order.
    default_tags: list[type[JSONTag]] = [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]

    def __init__(self) -> None:
        self.tags: dict[str, JSONTag] = {}
        self.order: list[JSONTag] = []
        for tag_class in self.default_tags:
            self.register(tag_class)

    def register(self, tag_class: type[JSONTag], force: bool = False, index: int | None = None) -> None:
        """Add a tag type.

        Args:
            tag_class: the `JSONTag` subclass.
            force: replace an existing tag with the same key instead of raising `KeyError`.
            index: where it goes in the checking order (default: last); earlier tags win.

        Raises:
            KeyError: the key is already registered and `force` is false.
        """
        tag = tag_class(self)
        if tag.key:
            if tag.key in self.tags and not force:
                raise KeyError(f"Tag {tag.key!r} is already registered; pass force=True to replace it.")
            self.tags[tag.key] = tag
        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)

    def tag(self, value: Any) -> Any:
        """`value` with every special type tagged."""
        for tag in self.order:
            if tag.check(value):
                return tag.tag(value)
        return value

    def untag(self, value: dict[str, Any]) -> Any:
        """Unwrap one tagged object (its contents must already be untagged)."""
        if len(value) != 1:
            return value
        key = next(iter(value))
        tag = self.tags.get(key)
        return value if tag is None else tag.to_python(value[key])

    def _untag_scan(self, value: Any) -> Any:
        # Innermost first, so a tag's `to_python` always receives plain Python values.
        if isinstance(value, dict):
            return self.untag({key: self._untag_scan(item) for key, item in value.items()})
        if isinstance(value, list):
            return [self._untag_scan(item) for item in value]
        return value

    def dumps(self, value: Any) -> str:
        """Tag and encode `value` as compact JSON."""
        return dumps(self.tag(value), separators=(",", ":"))

    def loads(self, value: str | bytes) -> Any:
        """Decode JSON and untag it."""
        return self._untag_scan(loads(value))
