"""Staff screens for inspections and quality control, and the customer's report page (signed link, no login).

Thin views: selectors read (scoped: another store's object is a 404), services write, a domain error lands on
the field it names. The inspection page is built for a phone: big colour buttons, and htmx saves each item.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, Forbidden
from aftersales.common.scoping import visible_store_ids
from aftersales.common.views import found, store_from_request

from . import selectors, services
from .choices import QC_PURPOSES, QC_SEQUENCE, ChecklistPurpose, InspectionStatus, ItemKind, QcResult, Rating
from .models import Checklist, Inspection
from .report import inspection_id_from_token, render_pdf, report_language, report_link
from .thresholds import LIMIT_FIELDS


def _language(request: HttpRequest) -> str:
    return "en" if translation.get_language() == "en" else "zh-hans"


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name", "id"))


def _forbidden(exc: Forbidden) -> PermissionDenied:
    return PermissionDenied(str(exc.message))


# ---- inspection list and start ----------------------------------------------------------------------------------
@login_required
@permission_required("inspections.view_inspection", raise_exception=True)
def inspection_list(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    queue = selectors.inspection_queue(request.user, store.pk)
    checklists = list(selectors.checklists_for(request.user, store_id=store.pk, purpose=ChecklistPurpose.INSPECTION).filter(is_active=True))
    now = timezone.now()
    coverage = selectors.report_coverage(request.user, start=now - dt.timedelta(days=30), end=now, store_id=store.pk)
    technicians = _technicians(store)
    return render(request, "inspections/list.html", {
        "store": store, "stores": _stores(request.user), **queue, "checklists": checklists,
        "coverage": coverage[0] if coverage else None, "technicians": technicians,
    })


def _technicians(store: Any) -> list[Any]:
    from aftersales.staff.models import User

    return list(
        User.objects.filter(memberships__store=store, groups__name="technician", is_active=True).order_by("display_name", "id")
    )


@login_required
@permission_required("inspections.add_inspection", raise_exception=True)
@require_POST
def inspection_start(request: HttpRequest, order_id: int) -> HttpResponse:
    from aftersales.staff.models import User
    from aftersales.workshop.selectors import order_get

    order = found(order_get, request.user, order_id)
    checklist = None
    raw = request.POST.get("checklist", "")
    if raw.isdigit():
        checklist = found(selectors.checklist_get, request.user, int(raw))
    technician = None
    raw = request.POST.get("technician", "")
    if raw.isdigit():
        technician = User.objects.filter(pk=int(raw)).first()
    try:
        inspection = services.inspection_start(actor=request.user, order=order, checklist=checklist, technician=technician)
    except Forbidden as exc:
        raise _forbidden(exc) from exc
    except DomainError as exc:
        messages.error(request, f"{exc.message}")
        return redirect(f"{reverse('inspections:list')}?store={order.store_id}")
    return redirect("inspections:detail", pk=inspection.pk)


# ---- the inspection page (phone-first) --------------------------------------------------------------------------
def _detail_context(request: HttpRequest, inspection: Inspection, **extra: Any) -> dict[str, Any]:
    language = _language(request)
    user = request.user
    editable = inspection.status == InspectionStatus.IN_PROGRESS and user.has_perm("inspections.change_inspection")
    return {
        "inspection": inspection, "order": inspection.order, "store": inspection.store,
        "groups": selectors.grouped_items(inspection, language), "counts": selectors.rating_counts(inspection),
        "editable": editable, "language": language, "ratings": Rating.choices,
        "can_propose": user.has_perm("inspections.add_inspection") and user.has_perm("workshop.change_repairorder"),
        "can_send": user.has_perm("inspections.send_report"),
        "customer_link": report_link(inspection) if inspection.status == InspectionStatus.COMPLETED else "",
        "events": list(inspection.events.select_related("actor").all()),
        "diagnosis_fields": [
            ("symptoms", _("Symptoms")), ("findings", _("Findings")), ("likely_causes", _("Likely causes")),
            ("recommended_work", _("Recommended work")),
        ],
        **extra,
    }


@login_required
@permission_required("inspections.view_inspection", raise_exception=True)
def inspection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    inspection = found(selectors.inspection_get, request.user, pk)
    return render(request, "inspections/detail.html", _detail_context(request, inspection))


def _item_response(request: HttpRequest, inspection_id: int, item_id: int, error: DomainError | None = None, posted: Any = None) -> HttpResponse:
    inspection = found(selectors.inspection_get, request.user, inspection_id)
    item = next(i for i in inspection.items.all() if i.pk == item_id)
    context = _detail_context(request, inspection, item=item, error=error, error_item_id=item_id, posted=posted or {})
    if request.htmx:
        return render(request, "inspections/_item.html", context)
    if error is not None:
        return render(request, "inspections/detail.html", context, status=422)
    return redirect(f"{reverse('inspections:detail', args=[inspection_id])}#item-{item_id}")


@login_required
@permission_required("inspections.change_inspection", raise_exception=True)
@require_POST
def item_save(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    item = found(selectors.item_get, request.user, pk, item_id)
    data = request.POST
    kwargs: dict[str, Any] = {}
    if data.get("rating"):
        kwargs["rating"] = data["rating"]
    if item.kind == ItemKind.MEASURE and "value" in data:
        kwargs["value"] = data.get("value", "")
    for name in ("notes", "override_note"):
        if name in data:
            kwargs[name] = data[name]
    try:
        services.inspection_item_record(actor=request.user, item=item, **kwargs)
    except Forbidden as exc:
        raise _forbidden(exc) from exc
    except DomainError as exc:
        return _item_response(request, pk, item_id, error=exc, posted=data)
    return _item_response(request, pk, item_id)


@login_required
@permission_required("inspections.change_inspection", raise_exception=True)
@require_POST
def photo_upload(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    item = found(selectors.item_get, request.user, pk, item_id)
    upload = request.FILES.get("photo")
    try:
        if upload is None:
            from aftersales.common.errors import ValidationFailed

            raise ValidationFailed("photo_required", _("Choose a photo."), "photo")
        services.inspection_photo_add(actor=request.user, item=item, upload=upload)
    except Forbidden as exc:
        raise _forbidden(exc) from exc
    except DomainError as exc:
        return _item_response(request, pk, item_id, error=exc)
    return _item_response(request, pk, item_id)


@login_required
@permission_required("inspections.change_inspection", raise_exception=True)
@require_POST
def photo_delete(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = found(selectors.photo_get, request.user, photo_id)
    inspection_id, item_id = photo.inspection_id, photo.item_id
    try:
        services.inspection_photo_remove(actor=request.user, photo=photo)
    except Forbidden as exc:
        raise _forbidden(exc) from exc
    except DomainError as exc:
        return _item_response(request, inspection_id, item_id, error=exc)
    return _item_response(request, inspection_id, item_id)


def _photo_file(photo: Any) -> FileResponse:
    try:
        handle = photo.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404(_("Not found, or not visible to you.")) from exc
    response = FileResponse(handle, content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@permission_required("inspections.view_inspection", raise_exception=True)
def photo_view(request: HttpRequest, photo_id: int) -> HttpResponse:
    return _photo_file(found(selectors.photo_get, request.user, photo_id))


def _action(request: HttpRequest, pk: int, call: Any, success: str) -> HttpResponse:
    inspection = found(selectors.inspection_get, request.user, pk)
    try:
        call(inspection)
    except Forbidden as exc:
        raise _forbidden(exc) from exc
    except DomainError as exc:
        if request.method == "POST" and exc.field in services.DIAGNOSIS_FIELDS:
            context = _detail_context(request, inspection, diagnosis_error=exc, posted=request.POST)
            return render(request, "inspections/detail.html", context, status=422)
        messages.error(request, str(exc.message))
        return redirect("inspections:detail", pk=pk)
    if success:
        messages.success(request, success)
    return redirect("inspections:detail", pk=pk)


@login_required
@permission_required("inspections.change_inspection", raise_exception=True)
@require_POST
def diagnosis_save(request: HttpRequest, pk: int) -> HttpResponse:
    fields = {name: request.POST.get(name) for name in services.DIAGNOSIS_FIELDS if name in request.POST}
    return _action(
        request, pk, lambda i: services.inspection_diagnosis_save(actor=request.user, inspection=i, **fields),
        _("Diagnosis saved."),
    )


@login_required
@permission_required("inspections.change_inspection", raise_exception=True)
@require_POST
def inspection_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, lambda i: services.inspection_complete(actor=request.user, inspection=i), _("Inspection completed."))


@login_required
@permission_required("inspections.change_inspection", raise_exception=True)
@require_POST
def inspection_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _action(request, pk, lambda i: services.inspection_reopen(actor=request.user, inspection=i, reason=reason), "")


@login_required
@permission_required("inspections.add_inspection", raise_exception=True)
@require_POST
def inspection_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _action(request, pk, lambda i: services.inspection_cancel(actor=request.user, inspection=i, reason=reason), "")


@login_required
@permission_required("inspections.add_inspection", raise_exception=True)
@require_POST
def propose_jobs(request: HttpRequest, pk: int) -> HttpResponse:
    def call(inspection: Inspection) -> None:
        jobs = services.inspection_propose_jobs(actor=request.user, inspection=inspection)
        messages.success(request, _("%(n)s proposed job(s) added to the repair order.") % {"n": len(jobs)})

    return _action(request, pk, call, "")


@login_required
@permission_required("inspections.send_report", raise_exception=True)
@require_POST
def report_send(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request, pk, lambda i: services.inspection_report_send(actor=request.user, inspection=i),
        _("The report is on its way to the customer."),
    )


def _pdf_response(inspection: Inspection, language: str) -> HttpResponse:
    data = render_pdf(inspection, language)
    response = HttpResponse(data, content_type="application/pdf")
    name = f"inspection-{inspection.order.number}-{language}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
@permission_required("inspections.view_inspection", raise_exception=True)
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    inspection = found(selectors.inspection_get, request.user, pk)
    return _pdf_response(inspection, report_language(inspection, request.GET.get("lang")))


# ---- the customer's report (signed link) ------------------------------------------------------------------------
def _public_inspection(token: str) -> Inspection:
    inspection_id = inspection_id_from_token(token)
    inspection = selectors.inspection_for_report(inspection_id) if inspection_id else None
    if inspection is None or inspection.status != InspectionStatus.COMPLETED:
        raise Http404(_("This link is not valid or has expired."))
    return inspection


@never_cache
def public_report(request: HttpRequest, token: str) -> HttpResponse:
    try:
        inspection = _public_inspection(token)
    except Http404:
        language = "en" if request.GET.get("lang") == "en" else "zh-hans"
        with translation.override(language):
            return render(request, "inspections/report_invalid.html", {}, status=404)
    language = report_language(inspection, request.GET.get("lang"))
    with translation.override(language):
        return render(request, "inspections/report.html", {
            "inspection": inspection, "order": inspection.order, "store": inspection.store, "token": token,
            "groups": selectors.grouped_items(inspection, language), "counts": selectors.rating_counts(inspection),
            "language": language, "when": timezone.localtime(inspection.completed_at, inspection.store.zone),
            "other_language": "en" if language == "zh-hans" else "zh-hans",
        })


@never_cache
def public_report_pdf(request: HttpRequest, token: str) -> HttpResponse:
    inspection = _public_inspection(token)
    return _pdf_response(inspection, report_language(inspection, request.GET.get("lang")))


def public_photo(request: HttpRequest, token: str, photo_id: int) -> HttpResponse:
    inspection = _public_inspection(token)
    photo = inspection.photos.filter(pk=photo_id).first()
    if photo is None:
        raise Http404(_("Not found, or not visible to you."))
    return _photo_file(photo)


# ---- checklists (manager) ---------------------------------------------------------------------------------------
@login_required
@permission_required("inspections.view_checklist", raise_exception=True)
def checklist_list(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    rows = list(selectors.checklists_for(request.user, store_id=store.pk).prefetch_related("service_types"))
    return render(request, "inspections/checklists.html", {"store": store, "stores": _stores(request.user), "checklists": rows})


@login_required
@permission_required("inspections.add_checklist", raise_exception=True)
@require_POST
def checklist_install(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    try:
        created = services.checklist_install_defaults(actor=request.user, store=store)
    except Forbidden as exc:
        raise _forbidden(exc) from exc
    messages.success(request, _("%(n)s checklist(s) added.") % {"n": len(created)})
    return redirect(f"{reverse('inspections:checklists')}?store={store.pk}")


BLANK_GROUPS = 1
BLANK_ITEMS = 2


def _editor_rows(checklist: Checklist | None, post: Any = None) -> list[dict[str, Any]]:
    """The editor's rows: from the posted form (after an error) or from the checklist, plus blank rows to fill."""
    groups: list[dict[str, Any]] = []
    if post is not None:
        g = 0
        while f"g{g}-present" in post:
            items = []
            m = 0
            while f"g{g}-i{m}-present" in post:
                p = f"g{g}-i{m}-"
                items.append({"prefix": p, **{k: post.get(p + k, "") for k in ("id", "name_zh", "name_en", "kind", "unit", "operation_code", *LIMIT_FIELDS)},
                              "optional": bool(post.get(p + "optional")), "delete": bool(post.get(p + "delete"))})
                m += 1
            groups.append({"prefix": f"g{g}-", "id": post.get(f"g{g}-id", ""), "name_zh": post.get(f"g{g}-name_zh", ""),
                           "name_en": post.get(f"g{g}-name_en", ""), "delete": bool(post.get(f"g{g}-delete")), "items": items})
            g += 1
        return groups
    if checklist is not None:
        for node in selectors.checklist_tree(checklist):
            group = node["group"]
            items = [{"id": i.pk, "name_zh": i.name_zh, "name_en": i.name_en, "kind": i.kind, "unit": i.unit,
                      "operation_code": i.operation_code,
                      "optional": i.optional, **{f: "" if getattr(i, f) is None else getattr(i, f).normalize() for f in LIMIT_FIELDS}}
                     for i in node["items"]]
            groups.append({"id": group.pk, "name_zh": group.name_zh, "name_en": group.name_en, "items": items})
    for group in groups:
        group["items"] += [{"kind": ItemKind.CHECK} for _n in range(BLANK_ITEMS)]
    groups += [{"items": [{"kind": ItemKind.CHECK} for _n in range(BLANK_ITEMS + 1)]} for _n in range(BLANK_GROUPS)]
    for g, group in enumerate(groups):
        group["prefix"] = f"g{g}-"
        for m, item in enumerate(group["items"]):
            item["prefix"] = f"g{g}-i{m}-"
    return groups


