"""Screens of the follow-up and feedback loop. Staff: the case queue sorted by time left, a case with its timers,
timeline and actions, the call-centre's follow-up list and script, the monthly report, the routing table.
Public (no login): the survey page behind a signed link, and the complaint/suggestion form with photos.
Thin views: selectors read, services write, domain errors land inline on the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, Forbidden, NotFound
from aftersales.common.scoping import visible_store_ids
from aftersales.common.views import found, store_from_request

from . import selectors, services
from .choices import QUESTIONS, CaseKind, CaseStatus, Category, FollowUpStatus, TimerKind
from .forms import ActionForm, CategoryForm, PublicCaseForm, ScoresForm, StaffCaseForm, TransitionForm
from .models import FollowUp


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name", "id"))


def _apply(form: Any, call: Any) -> Any:
    """Run a service; a domain error goes on the form's field (or the form), a permission error is a 403."""
    try:
        return call()
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from exc
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except DomainError as exc:
        field = exc.field if form is not None and exc.field in form.fields else None
        if form is not None:
            form.add_error(field, str(exc.message))
        return None


def _left(due: dt.datetime | None, now: dt.datetime) -> dict[str, Any]:
    if due is None:
        return {"tone": "muted", "minutes": None}
    minutes = int((due - now).total_seconds() // 60)
    return {"tone": "bad" if minutes < 0 else ("warn" if minutes < 120 else "ok"), "minutes": minutes,
            "hours": round(abs(minutes) / 60, 1)}


# ---- the queue -------------------------------------------------------------------------------------------------
@login_required
@permission_required("feedback.view_feedbackcase", raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    store = store_from_request(request)
    kind = request.GET.get("kind", "")
    kind = kind if kind in CaseKind.values else ""
    mine = request.GET.get("mine") == "1"
    show_all = request.GET.get("all") == "1"
    now = timezone.now()
    rows = list(selectors.case_queue(user, store=store, open_only=not show_all, kind=kind, mine=mine)[:200])
    for case in rows:
        case.left = _left(case.next_due, now)
    due_followups = selectors.followup_queue(user, store=store).filter(due_at__lte=now).count() if user.has_perm("feedback.view_followup") else 0
    return render(request, "feedback/queue.html", {
        "store": store, "stores": _stores(user), "rows": rows, "kind": kind, "mine": mine, "show_all": show_all,
        "kinds": CaseKind.choices, "due_followups": due_followups,
    })


@login_required
@permission_required("feedback.add_feedbackcase", raise_exception=True)
def case_new(request: HttpRequest) -> HttpResponse:
    from aftersales.common.validators import normalize_mobile
    from aftersales.customers.models import Customer
    from aftersales.workshop.selectors import orders_visible_to

    user = request.user
    store = store_from_request(request)
    form = StaffCaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer = vehicle = order = None
        if data["order_number"]:
            order = orders_visible_to(user).filter(store=store, number=data["order_number"].strip().upper()).first()
            if order is None:
                form.add_error("order_number", _("No repair order with this number at this store."))
        if data["mobile"]:
            mobile = _apply(form, lambda: normalize_mobile(data["mobile"], "mobile"))
            if mobile:
                customer = Customer.objects.filter(group_id=store.group_id, mobile=mobile).first()
                if customer is None:
                    form.add_error("mobile", _("No customer with this mobile number."))
        if customer is not None and data["plate"]:
            vehicle = customer.vehicles.filter(plate__iexact=data["plate"].strip()).first()
            if vehicle is None:
                form.add_error("plate", _("The customer has no vehicle with this plate."))
        if not form.errors:
            case = _apply(form, lambda: services.case_create(
                actor=user, store=store, kind=data["kind"], channel=data["channel"], text=data["text"], customer=customer,
                vehicle=vehicle, order=order, contact_name=data["contact_name"],
            ))
            if case is not None:
                messages.success(request, _("Case #%(n)s recorded: %(c)s, owner %(o)s.") % {
                    "n": case.pk, "c": case.get_category_display(), "o": case.owner or "—"})
                return redirect("feedback:case_detail", pk=case.pk)
    return render(request, "feedback/case_new.html", {"form": form, "store": store, "stores": _stores(user)})


@login_required
@permission_required("feedback.view_feedbackcase", raise_exception=True)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = found(selectors.case_get, request.user, pk)
    return _render_case(request, case)


def _render_case(request: HttpRequest, case: Any, *, transition_form: Any = None, error: str = "", status: int = 200) -> HttpResponse:
    from aftersales.feedback.choices import CASE_TRANSITIONS

    now = timezone.now()
    timers = selectors.case_timers(case)
    for timer in timers:
        timer.left = _left(timer.due_at if timer.met_at is None else None, now)
    moves = [(to, CaseStatus(to).label) for to in CaseStatus.values if to in CASE_TRANSITIONS.get(case.status, set())]
    return render(request, "feedback/case_detail.html", {
        "case": case, "timers": timers, "events": selectors.case_timeline(case), "moves": moves,
        "photos": list(case.photos.all()), "category_form": CategoryForm(initial={"category": case.category}),
        "transition_form": transition_form or TransitionForm(), "error": error, "store": case.store,
        "is_reopen": case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED),
    }, status=status)


@login_required
@require_POST
@permission_required("feedback.change_feedbackcase", raise_exception=True)
def case_action(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    case = found(selectors.case_get, user, pk)
    action = request.POST.get("action", "")
    form = TransitionForm(request.POST)
    if action == "move" and form.is_valid():
        data = form.cleaned_data
        adopted = {"yes": True, "no": False}.get(data["adopted"])
        done = _apply(form, lambda: services.case_transition(actor=user, case=case, to=data["to"], reason=data["reason"],
                                                                resolution=data["resolution"], adopted=adopted, reaction=data["reaction"]))
        if done is None:
            return _render_case(request, case, transition_form=form, status=422)
    elif action in ("contact", "note", "pause"):
        text = request.POST.get("note", "")
        call = {
            "contact": lambda: services.case_record_contact(actor=user, case=case, note=text),
            "note": lambda: services.case_add_note(actor=user, case=case, note=text),
            "pause": lambda: services.case_pause(actor=user, case=case, reason=text),
        }[action]
        try:
            call()
        except Forbidden as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except DomainError as exc:
            return _render_case(request, case, error=str(exc.message), status=422)
    elif action == "resume":
        _apply(None, lambda: services.case_resume(actor=user, case=case))
    elif action == "label":
        category = CategoryForm(request.POST)
        if category.is_valid():
            _apply(None, lambda: services.case_relabel(actor=user, case=case, category=category.cleaned_data["category"]))
    else:
        return _render_case(request, case, error=_("Unknown action."), status=400)
    return redirect("feedback:case_detail", pk=case.pk)


@login_required
@permission_required("feedback.view_feedbackcase", raise_exception=True)
def case_photo(request: HttpRequest, pk: int, photo_id: int) -> HttpResponse:
    """A case's photo, served only to staff who may see the case (customers' photos are not public files)."""
    from django.http import FileResponse

    case = found(selectors.case_get, request.user, pk)
    photo = case.photos.filter(pk=photo_id).first()
    if photo is None:
        raise Http404
    return FileResponse(photo.image.open("rb"), content_type=photo.content_type)


# ---- follow-ups ---------------------------------------------------------------------------------------------------
@login_required
@permission_required("feedback.view_followup", raise_exception=True)
def followups(request: HttpRequest) -> HttpResponse:
    user = request.user
    store = store_from_request(request)
    status = request.GET.get("status", FollowUpStatus.OPEN)
    status = status if status in FollowUpStatus.values else FollowUpStatus.OPEN
    now = timezone.now()
    rows = list(selectors.followup_queue(user, store=store, status=status)[:200])
    for f in rows:
        f.state = "overdue" if now >= f.overdue_at else ("due" if now >= f.due_at else "later")
    start = dt.datetime.combine(timezone.localtime(now, store.zone).date().replace(day=1), dt.time(0), tzinfo=store.zone)
    figures = selectors.csat_nps(user=user, store=store, start=start, end=now + dt.timedelta(seconds=1))
    return render(request, "feedback/followups.html", {
        "store": store, "stores": _stores(user), "rows": rows, "status": status, "statuses": FollowUpStatus.choices,
        "figures": figures,
    })


@login_required
@permission_required("feedback.view_followup", raise_exception=True)
def followup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    followup = found(selectors.followup_get, user, pk)
    form = ScoresForm(request.POST or None)
    if request.method == "POST":
        if not user.has_perm("feedback.change_followup"):
            raise PermissionDenied
        if request.POST.get("action") == "not_reached":
            _apply(None, lambda: services.followup_record_attempt(actor=user, followup=followup, note=request.POST.get("note", "")))
            messages.info(request, _("Attempt recorded."))
            return redirect("feedback:followups")
        if form.is_valid():
            data = form.cleaned_data
            done = _apply(form, lambda: services.followup_answer(followup=followup, scores=data, suggestions=data["suggestions"], actor=user))
            if done is not None:
                messages.success(request, _("Answers recorded."))
                return redirect("feedback:followups")
    cases = list(followup.cases.all()) if followup.status == FollowUpStatus.ANSWERED else []
    return render(request, "feedback/followup_detail.html", {
        "f": followup, "form": form, "store": followup.store, "questions": QUESTIONS, "cases": cases,
        "events": list(followup.events.select_related("actor")), "scores": _score_rows(followup),
    }, status=422 if form.errors else 200)


def _score_rows(followup: FollowUp) -> list[tuple[str, int | None]]:
    return [(str(label), getattr(followup, f"score_{code}")) for code, label, _c in QUESTIONS]


# ---- report, routing ------------------------------------------------------------------------------------------------
@login_required
@permission_required("feedback.view_feedback_report", raise_exception=True)
def report(request: HttpRequest) -> HttpResponse:
    from aftersales.staff.models import User

    user = request.user
    store = store_from_request(request)
    today = timezone.localtime(timezone.now(), store.zone).date()
    raw = request.GET.get("month", "")
    try:
        year, month = (int(x) for x in raw.split("-")) if raw else (today.year, today.month)
        dt.date(year, month, 1)
    except ValueError:
        year, month = today.year, today.month
    staff = list(User.objects.filter(memberships__store=store, is_active=True).distinct().order_by("display_name", "id"))
    form = ActionForm(request.POST or None, staff=staff, initial={"start_date": today})
    if request.method == "POST":
        if not user.has_perm("feedback.add_improvementaction"):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            owner = next((u for u in staff if str(u.pk) == data["owner"]), None)
            done = _apply(form, lambda: services.improvement_action_create(
                actor=user, store=store, category=data["category"], title=data["title"], owner=owner, start_date=data["start_date"]))
            if done is not None:
                messages.success(request, _("Improvement action recorded."))
                return redirect(f"{request.path}?store={store.pk}&month={year}-{month:02d}")
    data = selectors.monthly_report(user=user, store=store, year=year, month=month)
    prev = (year - 1, 12) if month == 1 else (year, month - 1)
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return render(request, "feedback/report.html", {
        "r": data, "store": store, "stores": _stores(user), "form": form, "prev": f"{prev[0]}-{prev[1]:02d}",
        "next": f"{nxt[0]}-{nxt[1]:02d}", "timer_kinds": TimerKind.choices,
        "sla_rows": [(TimerKind(k).label, v) for k, v in data["sla_by_kind"].items() if v["total"]],
    }, status=422 if form.errors else 200)


@login_required
@permission_required("feedback.change_routingrule", raise_exception=True)
def routing(request: HttpRequest) -> HttpResponse:
    from aftersales.staff.models import User

    from .models import RoutingRule

    user = request.user
    store = store_from_request(request)
    staff = list(User.objects.filter(memberships__store=store, is_active=True).distinct().order_by("display_name", "id"))
    if request.method == "POST":
        for code in Category.values:
            raw = request.POST.get(f"owner_{code}", "")
            owner = next((u for u in staff if str(u.pk) == raw), None)
            current = RoutingRule.objects.filter(store=store, category=code).values_list("owner_id", flat=True).first()
            if (owner.pk if owner else None) != current:
                _apply(None, lambda code=code, owner=owner: services.routing_set(actor=user, store=store, category=code, owner=owner))
        messages.success(request, _("Routing saved."))
        return redirect(f"{request.path}?store={store.pk}")
    rules = dict(RoutingRule.objects.filter(store=store).values_list("category", "owner_id"))
    managers = services.store_managers(store)
    rows = [{"code": c, "label": Category(c).label, "owner_id": rules.get(c)} for c in Category.values]
    return render(request, "feedback/routing.html", {
        "store": store, "stores": _stores(user), "rows": rows, "staff": staff, "default_owner": managers[0] if managers else None,
    })


# ---- public pages ---------------------------------------------------------------------------------------------------
def _public_language(request: HttpRequest, default: str = "zh-hans") -> str:
    raw = request.POST.get("lang") or request.GET.get("lang") or default
    return "en" if raw == "en" else "zh-hans"


def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's survey page (no login). One answer per order; expired and tampered links say so."""
    followup = services.followup_from_token(token)
    language = _public_language(request, getattr(getattr(followup, "customer", None), "language", "") or "zh-hans")
    with translation.override(language):
        context: dict[str, Any] = {"language": language, "token": token, "questions": QUESTIONS}
        if followup is None:
            return render(request, "feedback/survey.html", {**context, "state": "invalid"}, status=404)
        context.update({"f": followup, "store": followup.store,
                        "delivered": timezone.localtime(followup.delivered_at, followup.store.zone)})
        if followup.status == FollowUpStatus.ANSWERED:
            return render(request, "feedback/survey.html", {**context, "state": "answered"}, status=410 if request.method == "POST" else 200)
        if followup.status != FollowUpStatus.OPEN or (followup.expires_at and timezone.now() > followup.expires_at):
            return render(request, "feedback/survey.html", {**context, "state": "expired"}, status=410)
        form = ScoresForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            done = _apply(form, lambda: services.followup_answer(followup=followup, scores=data, suggestions=data["suggestions"]))
            if done is not None:
                return render(request, "feedback/survey.html", {**context, "state": "thanks"})
            if followup.status != FollowUpStatus.OPEN or FollowUp.objects.filter(pk=followup.pk, status=FollowUpStatus.ANSWERED).exists():
                return render(request, "feedback/survey.html", {**context, "state": "answered"}, status=410)
        return render(request, "feedback/survey.html", {**context, "state": "form", "form": form}, status=422 if form.errors else 200)


PUBLIC_POSTS_PER_ADDRESS = 20  # form posts per hour from one address
PUBLIC_CASES_PER_MOBILE = 5  # cases per day for one mobile number


def _mobile_key(mobile: str) -> str:
    digits = "".join(c for c in mobile if c.isdigit())
    return digits[-11:]  # the same number however it is written (+86, spaces, dashes)


def public_form(request: HttpRequest, store_id: int) -> HttpResponse:
    """The portal/app complaint and suggestion form (no login), with photos."""
    from aftersales.stores.models import Store

    store = Store.objects.filter(pk=store_id, is_active=True).first()
    if store is None:
        raise Http404
    from aftersales.common import throttle

    # no customer known: the visitor's language (a signed-in member of staff's setting, else the browser's), ?lang first
    language = _public_language(request, getattr(request, "LANGUAGE_CODE", "") or "zh-hans")
    with translation.override(language):
        form = PublicCaseForm(request.POST or None, request.FILES or None)
        if request.method == "POST":
            ip = throttle.client_ip(request)
            try:  # an open form: a limit per address (any outcome) and per mobile number (cases opened)
                throttle.check("feedback-ip", ip, limit=PUBLIC_POSTS_PER_ADDRESS, window=3600)
                throttle.record("feedback-ip", ip, window=3600)
                if form.is_valid():
                    throttle.check("feedback-mobile", _mobile_key(form.cleaned_data["mobile"]), limit=PUBLIC_CASES_PER_MOBILE,
                                   window=86400, field="mobile")
            except throttle.TooManyRequests as exc:
                form.is_valid()
                form.add_error(None, str(exc.message))
                response = render(request, "feedback/public_form.html", {"store": store, "language": language, "form": form},
                                  status=429)
                response["Retry-After"] = str(exc.extra["retry_after"])
                return response
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            case = _apply(form, lambda: services.case_submit_public(
                store=store, kind=data["kind"], text=data["text"], name=data["name"], mobile=data["mobile"], plate=data["plate"],
                photos=data["photos"]))
            if case is not None:
                throttle.record("feedback-mobile", _mobile_key(data["mobile"]), window=86400)
                return render(request, "feedback/public_form.html", {"store": store, "language": language, "case": case})
        return render(request, "feedback/public_form.html", {"store": store, "language": language, "form": form},
                      status=422 if form.errors else 200)
