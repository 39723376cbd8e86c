from __future__ import annotations

from asyncflask import AsyncFlask

first = AsyncFlask("first")
second = AsyncFlask("second")
