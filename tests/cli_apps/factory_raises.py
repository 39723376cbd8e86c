from __future__ import annotations

from asyncflask import AsyncFlask


def create_app() -> AsyncFlask:
    raise TypeError("raised inside the factory")
