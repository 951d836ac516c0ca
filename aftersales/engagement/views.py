"""Staff screens: segmentation report, history import (preview → import with progress), segments, settings."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError
from aftersales.common.scoping import visible_store_ids
from aftersales.common.validators import mask_mobile
from aftersales.common.views import found, store_from_request
from aftersales.customers.selectors import STORE_CUSTOMERS_MEANING

from . import selectors, services
from .choices import ImportStatus, Tier
from .forms import AdvisorForm, ImportForm, SegmentForm, TierSettingsForm
from .services import TIER_SETTING_FIELDS
from .tags import auto_tag_label


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("code"))


def _month(raw: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(f"{raw}-01") if raw else None
    except ValueError:
        return None


@login_required
@permission_required("engagement.view_customertier", raise_exception=True)
def report(request: HttpRequest) -> HttpResponse:
    """Segmentation report: tiers and tags per store, the month's movements between tiers, the churn-risk list."""
    raw_store = request.GET.get("store") or ""
    store_id = int(raw_store) if raw_store.isdigit() else None
    data = selectors.segmentation_report(request.user, store_id=store_id, month=_month(request.GET.get("month", "")))
    return render(request, "engagement/report.html", {
        "r": data, "tiers": Tier.choices, "store_id": store_id, "all_stores": _stores(request.user),
        "month_value": data["month"].strftime("%Y-%m"), "store_customers_meaning": STORE_CUSTOMERS_MEANING,
    })


# ---- history import ------------------------------------------------------------------------------------------------
@login_required
@permission_required("engagement.run_import", raise_exception=True)
def import_start(request: HttpRequest) -> HttpResponse:
    stores = _stores(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, stores=stores)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        store = found(selectors.store_for, request.user, int(form.cleaned_data["store"]))
        try:
            from .importers import check_upload

            check_upload(upload.name, upload.size)
            job, _preview = services.import_job_create(actor=request.user, store=store, name=upload.name,
                                                       data=upload.read())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            return redirect("engagement:import_detail", pk=job.pk)
    jobs = selectors.import_jobs_visible_to(request.user).select_related("store", "created_by")[:20]
    return render(request, "engagement/import.html", {"form": form, "jobs": jobs})


@login_required
@permission_required("engagement.view_importjob", raise_exception=True)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = found(selectors.import_job_get, request.user, pk)
    template = "engagement/_import_progress.html" if request.htmx else "engagement/import_detail.html"  # type: ignore[attr-defined]
    return render(request, template, {"job": job, "running": job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING),
                                      "errors": job.errors[:200]})


@login_required
@require_POST
@permission_required("engagement.run_import", raise_exception=True)
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = found(selectors.import_job_get, request.user, pk)
    try:
        services.import_job_start(actor=request.user, job=job)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("engagement:import_detail", pk=job.pk)


# ---- segments ------------------------------------------------------------------------------------------------------
def _tag_choices(user: Any) -> list[tuple[str, str]]:
    from aftersales.customers.models import Tag

    names = Tag.objects.filter(group_id=user.dealer_group_id).order_by("-is_automatic", "name").values_list("name", flat=True)
    return [(n, auto_tag_label(n)) for n in names]


@login_required
@permission_required("engagement.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    rows = [{"segment": s, "count": selectors.segment_customers_for(request.user, s).count()}
            for s in selectors.segments_visible_to(request.user).select_related("store")[:200]]
    return render(request, "engagement/segment_list.html", {"rows": rows})


def _segment_form(request: HttpRequest, data: Any = None, initial: Any = None) -> SegmentForm:
    return SegmentForm(data, initial=initial, stores=_stores(request.user), tags=_tag_choices(request.user))


