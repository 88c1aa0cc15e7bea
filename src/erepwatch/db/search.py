"""Clauses the mention reads share: what a person hid (irrelevant, muted publisher), tags, full-text search.

Full-text search uses the database's own index: the FTS5 table ``items_fts`` on SQLite (migration
``0005_web_acts_search``; of the mentioned items since ``0012``, without a copy of their text since ``0013``: only
rowids are ever read from it), the GIN-indexed column ``items.fts_document`` on PostgreSQL (``0010_watch_groups``;
written with the item since ``0011_fts_document_written``, :func:`document_text`). Both fold accents, so
"greve" finds "grève" and "cafe" finds "café": FTS5's tokenizer removes diacritics; on PostgreSQL the column and
the searched words are folded by the same table (:data:`FOLD_FROM` → :data:`FOLD_TO`, frozen in the migrations).
"""

from __future__ import annotations

import json
import re
import unicodedata

from sqlalchemy import ColumnElement, and_, exists, or_, select, text, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import AliasedClass

from erepwatch.db.models import Item, Mention, WatchMute

#: PostgreSQL: the stored document of migration 0009 (0005's index expression, folded since 0010, written since 0011).
PG_DOCUMENT = "items.fts_document"


def _fold_table() -> tuple[str, str]:
    """Latin letters with a diacritic (U+00C0–U+024F whose NFKD form is one ASCII letter) and that letter."""
    src, dst = [], []
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if char.isalpha() and len(base) == 1 and base != char and base.isascii():
            src.append(char)
            dst.append(base)
    return "".join(src), "".join(dst)


#: What PostgreSQL's ``translate()`` folds in the stored document (migrations 0010 and 0011 hold the same strings).
FOLD_FROM, FOLD_TO = _fold_table()
_FOLD = str.maketrans(FOLD_FROM, FOLD_TO)
_FOLDABLE = re.compile(f"[{re.escape(FOLD_FROM)}]")
_FOLD_ONE = dict(zip(FOLD_FROM, FOLD_TO, strict=True))
#: How much of an item's text the PostgreSQL document reads (migration 0010's expression).
DOCUMENT_CHARS = 100_000


def document_text(title: str | None, text: str | None) -> str:
    """What ``items.fts_document`` splits into words on PostgreSQL, folded as migration 0010's column did
    (``translate(coalesce(title, '') || ' ' || left(coalesce(text, ''), 100000), FOLD_FROM, FOLD_TO)``).

    The writer sends it (migration 0011): the server's ``translate()`` costs ~1 µs a character, a regular
    expression that visits only the letters to fold a few ns (``str.translate`` ~40)."""
    document = f"{title or ''} {(text or '')[:DOCUMENT_CHARS]}"
    if document.isascii():
        return document
    return _FOLDABLE.sub(lambda m: _FOLD_ONE[m.group()], document)


#: Words of a search: letters and digits (any script), apostrophes and hyphens split words like the index does.
_WORD = re.compile(r"\w+", re.UNICODE)


def story_head() -> ColumnElement[bool]:
    """The mention a story is listed by (its cluster is named after it, or it stands alone).

    Written ``(…) IS TRUE``: PostgreSQL then reads the statistics kept on that very expression (migration
    0008_story_head_statistics) instead of guessing 0.5 % for a comparison of two columns, and walks the
    newest-first index rather than sorting every head (benchmarks/bench_scale.py)."""
    return or_(Mention.cluster_id.is_(None), Mention.cluster_id == Mention.id).is_(true())


def earliest_of_story(session: Session, *, visible_only: bool = False) -> ColumnElement[bool]:
    """The member a story is shown by in the CLI list: its earliest published (then lowest id).

    A NOT EXISTS on the same story with an earlier member, answered through ``ix_mentions_cluster_id`` (and the
    primary key for an unassigned founder): the newest-first list then walks ``ix_mentions_published_id`` and
    stops at its page, where a ``row_number()`` over every story sorted the whole table first (11× slower at a
    million items, benchmarks/bench_scale.py). ``visible_only``: members marked irrelevant, or from a publisher
    muted for the watch, are not counted as earlier (the list of what nobody hid: the story is shown by its
    next member instead of vanishing)."""
    other = aliased(Mention)
    earlier = or_(
        other.published_at < Mention.published_at,
        and_(other.published_at == Mention.published_at, other.id < Mention.id),
    )
    if visible_only:
        # A member someone marked irrelevant no longer stands for its story: the next one does (as in the digest).
        earlier = and_(earlier, other.irrelevant.is_(False))
        hidden_sites = muted(session, other)
        if hidden_sites is not None:
            earlier = and_(earlier, ~hidden_sites)
    same_story = exists().where(other.cluster_id == Mention.cluster_id, earlier)
    unassigned_founder = exists().where(other.id == Mention.cluster_id, other.cluster_id.is_(None), earlier)
    return and_(~same_story, ~unassigned_founder)


