"""The page of saved watch groups ("my brand vs competitors"): create, edit, delete; the trends page shows the
share of voice of the one chosen. Same service functions as ``erepwatch group`` and ``/api/v1/groups``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from erepwatch.service import groups as gsvc
from erepwatch.service import watches as wsvc
from erepwatch.web.base import config, flash, redirect, render, translator
from erepwatch.web.manage import _form, _or_flash


def groups_page(request: Request) -> Response:
    with config(request).read() as session:
        rows = [gsvc.group_as_dict(session, g) for g in gsvc.list_groups(session)]
        watches = [w.name for w in wsvc.list_watches(session)]
    return render(request, "groups.html", rows=rows, watches=watches)


def _picked(form: dict[str, Any], key: str) -> list[str]:
    value = form.get(key) or []
    return [value] if isinstance(value, str) else list(value)


async def group_add(request: Request) -> Response:
    form = await _form(request)
    cfg = config(request)

    def run() -> Response:
        data = gsvc.GroupInput(str(form.get("name", "")), _picked(form, "brand"), _picked(form, "competitor"))
        with cfg.write() as session:
            gsvc.add_group(session, data, now=cfg.clock())
        flash(request, translator(request)("saved"))
        return redirect("/groups")

    return await _or_flash(request, run, "/groups")


async def group_edit(request: Request) -> Response:
    form = await _form(request)
    cfg = config(request)
    ref = request.path_params["group_id"]

    def run() -> Response:
        with cfg.write() as session:
            gsvc.edit_group(session, ref, name=str(form.get("name", "")), brands=_picked(form, "brand"),
                            competitors=_picked(form, "competitor"), now=cfg.clock())  # fmt: skip
        flash(request, translator(request)("saved"))
        return redirect("/groups")

    return await _or_flash(request, run, "/groups")


async def group_delete(request: Request) -> Response:
    await _form(request)
    ref = request.path_params["group_id"]

    def run() -> Response:
        with config(request).write() as session:
            gsvc.remove_group(session, ref)
        flash(request, translator(request)("deleted"))
        return redirect("/groups")

    return await _or_flash(request, run, "/groups")


def routes() -> list[BaseRoute]:
    return [
        Route("/groups", groups_page, methods=["GET"]),
        Route("/groups", group_add, methods=["POST"]),
        Route("/groups/{group_id:int}", group_edit, methods=["POST"]),
        Route("/groups/{group_id:int}/delete", group_delete, methods=["POST"]),
    ]