@login_required
@permission_required("engagement.view_segment", raise_exception=True)
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The segment builder: criteria with a live count (htmx), save, export."""
    segment = found(selectors.segment_get, request.user, pk) if pk else None
    if request.method == "POST":
        if not request.user.has_perm("engagement.change_segment" if segment else "engagement.add_segment"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = _segment_form(request, request.POST)
        if form.is_valid():
            criteria = form.criteria()
            store = None
            if criteria.get("store"):
                store = found(selectors.store_for, request.user, int(criteria["store"]))
            try:
                segment = services.segment_save(actor=request.user, name=form.cleaned_data["name"], criteria=criteria,
                                                segment=segment, store=store)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Segment saved."))
                return redirect("engagement:segment_edit", pk=segment.pk)
    else:
        form = _segment_form(request, initial=SegmentForm.initial_from(segment) if segment else None)
    count = selectors.segment_customers_for(request.user, segment).count() if segment else None
    return render(request, "engagement/segment_form.html", {"form": form, "segment": segment, "count": count,
                                                            "store_customers_meaning": STORE_CUSTOMERS_MEANING})


@login_required
@permission_required("engagement.view_segment", raise_exception=True)
def segment_count(request: HttpRequest) -> HttpResponse:
    """The live count of the criteria being edited (htmx partial)."""
    form = _segment_form(request, request.POST or request.GET)
    form.fields["name"].required = False
    count, error = None, ""
    if form.is_valid():
        try:
            criteria = services.clean_criteria(request.user, form.criteria())
            count = selectors.segment_customers_for(request.user, criteria).count()
        except DomainError as exc:
            error = str(exc.message)
    else:
        error = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    return render(request, "engagement/_segment_count.html", {"count": count, "error": error})


def _export_headers() -> list[str]:
    return [_("Customer ID"), _("Name"), _("Mobile"), _("Home store"), _("Tier"), _("Days since last visit (R)"),
            _("Paid visits (F)"), _("Spend, ¥ (M)"), _("Value class"), _("Last paid visit"), _("Tags")]


def _export_rows(request: HttpRequest, segment: Any) -> list[list[Any]]:
    """One row per customer, typed: numbers as numbers, the last visit as a date, labels in the reader's language."""
    from aftersales.engagement.choices import ValueClass

    full = request.user.has_perm("customers.view_full_mobile")
    qs = (selectors.segment_customers_for(request.user, segment)
          .select_related("home_store", "tier").prefetch_related("tags")[:50_000])
    classes = dict(ValueClass.choices)
    rows = []
    for c in qs:
        tier = getattr(c, "tier", None)
        rows.append([
            c.pk, c.name, c.mobile if full else mask_mobile(c.mobile), str(c.home_store or ""),
            tier.tier if tier else "", tier.r_days if tier and tier.r_days is not None else None, tier.f if tier else None,
            tier.m if tier else None, str(classes.get(tier.value_class, tier.value_class)) if tier and tier.value_class else "",
            tier.last_visit if tier and tier.last_visit else None,
            ", ".join(auto_tag_label(t.name) for t in c.tags.all()),
        ])
    return rows


@login_required
@permission_required("engagement.export_segment", raise_exception=True)
def segment_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    from aftersales.common import audit
    from aftersales.common.spreadsheets import MONEY_FORMAT, csv_row, xlsx_row

    segment = found(selectors.segment_get, request.user, pk)
    rows = _export_rows(request, segment)
    stamp = timezone.localdate().strftime("%Y%m%d")
    audit.record(actor=request.user, obj=segment, action="segment.exported", store_id=segment.store_id,
                 reason=f"{fmt} {len(rows)}")
    headers = _export_headers()
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(_("Customers"))
        ws.append(xlsx_row(ws, headers))
        for row in rows:
            ws.append(xlsx_row(ws, row, {7: MONEY_FORMAT}))
        out = io.BytesIO()
        wb.save(out)
        response = HttpResponse(out.getvalue(),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(csv_row(headers))
        writer.writerows(csv_row(["" if v is None else v for v in row]) for row in rows)
        response = HttpResponse(("\ufeff" + buffer.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}-{stamp}.{fmt}"'
    return response


# ---- settings and dedicated advisor --------------------------------------------------------------------------------
@login_required
@permission_required("engagement.change_tiersettings", raise_exception=True)
def tier_settings(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    current = found(selectors.tier_settings_for, request.user, store.pk)
    initial = {k: getattr(current, k) for k in TIER_SETTING_FIELDS}
    form = TierSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.tier_settings_update(actor=request.user, store=store, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Tier settings saved; they apply from the next recompute."))
            return redirect(f"{request.path}?store={store.pk}")
    return render(request, "engagement/settings.html", {"form": form, "store": store, "stores": _stores(request.user)})


@login_required
@require_POST
@permission_required("engagement.change_dedicatedadvisor", raise_exception=True)
def advisor_assign(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.staff.roles import Role
    from aftersales.staff.selectors import staff_with_role

    customer = found(selectors.customer_for, request.user, pk)
    form = AdvisorForm(request.POST, advisors=list(staff_with_role(request.user, Role.SERVICE_ADVISOR)))
    if form.is_valid():
        source = "suggested" if request.POST.get("suggested") else "manager"
        try:
            services.dedicated_advisor_assign(actor=request.user, customer=customer,
                                              advisor=int(form.cleaned_data["advisor"]), source=source)
            messages.success(request, _("Dedicated advisor saved."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
    else:
        messages.error(request, _("Unknown advisor."))
    return redirect("web:customer_detail", pk=customer.pk)
