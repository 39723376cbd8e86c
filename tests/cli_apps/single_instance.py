from __future__ import annotations

from asyncflask import AsyncFlask

my_app = AsyncFlask("single_instance")
