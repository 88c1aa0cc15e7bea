"""The OpenAPI 3.1 description of ``/api/v1``, served at ``/openapi.json`` (and checked by schemathesis)."""

from __future__ import annotations

from functools import cache
from typing import Any

from erepwatch import __version__
from erepwatch.enums import Frequency, values

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
NINT = {"type": ["integer", "null"]}
BOOL = {"type": "boolean"}
STRS = {"type": "array", "items": STR}
ERROR = {"$ref": "#/components/schemas/Error"}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: dict[str, Any], *, status: str = "200", params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, errors: tuple[str, ...] = ("400",)) -> dict[str, Any]:  # fmt: skip
    responses: dict[str, Any] = {status: {"description": "OK", **_json(ok)}}
    for code in (*errors, "401"):
        responses[code] = {"description": {"400": "Bad input", "401": "Password required", "404": "Not found",
                                           "409": "Conflict", "415": "Not JSON"}[code], **_json(ERROR)}  # fmt: skip
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
        op["responses"]["415"] = {"description": "Not JSON", **_json(ERROR)}
    return op


def _q(name: str, schema: dict[str, Any], about: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": about}


def _p(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


ID = {"type": "integer", "minimum": 1, "maximum": 2**62}
NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^/]+$"}


@cache
def document() -> dict[str, Any]:
    ref = {
        k: {"$ref": f"#/components/schemas/{k}"} for k in ("Mention", "Act", "Watch", "Source", "Recipient", "Group")
    }
    filters = [
        _q("watch", STR, "a watch's name"), _q("sentiment", {"enum": ["positive", "negative", "neutral"]}, ""),
        _q("tag", STR, "a tag"), _q("source", STR, "a publisher's domain"), _q("lang", STR, "ISO 639-1 code"),
        _q("from", {"type": "string", "format": "date"}, "first day (reader's zone)"),
        _q("to", {"type": "string", "format": "date"}, "last day"), _q("starred", {"enum": ["1", "0"]}, ""),
        _q("hidden", {"enum": ["1", "0"]}, "only what was hidden"), _q("q", STR, "words of the title or text"),
        _q("after", STR, "the `next` cursor of the previous page"),
        _q("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "stories per page"),
    ]  # fmt: skip
    watch_body = _obj({"name": STR, "query": STR, "lang": STRS, "region": STRS, "fuzzy": BOOL,
                       "tags": {"type": "object", "additionalProperties": STRS}})  # fmt: skip
    recipient_body = _obj({"email": STR, "frequency": {"enum": list(values(Frequency))}, "at": STR, "tz": STR,
                           "day": STR, "locale": {"enum": ["fr", "en"]}, "min_sentiment": STR,
                           "send_empty": BOOL, "notify": STRS, "watches": STRS})  # fmt: skip
    group_body = _obj({"name": STR, "brands": STRS, "competitors": STRS})
    empty = {"type": "object"}
    paths: dict[str, Any] = {
        "/api/v1/mentions": {"get": _op("Stories, newest first, filtered", _obj(
            {"items": {"type": "array", "items": ref["Mention"]}, "next": NSTR}, ("items", "next")),
            params=filters, errors=("400", "404"))},
        "/api/v1/mentions/{mention_id}": {"get": _op("One mention", ref["Mention"], params=[_p("mention_id", ID)],
                                                     errors=("404",))},
        "/api/v1/mentions/{mention_id}/star": {
            "post": _op("Star", ref["Act"], params=[_p("mention_id", ID)], body=empty, errors=("400", "404", "409")),
            "delete": _op("Unstar", ref["Act"], params=[_p("mention_id", ID)], errors=("404", "409")),
        },
        "/api/v1/mentions/{mention_id}/irrelevant": {
            "post": _op("Mark irrelevant", ref["Act"], params=[_p("mention_id", ID)], body=empty,
                        errors=("400", "404", "409")),
            "delete": _op("Relevant again (undo)", ref["Act"], params=[_p("mention_id", ID)], errors=("404", "409")),
        },
        "/api/v1/mentions/{mention_id}/exclusion": {"get": _op(
            "The exclusion that would drop this mention, with the preview of the query it makes",
            _obj({"term": NSTR, "new_query": NSTR, "matched_before": INT, "matched_after": NINT}),
            params=[_p("mention_id", ID)], errors=("404",))},
        "/api/v1/acts": {"get": _op("The journal of acts, newest first", {"type": "array", "items": ref["Act"]})},
        "/api/v1/acts/{act_id}/undo": {"post": _op("Undo an act", ref["Act"], params=[_p("act_id", ID)], body=empty,
                                                   errors=("400", "404", "409"))},
        "/api/v1/watches": {
            "get": _op("Watches", {"type": "array", "items": ref["Watch"]}),
            "post": _op("Add a watch", ref["Watch"], status="201", body=watch_body, errors=("400", "404", "409")),
        },
        "/api/v1/watches/{name}": {
            "get": _op("A watch", ref["Watch"], params=[_p("name", NAME)], errors=("404",)),
            "patch": _op("Edit a watch", ref["Watch"], params=[_p("name", NAME)], body=watch_body,
                         errors=("400", "404", "409")),
            "delete": _op("Remove a watch", _obj({"name": STR, "removed": BOOL}), params=[_p("name", NAME)],
                          errors=("404",)),
        },
        "/api/v1/watches/{name}/exclusion": {"post": _op(
            "Apply an exclusion (the proposal's new query)", ref["Act"], params=[_p("name", NAME)],
            body=_obj({"new_query": STR, "expected_query": STR}, ("new_query",)), errors=("400", "404", "409"))},
        "/api/v1/watches/{name}/mutes": {"post": _op(
            "Mute a site for a watch", ref["Act"], params=[_p("name", NAME)], body=_obj({"domain": STR}, ("domain",)),
            errors=("400", "404", "409"))},
        "/api/v1/preview": {"get": _op(
            "What a query would match among stored items",
            _obj({"canonical_query": STR, "scanned": INT, "matched": INT, "items": {"type": "array"}}),
            params=[_q("query", STR, "the query"), _q("lang", STR, "fr,en"), _q("fuzzy", {"enum": ["1", "0"]}, ""),
                    _q("since", STR, "e.g. 30d")])},
        "/api/v1/sources": {
            "get": _op("Sources with their health", {"type": "array", "items": ref["Source"]}),
            "post": _op("Add a feed", ref["Source"], status="201",
                        body=_obj({"url": STR, "name": STR, "interval": {"type": ["string", "integer"]}}, ("url",)),
                        errors=("400", "409")),
        },
        "/api/v1/sources/{source_id}": {"delete": _op("Remove a source", _obj({"id": INT, "removed": BOOL}),
                                                      params=[_p("source_id", ID)], errors=("404",))},
        "/api/v1/sources/{source_id}/enable": {"post": _op("Re-enable a source now", ref["Source"],
                                                           params=[_p("source_id", ID)], body=empty,
                                                           errors=("400", "404"))},
        "/api/v1/recipients": {
            "get": _op("Recipients", {"type": "array", "items": ref["Recipient"]}),
            "post": _op("Add a recipient", ref["Recipient"], status="201", body=recipient_body,
                        errors=("400", "404", "409")),
        },
        "/api/v1/recipients/{recipient_id}": {
            "patch": _op("Edit a recipient", ref["Recipient"], params=[_p("recipient_id", ID)], body=recipient_body,
                         errors=("400", "404", "409")),
            "delete": _op("Remove a recipient", _obj({"email": STR, "removed": BOOL}),
                          params=[_p("recipient_id", ID)], errors=("404",)),
        },
        "/api/v1/trends": {"get": _op("Mentions per day by sentiment, share of voice, top sites", _obj(
            {"watches": {"type": "array"}, "share": {"type": "array"}, "publishers": {"type": "array"}}),
            params=[_q("watch", STR, "repeatable"), _q("days", {"enum": ["7", "30", "90"]}, "")])},
        "/api/v1/groups": {
            "get": _op("Saved groups (your brand vs competitors)", {"type": "array", "items": ref["Group"]}),
            "post": _op("Save a group", ref["Group"], status="201", body=group_body, errors=("400", "404", "409")),
        },
        "/api/v1/groups/{name}": {
            "get": _op("A group", ref["Group"], params=[_p("name", NAME)], errors=("404",)),
            "patch": _op("Rename a group or replace its brand or competitors", ref["Group"],
                         params=[_p("name", NAME)], body=group_body, errors=("400", "404", "409")),
            "delete": _op("Remove a group", _obj({"name": STR, "removed": BOOL}), params=[_p("name", NAME)],
                          errors=("404",)),
        },
        "/api/v1/groups/{name}/share": {"get": _op(
            "Share of voice of a group over 7, 30 or 90 days (stories per watch)",
            _obj({"group": STR, "days": INT, "total": INT, "brand_percent": {"type": "number"},
                  "share": {"type": "array", "items": _obj({"watch": STR, "role": {"enum": ["brand", "competitor"]},
                                                            "stories": INT, "percent": {"type": "number"}})}},
                 ("group", "days", "total", "share")),
            params=[_p("name", NAME), _q("days", {"enum": ["7", "30", "90"]}, "")], errors=("400", "404"))},
    }  # fmt: skip
    schemas = {
        "Error": _obj({"error": STR}, ("error",)),
        "Mention": _obj({"id": INT, "watch": STR, "title": STR, "url": NSTR, "source": NSTR, "published": STR,
                         "sentiment": STR, "tags": STRS, "snippet": STR, "starred": BOOL, "irrelevant": BOOL,
                         "duplicates": {"type": "array"}, "why": {"type": ["object", "null"]}},
                        ("id", "watch", "title", "published", "sentiment")),
        "Act": _obj({"id": INT, "kind": STR, "watch": NSTR, "mention_id": {"type": ["integer", "null"]},
                     "actor": STR, "at": STR, "undone_at": NSTR}, ("id", "kind", "actor", "at")),
        "Watch": _obj({"id": INT, "name": STR, "query": STR, "canonical_query": STR, "lang": STRS, "region": STRS,
                       "fuzzy": BOOL, "tags": {"type": "object"}}, ("id", "name", "query")),
        "Source": _obj({"id": INT, "name": STR, "url": STR, "items": INT, "failures": INT, "broken": BOOL,
                        "last_error": NSTR}, ("id", "name", "url")),
        "Group": _obj({"id": INT, "name": STR, "brands": STRS, "competitors": STRS}, ("id", "name", "brands",
                                                                                   "competitors")),
        "Recipient": _obj({"id": INT, "email": STR, "frequency": STR, "at": STR, "tz": STR, "watches": STRS},
                          ("id", "email", "frequency")),
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "erepwatch", "version": __version__,
                 "description": "Mentions, acts, watches, sources and recipients of one erepwatch. Behind a password, "
                 "send it as `Authorization: Bearer …`. Requests that change something must be JSON."},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }  # fmt: skip
