"""Helpers shared by the service functions: look-ups by id or name."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.errors import NotFoundError

T = TypeVar("T")


def find_one(session: Session, model: type[T], ref: str | int, *, by: str = "name", what: str = "") -> T:
    """The row whose id (when ``ref`` is all digits) or ``by`` column equals ``ref``."""
    what = what or model.__name__.lower()
    column = getattr(model, by)
    row = session.scalar(select(model).where(column == str(ref)))
    if row is None and str(ref).isdigit():
        row = session.get(model, int(ref))
    if row is None:
        raise NotFoundError(f"no {what} named or numbered {ref!r}")
    return row


def database_answers(sessions: sessionmaker[Session]) -> bool:
    """Whether the database answers a trivial query now (``/healthz`` of ``erepwatch serve``)."""
    try:
        with sessions() as session:
            session.execute(text("select 1"))
        return True
    except Exception:  # any failure is the answer itself
        return False