def _editor_data(post: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted editor as the service's structure, and the service's paths → the form's prefixes."""
    data: dict[str, Any] = {
        "code": post.get("code", ""), "name_zh": post.get("name_zh", ""), "name_en": post.get("name_en", ""),
        "purpose": post.get("purpose", ""), "is_default": bool(post.get("is_default")), "for_ev": bool(post.get("for_ev")),
        "is_active": bool(post.get("is_active")), "service_type_ids": [v for v in post.getlist("service_types") if v.isdigit()],
        "groups": [],
    }
    paths: dict[str, str] = {}
    for group in _editor_rows(None, post):
        if group["delete"]:
            continue
        items = [i for i in group["items"] if not i["delete"] and (i["id"] or i["name_zh"].strip() or i["name_en"].strip())]
        if not group["id"] and not group["name_zh"].strip() and not items:
            continue
        g_path = f"groups[{len(data['groups']) + 1}]"
        paths[g_path] = group["prefix"]
        for n, item in enumerate(items, start=1):
            paths[f"{g_path}.items[{n}]"] = item["prefix"]
        data["groups"].append({
            "id": group["id"] or None, "name_zh": group["name_zh"], "name_en": group["name_en"],
            "items": [{**{k: item[k] for k in ("name_zh", "name_en", "kind", "unit", "operation_code", *LIMIT_FIELDS)},
                       "id": item["id"] or None, "optional": item["optional"]} for item in items],
        })
    return data, paths


def _error_input(field: str | None, paths: dict[str, str]) -> str:
    """``groups[1].items[2].unit`` → ``g0-i1-unit`` (the input the error belongs to)."""
    if not field:
        return ""
    head, _sep, leaf = field.rpartition(".")
    if head in paths:
        return paths[head] + leaf
    return field


@login_required
@permission_required("inspections.view_checklist", raise_exception=True)
def checklist_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    from aftersales.appointments.models import ServiceType
    from aftersales.estimates.models import LabourOperation

    checklist = found(selectors.checklist_get, request.user, pk) if pk else None
    store = checklist.store if checklist else store_from_request(request)
    can_edit = request.user.has_perm("inspections.change_checklist" if checklist else "inspections.add_checklist")
    if checklist is None and not can_edit:
        raise PermissionDenied
    error, error_input, status = None, "", 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        data, paths = _editor_data(request.POST)
        try:
            saved = services.checklist_save(actor=request.user, store=store, checklist=checklist, data=data)
        except Forbidden as exc:
            raise _forbidden(exc) from exc
        except DomainError as exc:
            error, error_input, status = exc, _error_input(exc.field, paths), 422
        else:
            messages.success(request, _("Checklist saved."))
            return redirect("inspections:checklist_edit", pk=saved.pk)
    post = request.POST if error else None
    values = post or {
        "code": checklist.code if checklist else "", "name_zh": checklist.name_zh if checklist else "",
        "name_en": checklist.name_en if checklist else "", "purpose": checklist.purpose if checklist else ChecklistPurpose.INSPECTION,
        "is_default": checklist.is_default if checklist else False, "for_ev": checklist.for_ev if checklist else False,
        "is_active": checklist.is_active if checklist else True,
    }
    chosen = (
        {int(v) for v in request.POST.getlist("service_types") if v.isdigit()} if post
        else {t.pk for t in checklist.service_types.all()} if checklist else set()
    )
    return render(request, "inspections/checklist_edit.html", {
        "checklist": checklist, "store": store, "groups": _editor_rows(checklist, post), "values": values,
        "service_types": list(ServiceType.objects.filter(store=store).order_by("code")), "chosen": chosen,
        "purposes": ChecklistPurpose.choices, "kinds": ItemKind.choices, "can_edit": can_edit, "error": error,
        "error_input": error_input, "limit_fields": LIMIT_FIELDS,
        "operations": LabourOperation.objects.filter(group_id=store.group_id, is_active=True).order_by("code"),
    }, status=status)


# ---- quality control --------------------------------------------------------------------------------------------
@login_required
@permission_required("inspections.view_qccheck", raise_exception=True)
def qc_list(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    now = timezone.now()
    figures = selectors.qc_figures(request.user, start=now - dt.timedelta(days=30), end=now, store_id=store.pk)
    return render(request, "inspections/qc_list.html", {
        "store": store, "stores": _stores(request.user), "rows": selectors.qc_queue(request.user, store.pk), "figures": figures,
    })


def _qc_context(request: HttpRequest, order: Any, **extra: Any) -> dict[str, Any]:
    from aftersales.workshop.models import RepairJob

    state = selectors.qc_state(order)
    language = _language(request)
    forms = []
    for kind in QC_PURPOSES:
        checklist = services.qc_checklist(order.store_id, kind)
        tree = selectors.checklist_tree(selectors.checklist_get(request.user, checklist.pk)) if checklist else []
        due = (
            not state.cleaning_passed if kind == ChecklistPurpose.CLEANING
            else state.next_check == kind and state.jobs_open == 0 and state.jobs_done > 0
        )
        forms.append({
            "kind": kind, "label": ChecklistPurpose(kind).label, "checklist": checklist, "tree": tree,
            "passed": state.cleaning_passed if kind == ChecklistPurpose.CLEANING else bool(state.passed.get(kind)),
            "due": due, "may_sign": request.user.has_perm(services.QC_PERMISSIONS[kind]),
        })
    return {
        "order": order, "store": order.store, "state": state, "forms": forms, "language": language,
        "jobs": list(RepairJob.objects.filter(order=order).select_related("technician").order_by("seq")),
        "results": QcResult.choices, "sequence": QC_SEQUENCE, "posted": {}, **extra,
    }


@login_required
@permission_required("inspections.view_qccheck", raise_exception=True)
def qc_order(request: HttpRequest, order_id: int) -> HttpResponse:
    order = found(selectors.qc_order_get, request.user, order_id)
    return render(request, "inspections/qc_order.html", _qc_context(request, order))


@login_required
@permission_required("inspections.view_qccheck", raise_exception=True)
@require_POST
def qc_sign(request: HttpRequest, order_id: int, kind: str) -> HttpResponse:
    order = found(selectors.qc_order_get, request.user, order_id)
    if kind not in QC_PURPOSES:
        raise Http404
    if not request.user.has_perm(services.QC_PERMISSIONS[kind]):
        raise PermissionDenied
    post = request.POST
    results = [
        {"item_id": key.split("-", 1)[1], "result": post.get(key, ""), "note": post.get(f"note-{key.split('-', 1)[1]}", "")}
        for key in post if key.startswith("result-")
    ]
    checklist = services.qc_checklist(order.store_id, kind)
    answered = {r["item_id"] for r in results}
    if checklist is not None:  # unanswered items are reported by the service, naming the item
        results += [{"item_id": str(i.pk), "result": ""} for i in checklist.items.all() if str(i.pk) not in answered]
    rework = [int(v) for v in post.getlist("rework_jobs") if v.isdigit()]
    try:
        check = services.qc_sign(
            actor=request.user, order=order, kind=kind, results=results, notes=post.get("notes", ""), rework_job_ids=rework or None,
        )
    except Forbidden as exc:
        raise _forbidden(exc) from exc
    except DomainError as exc:
        context = _qc_context(request, order, error=exc, error_kind=kind, posted=post)
        return render(request, "inspections/qc_order.html", context, status=422)
    if check.result == QcResult.PASS:
        messages.success(request, _("%(check)s passed.") % {"check": ChecklistPurpose(kind).label})
    else:
        messages.warning(request, _("%(check)s failed: the job(s) went back for rework.") % {"check": ChecklistPurpose(kind).label}
                         if kind != ChecklistPurpose.CLEANING else _("Cleaning failed: clean again and sign it again."))
    return redirect("inspections:qc_order", order_id=order.pk)


@login_required
@permission_required("inspections.sign_final_qc", raise_exception=True)
@require_POST
def qc_final_start(request: HttpRequest, order_id: int) -> HttpResponse:
    order = found(selectors.qc_order_get, request.user, order_id)
    try:
        services.qc_final_start(actor=request.user, order=order)
    except Forbidden as exc:
        raise _forbidden(exc) from exc
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("inspections:qc_order", order_id=order.pk)
