from __future__ import annotations

import this_module_does_not_exist_xyz  # type: ignore[import-not-found]  # noqa: F401

from asyncflask import AsyncFlask

app = AsyncFlask("import_error")
