"""Rescue screens for staff: the dispatcher's board (desk size), the call-centre entry, a case, the units and the
store's rescue settings; the crew's phone page (390 px). Thin views over services and selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError
from aftersales.common.views import found, store_from_request

from . import selectors, services
from .choices import Capability, CaseStatus, Incident, ShiftDays, UnitKind
from .maps import map_point
from .models import RescueAlert


def _errors(exc: DomainError) -> dict[str, str]:
    errors = {str(e["field"]): str(e["message"]) for e in exc.extra.get("errors", [])}
    errors.setdefault(str(exc.field or "general"), str(exc.message))
    return errors


def _figures(request: HttpRequest, store: Any) -> dict[str, Any]:
    today = timezone.localdate(timezone=store.zone)
    return selectors.rescue_figures(request.user, store, today - dt.timedelta(days=29), today)


@login_required
@permission_required("rescue.view_rescuecase", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    user = request.user
    cases = selectors.open_cases(user, store)
    now = timezone.now()
    for case in cases:
        case.minutes_left = selectors.minutes_to_arrival(case, now)  # type: ignore[attr-defined]
    ctx = {
        "store": store, "cases": [c for c in cases if c.status != CaseStatus.DRAFT],
        "drafts": [c for c in cases if c.status == CaseStatus.DRAFT],
        "units": selectors.units_of(user, store), "alerts": selectors.open_alerts(user, store),
        "plan": selectors.assignment_plan(user, store) if user.has_perm("rescue.dispatch_rescuecase") else [],
        "figures": _figures(request, store), "area": selectors.area_of(store),
    }
    template = "rescue/_board.html" if request.headers.get("HX-Request") else "rescue/board.html"
    return render(request, template, ctx)


@login_required
@permission_required("rescue.add_rescuecase", raise_exception=True)
def case_new(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    data = request.POST if request.method == "POST" else {}
    ctx: dict[str, Any] = {"store": store, "incidents": Incident.choices, "data": data, "errors": {}}
    if request.method == "POST":
        vehicle = None
        if data.get("vehicle"):
            from aftersales.vehicles.selectors import vehicle_get

            try:
                vehicle = found(vehicle_get, request.user, int(data["vehicle"]))
            except ValueError:
                ctx["errors"] = {"vehicle": _("Pick the vehicle from the list.")}
                return render(request, "rescue/case_new.html", ctx, status=422)
        drivable = {"yes": True, "no": False}.get(data.get("drivable", ""))
        try:
            case = services.case_create(
                actor=request.user, store=store, incident=data.get("incident"), lat=data.get("lat"), lng=data.get("lng"),
                address=data.get("address", ""), drivable=drivable, description=data.get("description", ""),
                caller_name=data.get("caller_name", ""), caller_phone=data.get("caller_phone", ""), vehicle=vehicle,
            )
        except DomainError as exc:
            ctx["errors"] = _errors(exc)
            return render(request, "rescue/case_new.html", ctx, status=exc.status)
        messages.success(request, _("Rescue case %(n)s recorded.") % {"n": case.number})
        return redirect("rescue:case", case.pk)
    return render(request, "rescue/case_new.html", ctx)


@login_required
@permission_required("rescue.view_rescuecase", raise_exception=True)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = found(selectors.case_get, request.user, pk)
    suggestions = []
    if case.status in (CaseStatus.REQUESTED, CaseStatus.ACCEPTED) and request.user.has_perm("rescue.dispatch_rescuecase"):
        suggestions = selectors.suggest_units(request.user, case)
    return render(request, "rescue/case.html", {
        "case": case, "store": case.store, "suggestions": suggestions, "events": [(e, CaseStatus(e.to_state).label) for e in case.events.all()],
        "photos": list(case.photos.all()), "minutes_left": selectors.minutes_to_arrival(case),
        "point": map_point(case.lat, case.lng, case.address or case.number),
        "unit_point": map_point(case.unit.lat, case.unit.lng, case.unit.name) if case.unit else None,
        "can_check_in": case.status == CaseStatus.AT_STORE and request.user.has_perm("reception.add_handover"),
    })


def _act(request: HttpRequest, pk: int, call: Any, done: str = "") -> HttpResponse:
    case = found(selectors.case_get, request.user, pk)
    try:
        result = call(case)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        if done:
            messages.success(request, done)
        if hasattr(result, "_meta") and result._meta.model_name == "handover":
            return redirect("reception:sheet", result.pk)
    return redirect(request.POST.get("next") or "rescue:case", *([] if request.POST.get("next") else [pk]))


@login_required
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = request.user
    actions = {
        "accept": (lambda c: services.case_accept(actor=user, case=c), _("Request accepted.")),
        "confirm": (lambda c: services.case_confirm(actor=user, case=c), _("Confirmed: the case waits for a unit.")),
        "dispatch": (lambda c: services.case_dispatch(
            actor=user, case=c, unit=found(selectors.unit_get, user, _int(request.POST.get("unit")))), _("Unit dispatched.")),
        "cancel": (lambda c: services.case_cancel(actor=user, case=c, reason=request.POST.get("reason", "")), _("Case cancelled.")),
        "locate": (lambda c: services.case_locate(actor=user, case=c, lat=request.POST.get("lat"), lng=request.POST.get("lng")),
                   _("Position saved.")),
        "close": (lambda c: services.case_close(actor=user, case=c), _("Case closed.")),
        "check-in": (lambda c: services.case_check_in(actor=user, case=c), _("Checked in: the handover sheet is open.")),
    }
    if action not in actions:
        from django.http import Http404

        raise Http404
    call, done = actions[action]
    return _act(request, pk, call, done)


@login_required
@permission_required("rescue.dispatch_rescuecase", raise_exception=True)
@require_POST
def plan_apply(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    done = services.cases_assign_optimal(actor=request.user, store=store)
    messages.success(request, _("%(n)s case(s) dispatched by the optimal plan.") % {"n": len(done)})
    return redirect(f"{_board_url()}?store={store.pk}")


def _board_url() -> str:
    from django.urls import reverse

    return reverse("rescue:board")


@login_required
@permission_required("rescue.dispatch_rescuecase", raise_exception=True)
@require_POST
def alert_done(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.common.scoping import restrict_to_stores

    alert = found(lambda: _alert(restrict_to_stores(RescueAlert.objects.select_related("case"), request.user, "case__store_id"), pk))
    services.alert_done(actor=request.user, alert=alert)
    return redirect(f"{_board_url()}?store={alert.case.store_id}")


def _alert(qs: Any, pk: int) -> Any:
    from aftersales.common.scoping import get_or_404

    return get_or_404(qs, pk=pk)


def _weekday_names() -> list[tuple[int, str]]:
    from django.utils.dates import WEEKDAYS_ABBR

    return [(i, str(WEEKDAYS_ABBR[i])) for i in range(7)]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# ---- units and settings -------------------------------------------------------------------------------------------
@login_required
@permission_required("rescue.view_rescueunit", raise_exception=True)
def units(request: HttpRequest) -> HttpResponse:
    from aftersales.staff.models import User

    store = store_from_request(request)
    ctx: dict[str, Any] = {
        "store": store, "units": selectors.units_of(request.user, store), "area": selectors.area_of(store),
        "kinds": UnitKind.choices, "capabilities": Capability.choices, "errors": {}, "data": {},
        "shift_days": ShiftDays.choices, "weekday_names": _weekday_names(),
        "staff": list(User.objects.filter(memberships__store=store, is_active=True).distinct().order_by("first_name", "username")),
    }
    area = ctx["area"]
    defaults = {"base_lat": "", "base_lng": "", "speed_kmh": "35", "detour_factor": "1.35", "prep_minutes": "5", "hotline": ""}
    source = request.POST if request.method == "POST" and request.POST.get("form") == "area" else {}
    ctx["area_form"] = {k: source.get(k, getattr(area, k) if area else v) for k, v in defaults.items()}
    if request.method == "POST":
        data = request.POST
        ctx["data"] = {**data.dict(), "weekdays_list": data.getlist("weekdays")}
        try:
            if data.get("form") == "area":
                services.area_save(actor=request.user, store=store, base_lat=data.get("base_lat"), base_lng=data.get("base_lng"),
                                   speed_kmh=data.get("speed_kmh"), detour_factor=data.get("detour_factor"),
                                   prep_minutes=data.get("prep_minutes"), hotline=data.get("hotline", ""))
                messages.success(request, _("Rescue settings saved."))
            elif data.get("form") == "shift":
                unit = found(selectors.unit_get, request.user, _int(data.get("unit")))
                crew = [m for m in ctx["staff"] if str(m.pk) in data.getlist("shift_crew")]
                services.shift_save(actor=request.user, unit=unit, days=data.get("days"), weekdays=data.getlist("weekdays"),
                                    starts=data.get("starts"), ends=data.get("ends"), crew=crew)
                messages.success(request, _("Shift saved."))
            elif data.get("form") == "shift_delete":
                shift = found(selectors.shift_get, request.user, _int(data.get("shift")))
                services.shift_delete(actor=request.user, shift=shift)
                messages.success(request, _("Shift removed."))
            elif data.get("form") == "duty":
                unit = found(selectors.unit_get, request.user, _int(data.get("unit")))
                services.unit_set_duty(actor=request.user, unit=unit, on_duty=data.get("on_duty") == "1")
            else:
                crew = [m for m in ctx["staff"] if str(m.pk) in data.getlist("crew")]
                services.unit_save(actor=request.user, store=store, name=data.get("name"), kind=data.get("kind"),
                                   capabilities=data.getlist("capabilities"), crew=crew, plate=data.get("plate", ""),
                                   lat=data.get("lat"), lng=data.get("lng"))
                messages.success(request, _("Unit saved."))
        except DomainError as exc:
            ctx["errors"] = _errors(exc)
            ctx["units"] = selectors.units_of(request.user, store)
            return render(request, "rescue/units.html", ctx, status=exc.status)
        return redirect(f"{request.path}?store={store.pk}")
    return render(request, "rescue/units.html", ctx)


# ---- the crew's phone ---------------------------------------------------------------------------------------------
@login_required
@permission_required("rescue.crew_rescuecase", raise_exception=True)
def crew_home(request: HttpRequest) -> HttpResponse:
    jobs = selectors.crew_jobs(request.user)
    if len(jobs) == 1:
        return redirect("rescue:crew_job", jobs[0].pk)
    return render(request, "rescue/crew_home.html", {"jobs": jobs, "units": selectors.crew_units(request.user)})


@login_required
@permission_required("rescue.crew_rescuecase", raise_exception=True)
def crew_job(request: HttpRequest, pk: int) -> HttpResponse:
    case = found(selectors.crew_job_get, request.user, pk)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        user, data = request.user, request.POST
        try:
            if action == "accept":
                services.case_crew_accept(actor=user, case=case)
            elif action == "decline":
                services.case_crew_decline(actor=user, case=case, reason=data.get("reason", ""))
            elif action == "position":
                services.position_post(actor=user, case=case, lat=data.get("lat"), lng=data.get("lng"))
            elif action == "on_scene":
                services.case_on_scene(actor=user, case=case, lat=data.get("lat") or None, lng=data.get("lng") or None)
            elif action in ("fixed", "tow"):
                services.case_finish_on_site(actor=user, case=case, work_done=data.get("work_done", ""), tow=action == "tow")
            elif action == "at_store":
                services.case_at_store(actor=user, case=case)
            elif action == "close":
                services.case_close(actor=user, case=case)
            elif action == "photo":
                upload = request.FILES.get("photo")
                services.photo_add(actor=user, case=case, content=upload.read() if upload else b"", caption=data.get("caption", ""))
            elif action == "sign":
                services.case_sign(actor=user, case=case, signature=data.get("signature", ""), signer_name=data.get("signer_name", ""))
        except DomainError as exc:
            errors, status = _errors(exc), exc.status
        else:
            if request.headers.get("HX-Request"):
                return HttpResponse(status=204)
            return redirect("rescue:crew_job", pk)
        case = found(selectors.crew_job_get, request.user, pk)
    return render(request, "rescue/crew_job.html", {
        "case": case, "errors": errors, "photos": list(case.photos.all()), "minutes_left": selectors.minutes_to_arrival(case),
        "on_job": case.status in (CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE, CaseStatus.ON_SCENE, CaseStatus.TOWING),
        "hotline": selectors.hotline(case), "point": map_point(case.lat, case.lng, case.address or case.number),
    }, status=status)
