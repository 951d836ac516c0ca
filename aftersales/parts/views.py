"""Staff screens for parts: search, part detail, catalogue edits, receipts, issues, returns, adjustments,
reservations, Excel import/export. Thin views: selectors read, services write, domain errors land inline."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, NotFound
from aftersales.common.scoping import default_store, visible_store_ids
from aftersales.common.views import found as _found

from . import catalogue, importers, selectors, services
from .forms import AdjustForm, ImportForm, IssueForm, PartForm, ReceiveForm, ReturnForm, alias_lines
from .models import AdjustmentRequest, PriceList, PriceListItem

IMPORT_SESSION_KEY = "parts_import_file"


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name", "id"))


def _initial_store(user: Any) -> dict[str, Any]:
    try:
        return {"store": str(default_store(user).pk)}
    except NotFound:
        return {}


# ---- search and detail -------------------------------------------------------------------------------------------
@login_required
@permission_required("parts.view_part", raise_exception=True)
def part_search(request: HttpRequest) -> HttpResponse:
    """The parts search box; with htmx, only the live results."""
    q = request.GET.get("q", "").strip()
    rows = selectors.part_search(request.user, q) if q else []
    template = "parts/_results.html" if request.htmx else "parts/search.html"
    return render(request, template, {"q": q, "rows": rows})


@login_required
@permission_required("parts.view_part", raise_exception=True)
def part_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    part = _found(selectors.part_get, user, pk)
    context: dict[str, Any] = {"part": part, "aliases": list(part.aliases.all())}
    context["prices"] = list(
        PriceListItem.objects.filter(part=part).select_related("price_list").order_by("price_list__code")
    )
    if user.has_perm("parts.view_stockitem"):
        context["stock"] = selectors.stock_for_part(user, part)
    if user.has_perm("parts.view_stockmovement"):
        context["movements"] = list(selectors.movements_for_part(user, part)[:20])
    if user.has_perm("parts.view_batch"):
        context["batches"] = selectors.batches_for_part(user, part)
    if user.has_perm("parts.view_reservation"):
        context["reservations"] = list(selectors.reservations_visible_to(user).filter(part=part)[:50])
    return render(request, "parts/detail.html", context)


# ---- catalogue -----------------------------------------------------------------------------------------------------
def _price_lists(user: Any) -> list[PriceList]:
    return list(PriceList.objects.filter(group_id=user.dealer_group_id).order_by("code"))


@login_required
@permission_required("parts.add_part", raise_exception=True)
def part_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PartForm(request.POST or None, price_lists=_price_lists(user))
    if request.method == "POST" and form.is_valid():
        try:
            part = catalogue.part_create(actor=user, group=user.dealer_group, **form.service_data())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Part %(n)s created.") % {"n": part.number})
            return redirect("parts:part_detail", part.pk)
    return render(request, "parts/part_form.html", {"form": form, "creating": True})


@login_required
@permission_required("parts.change_part", raise_exception=True)
def part_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    part = _found(selectors.part_get, user, pk)
    price_lists = _price_lists(user)
    initial: dict[str, Any] = {name: getattr(part, name) for name in PartForm.base_fields if hasattr(part, name)}
    initial["aliases"] = alias_lines(part)
    initial["warranty_months"] = part.warranty_months if part.warranty_months is not None else ""
    initial["warranty_km"] = part.warranty_km if part.warranty_km is not None else ""
    for code, price in PriceListItem.objects.filter(part=part).values_list("price_list__code", "price"):
        initial[f"price_{code}"] = price
    form = PartForm(request.POST or None, initial=initial, price_lists=price_lists)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.part_update(actor=user, part=part, **form.service_data())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("parts:part_detail", part.pk)
    return render(request, "parts/part_form.html", {"form": form, "part": part})


# ---- stock movements -----------------------------------------------------------------------------------------------
def _stock_page(request: HttpRequest, part: Any, form: Any, title: str, action: str) -> HttpResponse:
    return render(request, "parts/stock_form.html", {"form": form, "part": part, "title": title, "action": action})


@login_required
@permission_required("parts.add_stockmovement", raise_exception=True)
def stock_receive(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    part = _found(selectors.part_get, user, pk)
    form = ReceiveForm(request.POST or None, stores=_stores(user), initial={**_initial_store(user), "unit_cost": part.cost_price})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        store = data.pop("store")
        try:
            services.stock_receive(actor=user, store=store, part=part, **data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Received %(q)s × %(n)s.") % {"q": data["quantity"], "n": part.number})
            return redirect("parts:part_detail", part.pk)
    return _stock_page(request, part, form, _("Receive stock"), "receive")


def _job_form(request: HttpRequest, form_class: Any, part: Any, initial: dict[str, Any]) -> Any:
    user = request.user
    return form_class(
        request.POST or None, stores=_stores(user), jobs=selectors.open_jobs(user, authorized_only=form_class is IssueForm),
        batches=selectors.batches_for_part(user, part) if part.tracking != "none" else [], initial=initial,
    )


@login_required
@permission_required("parts.add_stockmovement", raise_exception=True)
def stock_issue(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    part = _found(selectors.part_get, user, pk)
    form = _job_form(request, IssueForm, part, {**_initial_store(user), "job": request.GET.get("job", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.counter_issue_to_job(actor=user, store=data["store"], part=part, quantity=data["quantity"],
                                          job=data["job"], batch=data.get("batch"))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Issued %(q)s × %(n)s to %(o)s.") % {
                "q": data["quantity"], "n": part.number, "o": data["job"].order.number})
            return redirect("parts:part_detail", part.pk)
    return _stock_page(request, part, form, _("Issue to a job"), "issue")


@login_required
@permission_required("parts.add_stockmovement", raise_exception=True)
def stock_return(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    part = _found(selectors.part_get, user, pk)
    form = _job_form(request, ReturnForm, part, {**_initial_store(user), "job": request.GET.get("job", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.counter_return_from_job(actor=user, store=data["store"], part=part, quantity=data["quantity"],
                                             job=data["job"], batch=data.get("batch"), reason=data.get("reason", ""))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Returned %(q)s × %(n)s to stock.") % {"q": data["quantity"], "n": part.number})
            return redirect("parts:part_detail", part.pk)
    return _stock_page(request, part, form, _("Return from a job"), "return")


@login_required
@permission_required("parts.add_stockmovement", raise_exception=True)
def stock_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    part = _found(selectors.part_get, user, pk)
    form = AdjustForm(request.POST or None, stores=_stores(user), initial=_initial_store(user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.stock_adjust(actor=user, store=data["store"], part=part, quantity=data["quantity"],
                                           reason=data["reason"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            if isinstance(result, AdjustmentRequest):
                messages.warning(request, _("This adjustment is above the approval limit: it waits for a manager."))
            else:
                messages.success(request, _("Stock adjusted."))
            return redirect("parts:part_detail", part.pk)
    return _stock_page(request, part, form, _("Adjust stock"), "adjust")


@login_required
@permission_required("parts.view_stockmovement", raise_exception=True)
def stock_item_movements(request: HttpRequest, pk: int) -> HttpResponse:
    item = _found(selectors.stock_item_get, request.user, pk)
    page = Paginator(selectors.movements_for_item(request.user, item), 50).get_page(request.GET.get("page"))
    return render(request, "parts/movements.html", {"item": item, "part": item.part, "page": page})


@login_required
@permission_required("parts.view_stockmovement", raise_exception=True)
def movement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    movement = _found(selectors.movement_get, request.user, pk)
    return render(request, "parts/movement_detail.html", {"m": movement})


# ---- adjustments awaiting approval ---------------------------------------------------------------------------------
@login_required
@permission_required("parts.view_adjustmentrequest", raise_exception=True)
def adjustment_list(request: HttpRequest) -> HttpResponse:
    pending = list(selectors.adjustments_visible_to(request.user)[:200])
    decided = list(selectors.adjustments_visible_to(request.user, status=None).exclude(status="pending")[:20])
    return render(request, "parts/adjustments.html", {"pending": pending, "decided": decided})


@login_required
@require_POST
@permission_required("parts.approve_adjustment", raise_exception=True)
def adjustment_decide(request: HttpRequest, pk: int) -> HttpResponse:
    adjustment = _found(selectors.adjustment_get, request.user, pk)
    approve = request.POST.get("decision") == "approve"
    try:
        services.adjustment_decide(actor=request.user, request=adjustment, approve=approve,
                                   reason=request.POST.get("reason", "")[:300])
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Adjustment approved.") if approve else _("Adjustment rejected."))
    return redirect("parts:adjustment_list")


# ---- reservations ----------------------------------------------------------------------------------------------------
@login_required
@permission_required("parts.view_reservation", raise_exception=True)
def reservation_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.reservations_visible_to(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "parts/reservations.html", {"page": page})


@login_required
@require_POST
@permission_required("parts.add_stockmovement", raise_exception=True)
def reservation_release(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = _found(selectors.reservation_get, request.user, pk)
    services.release(reservation=reservation)
    messages.success(request, _("Reservation released."))
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("parts:reservation_list")


# ---- Excel -----------------------------------------------------------------------------------------------------------
@login_required
@permission_required("parts.change_part", raise_exception=True)
def catalogue_export(request: HttpRequest) -> HttpResponse:
    data = importers.export_catalogue(request.user.dealer_group)
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="parts-catalogue.xlsx"'
    return response


@login_required
@permission_required(["parts.add_part", "parts.change_part"], raise_exception=True)
def catalogue_import(request: HttpRequest) -> HttpResponse:
    """Upload → preview (every row validated, nothing written) → apply (valid rows written, idempotent)."""
    user = request.user
    group = user.dealer_group
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    token = ""
    if request.method == "POST" and request.POST.get("apply"):
        token = request.POST.get("token", "")
        if not token or token != request.session.get(IMPORT_SESSION_KEY) or not default_storage.exists(token):
            messages.error(request, _("The uploaded file has expired: upload it again."))
            return redirect("parts:catalogue_import")
        with default_storage.open(token, "rb") as fh:
            data = fh.read()
        try:
            result = importers.apply(actor=user, group=group, data=data)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect("parts:catalogue_import")
        default_storage.delete(token)
        request.session.pop(IMPORT_SESSION_KEY, None)
        messages.success(request, _("Import applied: %(c)s created, %(u)s updated, %(n)s unchanged, %(e)s rows skipped.") % {
            "c": result.created, "u": result.updated, "n": result.unchanged, "e": result.error_rows})
        return render(request, "parts/import.html", {"form": ImportForm(), "result": result, "applied": True})
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            head = upload.read(8)
            upload.seek(0)
            importers.check_upload(upload.name, upload.size, head)
            data = upload.read()
            result = importers.preview(group, data)
        except DomainError as exc:
            form.add_error("file", str(exc.message))
        else:
            token = default_storage.save(f"imports/parts/{uuid.uuid4().hex}.xlsx", ContentFile(data))
            request.session[IMPORT_SESSION_KEY] = token
    return render(request, "parts/import.html", {"form": form, "result": result, "token": token})


# ---- the owner app's accessories shop ----------------------------------------------------------------------------
@login_required
@permission_required("parts.change_part", raise_exception=True)
def online_list(request: HttpRequest) -> HttpResponse:
    """What the group sells in the owner app (flag, online price, photo), and a search to offer another part."""
    from .models import Part

    q = request.GET.get("q", "").strip()
    offered = list(selectors.parts_visible_to(request.user).filter(sold_online=True).order_by("category", "number")[:200])
    found_rows = [] if not q else list(
        Part.objects.filter(pk__in=selectors.search_part_ids(request.user, q, 30)).order_by("number"))
    return render(request, "parts/online_list.html", {"offered": offered, "q": q, "found": found_rows})


@login_required
@permission_required("parts.change_part", raise_exception=True)
def online_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Offer one part in the app: the flag, the online price, the owner-facing description (both languages), the
    photo. Every bad field named at once; nothing saved then."""
    part = _found(selectors.part_get, request.user, pk)
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "sold_online": part.sold_online, "online_price": part.online_price if part.online_price is not None else "",
        "online_description_zh": part.online_description_zh, "online_description_en": part.online_description_en,
    }
    status = 200
    if request.method == "POST":
        data = {key: request.POST.get(key, "") for key in data}
        upload = request.FILES.get("online_photo")
        try:
            services.part_online_set(
                actor=request.user, part=part, data=data, photo=upload.read() if upload else None,
                remove_photo=request.POST.get("remove_photo") == "1",
            )
        except DomainError as exc:
            status = exc.status
            errors = {str(e.get("field") or "general"): str(e.get("message")) for e in exc.extra.get("errors") or []}
            errors = errors or {str(exc.field or "general"): str(exc.message)}
        else:
            messages.success(request, _("Saved."))
            return redirect("parts:online_list")
    return render(request, "parts/online_edit.html", {"part": part, "data": data, "errors": errors}, status=status)


@login_required
@permission_required("parts.view_part", raise_exception=True)
def online_photo(request: HttpRequest, pk: int) -> HttpResponse:
    from django.http import FileResponse, Http404

    part = _found(selectors.part_get, request.user, pk)
    if not part.online_photo:
        raise Http404
    return FileResponse(part.online_photo.open("rb"))
