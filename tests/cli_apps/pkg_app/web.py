from __future__ import annotations

from asyncflask import AsyncFlask

app = AsyncFlask("pkg_app.web")
