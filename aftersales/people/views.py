"""People screens (SPEC §20): the store's certificates (foreman, manager) with those expiring within 60 days, the
form to record one with its scan, the scan itself (scoped), and a person's own page (phone-sized)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from aftersales.common.errors import DomainError
from aftersales.common.views import found, store_from_request
from aftersales.staff.models import StoreMembership

from . import selectors, services
from .forms import CertificationForm


def _store_staff(store: Any) -> list[Any]:
    return [
        m.user for m in StoreMembership.objects.filter(store=store, user__is_active=True)
        .select_related("user").order_by("user__display_name", "user__username")
    ]


@login_required
@permission_required("staff.view_certification", raise_exception=True)
def store_page(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    staff = _store_staff(store)
    can_add = request.user.has_perm("staff.add_certification")
    form = CertificationForm(request.POST or None, request.FILES or None, holders=staff)
    status = 200
    if request.method == "POST":
        if not can_add:
            raise Http404
        if form.is_valid():
            d = form.cleaned_data
            holder = next(u for u in staff if str(u.pk) == d["holder"])
            upload = d.get("scan")
            try:
                services.certification_record(
                    actor=request.user, holder=holder, kind=d["kind"], issuer=d["issuer"], level=d["level"],
                    number=d["number"], valid_from=d["valid_from"], valid_until=d["valid_until"],
                    scan=upload.read() if upload else None,
                )
            except DomainError as exc:
                for err in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]:
                    form.add_error(err["field"] if err["field"] in form.fields else None, err["message"])
            else:
                messages.success(request, _("Certificate recorded."))
                return redirect(f"{reverse('people:store')}?store={store.pk}")
        status = 422
    rows = selectors.certificate_rows(request.user, store)
    return render(request, "people/store.html", {
        "store": store, "rows": rows, "expiring": [r for r in rows if r.status == "expiring"],
        "form": form, "can_add": can_add,
    }, status=status)


@login_required
def my_page(request: HttpRequest) -> HttpResponse:
    """A person's own page (phone-sized): programme progress, certificates, sessions attended, their scorecard."""
    rows = selectors.my_certificate_rows(request.user)
    programme = selectors.my_programme(request.user)
    modules = list(programme.modules.all()) if programme else []
    return render(request, "people/me.html", {
        "rows": rows, "expiring": [r for r in rows if r.status == "expiring"], "programme": programme,
        "modules": modules, "done": sum(1 for m in modules if m.done_at), "attendance": selectors.my_attendance(request.user),
        "card": selectors.my_scorecard_summary(request.user),
    })


@login_required
@permission_required("people.view_trainingsession", raise_exception=True)
def training(request: HttpRequest) -> HttpResponse:
    """The store's training: new hires' months (sign modules off) and the monthly sessions with their results."""
    from . import training as svc

    store = store_from_request(request)
    staff = _store_staff(store)
    errors: dict[str, str] = {}
    status = 200
    action = request.POST.get("action", "")
    if request.method == "POST":
        by_id = {str(u.pk): u for u in staff}
        try:
            if action == "module":
                module = found(selectors.module_get, request.user, int(request.POST.get("module") or 0))
                svc.module_sign_off(actor=request.user, module=module, done=request.POST.get("done") == "1")
            elif action == "programme":
                svc.programme_start(actor=request.user, store=store, person=by_id.get(request.POST.get("person", "")),
                                    mentor=by_id.get(request.POST.get("mentor", "")),
                                    started_on=request.POST.get("started_on", ""))
            elif action == "session":
                results = {u: request.POST.get(f"score-{u.pk}", "") for u in staff
                           if request.POST.get(f"attended-{u.pk}") == "1"}
                svc.session_record(actor=request.user, store=store, held_on=request.POST.get("held_on", ""),
                                   trainer=request.POST.get("trainer", ""), topic=request.POST.get("topic", ""),
                                   pass_mark=request.POST.get("pass_mark", "60"), results=results)
            else:
                raise Http404
        except DomainError as exc:
            for err in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]:
                errors.setdefault(err["field"] or "form", err["message"])
            status = exc.status if exc.status != 400 else 422
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{reverse('people:training')}?store={store.pk}")
    return render(request, "people/training.html", {
        "store": store, "staff": staff, "programmes": selectors.programmes_for(request.user, store),
        "sessions": selectors.sessions_for(request.user, store), "errors": errors, "action": action, "posted": request.POST,
        "can_add": request.user.has_perm("people.add_trainingsession"),
    }, status=status)


