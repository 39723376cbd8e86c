from __future__ import annotations

from asyncflask import AsyncFlask


def create_app(name: str, debug: bool = False, *, tags: list[str] | None = None) -> AsyncFlask:
    app = AsyncFlask(name)
    app.debug = debug
    app.config["TAGS"] = tags
    return app
