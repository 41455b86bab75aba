"""The timeline database: engine, sessions and Alembic migrations (no alembic.ini needed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mimir.extras import require_extra
from mimir.settings import Settings

log = logging.getLogger(__name__)
#: Seconds a SQLite writer waits for the write lock.
SQLITE_BUSY_S = 30.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("mimir.memory") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    """An engine plus a session factory; pass its sessions down, never keep them globally."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        # SQLite: a writer waits up to 30 s for the write lock (default 5 s) before "database is locked".
        sqlite = make_url(url).get_backend_name() == "sqlite"
        if make_url(url).get_driver_name() == "psycopg":
            require_extra("postgres", "A PostgreSQL timeline (db_url postgresql+psycopg://...)")
        self.engine: Engine = create_engine(url, echo=echo, future=True,
                                            connect_args={"timeout": SQLITE_BUSY_S} if sqlite else {})
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises."""
        s = self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def upgrade(self, revision: str = "head") -> None:
        """Run Alembic migrations up to ``revision`` on this database."""
        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        log.info("timeline database %s at %s", _safe(self.url), revision)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def open_database(settings: Settings) -> Database:
    """Open the configured timeline, creating the SQLite file's folder, and migrate it to head."""
    url = settings.db_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    db = Database(url)
    db.upgrade()
    return db
