"""A scratch PostgreSQL database for one benchmark run (created on the server a URL names,
dropped at the end), so a bench never touches the data it was pointed at."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def scratch_postgres(base_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on the server `base_url` names, and the function that drops it."""
    server = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"dxdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop
