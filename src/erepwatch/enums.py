"""The closed value sets of erepwatch, as ``StrEnum``s in one module.

They are ``str`` subclasses, so they compare equal to the strings stored in the database, printed in
``--json`` and written in configuration files; code uses the names, never the literals.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The plain string values of a value set, in order (what click's ``Choice`` and messages want)."""
    return tuple(member.value for member in enum)


class Sentiment(StrEnum):
    """What is said about the watched name, worst first (the order of :data:`SEVERITY`)."""

    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


#: Lower is worse; a recipient's ``min_sentiment`` keeps mentions at least this bad.
SEVERITY: dict[str, int] = {s.value: rank for rank, s in enumerate(Sentiment)}

#: Tag groups that make a mention an alarm whatever its sentiment (built-in group and its French name).
CRISIS_TAGS = frozenset({"crisis", "crise"})


def is_alarming(sentiment: str, tags: Iterable[str]) -> bool:
    """Negative, or tagged crisis: what an instant alert is about and what a digest puts first."""
    return sentiment == Sentiment.NEGATIVE or bool(CRISIS_TAGS.intersection(tags))


class Frequency(StrEnum):
    """How often a recipient hears from erepwatch."""

    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"


#: Frequencies that get a scheduled digest (an instant recipient gets alerts).
DIGEST_FREQUENCIES = (Frequency.DAILY, Frequency.WEEKLY)


class GroupRole(StrEnum):
    """A watch's place in a share-of-voice group."""

    BRAND = "brand"
    COMPETITOR = "competitor"


class DeliveryKind(StrEnum):
    DIGEST = "digest"
    ALERT = "alert"
    SPIKE = "spike"


class Channel(StrEnum):
    EMAIL = "email"
    PUSH = "push"


class DeliveryStatus(StrEnum):
    """A delivery's state in the outbox (see :mod:`erepwatch.notify.send` for the claim protocol)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: interrupted while sending over SMTP: it may have gone out, so it is never resent
    UNKNOWN = "unknown"


#: Deliveries that hold their mentions: planned, on their way, sent or perhaps sent.
LIVE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)
#: Deliveries still to be sent (their mentions must not be purged).
WAITING_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class PollStatus(StrEnum):
    """What a source's poll came to."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


class SourceErrorKind(StrEnum):
    """Closed set of reasons a source's poll failed, recorded on the source and shown by `source list`, the web
    page and the digests: fetching (network, HTTP, size, address), reading (not a feed, unparsable) or storing."""

    TIMEOUT = "timeout"
    NETWORK = "network"
    TLS = "tls"
    HTTP_4XX = "http_4xx"
    HTTP_429 = "http_429"
    HTTP_5XX = "http_5xx"
    TOO_LARGE = "too_large"
    EMPTY = "empty"
    NOT_A_FEED = "not_a_feed"
    PARSE = "parse"
    FORBIDDEN_ADDRESS = "forbidden_address"
    #: our side failed, not the feed: the database refused to store what it brought (disk full, errors)
    STORAGE = "storage"
    #: the entries were read but processing them failed: a bug (the log has the traceback)
    INTERNAL = "internal"
