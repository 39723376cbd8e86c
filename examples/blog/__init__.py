"""The blog example: an app factory with auth and posts blueprints, on SQLAlchemy's async ORM.

Serve it with seeded demo content (user `demo`, password `demo-password`):

    asyncflask --app examples.blog run

`asyncflask --app examples.blog init-db` creates the tables by hand; they are also created
on first start. `DATABASE_URL` (environment or config) picks another database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from asyncflask import AsyncFlask

from . import db


def create_app(test_config: dict[str, Any] | None = None, instance_path: str | None = None) -> AsyncFlask:
    """Build the blog app; `test_config` overrides the defaults (tests pass their own)."""
    # BLOG_INSTANCE_PATH moves the instance folder (uploads, SQLite file), e.g. for tests.
    instance_path = instance_path or os.environ.get("BLOG_INSTANCE_PATH")
    app = AsyncFlask(__name__, instance_path=instance_path, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev-only-change-me"),
        DATABASE_URL=os.environ.get(
            "DATABASE_URL", "sqlite+aiosqlite:///" + str(Path(app.instance_path) / "blog.sqlite")
        ),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # uploads over 2 MiB are answered with 413
        SLOW_CALL_SECONDS=0.5,
        SEED_DEMO=True,
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    db.init_app(app)

    from . import auth, posts

    app.register_blueprint(auth.bp)
    app.register_blueprint(posts.bp)
    return app
