from __future__ import annotations

value = 42
