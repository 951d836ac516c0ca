"""The connected-vehicles screens (staff, desk size): devices and open alerts, a device with its readings charted,
registering a device (its key shown once), rotating and revoking keys, closing alerts, the alert rules."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError
from aftersales.common.views import found, store_from_request

from . import selectors, services
from .choices import EVENT_RULES, Protocol, RuleKind, Severity
from .faultcodes import explain


def _service_kinds() -> list[tuple[str, Any]]:
    from aftersales.appointments.choices import ServiceKind

    return list(ServiceKind.choices)


def alert_text(alert: Any, language: str | None = None) -> str:
    """What the alert is about, in the reader's language (never a bare code)."""
    language = language or get_language() or "zh-hans"
    problem, _advice = services.problem_text(alert, language)
    return problem


@login_required
@permission_required("telematics.view_device", raise_exception=True)
def home(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    query = request.GET.get("q", "").strip()[:64]
    devices = list(selectors.devices(request.user, store_id=store.pk, query=query)[:300])
    alerts = selectors.sort_alerts(list(selectors.alerts(request.user, store_id=store.pk)[:200])) \
        if request.user.has_perm("telematics.view_alert") else []
    for alert in alerts:
        alert.text = alert_text(alert)
    from aftersales.common.scoping import visible_store_ids
    from aftersales.stores.models import Store

    stores = list(Store.objects.filter(pk__in=visible_store_ids(request.user)).order_by("id"))
    now = timezone.now()
    for device in devices:
        device.silent = device.last_seen_at is None or (now - device.last_seen_at).total_seconds() > 3600
    return render(request, "telematics/home.html", {
        "store": store, "stores": stores, "devices": devices, "alerts": alerts, "q": query,
    })


def _chart(readings: list[Any]) -> dict[str, Any]:
    def num(value: Any) -> Any:
        return None if value is None else float(value)

    return {
        "labels": [timezone.localtime(r.recorded_at).strftime("%m-%d %H:%M") for r in readings],
        "battery": [num(r.battery_v) for r in readings],
        "level": [r.charge_pct if r.charge_pct is not None else r.fuel_pct for r in readings],
        "odometer": [r.odometer_km for r in readings],
        "names": {"battery": _("Battery (V)"), "level": _("Fuel or charge (%)"), "odometer": _("Odometer (km)")},
    }


@login_required
@permission_required("telematics.view_device", raise_exception=True)
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = found(selectors.device_get, request.user, pk)
    try:
        days = max(1, min(int(request.GET.get("days", "7")), 90))
    except ValueError:
        days = 7
    readings = selectors.readings(request.user, device, days=days) if request.user.has_perm("telematics.view_reading") else []
    alerts = list(selectors.alerts(request.user, status=None, vehicle_id=device.vehicle_id)[:50]) \
        if request.user.has_perm("telematics.view_alert") else []
    for alert in alerts:
        alert.text = alert_text(alert)
    latest = readings[-1] if readings else None
    codes = [(code, explain(code)) for code in (latest.dtcs if latest else [])]
    language = get_language() or "zh-hans"
    return render(request, "telematics/device.html", {
        "device": device, "readings": readings, "chart": _chart(readings), "alerts": alerts, "days": days,
        "latest": latest, "codes": [(c, info, info.description(language)) for c, info in codes],
        "rejections": selectors.rejections(request.user, device), "day_choices": (1, 7, 30, 90),
        "shown_key": request.session.pop(f"telematics-key-{device.pk}", None),
    })


@login_required
@permission_required("telematics.add_device", raise_exception=True)
def device_new(request: HttpRequest) -> HttpResponse:
    from aftersales.vehicles.models import Vehicle

    store = store_from_request(request)
    data = request.POST if request.method == "POST" else request.GET
    form = {"vehicle": data.get("vehicle", "").strip()[:17], "device_id": data.get("device_id", "").strip()[:64],
            "protocol": data.get("protocol", Protocol.JSON_V1)}
    errors: dict[str, str] = {}
    if request.method == "POST":
        term = form["vehicle"].upper()
        vehicle = Vehicle.objects.filter(group_id=store.group_id).filter(Q(plate__iexact=term) | Q(vin__iexact=term)).first() if term else None
        try:
            device, key = services.device_create(actor=request.user, store=store, vehicle=vehicle,
                                                 device_id=form["device_id"], protocol=form["protocol"])
        except DomainError as exc:
            for item in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]:
                errors[item["field"] or "device_id"] = item["message"]
            if "vehicle" in errors:
                errors["vehicle"] = _("No vehicle with this plate or VIN in your dealer group.")
        else:
            request.session[f"telematics-key-{device.pk}"] = key
            messages.success(request, _("Device registered. Copy its key now: it is shown only once."))
            return redirect("telematics:device", device.pk)
    return render(request, "telematics/device_new.html", {
        "store": store, "form": form, "errors": errors, "protocols": Protocol.choices,
    }, status=422 if errors else 200)