@login_required
def certificate_scan(request: HttpRequest, pk: int) -> HttpResponse:
    cert = found(selectors.certification_get, request.user, pk)
    if not cert.scan:
        raise Http404
    response = FileResponse(cert.scan.open("rb"))
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---- rating terminals (manager) and the order's rating page (delivery desk) -----------------------------------------
@login_required
@permission_required("people.view_ratingterminal", raise_exception=True)
def terminals(request: HttpRequest) -> HttpResponse:
    from . import kiosk
    from .models import RatingTerminal

    store = store_from_request(request)
    error = ""
    pairing_url = ""
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                terminal = found(selectors.terminal_get, request.user, int(request.POST["revoke"]) if request.POST["revoke"].isdigit() else 0)
                kiosk.terminal_revoke(actor=request.user, terminal=terminal)
                messages.success(request, _("Terminal revoked."))
                return redirect(f"{reverse('people:terminals')}?store={store.pk}")
            terminal, key = kiosk.terminal_create(actor=request.user, store=store, name=request.POST.get("name", ""))
            pairing_url = request.build_absolute_uri(reverse("kiosk:pair", args=[key]))
        except DomainError as exc:
            error, status = str(exc.message), (exc.status if exc.status != 400 else 422)
    rows = RatingTerminal.objects.filter(store=store).order_by("revoked_at", "name", "id")
    return render(request, "people/terminals.html", {
        "store": store, "terminals": rows, "error": error, "pairing_url": pairing_url,
        "can_add": request.user.has_perm("people.add_ratingterminal"),
    }, status=status)


def _qr_svg(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_inline(scale=5, dark="#1d2733", light="#ffffff")


@login_required
@permission_required("people.use_ratingterminal", raise_exception=True)
def order_rating(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery desk: send the order to a terminal, or let the customer scan the QR code; the rating once given."""
    from aftersales.feedback.ratings import RATEABLE_STATES, rating_for

    from . import kiosk
    from .models import RatingTerminal

    order = found(selectors.order_get, request.user, pk)
    error = ""
    status = 200
    terminals = list(RatingTerminal.objects.filter(store_id=order.store_id, revoked_at__isnull=True).order_by("name", "id"))
    if request.method == "POST":
        terminal = next((t for t in terminals if str(t.pk) == request.POST.get("terminal", "")), None)
        try:
            if terminal is None:
                from aftersales.common.errors import ValidationFailed

                raise ValidationFailed("terminal_unknown", _("Choose a terminal of this store."), "terminal")
            kiosk.terminal_show_order(actor=request.user, terminal=terminal, order=order)
        except DomainError as exc:
            error, status = str(exc.message), (exc.status if exc.status != 400 else 422)
        else:
            messages.success(request, _("Sent to %(t)s: the customer can rate now.") % {"t": terminal})
            return redirect("people:order_rating", pk=order.pk)
    rating = rating_for(order)
    link = kiosk.rating_url(order)
    rateable = order.status in RATEABLE_STATES and rating is None
    return render(request, "people/order_rating.html", {
        "order": order, "rating": rating, "terminals": terminals, "error": error, "rateable": rateable,
        "link": link if rateable else "", "qr": _qr_svg(link) if rateable else "",
    }, status=status)


@login_required
@permission_required("analytics.view_dashboard", raise_exception=True)
def incentives(request: HttpRequest) -> HttpResponse:
    """The quarter's service star with its reasons, referrals per staff member, complaint-rate flags."""
    from django.utils.dateparse import parse_date

    from .incentives import COMPLAINT_RATE_THRESHOLD, incentives_for

    store = store_from_request(request)
    try:
        day = parse_date(request.GET.get("day", "") or "")
    except ValueError:
        day = None
    data = _call_scoped(incentives_for, user=request.user, store_id=store.pk, day=day)
    return render(request, "people/incentives.html", {"store": store, "r": data, "threshold": COMPLAINT_RATE_THRESHOLD})


def _call_scoped(fn: Any, **kwargs: Any) -> Any:
    from aftersales.common.errors import Forbidden, NotFound

    try:
        return fn(**kwargs)
    except (NotFound, Forbidden) as exc:
        raise Http404(str(exc.message)) from exc
