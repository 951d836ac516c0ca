"""Screens for the parts clerk: reorder list, purchase orders and receipts, suppliers, transfers, recall, valuation.

Thin views: selectors read (scoped to the user's stores: another store's order or transfer is a 404), services write
(permissions and sides are checked there too), domain errors show inline.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, Forbidden
from aftersales.common.scoping import visible_store_ids
from aftersales.common.views import found as _found
from aftersales.common.views import store_from_request as _store

from . import purchasing, reports, transfers
from .choices import PurchaseOrderStatus, Tracking, TransferStatus
from .forms_purchasing import PurchaseOrderForm, RecallForm, SupplierForm, TransferRequestForm
from .models import Batch, StockMovement
from .services import part_by_number


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("code"))


def _fail(request: HttpRequest, exc: DomainError) -> None:
    if isinstance(exc, Forbidden):
        raise exc_to_403(exc)
    messages.error(request, str(exc.message))


def exc_to_403(exc: Forbidden) -> Exception:
    from django.core.exceptions import PermissionDenied

    return PermissionDenied(str(exc.message))


# ---- reorder -----------------------------------------------------------------------------------------------------
@login_required
@permission_required("parts.view_purchaserequisition", raise_exception=True)
def reorder(request: HttpRequest) -> HttpResponse:
    store = _store(request)
    below = Paginator(purchasing.items_below_minimum(request.user, store), 50).get_page(request.GET.get("page"))
    requisitions = list(purchasing.requisitions_for(request.user, store)[:500])
    return render(request, "parts/purchasing/reorder.html", {
        "store": store, "stores": _stores(request.user), "below": below, "requisitions": requisitions,
        "suppliers": purchasing.suppliers_for(request.user, active_only=True),
    })


@login_required
@require_POST
@permission_required("parts.add_purchaserequisition", raise_exception=True)
def reorder_run(request: HttpRequest) -> HttpResponse:
    store = _store(request)
    try:
        result = purchasing.reorder_run_now(actor=request.user, store=store)
    except DomainError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("%(n)s item(s) below minimum; %(c)s new requisition(s).") % {
            "n": result["below_minimum"], "c": result["requisitions_created"]})
    return redirect(f"{_url('purchasing:reorder')}?store={store.pk}")


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


@login_required
@require_POST
@permission_required("parts.add_purchaseorder", raise_exception=True)
def requisitions_order(request: HttpRequest) -> HttpResponse:
    store = _store(request)
    ids = [int(i) for i in request.POST.getlist("requisition_ids") if str(i).isdigit()]
    supplier = None
    if request.POST.get("supplier"):
        supplier = _found(purchasing.supplier_get, request.user, request.POST["supplier"])
    try:
        orders = purchasing.purchase_order_create_from_requisitions(
            actor=request.user, store=store, requisition_ids=ids, supplier=supplier
        )
    except DomainError as exc:
        _fail(request, exc)
        return redirect(f"{_url('purchasing:reorder')}?store={store.pk}")
    messages.success(request, _("Purchase orders created: %(numbers)s.") % {"numbers": ", ".join(o.number for o in orders)})
    if len(orders) == 1:
        return redirect("purchasing:po_detail", orders[0].pk)
    return redirect(f"{_url('purchasing:po_list')}?store={store.pk}")


@login_required
@require_POST
@permission_required("parts.change_purchaserequisition", raise_exception=True)
def requisition_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    req = _found(purchasing.requisition_get, request.user, pk)
    try:
        purchasing.requisition_cancel(actor=request.user, requisition=req)
    except DomainError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Requisition cancelled."))
    return redirect(f"{_url('purchasing:reorder')}?store={req.store_id}")


# ---- purchase orders ---------------------------------------------------------------------------------------------
@login_required
@permission_required("parts.view_purchaseorder", raise_exception=True)
def po_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    store = _store(request) if request.GET.get("store") else None
    qs = purchasing.purchase_orders_for(request.user, store, status if status in PurchaseOrderStatus.values else None)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "parts/purchasing/po_list.html", {
        "page": page, "status": status, "statuses": PurchaseOrderStatus.choices, "store": store,
        "stores": _stores(request.user),
    })


@login_required
@permission_required("parts.add_purchaseorder", raise_exception=True)
def po_create(request: HttpRequest) -> HttpResponse:
    store = _store(request)
    suppliers = list(purchasing.suppliers_for(request.user, active_only=True))
    form = PurchaseOrderForm(request.POST or None, suppliers=suppliers)
    if request.method == "POST" and form.is_valid():
        supplier = next((s for s in suppliers if str(s.pk) == form.cleaned_data["supplier"]), None)
        try:
            order = purchasing.purchase_order_create(
                actor=request.user, store=store, supplier=supplier, lines=form.service_lines(),
                expected_on=form.cleaned_data.get("expected_on"),
            )
        except DomainError as exc:
            if isinstance(exc, Forbidden):
                raise exc_to_403(exc) from exc
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Purchase order %(n)s created.") % {"n": order.number})
            return redirect("purchasing:po_detail", order.pk)
    return render(request, "parts/purchasing/po_form.html", {"form": form, "store": store})


_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _events(obj: Any, choices: Any) -> list[dict[str, Any]]:
    return [{"e": e, "label": _label(choices, e.to_state)} for e in obj.events.select_related("actor")]


def _po_context(
    order: Any, posted: dict[int, dict[str, str]] | None = None, line_errors: dict[int, dict[str, str]] | None = None,
    receive_error: str | None = None,
) -> dict[str, Any]:
    lines = list(purchasing.open_order_lines(order))
    posted, line_errors = posted or {}, line_errors or {}
    return {
        "order": order, "events": _events(order, PurchaseOrderStatus),
        "rows": [{"line": ln, "err": line_errors.get(ln.pk), "posted": posted.get(ln.pk, {})} for ln in lines],
        "receivable": order.status in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIAL),
        "tracked": any(ln.part.tracking != Tracking.NONE for ln in lines),
        "receipts": list(StockMovement.objects.filter(po_line__order=order).select_related("part", "batch", "actor")),
        "receive_error": receive_error, "mail": purchasing.purchase_order_mail(order),
    }


@login_required
@permission_required("parts.view_purchaseorder", raise_exception=True)
def po_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _found(purchasing.purchase_order_get, request.user, pk)
    return render(request, "parts/purchasing/po_detail.html", _po_context(order))


@login_required
@require_POST
@permission_required("parts.change_purchaseorder", raise_exception=True)
def po_receive(request: HttpRequest, pk: int) -> HttpResponse:
    """Per-line quantities (blank or 0: not received now); all lines or none; errors shown on their line."""
    order = _found(purchasing.purchase_order_get, request.user, pk)
    lines: list[dict[str, Any]] = []
    index: dict[int, int] = {}  # position in the service call → line id
    posted: dict[int, dict[str, str]] = {}
    for line_id in order.lines.order_by("id").values_list("id", flat=True):
        row = {k: request.POST.get(f"{k}_{line_id}", "").strip()
               for k in ("quantity", "unit_cost", "batch_number", "origin", "production_date")}
        posted[line_id] = row
        if row["quantity"] in ("", "0"):
            continue
        lines.append({"line_id": line_id, **row})
        index[len(lines)] = line_id
    try:
        purchasing.purchase_order_receive(actor=request.user, order=order, lines=lines)
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise exc_to_403(exc) from exc
        line_errors: dict[int, dict[str, str]] = {}
        general = None
        match = _LINE_FIELD.match(exc.field or "")
        if match and int(match.group(1)) in index:
            line_errors[index[int(match.group(1))]] = {"field": match.group(2), "message": str(exc.message)}
        else:
            general = str(exc.message)
        context = _po_context(order, posted=posted, line_errors=line_errors, receive_error=general)
        return render(request, "parts/purchasing/po_detail.html", context, status=422)
    messages.success(request, _("Receipt booked."))
    return redirect("purchasing:po_detail", order.pk)


@login_required
@permission_required("parts.view_purchaseorder", raise_exception=True)
def po_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The purchase order's PDF, as the supplier receives it (their e-mail attaches the same document)."""
    from django.utils.translation import get_language

    from .po_document import po_pdf as render_pdf

    order = _found(purchasing.purchase_order_get, request.user, pk)
    response = HttpResponse(render_pdf(order, language=get_language() or "zh-hans"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.number}.pdf"'
    return response


@login_required
@require_POST
@permission_required("parts.change_purchaseorder", raise_exception=True)
def po_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    order = _found(purchasing.purchase_order_get, request.user, pk)
    try:
        if action == "send":
            sent = purchasing.purchase_order_send(actor=request.user, order=order)
            messages.success(request, _("Purchase order e-mailed to %(s)s (%(e)s) with its PDF.") % {
                "s": sent.supplier.name, "e": sent.supplier.email})
        elif action == "cancel":
            purchasing.purchase_order_cancel(actor=request.user, order=order, reason=request.POST.get("reason", ""))
            messages.success(request, _("Purchase order cancelled."))
        else:
            raise Http404
    except DomainError as exc:
        _fail(request, exc)
    return redirect("purchasing:po_detail", order.pk)


# ---- suppliers ---------------------------------------------------------------------------------------------------
@login_required
@permission_required("parts.view_supplier", raise_exception=True)
def supplier_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    qs = purchasing.suppliers_for(request.user)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(contact__icontains=q) | Q(phone__icontains=q))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "parts/purchasing/supplier_list.html", {"page": page, "q": q})


