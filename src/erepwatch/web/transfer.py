"""Files in and out of the management pages, as the CLI takes and gives them: watches from JSON Lines
(``watch import``), feeds from OPML (``source import``) and to OPML (``source export``), a backup of watches,
sources and recipients (``export`` / ``import``), a Google Alerts export (``import google-alerts``).

Uploads are forms with the session's CSRF token like every other form, read up to :data:`MAX_UPLOAD` bytes; a
file that cannot be read comes back as one line at the top of the page, nothing of it applied.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from erepwatch.errors import ErepwatchError, InvalidInputError
from erepwatch.web.base import config, csrf_ok, flash, redirect, translator

#: The largest file a form takes (a backup or an OPML file of thousands of feeds is far below).
MAX_UPLOAD = 5 * 1024 * 1024


async def _upload(request: Request) -> tuple[str, bytes]:
    """(file name, content) of the form's ``file``, once its CSRF token is checked."""
    # The form's context closes its spooled files on every way out (a refused token, no file), not only after a read.
    async with request.form() as form:
        if not csrf_ok(request, form.get("csrf")):
            raise HTTPException(403, translator(request)("forbidden"))
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInputError(translator(request)("no_file"))
        data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInputError(f"{upload.filename}: larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    return upload.filename, data


def _text(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{name} is not UTF-8 text (save it as UTF-8)") from exc


async def _run(request: Request, back: str, action: Any) -> Response:
    """Read the upload and apply it; a user's mistake (or a bad file) is one line at the top of ``back``."""
    try:
        name, data = await _upload(request)
        await run_in_threadpool(action, name, data)
    except ErepwatchError as exc:
        flash(request, f"{translator(request)('error')} : {exc}")
    return redirect(back)


def _problems(request: Request, lines: list[str]) -> None:
    for line in lines[:3]:
        flash(request, line)


async def watches_import(request: Request) -> Response:
    cfg = config(request)
    t = translator(request)

    def apply(name: str, data: bytes) -> None:
        from erepwatch.service import first_results, watch_import
        from erepwatch.service.watches import ids_of

        lines = watch_import.parse_jsonl(_text(name, data).splitlines(), source=name)
        with cfg.write() as session:
            result = watch_import.import_watches(session, lines, now=cfg.clock())
            ids = ids_of(session, [*result.added, *result.updated])
        # Matched at once against the items already stored, as `watch import` does.
        found = first_results.match_stored(cfg.sessions, cfg.settings, ids)
        flash(request, t("imported_watches", added=len(result.added), updated=len(result.updated),
                         unchanged=len(result.unchanged), mentions=found))  # fmt: skip

    return await _run(request, "/watches", apply)


async def alerts_import(request: Request) -> Response:
    cfg = config(request)
    t = translator(request)

    def apply(name: str, data: bytes) -> None:
        from erepwatch.catalog.google_alerts import read_alerts_export
        from erepwatch.service.google_alerts_import import import_alerts

        try:
            export = read_alerts_export(data)
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{name} is not UTF-8 text: give the JSON file of Google's export") from exc
        except ValueError as exc:
            raise InvalidInputError(f"{name}: {exc}") from exc
        with cfg.write() as session:
            report = import_alerts(session, export, interval=cfg.settings.poll_search_interval,
                                   base_url=cfg.settings.catalog_base_url or None, now=cfg.clock())  # fmt: skip
        flash(request, t("imported_alerts", watches=len(report.watches_created), feeds=report.feeds_added,
                         recipients=len(report.recipients)))  # fmt: skip
        _problems(request, [*report.refused, *report.unmapped])

    return await _run(request, "/watches", apply)


async def opml_import(request: Request) -> Response:
    cfg = config(request)
    t = translator(request)

    def apply(name: str, data: bytes) -> None:
        from erepwatch.service.subscriptions import import_opml

        with cfg.write() as session:
            try:
                report = import_opml(session, data, default_interval=cfg.settings.poll_interval, now=cfg.clock())
            except InvalidInputError as exc:
                raise InvalidInputError(f"{name}: {exc}") from exc
        flash(request, t("imported_opml", added=len(report.added), existing=len(report.existing),
                         refused=len(report.refused)))  # fmt: skip
        _problems(request, report.refused)

    return await _run(request, "/sources", apply)


def opml_export(request: Request) -> Response:
    from erepwatch.service.subscriptions import export_opml

    cfg = config(request)
    with cfg.read() as session:
        data = export_opml(session, now=cfg.clock())
    headers = {"Content-Disposition": 'attachment; filename="erepwatch-sources.opml"', "Cache-Control": "no-store"}
    return Response(data, media_type="text/x-opml; charset=utf-8", headers=headers)


def backup_export(request: Request) -> Response:
    from erepwatch.service.backup import dump_backup, export_backup

    fmt = "toml" if request.query_params.get("format") == "toml" else "json"
    with config(request).read() as session:
        text = dump_backup(export_backup(session), fmt)
    media = "application/toml" if fmt == "toml" else "application/json"
    headers = {"Content-Disposition": f'attachment; filename="erepwatch-backup.{fmt}"', "Cache-Control": "no-store"}
    return Response(text.encode("utf-8"), media_type=f"{media}; charset=utf-8", headers=headers)


async def backup_import(request: Request) -> Response:
    cfg = config(request)
    t = translator(request)

    def apply(name: str, data: bytes) -> None:
        from erepwatch.service.backup import import_backup, load_backup

        fmt = "toml" if name.lower().endswith(".toml") else "json" if name.lower().endswith(".json") else None
        try:
            loaded = load_backup(_text(name, data), fmt)
        except ErepwatchError as exc:
            raise InvalidInputError(f"{name}: {exc}") from exc
        with cfg.write() as session:
            report = import_backup(session, loaded, default_interval=cfg.settings.poll_interval, now=cfg.clock())
        flash(request, t("imported_backup", created=sum(report.created.values()),
                         updated=sum(report.updated.values()), unchanged=sum(report.unchanged.values())))  # fmt: skip
        _problems(request, report.problems)

    return await _run(request, "/watches", apply)


def routes() -> list[BaseRoute]:
    return [
        Route("/watches/import", watches_import, methods=["POST"]),
        Route("/watches/import-alerts", alerts_import, methods=["POST"]),
        Route("/sources/import", opml_import, methods=["POST"]),
        Route("/sources/export.opml", opml_export, methods=["GET"]),
        Route("/backup", backup_export, methods=["GET"]),
        Route("/backup", backup_import, methods=["POST"]),
    ]
