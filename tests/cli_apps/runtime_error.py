from __future__ import annotations

raise RuntimeError("boom at import")
