from __future__ import annotations

from asyncflask import AsyncFlask


def make_app() -> AsyncFlask:
    return AsyncFlask("factory_make")
