"""Staff screens: the care calendar (what is due today and this week, by type, with the action taken and buttons
to record one) and the playbooks and campaigns with their results. Thin views: selectors read, services write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError
from aftersales.common.scoping import visible_store_ids
from aftersales.common.views import found, store_from_request

from . import selectors, services
from .choices import REMINDER_ACTIONS, ReminderKind, ReminderStatus
from .forms import PlaybookForm, ReminderActionForm, StepForm
from .models import PlaybookStep


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name", "id"))


def _today(store: Any) -> dt.date:
    return timezone.localtime(timezone.now(), store.zone).date()


@login_required
@permission_required("care.view_reminder", raise_exception=True)
def calendar(request: HttpRequest) -> HttpResponse:
    user = request.user
    store = store_from_request(request)
    today = _today(store)
    day = parse_date(request.GET.get("date") or "") or today
    kind = request.GET.get("kind") or ""
    if kind not in ReminderKind.values:
        kind = ""
    week_end = day + dt.timedelta(days=6)
    week = list(selectors.reminders_for(user, store=store, start=day, end=week_end, kind=kind))
    due_today = [r for r in week if r.due_date == day]
    overdue = list(selectors.reminders_overdue(user, store=store, day=day).filter(**({"kind": kind} if kind else {})))
    sent_today = list(selectors.reminders_sent_on(user, store=store, day=day))
    coverage = selectors.first_service_coverage(user, store=store, start=day - dt.timedelta(days=30), end=day)
    return render(request, "care/calendar.html", {
        "store": store, "stores": _stores(user), "day": day, "today": today, "week_end": week_end, "kind": kind,
        "kinds": ReminderKind.choices, "week": week, "due_today": due_today, "overdue": overdue, "sent_today": sent_today,
        "by_kind": selectors.counts_by_kind(selectors.reminders_for(user, store=store, start=day, end=week_end)),
        "coverage": coverage, "can_act": user.has_perm("care.change_reminder"), "open_states": (
            ReminderStatus.DUE, ReminderStatus.SENT, ReminderStatus.CALLED),
        "prev": day - dt.timedelta(days=7), "next": day + dt.timedelta(days=7),
        "run_card": _run_card(user, store, "reminders"),
    })


@require_POST
@login_required
@permission_required("care.change_reminder", raise_exception=True)
def reminder_action(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = found(selectors.reminder_get, request.user, pk)
    form = ReminderActionForm(request.POST)
    nxt = request.POST.get("next") or ""
    if form.is_valid():
        try:
            services.reminder_record_action(actor=request.user, reminder=reminder, action=form.cleaned_data["action"],
                                            note=form.cleaned_data.get("note", ""))
            messages.success(request, _("Action recorded."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
    else:
        messages.error(request, _("Choose an action."))
    if nxt.startswith("/") and not nxt.startswith("//"):
        return redirect(nxt)
    return redirect(f"/care/?store={reminder.store_id}")


# ---- playbooks and campaigns ---------------------------------------------------------------------------------------
@login_required
@permission_required("care.view_playbook", raise_exception=True)
def playbook_list(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    rows = [{"p": p, "r": services.playbook_results(p)} for p in selectors.playbooks_for(request.user, store=store)]
    return render(request, "care/playbooks.html", {
        "store": store, "stores": _stores(request.user), "rows": rows,
        "can_change": request.user.has_perm("care.change_playbook"), "run_card": _run_card(request.user, store, "playbooks"),
    })


def _initial(p: Any) -> dict[str, Any]:
    fields = PlaybookForm.base_fields
    out = {name: getattr(p, name) for name in fields}
    if p.starts_at:
        out["starts_at"] = timezone.localtime(p.starts_at, p.store.zone).replace(tzinfo=None)
    return out


@login_required
@permission_required("care.change_playbook", raise_exception=True)
def playbook_new(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    campaign = request.GET.get("campaign") == "1" or request.POST.get("campaign") == "1"
    initial = {"trigger": "scheduled" if campaign else "date_event", "holdout_percent": 10, "measure_days": 90,
               "stop_on_booked": True, "stop_on_visited": True, "stop_on_opt_out": True}
    form = PlaybookForm(request.POST or None, initial=initial, store=store)
    if request.method == "POST" and form.is_valid():
        data = _aware(form.cleaned(), store)
        try:
            p = services.playbook_save(actor=request.user, store=store, data=data, is_campaign=campaign)
            return redirect("care:playbook", p.pk)
        except DomainError as exc:
            form.add_domain_error(exc)
    return render(request, "care/playbook_form.html", {"store": store, "form": form, "campaign": campaign})


def _aware(data: dict[str, Any], store: Any) -> dict[str, Any]:
    if data.get("starts_at") is not None and timezone.is_naive(data["starts_at"]):
        data["starts_at"] = data["starts_at"].replace(tzinfo=store.zone)
    return data


@login_required
@permission_required("care.view_playbook", raise_exception=True)
def playbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    p = found(selectors.playbook_get, request.user, pk)
    form = PlaybookForm(request.POST or None, initial=_initial(p), store=p.store)
    if request.method == "POST":
        if not request.user.has_perm("care.change_playbook"):
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                services.playbook_save(actor=request.user, store=p.store, playbook=p, data=_aware(form.cleaned(), p.store))
                messages.success(request, _("Playbook saved."))
                return redirect("care:playbook", p.pk)
            except DomainError as exc:
                form.add_domain_error(exc)
    return _detail(request, p, form=form, step_form=StepForm(store=p.store))


def _step_rows(p: Any) -> list[dict[str, Any]]:
    """Each step in words: the message by its name (never its code) and the voucher by the template's name."""
    from aftersales.messaging.kinds import KINDS

    steps = list(p.steps.order_by("seq"))
    names: dict[int, str] = {}
    ids = {s.voucher_template_id for s in steps if s.voucher_template_id}
    if ids:
        from django.apps import apps

        if apps.is_installed("aftersales.loyalty"):
            template_model = apps.get_model("loyalty", "VoucherTemplate")
            from aftersales.common.templatetags.aftersales import localized

            names = {t.pk: localized(t, "name") for t in template_model.objects.filter(pk__in=ids)}
    return [{"s": s, "message": str(KINDS[s.message_kind].label) if s.message_kind in KINDS else s.message_kind,
             "voucher": names.get(s.voucher_template_id or 0, "")} for s in steps]