@login_required
@require_POST
def device_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    device = found(selectors.device_get, request.user, pk)
    try:
        key = services.device_rotate(actor=request.user, device=device)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        request.session[f"telematics-key-{device.pk}"] = key
        messages.success(request, _("New key issued; the old one no longer works. Copy it now: it is shown only once."))
    return redirect("telematics:device", device.pk)


@login_required
@require_POST
def device_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    device = found(selectors.device_get, request.user, pk)
    try:
        services.device_revoke(actor=request.user, device=device, reason=request.POST.get("reason", "")[:300])
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Device revoked: its messages are refused from now on."))
    return redirect("telematics:device", device.pk)


@login_required
@require_POST
def alert_close(request: HttpRequest, pk: int) -> HttpResponse:
    alert = found(selectors.alert_get, request.user, pk)
    try:
        services.alert_close(actor=request.user, alert=alert, reason=request.POST.get("reason", "")[:300])
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Alert closed."))
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else "telematics:home")


@login_required
@permission_required("telematics.view_alertrule", raise_exception=True)
def rules(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    errors: dict[str, dict[str, str]] = {}
    if request.method == "POST":
        for kind in RuleKind.values:
            if request.POST.get(f"{kind}-present") != "1":
                continue
            data: dict[str, Any] = {
                "enabled": request.POST.get(f"{kind}-enabled") == "1", "critical": request.POST.get(f"{kind}-critical") == "1",
                "repeats": request.POST.get(f"{kind}-repeats", ""), "service_kind": request.POST.get(f"{kind}-service_kind", ""),
            }
            if kind in EVENT_RULES:  # one reading, always critical: nothing to tune but on/off and the service
                del data["critical"], data["repeats"]
            if f"{kind}-threshold" in request.POST:
                data["threshold"] = request.POST.get(f"{kind}-threshold", "")
            try:
                services.alert_rule_update(actor=request.user, store=store, kind=kind, **data)
            except DomainError as exc:
                errors[kind] = {e["field"]: e["message"] for e in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]}
        if not errors:
            messages.success(request, _("Alert rules saved."))
            return redirect(f"{request.path}?store={store.pk}")
    rules = services.rules_for(store)
    for kind in errors:  # show what was typed beside its error, not the stored value
        for name in ("repeats", "threshold"):
            if f"{kind}-{name}" in request.POST:
                setattr(rules[kind], name, request.POST[f"{kind}-{name}"][:10])
    rows = [(rules[kind], errors.get(kind, {})) for kind in RuleKind.values]
    return render(request, "telematics/rules.html", {
        "store": store, "rows": rows, "service_kinds": _service_kinds(),
        "with_threshold": (RuleKind.BATTERY_LOW, RuleKind.NEV_ALARM), "event_rules": EVENT_RULES, "severity": Severity,
    }, status=422 if errors else 200)
