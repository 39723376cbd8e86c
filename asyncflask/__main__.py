"""`python -m asyncflask`: the same as the `asyncflask` command."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()