@login_required
def supplier_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    supplier = _found(purchasing.supplier_get, request.user, pk) if pk else None
    perm = "parts.change_supplier" if supplier else "parts.add_supplier"
    if not request.user.has_perm(perm):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    initial = {f: getattr(supplier, f) for f in purchasing.SUPPLIER_FIELDS} if supplier else None
    form = SupplierForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if supplier:
                purchasing.supplier_update(actor=request.user, supplier=supplier, **form.cleaned_data)
            else:
                supplier = purchasing.supplier_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("purchasing:supplier_list")
    return render(request, "parts/purchasing/supplier_form.html", {"form": form, "supplier": supplier})


# ---- transfers ---------------------------------------------------------------------------------------------------
def _transfer_rows(items: Any, now: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    for t in items:
        span = transfers.elapsed(t, now)
        rows.append({"t": t, "hours": round(span.total_seconds() / 3600, 1) if span is not None else None})
    return rows


@login_required
@permission_required("parts.view_transfer", raise_exception=True)
def transfer_list(request: HttpRequest) -> HttpResponse:
    """Incoming, outgoing, or (for the advisor) the ones they wait for; with the elapsed-time figures."""
    ids = visible_store_ids(request.user)
    tab = request.GET.get("tab") or ("mine" if not request.user.has_perm("parts.change_transfer") else "incoming")
    qs = transfers.transfers_for(request.user)
    if tab == "outgoing":
        qs = qs.filter(from_store_id__in=ids)
    elif tab == "mine":
        qs = transfers.transfers_waited_on_by(request.user)
    else:
        tab = "incoming"
        qs = qs.filter(to_store_id__in=ids)
    if request.GET.get("open") == "1":
        qs = qs.filter(status__in=transfers.OPEN_STATES)
    page = Paginator(qs.order_by("-requested_at", "-id"), 25).get_page(request.GET.get("page"))
    now = timezone.now()
    stats = transfers.transfer_stats(request.user, since=now - dt.timedelta(days=30), until=now)
    return render(request, "parts/transfers/list.html", {
        "tab": tab, "page": page, "rows": _transfer_rows(page.object_list, now), "stats": stats,
        "only_open": request.GET.get("open") == "1",
    })


def _jobs_waiting(user: Any, store: Any) -> list[Any]:
    from aftersales.workshop.choices import IN_SHOP_STATES
    from aftersales.workshop.models import RepairJob
    from aftersales.workshop.selectors import orders_visible_to

    orders = orders_visible_to(user).filter(store_id=store.pk, status__in=IN_SHOP_STATES)
    return list(RepairJob.objects.filter(order__in=orders).select_related("order").order_by("-order__opened_at", "seq")[:200])


@login_required
@permission_required("parts.add_transfer", raise_exception=True)
def transfer_create(request: HttpRequest) -> HttpResponse:
    from aftersales.stores.models import Store

    to_store = _store(request)
    stores = list(Store.objects.filter(group_id=to_store.group_id).exclude(pk=to_store.pk).order_by("code"))
    jobs = _jobs_waiting(request.user, to_store)
    initial = {"part": request.GET.get("part", ""), "for_job": request.GET.get("job", "")}
    form = TransferRequestForm(request.POST or None, stores=stores, jobs=jobs, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        from_store = next((s for s in stores if str(s.pk) == data["from_store"]), None)
        job = next((j for j in jobs if str(j.pk) == data.get("for_job")), None)
        try:
            part = part_by_number(to_store.group_id, data["part"], "part")
            transfer = transfers.transfer_request(
                actor=request.user, from_store=from_store, to_store=to_store, part=part, quantity=data["quantity"],
                for_job=job, note=data.get("note", ""),
            )
        except DomainError as exc:
            if isinstance(exc, Forbidden):
                raise exc_to_403(exc) from exc
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Transfer requested."))
            return redirect("purchasing:transfer_detail", transfer.pk)
    return render(request, "parts/transfers/form.html", {"form": form, "to_store": to_store})


@login_required
@permission_required("parts.view_transfer", raise_exception=True)
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    t = _found(transfers.transfer_get, request.user, pk)
    ids = visible_store_ids(request.user)
    sender = t.from_store_id in ids and request.user.has_perm("parts.change_transfer")
    receiver_clerk = t.to_store_id in ids and request.user.has_perm("parts.change_transfer")
    batches = []
    if sender and t.status == TransferStatus.APPROVED and t.part.tracking != Tracking.NONE:
        batches = list(Batch.objects.filter(part=t.part, movements__store_id=t.from_store_id).distinct().order_by("number"))
    span = transfers.elapsed(t)
    return render(request, "parts/transfers/detail.html", {
        "t": t, "events": _events(t, TransferStatus), "sender": sender, "receiver_clerk": receiver_clerk,
        "can_cancel": (t.to_store_id in ids and request.user.has_perm("parts.add_transfer")) or sender,
        "batches": batches, "hours": round(span.total_seconds() / 3600, 1) if span is not None else None,
    })


@login_required
@require_POST
@permission_required("parts.add_transfer", raise_exception=True)
def transfer_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    t = _found(transfers.transfer_get, request.user, pk)
    reason = request.POST.get("reason", "")
    try:
        if action == "approve":
            transfers.transfer_approve(actor=request.user, transfer=t)
        elif action == "reject":
            transfers.transfer_reject(actor=request.user, transfer=t, reason=reason)
        elif action == "ship":
            batch = None
            if request.POST.get("batch"):
                batch = Batch.objects.filter(part=t.part, pk=request.POST["batch"]).first()
            transfers.transfer_ship(actor=request.user, transfer=t, batch=batch)
        elif action == "receive":
            transfers.transfer_receive(actor=request.user, transfer=t)
        elif action == "cancel":
            transfers.transfer_cancel(actor=request.user, transfer=t, reason=reason)
        else:
            raise Http404
    except DomainError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Transfer updated."))
    return redirect("purchasing:transfer_detail", t.pk)


# ---- traceability and valuation ------------------------------------------------------------------------------------
@login_required
@permission_required("parts.view_batch", raise_exception=True)
def recall(request: HttpRequest) -> HttpResponse:
    from aftersales.common.validators import display_mobile, mask_mobile

    form = RecallForm(request.GET or None)
    hits = None
    if request.GET and form.is_valid():
        try:
            user: Any = request.user
            part = part_by_number(user.dealer_group_id, form.cleaned_data["part"], "part")
            hits = reports.recall_lookup(request.user, part, form.cleaned_data["batch_number"])
        except DomainError as exc:
            form.add_domain_error(exc)
    full = request.user.has_perm("customers.view_full_mobile")
    rows = [
        {"hit": h, "phone": (display_mobile if full else mask_mobile)(h.customer.mobile) if h.customer else ""}
        for h in hits or []
    ]
    return render(request, "parts/purchasing/recall.html", {"form": form, "rows": rows, "searched": hits is not None})


@login_required
@permission_required("parts.view_stockitem", raise_exception=True)
def valuation(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("parts.view_stockmovement"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    store = _store(request)
    try:
        days = max(30, min(int(request.GET.get("days", 180)), 730))
    except ValueError:
        days = 180
    movers = Paginator(_found(reports.slow_movers, request.user, store, days), 50).get_page(request.GET.get("page"))
    return render(request, "parts/purchasing/valuation.html", {
        "store": store, "stores": _stores(request.user), "value": reports.stock_value(request.user),
        "turnover": reports.turnover(request.user, store), "movers": movers, "days": days,
    })
