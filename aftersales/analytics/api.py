"""The sales DMS's monthly gross-profit import (issue 18): the same rows and rules as the manager's Excel/CSV import
(``importers``, ``services.gross_profit_check``), posted as JSON with a staff API token.

``POST /api/analytics/gross-profit`` with ``{"rows": [{"store", "month", "new_car", "other"}], "dry_run": false}``:
every bad row and field is named at once (422, ``errors[]`` with ``row`` and ``field`` such as ``rows.2.month``) and
nothing is written; ``dry_run`` answers the preview without writing. A store's month posted again replaces it; the
same values posted again change nothing (idempotent per store and month: no write, no audit row).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from ninja import Router, Schema

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.permissions import require

router = Router(tags=["analytics"])

MAX_ROWS = 5000


class GrossProfitRowIn(Schema):
    store: str | None = None
    month: str | None = None
    new_car: str | float | int | None = None
    other: str | float | int | None = None


class GrossProfitIn(Schema):
    rows: list[GrossProfitRowIn]
    dry_run: bool = False


class GrossProfitRowOut(Schema):
    row: int
    store: str
    month: str
    new_car: Decimal
    other: Decimal
    status: str  # new, replaces, unchanged


class GrossProfitOut(Schema):
    dry_run: bool
    written: int
    rows: list[GrossProfitRowOut]


@router.post("/gross-profit", response={200: GrossProfitOut, **ERRORS})
def import_gross_profit(request: Any, payload: GrossProfitIn) -> Any:
    from aftersales.common.scoping import visible_store_ids
    from aftersales.stores.models import Store

    from . import importers, services
    from .models import GrossProfitMonth

    user = request_user(request)
    require(user, "analytics.add_grossprofitmonth")
    if not payload.rows:
        raise ValidationFailed("import_empty", _("The file is empty."), "rows")
    if len(payload.rows) > MAX_ROWS:
        raise ValidationFailed("import_too_long", _("At most %(n)s rows per file.") % {"n": MAX_ROWS}, "rows")
    rows: list[importers.Row] = []
    errors: list[dict[str, Any]] = []
    for number, raw in enumerate(payload.rows, start=1):
        row = importers.Row(number, str(raw.store or "").strip(), importers._month(raw.month), importers._money(raw.new_car),
                            importers._money(raw.other) if str(raw.other if raw.other is not None else "").strip() else Decimal("0.00"))
        errors += importers.row_errors(row)
        rows.append(row)
    errors += services.gross_profit_check(actor=user, rows=rows)
    if errors:
        errors.sort(key=lambda e: (e["line"], ("store", "month", "new_car", "other").index(e["field"])))
        items = [{"code": "invalid_row", "row": e["line"], "field": f"rows.{e['line']}.{e['field']}", "message": str(e["message"])}
                 for e in errors]
        raise ValidationFailed("import_invalid", items[0]["message"], items[0]["field"], errors=items)
    stores = {s.code: s for s in Store.objects.filter(pk__in=visible_store_ids(user))}
    existing: dict[tuple[int, Any], Any] = {(r.store_id, r.month): r for r in GrossProfitMonth.objects.filter(
        store_id__in=[s.pk for s in stores.values()], month__in={r.month for r in rows})}
    out = []
    for r in rows:
        old = existing.get((stores[r.store_code].pk, r.month))
        status = "new" if old is None else ("unchanged" if (old.new_car, old.other) == (r.new_car, r.other) else "replaces")
        out.append({"row": r.line, "store": r.store_code, "month": f"{r.month:%Y-%m}", "new_car": r.new_car, "other": r.other,
                    "status": status})
    written = 0
    if not payload.dry_run:
        written = services.gross_profit_import(actor=user, rows=rows, source="DMS API", skip_unchanged=True)
    return {"dry_run": payload.dry_run, "written": written, "rows": out}


# ---- suggested minimum stock levels (parts demand forecast) ---------------------------------------------------
class MinSuggestionOut(Schema):
    id: int
    store_id: int
    part_id: int
    part_number: str
    computed_on: str
    weekly: list[float]
    method: str
    model_mae: float | None
    baseline_mae: float | None
    history_days: int
    lead_time_days: int
    lead_time_source: str
    lead_demand: Decimal
    safety_stock: Decimal
    suggested_min: Decimal
    current_min: Decimal
    review_demand: Decimal
    suggested_max: Decimal | None
    current_max: Decimal
    stale: bool


class MinSuggestionsOut(Schema):
    store_id: int
    items: list[MinSuggestionOut]


class AcceptIn(Schema):
    ids: list[int]


class AcceptOut(Schema):
    accepted: list[int]


def _suggestion_out(r: Any) -> dict[str, Any]:
    return {"id": r.pk, "store_id": r.store_id, "part_id": r.part_id, "part_number": r.part.number,
            "computed_on": r.computed_on.isoformat(), "weekly": r.weekly, "method": r.method, "model_mae": r.model_mae,
            "baseline_mae": r.baseline_mae, "history_days": r.history_days, "lead_time_days": r.lead_time_days,
            "lead_time_source": r.lead_time_source, "lead_demand": r.lead_demand, "safety_stock": r.safety_stock,
            "suggested_min": r.suggested_min, "current_min": r.live_min, "review_demand": r.review_demand,
            "suggested_max": r.suggested_max, "current_max": r.live_max, "stale": r.stale}


@router.get("/min-suggestions", response={200: MinSuggestionsOut, **ERRORS})
def min_suggestions(request: Any, store: int, changed_only: bool = True) -> Any:
    """The open suggested minimum levels of a store you work at (``parts.view_purchaserequisition``); by default
    only those differing from the current minimum. ``current_min`` / ``current_max`` are the item's minimum and
    order-up-to level now; ``suggested_max`` = ``suggested_min`` + ⌈``review_demand``⌉; ``stale`` when either changed
    since the suggestion was computed (it cannot be accepted then)."""
    from aftersales.common.scoping import get_or_404, visible_store_ids
    from aftersales.stores.models import Store

    from . import parts_demand

    user = request_user(request)
    require(user, "parts.view_purchaserequisition")
    store_obj = get_or_404(Store.objects.filter(pk__in=visible_store_ids(user)), pk=store)
    rows = parts_demand.suggestions_for(user=user, store=store_obj, changed_only=changed_only)
    return {"store_id": store_obj.pk, "items": [_suggestion_out(r) for r in rows]}


@router.post("/min-suggestions/accept", response={200: AcceptOut, **ERRORS})
def min_suggestions_accept(request: Any, payload: AcceptIn) -> Any:
    """Accept suggestions: each stock item's reorder minimum and order-up-to level become the suggested ones
    (``parts.change_stockitem``), audited; all or nothing. 404 naming the ``missing`` ids you cannot see, 409
    ``suggestion_stale`` / ``min_changed`` / ``max_changed`` when one is no longer current, 422 when ``ids`` is empty."""
    from . import parts_demand

    user = request_user(request)
    done = parts_demand.suggestions_accept(actor=user, ids=payload.ids)
    return {"accepted": [s.pk for s in done]}
