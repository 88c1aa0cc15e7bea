"""The few named exceptions erepwatch raises, each carrying what a user needs to act.

Every error derives from :class:`ErepwatchError`, so the CLI turns any of them into a one-line
message on stderr and a non-zero exit status. Lower-level exceptions are kept as ``__cause__``
(``raise X from exc``)::

    ErepwatchError
    ├── ConfigError               a setting is unknown or unusable
    ├── NotFoundError             a named watch, source, recipient… does not exist
    ├── ConflictError             it would duplicate an existing one
    ├── InvalidInputError         a value given by the user is malformed
    ├── StorageError              the database refused an operation
    │   └── DatabaseUnavailableError   … or cannot be reached
    ├── FetchError                fetching a source failed (``kind``: SourceErrorKind)
    ├── FeedParseError            the bytes are not a readable feed (``kind``: SourceErrorKind)
    ├── QuerySyntaxError          a watch query is malformed (``column``)
    └── DeliveryError             a message could not be delivered (``permanent``)
"""

from __future__ import annotations

from erepwatch.enums import SourceErrorKind

__all__ = [
    "ConfigError",
    "ConflictError",
    "DatabaseUnavailableError",
    "DeliveryError",
    "ErepwatchError",
    "FeedParseError",
    "FetchError",
    "FetchErrorKind",
    "InvalidInputError",
    "NotFoundError",
    "QuerySyntaxError",
    "SourceErrorKind",
    "StorageError",
]


class ErepwatchError(Exception):
    """Base of every error erepwatch raises on purpose."""


class ConfigError(ErepwatchError):
    """A setting is unknown or has a value that cannot be used; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"setting {key}: {problem}")
        self.key = key
        self.problem = problem


class NotFoundError(ErepwatchError):
    """A watch, source, recipient… named on the command line does not exist."""


class ConflictError(ErepwatchError):
    """Creating something would duplicate an existing one (same name, same URL)."""


class InvalidInputError(ErepwatchError):
    """A value given by the user (URL, duration, option) is malformed."""


class StorageError(ErepwatchError):
    """The database cannot be reached or refused an operation; the driver's exception is the ``__cause__``.

    Raised by the ``db/`` boundary (:func:`erepwatch.db.engine.make_engine` translates driver errors), so the
    layers above never handle SQLAlchemy's exceptions themselves.
    """


class DatabaseUnavailableError(StorageError):
    """The database cannot be reached (not started, wrong address, connection lost, locked too long)."""


#: The first name of :class:`SourceErrorKind`, from when it only covered fetching; kept for existing imports.
FetchErrorKind = SourceErrorKind


class FetchError(ErepwatchError):
    """Fetching a source failed; ``kind`` says why in a word, the message in a sentence."""

    def __init__(self, kind: SourceErrorKind, message: str, *, url: str, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.url = url
        self.retry_after = retry_after


class FeedParseError(ErepwatchError):
    """The fetched bytes are not a feed, or a feed with nothing readable in it."""

    def __init__(self, kind: SourceErrorKind, message: str):
        super().__init__(message)
        self.kind = kind


class QuerySyntaxError(ErepwatchError):
    """A watch query is malformed; ``column`` is 1-based and points at the mistake."""

    def __init__(self, problem: str, column: int, query: str = ""):
        super().__init__(f"query error at column {column}: {problem}")
        self.problem = problem
        self.column = column
        self.query = query


class DeliveryError(ErepwatchError):
    """A digest or alert could not be delivered; ``permanent`` says whether retrying can help.

    ``may_have_gone``: the failure came after the whole message was handed over (SMTP: after the end of DATA,
    while waiting for the server's reply), so it may have been delivered; such a delivery is never resent
    automatically (``unknown``), only on purpose (``erepwatch deliveries --retry ID``).
    """

    def __init__(self, message: str, *, permanent: bool = False, may_have_gone: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.may_have_gone = may_have_gone
