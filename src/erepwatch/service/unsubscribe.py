"""One-click unsubscribe from the signed link of an e-mail: the recipient is removed, no login needed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erepwatch.db.models import Recipient
from erepwatch.signing import read_unsubscribe_token


def unsubscribe_address(secret: str, token: str) -> str:
    """The address of a token (InvalidInputError when the link is damaged or foreign)."""
    return read_unsubscribe_token(secret, token)


def unsubscribe(session: Session, secret: str, token: str) -> tuple[str, bool]:
    """(address, whether it was still subscribed): the recipient with that address is removed."""
    email = read_unsubscribe_token(secret, token)
    recipient = session.scalar(select(Recipient).where(func.lower(Recipient.email) == email.lower()))
    if recipient is None:
        return email, False
    session.delete(recipient)
    session.flush()
    return email, True