def visible() -> ColumnElement[bool]:
    """Mentions nobody hid: not marked irrelevant, publisher not muted for the watch (``Item`` must be joined)."""
    muted = exists().where(WatchMute.watch_id == Mention.watch_id, WatchMute.domain == Item.publisher_domain)
    return and_(Mention.irrelevant.is_(False), ~muted)


def visible_mention_ids() -> ColumnElement[bool]:
    """:func:`visible` for reads that do not join ``Item`` (counts and charts)."""
    muted = (
        select(Item.id)
        .join(WatchMute, WatchMute.domain == Item.publisher_domain)
        .where(Item.id == Mention.item_id, WatchMute.watch_id == Mention.watch_id)
    )
    return and_(Mention.irrelevant.is_(False), ~exists(muted))


def muted(session: Session, mention: type[Mention] | AliasedClass[Mention] = Mention) -> ColumnElement[bool] | None:
    """Mentions of a publisher muted for their watch, without joining ``Item`` (None when nothing is muted).
    ``mention``: the entity tested (an alias of ``Mention`` inside a correlated subquery).

    Mutes are few; each becomes ``watch_id = w AND item_id IN (items of domain d)``, which the index on
    ``items.publisher_domain`` answers without reading the items' rows.
    """
    pairs = session.execute(select(WatchMute.watch_id, WatchMute.domain)).all()
    if not pairs:
        return None
    return or_(
        *(
            and_(mention.watch_id == watch_id, mention.item_id.in_(select(Item.id).where(Item.publisher_domain == d)))
            for watch_id, d in pairs
        )
    )


def search_words(query: str) -> list[str]:
    return _WORD.findall(query)[:20]


def has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "sqlite":
        # The LIKE on the stored JSON text (as json.dumps wrote it) rejects most rows before json_each parses them
        # (2× faster at 100,000 mentions, benchmarks/bench_web.py); json_each still decides.
        written = json.dumps(tag).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clause = text(
            "mentions.tags LIKE :tag_like ESCAPE '\\' "
            "AND EXISTS (SELECT 1 FROM json_each(mentions.tags) WHERE json_each.value = :tag)"
        )
        return clause.bindparams(tag=tag, tag_like=f"%{written}%")  # type: ignore[return-value]
    return text("CAST(mentions.tags AS JSONB) @> CAST(:tag_json AS JSONB)").bindparams(  # type: ignore[return-value]
        tag_json=json.dumps([tag])
    )


#: SQLite: up to this many matching items, full-text search hands the list its set of items; beyond (a common
#: word), the list is read in date order and each row's item is checked, which stops as soon as a page is full.
SET_LIMIT = 5000


def full_text(session: Session, query: str) -> ColumnElement[bool] | None:
    """Mentions whose item's title or text has every word of ``query`` (a word ending in ``*`` is a prefix),
    accents folded; None when the query has no word."""
    words = search_words(query)
    if not words:
        return None
    prefixes = set(re.findall(r"(\w+)\*", query))
    if session.get_bind().dialect.name != "sqlite":
        # Words only (\w+), so nothing of to_tsquery's syntax reaches it; folded as the stored document is.
        tsquery = " & ".join(w.translate(_FOLD).lower() + (":*" if w in prefixes else "") for w in words)
        # PostgreSQL keeps statistics on the document's words: given the set as a subquery, its planner chooses
        # between walking the list's index checking each row's item (a common word) and reading the word's items
        # first (a rare one), without the round trip of a probe (benchmarks/bench_web.py).
        found = f"SELECT items.id FROM items WHERE {PG_DOCUMENT} @@ to_tsquery('simple'::regconfig, :tsquery)"
        return Mention.item_id.in_(text(found).bindparams(tsquery=tsquery).columns(Item.id))
    # Each word quoted: the user's text never reaches FTS5's own query syntax (NEAR, column filters…).
    match = " ".join('"' + w.replace('"', '""') + '"' + ("*" if w in prefixes else "") for w in words)
    # SQLite's planner knows nothing of how many items a word has: a bounded count tells (one row back, where
    # fetching a common word's 5,001 ids cost more than the page itself), then a rare word's ids are read.
    found = "SELECT rowid FROM items_fts WHERE items_fts MATCH :match"
    many = session.scalar(text(f"SELECT count(*) FROM ({found} LIMIT {SET_LIMIT + 1})").bindparams(match=match))
    if (many or 0) <= SET_LIMIT:
        return Mention.item_id.in_(session.execute(text(found).bindparams(match=match)).scalars().all())
    per_row = "EXISTS (SELECT 1 FROM items_fts WHERE items_fts MATCH :match AND rowid = mentions.item_id)"
    return text(per_row).bindparams(match=match)  # type: ignore[return-value]
