"""Stock-take screens (盘点): list, start, count sheet (one POST saves every line), post and cancel.

Thin views: the stocktake module reads and writes; another store's stock-take is a 404; a refusal lands inline on
the sheet (a line's error next to its input), a post that needs a manager answers 403 with the reason.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, Forbidden
from aftersales.common.scoping import visible_store_ids
from aftersales.common.views import found as _found
from aftersales.common.views import store_from_request as _store

from . import stocktake
from .choices import Category, StockTakeStatus
from .forms import DomainForm
from .models import StockTake

_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.")


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("code"))


class StartForm(DomainForm):
    existing_id: int | None = None
    store = forms.ChoiceField(label=gettext_lazy("Store"))
    category = forms.ChoiceField(label=gettext_lazy("Category (optional)"), required=False)
    bin_prefix = forms.CharField(
        label=gettext_lazy("Bins starting with (optional)"), max_length=20, required=False,
        help_text=gettext_lazy("e.g. A-01 counts every bin of aisle A, shelf 01."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, stores: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.stores = {str(s.pk): s for s in stores}
        self.fields["store"].choices = [(str(s.pk), s.name) for s in stores]  # type: ignore[attr-defined]
        self.fields["category"].choices = [("", gettext_lazy("All categories")), *Category.choices]  # type: ignore[attr-defined]
        if len(stores) == 1:
            self.fields["store"].widget = forms.HiddenInput()

    def clean_store(self) -> Any:
        return self.stores[self.cleaned_data["store"]]


def _events(take: StockTake) -> list[dict[str, Any]]:
    return [
        {"e": e, "label": StockTakeStatus(e.to_state).label if e.to_state in StockTakeStatus.values else e.to_state}
        for e in take.events.select_related("actor")
    ]


@login_required
@permission_required("parts.view_stocktake", raise_exception=True)
def stocktake_list(request: HttpRequest) -> HttpResponse:
    store = _store(request)
    page = Paginator(stocktake.stocktakes_for(request.user, store), 30).get_page(request.GET.get("page"))
    return render(request, "parts/stocktake/list.html", {"store": store, "stores": _stores(request.user), "page": page})


@login_required
@permission_required("parts.add_stocktake", raise_exception=True)
def stocktake_start(request: HttpRequest) -> HttpResponse:
    user = request.user
    store = _store(request)
    form = StartForm(request.POST or None, stores=_stores(user), initial={"store": str(store.pk)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            take = stocktake.stocktake_start(actor=user, store=data["store"], category=data["category"],
                                             bin_prefix=data["bin_prefix"], note=data["note"])
        except Forbidden as exc:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied(str(exc.message)) from exc
        except DomainError as exc:
            form.add_domain_error(exc)
            existing = exc.extra.get("existing_id")
            if existing:
                form.existing_id = existing
        else:
            messages.success(request, _("Stock-take started: %(n)s lines to count.") % {"n": take.lines.count()})
            return redirect("parts:stocktake_detail", take.pk)
    return render(request, "parts/stocktake/start.html", {"form": form, "existing_id": form.existing_id})


def _sheet_page(request: HttpRequest, take: StockTake, *, values: dict[int, str] | None = None,
                errors: dict[int, str] | None = None, status: int = 200) -> HttpResponse:
    sheet = stocktake.sheet(take)
    rows = []
    for row in sheet.rows:
        typed = (values or {}).get(row.line.pk)
        shown = typed if typed is not None else ("" if row.line.counted_qty is None else stocktake._fmt(row.line.counted_qty))
        rows.append({"r": row, "value": shown, "error": (errors or {}).get(row.n, "")})
    user = request.user
    return render(request, "parts/stocktake/detail.html", {
        "take": take, "sheet": sheet, "rows": rows, "events": _events(take),
        "editable": take.status in stocktake.ACTIVE_STATES and user.has_perm("parts.add_stocktake"),
        "can_post": take.status == StockTakeStatus.COUNTED and user.has_perm("parts.change_stocktake"),
        "can_cancel": take.status in stocktake.ACTIVE_STATES and user.has_perm("parts.change_stocktake"),
    }, status=status)


@login_required
@permission_required("parts.view_stocktake", raise_exception=True)
def stocktake_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The count sheet; a POST saves every line's count at once (``finish`` also marks the count as done)."""
    take = _found(stocktake.stocktake_get, request.user, pk)
    if request.method != "POST":
        return _sheet_page(request, take)
    if not request.user.has_perm("parts.add_stocktake"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    line_ids = list(stocktake.sheet_lines(take).values_list("id", flat=True))
    values = {pk: request.POST.get(f"count_{pk}", "").strip() for pk in line_ids}
    lines = [{"line": pk, "counted_qty": values[pk]} for pk in line_ids]
    try:
        stocktake.stocktake_record_counts(actor=request.user, stock_take=take, lines=lines,
                                          finish=bool(request.POST.get("finish")))
    except DomainError as exc:
        match = _LINE_FIELD.match(exc.field or "")
        errors = {int(match.group(1)): str(exc.message)} if match else {}
        if not match:
            messages.error(request, str(exc.message))
        take.refresh_from_db()
        return _sheet_page(request, take, values=values, errors=errors, status=422)
    messages.success(request, _("Counts saved."))
    return redirect("parts:stocktake_detail", take.pk)


@login_required
@require_POST
@permission_required("parts.change_stocktake", raise_exception=True)
def stocktake_post(request: HttpRequest, pk: int) -> HttpResponse:
    take = _found(stocktake.stocktake_get, request.user, pk)
    try:
        stocktake.stocktake_post(actor=request.user, stock_take=take, reason=request.POST.get("reason", "")[:300])
    except Forbidden as exc:
        messages.error(request, str(exc.message))
        return _sheet_page(request, take, status=403)
    except DomainError as exc:
        match = _LINE_FIELD.match(exc.field or "")
        messages.error(request, str(exc.message))
        take.refresh_from_db()
        return _sheet_page(request, take, errors={int(match.group(1)): str(exc.message)} if match else None, status=422)
    messages.success(request, _("Stock-take posted: the differences are booked."))
    return redirect("parts:stocktake_detail", take.pk)


@login_required
@require_POST
@permission_required("parts.change_stocktake", raise_exception=True)
def stocktake_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    take = _found(stocktake.stocktake_get, request.user, pk)
    try:
        stocktake.stocktake_cancel(actor=request.user, stock_take=take, reason=request.POST.get("reason", "")[:300])
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Stock-take cancelled: nothing was booked."))
    return redirect("parts:stocktake_detail", take.pk)
