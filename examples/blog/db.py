"""Models and the per-request database session (SQLAlchemy 2.x async ORM)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, ForeignKey, String, Text, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.security import generate_password_hash

from asyncflask import AsyncFlask, current_app, g


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """The declarative base of the blog's tables."""


class User(Base):
    """A registered author."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))


class Post(Base):
    """A blog post, with an optional image stored under the instance folder."""

    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(80), default=None)
    # Aware datetimes need a column that keeps the zone (PostgreSQL refuses them otherwise).
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    author: Mapped[User] = relationship(lazy="joined")
    comments: Mapped[list[Comment]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="Comment.id"
    )


class Comment(Base):
    """A comment on a post."""

    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    author: Mapped[User] = relationship(lazy="joined")


def engine() -> AsyncEngine:
    """The app's engine, made on first use from `DATABASE_URL`."""
    eng: AsyncEngine | None = current_app.extensions.get("blog.engine")
    if eng is None:
        eng = create_async_engine(current_app.config["DATABASE_URL"])
        current_app.extensions["blog.engine"] = eng
        current_app.extensions["blog.sessions"] = async_sessionmaker(eng, expire_on_commit=False)
    return eng


def get_session() -> AsyncSession:
    """This request's session: one per request, committed or rolled back at teardown."""
    if "db" not in g:
        engine()
        g.db = current_app.extensions["blog.sessions"]()
    db: AsyncSession = g.db
    return db


async def close_session(exc: BaseException | None) -> None:
    """Commit the request's work, or roll it back if the request failed."""
    db: AsyncSession | None = g.pop("db", None)
    if db is None:
        return
    try:
        if exc is None:
            await db.commit()
        else:
            await db.rollback()
    finally:
        await db.close()


DEMO_POSTS = [
    ("Hello, async world", "This blog runs on asyncflask: every view is a coroutine."),
    ("Live comments", "Open this post in two windows and comment in one: the other updates."),
]


async def init_db(seed: bool = True) -> None:
    """Create the tables and, when the database is empty, the demo user and posts."""
    async with engine().begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    if not seed:
        return
    async with current_app.extensions["blog.sessions"]() as db:
        if (await db.scalars(select(User).limit(1))).first() is not None:
            return
        demo = User(username="demo", password_hash=generate_password_hash("demo-password"))
        db.add(demo)
        for title, body in DEMO_POSTS:
            db.add(Post(author=demo, title=title, body=body))
        await db.commit()


def init_app(app: AsyncFlask) -> None:
    """Wire the session teardown, auto-creation at start-up and the `init-db` command."""
    app.teardown_appcontext(close_session)

    async def dispose() -> None:
        eng: AsyncEngine | None = app.extensions.pop("blog.engine", None)
        if eng is not None:
            await eng.dispose()

    @app.before_serving
    async def create_tables() -> None:
        try:
            await init_db(seed=app.config["SEED_DEMO"])
        except BaseException:
            # A failed start-up runs no after_serving: close the pool here instead.
            await dispose()
            raise

    app.after_serving(dispose)

    @app.cli.command("init-db")
    def init_db_command() -> None:
        """Create the tables and seed the demo content."""
        import asyncio

        async def run() -> None:
            async with app.app_context():
                await init_db(seed=True)
                await engine().dispose()
                app.extensions.pop("blog.engine", None)

        asyncio.run(run())
        print("Initialised the database.")
