"""People screens (SPEC §20): the store's certificates (foreman, manager) with those expiring within 60 days, the
form to record one with its scan, the scan itself (scoped), and a person's own page (phone-sized)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
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
        "form": form, "can_add": can_add, "can_change": request.user.has_perm("staff.change_certification"),
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
        "card": selectors.my_scorecard_summary(request.user), "assignments": selectors.my_assignments(request.user),
        "gm_month": selectors.my_gm_month(request.user), "rewards": selectors.my_referral_rewards(request.user),
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
        "assignments": selectors.assignments_for(request.user, store),
    }, status=status)


@login_required
@permission_required("staff.change_certification", raise_exception=True)
def certificate_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One certificate: correct or renew it (new dates, number, scan), or withdraw it with a reason; its history."""
    from .forms import CertificationChangeForm

    cert = found(selectors.certification_get, request.user, pk)
    if cert.user_id == request.user.pk:
        raise PermissionDenied  # one's own certificate is changed by the manager (services._not_own)
    initial = {"issuer": cert.issuer, "level": cert.level, "number": cert.number, "valid_from": cert.valid_from,
               "valid_until": cert.valid_until}
    action = request.POST.get("action", "")
    form = CertificationChangeForm(request.POST if action == "change" else None,
                                   request.FILES if action == "change" else None, initial=initial)
    withdraw_error = ""
    status = 200
    if request.method == "POST":
        try:
            if action == "change":
                if not form.is_valid():
                    status = 422
                    raise _Invalid
                d = form.cleaned_data
                upload = d.get("scan")
                services.certification_update(
                    actor=request.user, certification=cert, issuer=d["issuer"], level=d["level"], number=d["number"],
                    valid_from=d["valid_from"], valid_until=d["valid_until"], reason=d["reason"],
                    scan=upload.read() if upload else None,
                )
                messages.success(request, _("Certificate saved."))
            elif action == "withdraw":
                services.certification_withdraw(actor=request.user, certification=cert,
                                                reason=request.POST.get("reason", ""))
                messages.success(request, _("Certificate withdrawn."))
            else:
                raise Http404
        except _Invalid:
            pass
        except DomainError as exc:
            status = exc.status if exc.status != 400 else 422
            if action == "withdraw":
                withdraw_error = str(exc.message)
            else:
                for err in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]:
                    form.add_error(err["field"] if err["field"] in form.fields else None, err["message"])
        else:
            return redirect("people:certificate", pk=cert.pk)
    cert.refresh_from_db()
    row = selectors.certificate_row(cert, selectors.local_today(None))
    return render(request, "people/certificate.html", {
        "row": row, "c": cert, "form": form, "withdraw_error": withdraw_error,
        "history": selectors.certification_history(cert),
        "store_id": request.GET.get("store", ""),
    }, status=status)


class _Invalid(Exception):
    pass


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

    from .incentives import COMPLAINT_TRAINING_TOPIC, incentives_for

    store = store_from_request(request)
    try:
        day = parse_date(request.GET.get("day", "") or "")
    except ValueError:
        day = None
    data = _call_scoped(incentives_for, user=request.user, store_id=store.pk, day=day)
    error, status = "", 200
    if request.method == "POST" and request.POST.get("do") == "pay":
        if not request.user.has_perm("people.add_referralreward"):
            raise PermissionDenied
        row = next((w for w in data.rewards if str(w.user.pk) == request.POST.get("person", "")), None)
        if row is None:
            raise Http404
        try:
            paid = services.referral_rewards_pay(actor=request.user, store=store, staff=row.user)
        except DomainError as exc:
            error, status = str(exc.message), (exc.status if exc.status != 400 else 422)
        else:
            messages.success(request, _("%(n)s referral rewards recorded as paid to %(name)s.")
                             % {"n": len(paid), "name": row.user})
            return redirect(request.get_full_path())
    elif request.method == "POST":
        if not request.user.has_perm("people.add_trainingassignment"):
            raise PermissionDenied
        flag = next((f for f in data.flags if str(f.user.pk) == request.POST.get("person", "")), None)
        if flag is None:
            raise Http404
        try:
            services.training_assign(
                actor=request.user, store=store, person=flag.user, topic=str(COMPLAINT_TRAINING_TOPIC),
                reason=_("%(c)s complaints / %(v)s visits = %(rate)s per 100 in %(p)s")
                % {"c": flag.complaints, "v": flag.visits, "rate": flag.rate, "p": data.scope.period.label},
                period_start=data.scope.period.start, due_on=request.POST.get("due_on", ""), source="complaints",
            )
        except DomainError as exc:
            error, status = str(exc.message), (exc.status if exc.status != 400 else 422)
        else:
            messages.success(request, _("Training assigned to %(name)s.") % {"name": flag.user})
            return redirect(request.get_full_path())
    return render(request, "people/incentives.html", {
        "store": store, "r": data, "threshold": data.settings.complaint_rate_threshold, "error": error,
        "can_assign": request.user.has_perm("people.add_trainingassignment"),
        "due_default": selectors.local_today(store) + dt.timedelta(days=30),
        "receptions": _receptions_now(request, store),
    }, status=status)


