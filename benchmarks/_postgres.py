"""The PostgreSQL server the benchmarks compare against (the test suite's, see tests/conftest.py)."""

from __future__ import annotations

import os

POSTGRES_URL = os.environ.get("EREPWATCH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_ok(url: str = POSTGRES_URL) -> bool:
    """Whether the server answers; a benchmark then measures SQLite alone."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False