def _detail(request: HttpRequest, p: Any, *, form: Any, step_form: Any, status: int = 200) -> HttpResponse:
    enrolments = list(selectors.enrolments_for(request.user, p)[:50])
    return render(request, "care/playbook.html", {
        "p": p, "store": p.store, "form": form, "step_form": step_form, "steps": _step_rows(p),
        "r": services.playbook_results(p), "enrolments": enrolments, "can_change": request.user.has_perm("care.change_playbook"),
    }, status=status)


@require_POST
@login_required
@permission_required("care.change_playbook", raise_exception=True)
def playbook_activate(request: HttpRequest, pk: int) -> HttpResponse:
    p = found(selectors.playbook_get, request.user, pk)
    try:
        services.playbook_activate(actor=request.user, playbook=p)
        messages.success(request, _("Playbook switched on."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("care:playbook", p.pk)


@require_POST
@login_required
@permission_required("care.change_playbook", raise_exception=True)
def playbook_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    p = found(selectors.playbook_get, request.user, pk)
    services.playbook_deactivate(actor=request.user, playbook=p)
    messages.success(request, _("Playbook switched off."))
    return redirect("care:playbook", p.pk)


@require_POST
@login_required
@permission_required("care.change_playbook", raise_exception=True)
def step_add(request: HttpRequest, pk: int) -> HttpResponse:
    p = found(selectors.playbook_get, request.user, pk)
    step_form = StepForm(request.POST, store=p.store)
    if step_form.is_valid():
        d = step_form.cleaned_data
        try:
            services.playbook_step_add(
                actor=request.user, playbook=p, kind=d["kind"], message_kind=d.get("message_kind") or "",
                channel=d.get("channel") or "", text=d.get("text") or "", wait_days=d.get("wait_days") or 0,
                call_target=d.get("call_target") or "", voucher_template_id=d.get("voucher_template_id"),
            )
            return redirect("care:playbook", p.pk)
        except DomainError as exc:
            step_form.add_domain_error(exc)
    return _detail(request, p, form=PlaybookForm(initial=_initial(p), store=p.store), step_form=step_form, status=422)


@require_POST
@login_required
@permission_required("care.change_playbook", raise_exception=True)
def step_delete(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    p = found(selectors.playbook_get, request.user, pk)
    step = PlaybookStep.objects.filter(playbook=p, pk=step_pk).first()
    if step is not None:
        services.playbook_step_delete(actor=request.user, step=step)
    return redirect("care:playbook", p.pk)


__all__ = ["REMINDER_ACTIONS"]


# ---- "run now" ------------------------------------------------------------------------------------------------------
def _run_card(user: Any, store: Any, kind: str) -> dict[str, Any]:
    """What the "run now" card of a page needs: may this user start it, and the latest run for the store."""
    from . import runs

    latest = runs.runs_for(user, store=store, kind=kind).first()
    return {"kind": kind, "store": store, "latest": latest, "can_run": user.has_perm(runs.RUN_PERMISSIONS[kind])}


@login_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    from . import runs

    store = store_from_request(request)
    kind = request.POST.get("kind", "")
    try:
        run = runs.run_request(actor=request.user, store=store, kind=kind)
    except DomainError as exc:
        if exc.status == 403:
            return HttpResponse(status=403)
        messages.error(request, str(exc.message))
        return redirect(f"/care/?store={store.pk}")
    return redirect("care:run", run.pk)


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from . import runs
    from .choices import RunStatus

    run = found(runs.run_get, request.user, pk)
    running = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    template = "care/_run_progress.html" if request.headers.get("HX-Request") else "care/run.html"
    return render(request, template, {"run": run, "running": running})
