from __future__ import annotations

from asyncflask import AsyncFlask

app = AsyncFlask("app_attr")
other = AsyncFlask("app_attr_other")
not_an_app = "just a string"


def not_a_factory() -> str:
    return "not an app"
