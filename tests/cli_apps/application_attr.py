from __future__ import annotations

from asyncflask import AsyncFlask

application = AsyncFlask("application_attr")
