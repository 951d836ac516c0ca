"""Damage assessment screens: the assessor's desk (desk size: photos, the car diagram to tap panels, suggestions to
review, findings, insurance, approve → repair order, the time against the baseline), the phone capture page (390
px: the 8 standard angles and close-ups) and the manager's rule table. Thin views over services and selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, Forbidden
from aftersales.common.views import found, store_from_request
from aftersales.estimates.selectors import operations_for

from . import selectors, services
from .choices import STANDARD_ANGLES, Action, Angle, AssessmentStatus, DamageType, Panel, ProposerKind, Severity

# The car diagram (top view, front to the right, the car's left side at the top): panel → (x, y, width, height).
DIAGRAM: dict[str, tuple[int, int, int, int]] = {
    Panel.REAR_BUMPER: (4, 22, 10, 56), Panel.TAILLAMP_LEFT: (4, 10, 10, 12), Panel.TAILLAMP_RIGHT: (4, 78, 10, 12),
    Panel.BOOT_LID: (14, 22, 26, 56), Panel.QUARTER_LEFT: (14, 10, 42, 12), Panel.QUARTER_RIGHT: (14, 78, 42, 12),
    Panel.REAR_WINDOW: (40, 22, 16, 56), Panel.ROOF: (56, 22, 70, 56), Panel.DOOR_REAR_LEFT: (56, 10, 36, 12),
    Panel.DOOR_REAR_RIGHT: (56, 78, 36, 12), Panel.DOOR_FRONT_LEFT: (92, 10, 38, 12), Panel.DOOR_FRONT_RIGHT: (92, 78, 38, 12),
    Panel.MIRROR_LEFT: (116, 1, 14, 9), Panel.MIRROR_RIGHT: (116, 90, 14, 9), Panel.WINDSCREEN: (126, 22, 16, 56),
    Panel.WING_FRONT_LEFT: (130, 10, 46, 12), Panel.WING_FRONT_RIGHT: (130, 78, 46, 12), Panel.BONNET: (142, 22, 38, 56),
    Panel.HEADLAMP_LEFT: (176, 10, 20, 12), Panel.HEADLAMP_RIGHT: (176, 78, 20, 12), Panel.FRONT_BUMPER: (180, 22, 16, 56),
}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


def time_bars(minutes: float | None, baseline: float | None) -> dict[str, Any] | None:
    """The bars of the time figure: the baseline and the time now (minutes), scaled to 120 units, the −60 % line."""
    if minutes is None or not baseline:
        return None
    top = max(float(minutes), float(baseline), 1.0)
    bar_base, bar_now = round(120 * float(baseline) / top), max(1, round(120 * float(minutes) / top))
    return {"minutes": minutes, "baseline": baseline, "bar_base": bar_base, "bar_now": bar_now,
            "label_base": 64 + bar_base, "label_now": 64 + bar_now, "target_x": 60 + round(120 * 0.4 * float(baseline) / top),
            "on_target": float(minutes) <= 0.4 * float(baseline)}


def _figures(user: Any, store: Any) -> dict[str, Any]:
    today = timezone.localdate(timezone=store.zone)
    figures = selectors.assessment_figures(user, store, today - dt.timedelta(days=29), today)
    figures["bars"] = time_bars(figures["avg_minutes"], figures["baseline_minutes"])
    return figures


@login_required
@permission_required("assessments.view_assessment", raise_exception=True)
def desk_list(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    status = request.GET.get("status", AssessmentStatus.DRAFT)
    if status not in AssessmentStatus.values and status != "all":
        status = AssessmentStatus.DRAFT
    rows = selectors.assessments(request.user, store, status="" if status == "all" else status)[:200]
    return render(request, "assessments/list.html", {
        "store": store, "rows": rows, "status": status, "statuses": AssessmentStatus.choices,
        "figures": _figures(request.user, store),
    })


@login_required
@permission_required("assessments.add_assessment", raise_exception=True)
@require_POST
def assessment_new(request: HttpRequest) -> HttpResponse:
    """Open from a rescue case, a handover sheet, or a car found by its plate."""
    user = request.user
    data = request.POST
    kwargs: dict[str, Any] = {}
    if data.get("rescue_case"):
        from aftersales.rescue.selectors import case_get

        kwargs["rescue_case"] = found(case_get, user, _int(data["rescue_case"]))
    elif data.get("handover"):
        from aftersales.reception.selectors import handover_get

        kwargs["handover"] = found(handover_get, user, _int(data["handover"]))
    else:
        from aftersales.vehicles.selectors import vehicle_list

        store = store_from_request(request)
        plate = (data.get("plate") or "").strip()
        vehicle = vehicle_list(user, q=plate).first() if plate else None
        if vehicle is None:
            messages.error(request, _("No car with this plate is known at your stores."))
            return redirect(f"{_list_url()}?store={store.pk}")
        kwargs.update(store=store, vehicle=vehicle)
    try:
        a = services.assessment_open(actor=user, **kwargs)
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(data.get("next") or _list_url())
    messages.success(request, _("Assessment %(n)s opened.") % {"n": a.number})
    return redirect("assessments:desk", a.pk)


def _list_url() -> str:
    from django.urls import reverse

    return reverse("assessments:list")


def _diagram(final: list[Any], pending: list[Any], selected: str) -> list[dict[str, Any]]:
    hit = {f.panel for f in final}
    suggested = {f.panel for f in pending}
    return [{"code": code, "label": Panel(code).label, "x": x, "y": y, "w": w, "h": h,
             "cls": "sel" if code == selected else "hit" if code in hit else "sugg" if code in suggested else ""}
            for code, (x, y, w, h) in DIAGRAM.items()]


@login_required
@permission_required("assessments.view_assessment", raise_exception=True)
def desk(request: HttpRequest, pk: int) -> HttpResponse:
    a = found(selectors.assessment_get, request.user, pk)
    findings = selectors.findings_of(a)
    selected = request.GET.get("panel", "")
    if selected not in Panel.values:
        selected = ""
    photos = selectors.with_boxes(list(a.photos.all()))
    taken = {p.angle for p in photos}
    now = timezone.now()
    running = None
    if a.status == AssessmentStatus.DRAFT and a.first_photo_at:
        running = int((now - a.first_photo_at).total_seconds() // 60)
    conf = services.settings_for(a.store)
    return render(request, "assessments/desk.html", {
        "a": a, "store": a.store, "photos": photos, "findings": findings,
        "angles": [(code, Angle(code).label, code in taken) for code in STANDARD_ANGLES],
        "diagram": _diagram(findings["final"], findings["pending"], selected), "selected": selected,
        "selected_label": Panel(selected).label if selected else "",
        "panels": Panel.choices, "damage_types": DamageType.choices, "severities": Severity.choices, "actions": Action.choices,
        "editable": a.status == AssessmentStatus.DRAFT and request.user.has_perm("assessments.change_assessment"),
        "can_approve": a.status == AssessmentStatus.DRAFT and request.user.has_perm("assessments.approve_assessment"),
        "running": running, "bars": time_bars(a.minutes if a.minutes is not None else running, a.baseline_minutes),
        "proposer": ProposerKind(conf.proposer).label, "proposer_kind": conf.proposer,
        "errors": {}, "owner_url": services.owner_url(a) if a.status == AssessmentStatus.APPROVED else "",
        "outline_photo": _outline_photo(photos, request.GET.get("outline")),
    })


def _outline_photo(photos: list[Any], asked: Any) -> Any:
    return next((p for p in photos if str(p.pk) == str(asked or "")), None)


@login_required
@permission_required("assessments.view_assessment", raise_exception=True)
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The report for staff, in the customer's language unless another is asked for (?lang=en / zh-hans)."""
    from .report import assessment_pdf, report_language

    a = found(selectors.assessment_get, request.user, pk)
    response = HttpResponse(assessment_pdf(a, report_language(a, request.GET.get("lang"))), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{a.number}.pdf"'
    return response


@login_required
@permission_required("assessments.view_assessment", raise_exception=True)
def capture(request: HttpRequest, pk: int) -> HttpResponse:
    """The phone page: one button per standard angle (ticked once taken), then close-ups."""
    a = found(selectors.assessment_get, request.user, pk)
    if request.method == "POST":
        upload = request.FILES.get("photo")
        try:
            if upload is None:
                messages.error(request, _("Take or choose a photo."))
            else:
                services.photo_add(actor=request.user, assessment=a, content=upload.read(), angle=request.POST.get("angle"))
                messages.success(request, _("Photo saved."))
        except Forbidden as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("assessments:capture", a.pk)
    photos = list(a.photos.all())
    taken = {p.angle for p in photos}
    return render(request, "assessments/capture.html", {
        "a": a, "angles": [(code, Angle(code).label, code in taken) for code in STANDARD_ANGLES],
        "closeups": sum(1 for p in photos if p.angle == Angle.CLOSE_UP), "photos": photos,
        "can_add": a.status == AssessmentStatus.DRAFT and request.user.has_perm("assessments.add_assessmentphoto"),
    })


@login_required
@permission_required("assessments.view_assessment", raise_exception=True)
@require_POST
def desk_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = request.user
    a = found(selectors.assessment_get, user, pk)
    post = request.POST

    def photo() -> Any:
        found_photo = a.photos.filter(pk=_int(post.get("photo"))).first()
        if found_photo is None:
            raise Http404
        return found_photo

    def finding() -> Any:
        f = found(selectors.finding_get, user, _int(post.get("finding")))
        if f.assessment_id != a.pk:
            raise Http404
        return f

    actions: dict[str, tuple[Any, str]] = {
        "propose": (lambda: services.assessment_propose(actor=user, assessment=a), _("Suggestions ready: review each one.")),
        "add": (lambda: services.finding_add(
            actor=user, assessment=a, panel=post.get("panel"), damage_type=post.get("damage_type"),
            severity=post.get("severity"), action=post.get("action") or None, hours=post.get("hours") or None,
            note=post.get("note", "")), _("Damage added.")),
        "accept": (lambda: services.proposal_accept(actor=user, proposal=finding()), _("Suggestion accepted.")),
        "change": (lambda: services.finding_add(
            actor=user, assessment=a, proposal=finding(), panel=post.get("panel"), damage_type=post.get("damage_type"),
            severity=post.get("severity"), action=post.get("action") or None), _("Suggestion taken with your changes.")),
        "reject": (lambda: services.proposal_reject(actor=user, proposal=finding()), _("Suggestion rejected.")),
        "remove": (lambda: services.finding_remove(actor=user, finding=finding()), _("Damage removed.")),
        "insurance": (lambda: services.insurance_save(
            actor=user, assessment=a, insurer=post.get("insurer"), policy_number=post.get("policy_number"),
            claim_number=post.get("claim_number"), insurer_assessor=post.get("insurer_assessor"),
            insurer_approved=post.get("insurer_approved"), note=post.get("note")), _("Insurance details saved.")),
        "approve": (lambda: services.assessment_approve(actor=user, assessment=a), ""),
        "outline": (lambda: services.photo_outline_save(actor=user, photo=photo(), shapes=post.get("outlines", "")),
                    _("Outline saved.")),
        "send": (lambda: services.report_send(actor=user, assessment=a), _("The report and the link are on their way to the owner.")),
        "cancel": (lambda: services.assessment_cancel(actor=user, assessment=a, reason=post.get("reason", "")),
                   _("Assessment cancelled.")),
    }
    if action not in actions:
        raise Http404
    call, done = actions[action]
    try:
        result = call()
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except DomainError as exc:
        messages.error(request, "; ".join(dict.fromkeys(services.error_fields(exc).values())))
        return redirect("assessments:desk", a.pk)
    if action == "approve":
        messages.success(request, _("Approved: repair order %(n)s has the jobs; send the estimate from it.") % {"n": result.order.number})
        return redirect("estimates:order_detail", result.order_id)
    messages.success(request, done)
    return redirect("assessments:desk", a.pk)


@login_required
@permission_required("assessments.view_damagerule", raise_exception=True)
def rules(request: HttpRequest) -> HttpResponse:
    """The store's rule table (the built-in one applies where the store has no row) and its assessment settings."""
    store = store_from_request(request)
    user = request.user
    if request.method == "POST":
        try:
            if post_kind := request.POST.get("form"):
                if post_kind == "settings":
                    services.settings_save(actor=user, store=store, baseline_minutes=request.POST.get("baseline_minutes"),
                                           proposer=request.POST.get("proposer"), model_path=request.POST.get("model_path", ""),
                                           service_url=request.POST.get("service_url", ""))
                else:
                    services.rule_save(actor=user, store=store, panel=request.POST.get("panel"),
                                       damage_type=request.POST.get("damage_type"), severity=request.POST.get("severity"),
                                       action=request.POST.get("action"), hours=request.POST.get("hours"),
                                       operation=request.POST.get("operation") or None,
                                       part=request.POST.get("part") or None,
                                       quantity=request.POST.get("quantity") or None)
                messages.success(request, _("Saved."))
        except Forbidden as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except DomainError as exc:
            messages.error(request, "; ".join(dict.fromkeys(services.error_fields(exc).values())))
        return redirect(f"{request.path}?store={store.pk}")
    return render(request, "assessments/rules.html", {
        "store": store, "rules": selectors.rules_of(user, store), "conf": services.settings_for(store),
        "panels": Panel.choices, "damage_types": DamageType.choices, "severities": Severity.choices,
        "actions": Action.choices, "proposers": ProposerKind.choices,
        "operations": list(operations_for(user)) if user.has_perm("assessments.change_damagerule") else [],
        "parts": list(selectors.parts_for_picker(user)) if user.has_perm("assessments.change_damagerule") else [],
    })