def _receptions_now(request: HttpRequest, store: Any) -> Any:
    if not request.user.has_perm("people.view_gmreception"):
        return None
    today = selectors.local_today(store)
    return _call_scoped(selectors.gm_receptions, user=request.user, store=store, year=today.year, month=today.month)


@login_required
@permission_required("people.view_peoplesettings", raise_exception=True)
def settings_page(request: HttpRequest) -> HttpResponse:
    """The store's complaint-rate threshold, referral reward, general manager and their monthly reception target."""
    from .forms import PeopleSettingsForm
    from .incentives import settings_for

    store = store_from_request(request)
    staff = _store_staff(store)
    row = settings_for(store)
    initial = {"complaint_rate_threshold": row.complaint_rate_threshold, "referral_reward": row.referral_reward,
               "general_manager": str(row.general_manager_id or ""), "gm_reception_target": row.gm_reception_target}
    form = PeopleSettingsForm(request.POST or None, staff=staff, initial=initial)
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("people.change_peoplesettings"):
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.people_settings_update(
                    actor=request.user, store=store, complaint_rate_threshold=d["complaint_rate_threshold"],
                    referral_reward=d["referral_reward"], gm_reception_target=d["gm_reception_target"],
                    general_manager=next((u for u in staff if str(u.pk) == d["general_manager"]), None),
                )
            except DomainError as exc:
                for err in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]:
                    form.add_error(err["field"] if err["field"] in form.fields else None, err["message"])
            else:
                messages.success(request, _("Saved."))
                return redirect(f"{reverse('people:settings')}?store={store.pk}")
        status = 422
    return render(request, "people/settings.html", {
        "store": store, "form": form, "can_change": request.user.has_perm("people.change_peoplesettings"),
    }, status=status)


def _call_scoped(fn: Any, **kwargs: Any) -> Any:
    from aftersales.common.errors import Forbidden, NotFound

    try:
        return fn(**kwargs)
    except (NotFound, Forbidden) as exc:
        raise Http404(str(exc.message)) from exc


def _month_from(request: HttpRequest, store: Any) -> tuple[int, int]:
    today = selectors.local_today(store)
    raw = request.GET.get("month", "")
    try:
        year, month = (int(x) for x in raw.split("-")) if raw else (today.year, today.month)
        dt.date(year, month, 1)
    except ValueError:
        year, month = today.year, today.month
    return year, month


def _shift(year: int, month: int, by: int) -> str:
    n = year * 12 + (month - 1) + by
    return f"{n // 12}-{n % 12 + 1:02d}"


@login_required
def receptions(request: HttpRequest) -> HttpResponse:
    """The general manager's receptions of a month against the target (≥ 10): the list and the form to log one.
    The store's general manager and those with ``people.view_gmreception`` see it."""
    from .incentives import settings_for

    store = store_from_request(request)
    rules = settings_for(store)
    is_gm = rules.general_manager_id == request.user.pk
    if not (is_gm or request.user.has_perm("people.view_gmreception")):
        raise PermissionDenied
    can_add = is_gm or request.user.has_perm("people.add_gmreception")
    error, status = "", 200
    if request.method == "POST":
        if not can_add:
            raise PermissionDenied
        raw = request.POST.get("handover", "")
        handover = found(selectors.handover_get, request.user, int(raw)) if raw.isdigit() else None
        try:
            services.gm_reception_record(actor=request.user, store=store, handover=handover,
                                         note=request.POST.get("note", ""))
        except DomainError as exc:
            error, status = str(exc.message), (exc.status if exc.status != 400 else 422)
        else:
            messages.success(request, _("Reception logged."))
            back = request.POST.get("next", "")
            if back.startswith("/reception/"):
                return redirect(back)
            return redirect(f"{reverse('people:receptions')}?store={store.pk}")
    year, month = _month_from(request, store)
    data = found(selectors.gm_receptions, request.user, store, year, month)
    taken = {r.handover_id for r in data.rows}
    return render(request, "people/receptions.html", {
        "store": store, "m": data, "error": error, "can_add": can_add,
        "visits": [h for h in selectors.recent_visits(store) if h.pk not in taken] if can_add else [],
        "prev": _shift(year, month, -1), "next": _shift(year, month, 1), "month_label": f"{year}-{month:02d}",
    }, status=status)


