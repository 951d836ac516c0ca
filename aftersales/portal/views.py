"""The owner app at /app/: thin views over the portal's services and selectors (phone-sized, zh-Hans first)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common import throttle
from aftersales.common.errors import DomainError
from aftersales.mobility.selectors import owner_trips
from aftersales.rescue.selectors import owner_open_case as rescue_open_case

from . import selectors, services
from .session import current_customer, owner_required, safe_next, sign_in, sign_out

LANGS = ("zh-hans", "en")


def _use_language(request: HttpRequest, customer: Any = None) -> str:
    """?lang=… (one tap), then the language cookie, then the customer's language, then Simplified Chinese."""
    lang = request.GET.get("lang") or request.COOKIES.get("django_language") or getattr(customer, "language", "") or "zh-hans"
    lang = lang if lang in LANGS else "zh-hans"
    translation.activate(lang)
    request.LANGUAGE_CODE = lang  # type: ignore[attr-defined]
    return lang


def _render(request: HttpRequest, template: str, ctx: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    customer = getattr(request, "customer", None)
    base = {"customer": customer, "lang": translation.get_language()}
    if customer is not None and not request.headers.get("HX-Request"):
        base["unread"] = selectors.unread_count(customer)
    response = render(request, template, {**base, **(ctx or {})}, status=status)
    response.headers.setdefault("Content-Language", translation.get_language() or "zh-hans")
    return response


def _errors(exc: DomainError) -> dict[str, str]:
    return {str(exc.field or "general"): str(exc.message)}


# ---- identity ------------------------------------------------------------------------------------------------------
def login(request: HttpRequest) -> HttpResponse:
    """Step 1: the mobile number; step 2: the 6-digit code. Both answer the same whether or not the number is known."""
    if request.user.is_authenticated:
        _use_language(request)
        return _render(request, "portal/staff_refused.html", status=403)
    _use_language(request, current_customer(request))
    nxt = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if current_customer(request) is not None and request.method == "GET":
        return redirect(nxt)
    ctx: dict[str, Any] = {"next": nxt, "mobile": request.POST.get("mobile", ""), "step": "mobile", "errors": {}}
    if request.method == "POST":
        ip = throttle.client_ip(request)
        action = request.POST.get("action")
        try:
            if action == "verify":
                ctx["step"] = "code"
                customer = services.code_verify(mobile=ctx["mobile"], code=request.POST.get("code", ""), ip=ip)
                sign_in(request, customer)
                from aftersales.billing.online import browser_kind

                from . import wechat_oauth

                if browser_kind(request) == "wechat" and not customer.wechat_openid and wechat_oauth.configured():
                    return redirect(f"{reverse('portal:wechat_bind')}?{urlencode({'next': nxt})}")
                return redirect(nxt)
            sent = services.code_request(mobile=ctx["mobile"], ip=ip)
            ctx.update(step="code", mobile=sent.mobile, resend_in=sent.resend_in, sent=True)
        except DomainError as exc:
            ctx["errors"] = _errors(exc)
            status = getattr(exc, "status", 422)
            if exc.code == "resend_too_soon":
                ctx["step"] = "code"
            return _render(request, "portal/login.html", ctx, status=status)
    return _render(request, "portal/login.html", ctx)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    sign_out(request)
    return redirect("portal:login")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    lang = request.POST.get("language", "")
    lang = lang if lang in LANGS else "zh-hans"
    customer = current_customer(request)
    if customer is not None:
        services.owner_set_language(customer=customer, language=lang)
    response = redirect(safe_next(request, request.POST.get("next")))
    response.set_cookie("django_language", lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response


# ---- WeChat: bind the official account's openid (for WeChat Pay inside WeChat) ------------------------------------
@owner_required
def wechat_bind(request: HttpRequest) -> HttpResponse:
    """Off to WeChat's silent authorisation (snsapi_base); it sends the owner back to ``wechat_back``."""
    from . import wechat_oauth

    customer = request.customer  # type: ignore[attr-defined]
    nxt = safe_next(request, request.GET.get("next"))
    if not wechat_oauth.configured():
        return redirect(nxt)
    state = services.wechat_bind_state(customer=customer, next_url=nxt)
    return redirect(wechat_oauth.authorize_url(redirect_uri=request.build_absolute_uri(reverse("portal:wechat_back")),
                                               state=state))


@owner_required
def wechat_back(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    try:
        nxt = services.owner_wechat_bind(customer=customer, code=request.GET.get("code", ""),
                                         state=request.GET.get("state", ""))
    except DomainError as exc:
        return _render(request, "portal/wechat_failed.html", {"errors": _errors(exc)}, status=exc.status)
    return redirect(safe_next(request, nxt))


# ---- home --------------------------------------------------------------------------------------------------------
@owner_required
def home(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    return _render(request, "portal/home.html", {
        "cards": selectors.home_cars(customer), "tier": selectors.tier_of(customer),
        "loyalty": selectors.loyalty_of(customer), "appointments": selectors.upcoming_appointments(customer),
        "latest": list(selectors.notifications_of(customer)[:3]),
        "rescue": rescue_open_case(customer),
        "trips": owner_trips(customer),  # pickups under way: follow the trip (mobility)
    })


@owner_required
def inbox(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    if request.method == "POST":
        services.inbox_mark_read(customer=customer)
        return redirect("portal:inbox")
    return _render(request, "portal/inbox.html", {"items": list(selectors.notifications_of(customer)[:100])})


@owner_required
def inbox_item(request: HttpRequest, pk: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    item = selectors.notification_get(customer, pk)
    services.inbox_mark_read(customer=customer, message_ids=[item.pk])
    return _render(request, "portal/inbox_item.html", {"item": item})


# ---- book ----------------------------------------------------------------------------------------------------------
def book_link(request: HttpRequest, store_code: str) -> HttpResponse:
    """The target of reminder and campaign links (/book/<store>/?v=<car>): sign in with the code first, then the
    booking form with the store and the car filled in."""
    params = {"store": store_code}
    if request.GET.get("v"):
        params["v"] = request.GET["v"]
    if request.GET.get("lang") in LANGS:
        params["lang"] = request.GET["lang"]
    for name in ("service_type", "fault_description"):  # a remote-diagnosis alert names the service and the problem
        if request.GET.get(name):
            params[name] = request.GET[name][:500]
    target = f"{reverse('portal:book')}?{urlencode(params)}"
    if current_customer(request) is None:
        login_params = {"next": target}
        if "lang" in params:
            login_params["lang"] = params["lang"]
        return redirect(f"{reverse('portal:login')}?{urlencode(login_params)}")
    return redirect(target)


def _book_context(request: HttpRequest, customer: Any, data: Any) -> dict[str, Any]:
    stores = list(selectors.stores_for(customer))
    store = selectors.store_pick(customer, data.get("store"), stores)
    cars = list(selectors.cars_of(customer))
    kinds = list(selectors.service_types(store)) if store else []
    day = selectors.parse_day(data.get("day"), store)
    return {
        "stores": stores, "store": store, "cars": cars, "kinds": kinds, "advisors": selectors.advisors(store) if store else [],
        "car_id": str(data.get("vehicle") or data.get("v") or (cars[0].pk if len(cars) == 1 else "")),
        "kind_id": str(data.get("service_type") or (kinds[0].pk if kinds else "")),
        "advisor_id": str(data.get("advisor") or ""), "day": day, "start": data.get("start", ""),
        "fault": data.get("fault_description", ""), "today": timezone.localdate(), "errors": {},
    }


def _slots(customer: Any, ctx: dict[str, Any]) -> dict[str, Any]:
    store, day = ctx["store"], ctx["day"]
    kind = next((k for k in ctx["kinds"] if str(k.pk) == ctx["kind_id"]), None)
    slots = selectors.free_starts(store, day, kind, ctx["advisor_id"]) if store and kind else []
    return {**ctx, "slots": slots, "zone": store.zone if store else timezone.get_current_timezone()}


@owner_required
def book(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    data = request.POST if request.method == "POST" else request.GET
    ctx = _book_context(request, customer, data)
    if request.method == "POST":
        try:
            appointment = services.owner_book(
                customer=customer, store=ctx["store"], service_type=data.get("service_type"), start=data.get("start"),
                vehicle=data.get("vehicle"), advisor=data.get("advisor") or None,
                fault_description=data.get("fault_description", ""), photos=request.FILES.getlist("photos"),
            )
        except DomainError as exc:
            ctx = _slots(customer, ctx)
            ctx["errors"] = _errors(exc)
            if exc.extra.get("next_free"):
                ctx["next_free"] = [dt.datetime.fromisoformat(t) for t in exc.extra["next_free"]]
            return _render(request, "portal/book.html", ctx, status=exc.status)
        return redirect("portal:appointment", appointment.pk)
    if request.headers.get("HX-Request") and request.GET.get("part") == "slots":
        return _render(request, "portal/_slots.html", _slots(customer, ctx))
    if request.headers.get("HX-Request") and request.GET.get("part") == "diagnosis":
        return _render(request, "portal/_diagnosis.html", _diagnosis(ctx))
    return _render(request, "portal/book.html", _slots(customer, _diagnosis(ctx)))


def _diagnosis(ctx: dict[str, Any]) -> dict[str, Any]:
    """The owner's own words, read as a first hint of what the car needs and which service to book (issue 21)."""
    from aftersales.estimates.diagnosis import suggest_service_type

    store, fault = ctx["store"], (ctx.get("fault") or "").strip()
    if not store or len(fault) < 2:
        return {**ctx, "diagnosis": None, "suggested_kind": None}
    from aftersales.estimates.diagnosis import diagnose

    result = diagnose(fault, group_id=store.group_id, with_operations=False)
    kind = suggest_service_type(result.system, ctx["kinds"]) if result else None
    return {**ctx, "diagnosis": result, "suggested_kind": kind}


@owner_required
def pickup(request: HttpRequest) -> HttpResponse:
    """Book a visit with pickup and delivery: the booking form plus the address the driver comes to."""
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    data = request.POST if request.method == "POST" else request.GET
    ctx = {**_book_context(request, customer, data), "pickup": True, "address": data.get("address", ""),
           "voucher": data.get("voucher", ""),
           "lng": data.get("lng", ""), "lat": data.get("lat", "")}
    if request.method == "POST":
        try:
            appointment, _trip = services.owner_book_with_pickup(
                customer=customer, store=ctx["store"], service_type=data.get("service_type"), start=data.get("start"),
                vehicle=data.get("vehicle"), advisor=data.get("advisor") or None,
                fault_description=data.get("fault_description", ""), address=data.get("address"),
                lng=data.get("lng"), lat=data.get("lat"), voucher=data.get("voucher", ""),
                photos=request.FILES.getlist("photos"),
            )
        except DomainError as exc:
            ctx = _slots(customer, ctx)
            ctx["errors"] = _errors(exc)
            return _render(request, "portal/book.html", ctx, status=exc.status)
        return redirect("portal:appointment", appointment.pk)
    return _render(request, "portal/book.html", _slots(customer, ctx))


@owner_required
def appointment(request: HttpRequest, pk: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    item = selectors.appointment_get(customer, pk)
    from aftersales.estimates.models import FaultPhoto
    from aftersales.mobility.selectors import trip_of_appointment

    ctx: dict[str, Any] = {"item": item, "errors": {}, "zone": item.store.zone, "trip": trip_of_appointment(item.pk),
                           "photo_count": FaultPhoto.objects.filter(appointment_id=item.pk).count()}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                services.owner_cancel(customer=customer, appointment=item)
            else:
                services.owner_reschedule(customer=customer, appointment=item, start=request.POST.get("start"))
        except DomainError as exc:
            ctx["errors"] = _errors(exc)
            ctx.update(_reschedule_slots(item, request.POST.get("day")))
            return _render(request, "portal/appointment.html", ctx, status=exc.status)
        return redirect("portal:appointment", item.pk)
    ctx.update(_reschedule_slots(item, request.GET.get("day")))
    return _render(request, "portal/appointment.html", ctx)


def _reschedule_slots(item: Any, day_text: Any) -> dict[str, Any]:
    if item.status != "booked":
        return {}
    day = selectors.parse_day(day_text, item.store) if day_text else timezone.localtime(item.start, item.store.zone).date()
    return {"day": day, "slots": selectors.free_starts(item.store, day, item.service_type, None), "today": timezone.localdate()}


# ---- follow the car ------------------------------------------------------------------------------------------------
@owner_required
def order(request: HttpRequest, pk: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    ctx = selectors.order_follow(customer, pk)
    if request.headers.get("HX-Request"):
        return _render(request, "portal/_order_live.html", ctx)
    return _render(request, "portal/order.html", ctx)


@owner_required
def order_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Pay the order's invoice online (WeChat Pay / Alipay, in the form that fits this browser)."""
    from aftersales.billing.online import allow_payment_redirects, pay_flow

    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    invoice = selectors.invoice_of_order(customer, pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    loyalty_errors: dict[str, str] = {}
    status = 200
    if action in ("points", "voucher"):  # points or a voucher off the balance, before paying the rest online
        try:
            services.owner_pay_loyalty(customer=customer, invoice=invoice, action=action, data=request.POST)
        except DomainError as exc:
            loyalty_errors, status = _errors(exc), exc.status
            if exc.status == 404:
                raise Http404 from exc
        else:
            return redirect(f"{request.path}?applied={action}")
        request.method = "GET"  # show the page again (with the errors), not a payment start
    result = pay_flow(request, invoice, request.path)
    if isinstance(result, HttpResponse):
        return result
    customer.refresh_from_db(fields=["points_balance"])
    result.update(
        loyalty=selectors.pay_loyalty(customer, result["invoice"]), loyalty_errors=loyalty_errors,
        applied=request.GET.get("applied", ""), pay_key=uuid.uuid4().hex,
    )
    from . import wechat_oauth

    if result["browser"] == "wechat" and not customer.wechat_openid and wechat_oauth.configured():
        result["wechat_bind_url"] = f"{reverse('portal:wechat_bind')}?{urlencode({'next': request.path})}"
    return allow_payment_redirects(_render(request, "portal/pay.html", result, status=status if loyalty_errors else result["status"]))


@owner_required
def order_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """The follow-up survey of a delivered visit, answered inside the app (the feedback app's own service: one
    answer per order; a low score opens a recovery case, suggestions a suggestion case)."""
    from aftersales.feedback.forms import ScoresForm
    from aftersales.feedback.services import followup_answer

    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    followup = selectors.followup_of_order(customer, pk)
    ctx: dict[str, Any] = {"f": followup, "order": followup.order, "errors": {}}
    if followup.status == "answered":
        return _render(request, "portal/rate.html", {**ctx, "state": "answered"}, status=409 if request.method == "POST" else 200)
    if followup.status != "open" or (followup.expires_at and timezone.now() > followup.expires_at):
        return _render(request, "portal/rate.html", {**ctx, "state": "closed"}, status=410 if request.method == "POST" else 200)
    form = ScoresForm(request.POST or None)
    if request.method == "POST":
        errors = {name: str(err[0]) for name, err in form.errors.items()} if not form.is_valid() else {}
        if not errors:
            data = form.cleaned_data
            try:
                followup_answer(followup=followup, scores=data, suggestions=data["suggestions"])
            except DomainError as exc:
                errors = _errors(exc)
        if not errors:
            return redirect(f"{reverse('portal:order_rate', args=[pk])}?thanks=1")
        ctx["errors"] = errors
        return _render(request, "portal/rate.html", {**ctx, "state": "form", "form": form}, status=422)
    return _render(request, "portal/rate.html", {**ctx, "state": "form", "form": form})


@owner_required
def order_photo(request: HttpRequest, pk: int, photo_id: int) -> FileResponse:
    photo = selectors.order_photo(request.customer, pk, photo_id)  # type: ignore[attr-defined]
    return FileResponse(photo.image.open("rb"), content_type=photo.content_type)


@owner_required
def order_document(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    lang = _use_language(request, customer)
    order = selectors.order_get(customer, pk)
    pdf = services.owner_document(order=order, kind=kind, language=lang)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.number}-{kind}.pdf"'
    return response


@owner_required
def car(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.telematics.selectors import owner_alerts

    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    vehicle = selectors.car_get(customer, pk)
    return _render(request, "portal/car.html", {
        "car": vehicle, "orders": list(selectors.orders_of(customer).filter(vehicle=vehicle).order_by("-opened_at")[:50]),
        "parts": selectors.fitted_parts_of(customer, vehicle),
        "alerts": owner_alerts(customer, vehicle, translation.get_language() or "zh-hans"),
    })


# ---- installable app -----------------------------------------------------------------------------------------------
def manifest(request: HttpRequest) -> HttpResponse:
    _use_language(request)
    return render(request, "portal/manifest.webmanifest", content_type="application/manifest+json")


def service_worker(request: HttpRequest) -> HttpResponse:
    path = finders.find("portal/sw.js")
    if not path:  # pragma: no cover - the file ships with the app
        raise Http404
    with open(path, "rb") as fh:
        response = HttpResponse(fh.read(), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/app/"
    response["Cache-Control"] = "no-cache"
    return response


def offline(request: HttpRequest) -> HttpResponse:
    _use_language(request)
    return _render(request, "portal/offline.html")




# ---- points and feedback -----------------------------------------------------------------------------------------
@owner_required
def points(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    return _render(request, "portal/points.html", {
        "loyalty": selectors.loyalty_of(customer), "entries": selectors.points_ledger(customer),
        "referrals": selectors.referrals_made(customer), "code": selectors.referral_code(customer),
    })


@owner_required
def feedback(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    stores = list(selectors.stores_for(customer))
    data = request.POST if request.method == "POST" else request.GET
    ctx: dict[str, Any] = {
        "stores": stores, "store": selectors.store_pick(customer, data.get("store"), stores), "cases": selectors.cases_of(customer),
        "cars": list(selectors.cars_of(customer)), "kind": data.get("kind", "complaint"), "text": data.get("text", ""),
        "plate": data.get("plate", ""), "errors": {},
    }
    if request.method == "POST":
        try:
            services.owner_feedback(customer=customer, store=ctx["store"], kind=ctx["kind"], text=ctx["text"], plate=ctx["plate"],
                                    photos=request.FILES.getlist("photos"))
        except DomainError as exc:
            ctx["errors"] = _errors(exc)
            return _render(request, "portal/feedback.html", ctx, status=exc.status)
        return redirect(f"{reverse('portal:feedback')}?sent=1")
    ctx["sent"] = request.GET.get("sent") == "1"
    return _render(request, "portal/feedback.html", ctx)


# ---- my data (PIPL) --------------------------------------------------------------------------------------------------
@owner_required
def privacy(request: HttpRequest) -> HttpResponse:
    """Consents per channel and purpose, my quiet hours, download my data, ask for deletion, delete my account."""
    from aftersales.customers.models import Consent
    from aftersales.customers.selectors import current_consents

    from .models import DeletionRequest

    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "consents":
                services.owner_consents_set(customer=customer, wanted={
                    (purpose, channel): request.POST.get(f"{purpose}:{channel}") == "on"
                    for purpose in services.CONSENT_PURPOSES for channel in services.CONSENT_CHANNELS
                })
            elif action == "preferences":
                services.owner_message_preferences_set(
                    customer=customer, channel=request.POST.get("preferred_channel", ""),
                    reminders=request.POST.get("reminder_frequency", ""), progress=request.POST.get("progress_frequency", ""))
            elif action == "quiet":
                services.owner_quiet_hours_set(customer=customer, start=request.POST.get("quiet_start", ""),
                                               end=request.POST.get("quiet_end", ""))
            elif action == "deletion":
                services.owner_deletion_request(customer=customer, reason=request.POST.get("reason", ""))
            elif action == "delete_account":
                if request.POST.get("confirm") != "on":
                    from aftersales.common.errors import ValidationFailed

                    raise ValidationFailed("confirm_required", _("Tick the box to confirm."), "confirm")
                services.owner_account_delete(customer=customer)
                sign_out(request)
                return redirect(f"{reverse('portal:login')}?deleted=1")
            else:
                from aftersales.common.errors import ValidationFailed

                raise ValidationFailed("invalid_choice", _("Choose what to change."), "action")
        except DomainError as exc:
            errors = exc.extra.get("errors") or _errors(exc)
            if isinstance(errors, list):  # every problem named (common.errors.Problems): by field for the page
                errors = {str(e.get("field") or "action"): str(e.get("message", "")) for e in reversed(errors)}
            status = exc.status
        else:
            return redirect(f"{reverse('portal:privacy')}?saved={action}")
        customer.refresh_from_db()
    current = current_consents(list(Consent.objects.filter(customer=customer).order_by("-at", "-id")))
    from aftersales.customers.choices import Channel, ConsentPurpose

    grid = [
        {"purpose": purpose, "label": ConsentPurpose(purpose).label, "channels": [
            {"channel": channel, "label": Channel(channel).label, "on": bool(current.get((purpose, channel)) and
                                                                         current[(purpose, channel)].granted)}
            for channel in services.CONSENT_CHANNELS
        ]} for purpose in services.CONSENT_PURPOSES
    ]
    from aftersales.customers.choices import ProgressFrequency, ReminderFrequency

    posted = request.POST if errors and request.POST.get("action") == "preferences" else {}
    preferences = {
        "channels": [(c, Channel(c).label) for c in services.OWNER_CHANNELS],
        "reminders": ReminderFrequency.choices, "progress": ProgressFrequency.choices,
        "channel": posted.get("preferred_channel", customer.preferred_channel),
        "reminder": posted.get("reminder_frequency", customer.reminder_frequency),
        "progress_now": posted.get("progress_frequency", customer.progress_frequency),
    }
    return _render(request, "portal/privacy.html", {
        "grid": grid, "errors": errors, "preferences": preferences, "saved": request.GET.get("saved", ""), "retained": services.RETAINED,
        "quiet_start": request.POST.get("quiet_start") if errors else (customer.quiet_start.strftime("%H:%M") if customer.quiet_start else ""),
        "quiet_end": request.POST.get("quiet_end") if errors else (customer.quiet_end.strftime("%H:%M") if customer.quiet_end else ""),
        "deletion": DeletionRequest.objects.filter(customer=customer).order_by("-requested_at").first(),
    }, status=status)


@owner_required
def privacy_export(request: HttpRequest) -> HttpResponse:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    customer = request.customer  # type: ignore[attr-defined]
    data = services.owner_data_export(customer=customer)
    response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="my-data-{customer.pk:06d}.json"'
    return response


@owner_required
def privacy_export_zip(request: HttpRequest) -> HttpResponse:
    """My data as a zip: the JSON plus all my visits' PDFs (invoices, repair lists, inspection reports) and photos,
    streamed as it is made (bounded memory)."""
    customer = request.customer  # type: ignore[attr-defined]
    lang = _use_language(request, customer)
    from django.http import StreamingHttpResponse

    response = StreamingHttpResponse(services.owner_data_zip_stream(customer=customer, language=lang),
                                     content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="my-data-{customer.pk:06d}.zip"'
    return response


# ---- staff: the deletion requests queue ------------------------------------------------------------------------------
def deletion_queue(request: HttpRequest) -> HttpResponse:
    """Staff (``portal.handle_deletionrequest``): the owners' deletion requests of the stores they work at, oldest
    first with their due date; "apply" erases the personal details and keeps what the law requires."""
    from django.contrib.auth.views import redirect_to_login
    from django.core.exceptions import PermissionDenied

    from aftersales.common.scoping import visible_store_ids

    from .models import DeletionRequest

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.has_perm("portal.handle_deletionrequest"):
        raise PermissionDenied
    stores = visible_store_ids(request.user)
    queue = DeletionRequest.objects.filter(customer__home_store_id__in=stores).select_related("customer", "handled_by")
    error, failed = "", 0
    if request.method == "POST":
        item = queue.filter(pk=request.POST.get("request") or 0).first() if (request.POST.get("request") or "").isdigit() else None
        if item is None:
            raise Http404
        try:
            if request.POST.get("action") == "refuse":
                services.deletion_refuse(actor=request.user, request=item, reason=request.POST.get("refuse_reason", ""))
            else:
                services.deletion_apply(actor=request.user, request=item)
        except DomainError as exc:
            error, failed = str(exc.message), item.pk
        else:
            return redirect(reverse("portal_staff:deletions"))
    return render(request, "portal/deletion_queue.html", {
        "open": list(queue.filter(status="requested").order_by("requested_at")[:200]),
        "done": list(queue.exclude(status="requested").order_by("-handled_at")[:50]),
        "retained": services.RETAINED, "error": error, "failed": failed, "now": timezone.now(),
    }, status=422 if error else 200)
