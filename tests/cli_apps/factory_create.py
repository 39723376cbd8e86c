from __future__ import annotations

from asyncflask import AsyncFlask


def create_app() -> AsyncFlask:
    return AsyncFlask("factory_create")