@login_required
@permission_required("people.view_servicemeeting", raise_exception=True)
def meeting(request: HttpRequest) -> HttpResponse:
    """The monthly customer-service meeting of a month: its agenda (the month's complaints, recoveries and low
    delivery ratings, one list with owners and status), the month's high-frequency issues from the feedback report,
    the meeting itself (date, attendees, cases shared, minutes) and the improvement actions — the feedback report's
    own list — with owner, due date, status and their effect."""
    from aftersales.feedback.choices import Category
    from aftersales.feedback.selectors import monthly_report

    store = store_from_request(request)
    staff = _store_staff(store)
    year, month = _month_from(request, store)
    current = selectors.meeting_for_month(request.user, store, year, month)
    agenda = selectors.meeting_agenda(request.user, store, year, month)
    errors: dict[str, str] = {}
    status = 200
    action = request.POST.get("action", "")
    if request.method == "POST":
        by_id = {str(u.pk): u for u in staff}
        cases = {str(i.case.pk): i.case for i in agenda if i.case is not None}
        try:
            if action == "meeting":
                services.meeting_record(
                    actor=request.user, store=store, held_on=request.POST.get("held_on", ""),
                    month=f"{year}-{month:02d}", minutes=request.POST.get("minutes", ""),
                    attendees=[by_id[i] for i in request.POST.getlist("attendees") if i in by_id],
                    cases=[cases[i] for i in request.POST.getlist("cases") if i in cases],
                )
            elif action == "minutes" and current is not None:
                services.meeting_update(actor=request.user, meeting=current, minutes=request.POST.get("minutes", ""),
                                        cases=[cases[i] for i in request.POST.getlist("cases") if i in cases])
            elif action == "add_action" and current is not None:
                services.meeting_action_add(
                    actor=request.user, meeting=current, category=request.POST.get("category", ""),
                    title=request.POST.get("title", ""), owner=by_id.get(request.POST.get("owner", "")),
                    due_on=request.POST.get("due_on", ""),
                )
            elif action == "action_status":
                raw = request.POST.get("improvement", "")
                target = found(selectors.improvement_action_get, request.user, int(raw) if raw.isdigit() else 0)
                services.meeting_action_status(actor=request.user, action=target, done=request.POST.get("done") == "1",
                                               effect=request.POST.get("effect", ""))
            else:
                raise Http404
        except DomainError as exc:
            for err in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]:
                errors.setdefault(err["field"] or "form", str(err["message"]))
            status = exc.status if exc.status != 400 else 422
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{reverse('people:meeting')}?store={store.pk}&month={year}-{month:02d}")
    report = _call_scoped(monthly_report, user=request.user, store=store, year=year, month=month) \
        if request.user.has_perm("feedback.view_feedback_report") else None
    shared = {c.pk for c in current.cases.all()} if current else set()
    return render(request, "people/meeting.html", {
        "store": store, "staff": staff, "meeting": current, "agenda": agenda, "report": report,
        "actions": selectors.meeting_actions(store), "errors": errors, "action": action, "posted": request.POST,
        "shared": shared, "categories": Category.choices, "month_label": f"{year}-{month:02d}",
        "prev": _shift(year, month, -1), "next": _shift(year, month, 1),
        "today": selectors.local_today(store), "can_change": request.user.has_perm("people.change_servicemeeting"),
        "can_add": request.user.has_perm("people.add_servicemeeting"),
        "open_items": sum(1 for i in agenda if i.open),
    }, status=status)
