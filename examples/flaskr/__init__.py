"""flaskr: Flask's tutorial blog, on asyncflask, written the way a Flask user writes it.

Plain `def` views and hooks, a `sqlite3` connection kept in `g`, `app.open_resource`, the
instance folder and a click command: the same code as on Flask, with `asyncflask` imports.

    asyncflask --app examples.flaskr init-db
    asyncflask --app examples.flaskr run --debug
"""

from __future__ import annotations

import os
from typing import Any

from asyncflask import AsyncFlask


def create_app(test_config: dict[str, Any] | None = None) -> AsyncFlask:
    """The application factory."""
    app = AsyncFlask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "flaskr.sqlite"),
    )
    if test_config is None:
        # The deployment's own settings, if it has any, override the ones above.
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    @app.route("/hello")
    def hello() -> str:
        return "Hello, World!"

    from . import auth, blog, db

    db.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(blog.bp)
    app.add_url_rule("/", endpoint="index")
    return app
