"""Staff screens of the workshop floor: the live board (htmx refresh), the dispatch page with the ranked suggestion,
the technician's phone page (Start / Pause / Finish), parts issued to a job, and the hours / progress report.
Thin views: selectors read, services write; a refusal is shown beside the field it concerns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, Problems, ValidationFailed
from aftersales.common.scoping import visible_store_ids
from aftersales.common.views import found, store_from_request

from . import floor_selectors as sel
from . import floor_services as fs
from .selectors import order_get

BOARD_REFRESH_SECONDS = 20


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name", "id"))


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _error(exc: DomainError, known: tuple[str, ...] = (), **where: Any) -> dict[str, Any]:
    """The refusal for a template: the first problem (``field``/``message``), every problem by field (``fields``) and
    those for no field of the form (``other``, given the form's ``known`` fields), so every bad field shows at once."""
    fields: dict[str, str] = {}
    other: list[str] = []
    for item in exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]:
        field, message = str(item.get("field") or ""), str(item.get("message", ""))
        if field in known:
            fields.setdefault(field, message)
        else:
            other.append(message)
    return {"field": exc.field, "message": str(exc.message), "fields": fields, "other": other, **where}


def _quantity_shape(value: Any) -> None:
    """A quantity checked before its part is known: a number above zero."""
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValidationFailed("quantity_format", _("Enter a quantity such as 2 or 1.5."), "quantity")
    if number <= 0:
        raise ValidationFailed("quantity_not_positive", _("The quantity must be more than zero."), "quantity")


# ---- the board ----------------------------------------------------------------------------------------------------
def _board_context(request: HttpRequest, store: Any, form_error: dict[str, Any] | None = None) -> dict[str, Any]:
    board = sel.board_for(request.user, store)
    for row in board.orders:
        row.suggested_text = sel.suggested_update_text(row.order, row.jobs)  # type: ignore[attr-defined]
        row.promised_local = timezone.localtime(row.order.promised_at, store.zone) if row.order.promised_at else None  # type: ignore[attr-defined]
        row.last_update_local = timezone.localtime(row.order.last_public_update_at or row.order.opened_at, store.zone)  # type: ignore[attr-defined]
    return {"board": board, "store": store, "stores": _stores(request.user), "refresh": BOARD_REFRESH_SECONDS,
            "form_error": form_error or {}, "now_local": timezone.localtime(board.now, store.zone)}


@login_required
@permission_required("workshop.change_repairjob", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    return render(request, "workshop/board.html", _board_context(request, store))


@login_required
@permission_required("workshop.change_repairjob", raise_exception=True)
def board_live(request: HttpRequest) -> HttpResponse:
    """The board's body, fetched by htmx every few seconds."""
    store = store_from_request(request)
    return render(request, "workshop/_board.html", _board_context(request, store))


def _order_action(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    """Run an order action from the board; on a refusal the board shows the message beside the order's field."""
    order = found(order_get, request.user, pk)
    try:
        action(order)
    except DomainError as exc:
        context = _board_context(request, order.store, _error(exc, order=order.pk))
        return render(request, "workshop/board.html", context, status=422 if isinstance(exc, ValidationFailed) else 409)
    return redirect(_next(request, f"{reverse('workshop:board')}?store={order.store_id}#order-{order.pk}"))


@login_required
@require_POST
def public_note(request: HttpRequest, pk: int) -> HttpResponse:
    def act(order: Any) -> None:
        fs.public_update_add(actor=request.user, order=order, text=request.POST.get("text", ""))
        messages.success(request, _("Update sent to the customer's status page."))

    return _order_action(request, pk, act)


@login_required
@require_POST
def progress_messages(request: HttpRequest, pk: int) -> HttpResponse:
    from .services import order_set_progress_messages

    def act(order: Any) -> None:
        order_set_progress_messages(actor=request.user, order=order, enabled=request.POST.get("enabled") == "1")

    return _order_action(request, pk, act)


@login_required
@require_POST
def promised(request: HttpRequest, pk: int) -> HttpResponse:
    def act(order: Any) -> None:
        fs.order_set_promised(actor=request.user, order=order, promised_at=request.POST.get("promised_at", "").replace("T", " "))

    return _order_action(request, pk, act)


@login_required
@require_POST
def waiting_parts(request: HttpRequest, pk: int) -> HttpResponse:
    def act(order: Any) -> None:
        if request.POST.get("waiting") == "1":
            fs.order_wait_for_parts(actor=request.user, order=order, reason=request.POST.get("reason", ""))
        else:
            fs.order_parts_arrived(actor=request.user, order=order)

    return _order_action(request, pk, act)


# ---- dispatch -----------------------------------------------------------------------------------------------------
@login_required
@permission_required("workshop.dispatch_repairjob", raise_exception=True)
def dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.appointments.models import Bay

    job = found(sel.job_get, request.user, pk)
    error: dict[str, Any] = {}
    chosen = {"technician": request.POST.get("technician", ""), "bay": request.POST.get("bay", "")}
    if request.method == "POST":
        try:
            fs.job_dispatch(actor=request.user, job=job, technician=chosen["technician"], bay=chosen["bay"],
                            reason=request.POST.get("reason", ""), override=request.POST.get("override") == "1")
        except DomainError as exc:
            error = _error(exc, ("technician", "bay", "reason", "override"))
        else:
            messages.success(request, _("Job dispatched."))
            return redirect(_next(request, f"{reverse('workshop:board')}?store={job.order.store_id}#order-{job.order_id}"))
    suggestions = sel.dispatch_suggestions(request.user, job)
    bays = list(Bay.objects.filter(store_id=job.order.store_id, is_active=True).order_by("name", "id"))
    if not chosen["technician"]:
        chosen["technician"] = str(next((s.technician.pk for s in suggestions if s.eligible), ""))
    if not chosen["bay"]:
        chosen["bay"] = str(job.bay_id or sel.suggested_bay_id(job) or "")
    from aftersales.staff.models import Certificate, Skill

    skill = str(Skill(job.required_skill).label) if job.required_skill in Skill.values else job.required_skill
    certificate = (
        str(Certificate(job.required_certificate).label) if job.required_certificate in Certificate.values
        else job.required_certificate
    )
    return render(request, "workshop/dispatch.html", {
        "job": job, "skill": skill, "certificate": certificate,
        "can_override": request.user.has_perm("staff.override_certification"),
        "override": request.POST.get("override") == "1", "order": job.order, "suggestions": suggestions, "bays": bays, "chosen": chosen, "error": error,
        "next": _next(request, ""),
    }, status=422 if error else 200)


# ---- the technician's phone ------------------------------------------------------------------------------------------
@login_required
@permission_required("workshop.clock_repairjob", raise_exception=True)
def my_jobs(request: HttpRequest) -> HttpResponse:
    return _my_jobs_page(request)


FAST_FINISH_SHARE = Decimal("0.2")
FAST_FINISH_MIN_HOURS = Decimal("0.5")


def _my_jobs_page(request: HttpRequest, error: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    rows = sel.my_jobs(request.user)
    return render(request, "workshop/my_jobs.html", {
        "rows": rows, "open_entry": sel.open_entry_for(request.user), "error": error or {},
    }, status=status)


def _clock_action(request: HttpRequest, action: Any) -> HttpResponse:
    try:
        action()
    except DomainError as exc:
        return _my_jobs_page(request, _error(exc, job=int(request.POST.get("job") or 0)), status=409)
    return redirect("workshop:my_jobs")


@login_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    job = found(sel.job_get, request.user, pk)
    return _clock_action(request, lambda: fs.clock_on(actor=request.user, job=job))


@login_required
@require_POST
def pause(request: HttpRequest) -> HttpResponse:
    return _clock_action(request, lambda: fs.clock_off(actor=request.user))


@login_required
@require_POST
def finish(request: HttpRequest, pk: int) -> HttpResponse:
    """Finish a job; finishing in under a fifth of its standard time (of at least half an hour) asks first."""
    job = found(sel.job_get, request.user, pk)
    if request.POST.get("confirm_fast") != "1":
        row = next((r for r in sel.my_jobs(request.user) if r.job.pk == job.pk), None)
        if row is not None and row.standard >= FAST_FINISH_MIN_HOURS and row.worked < row.standard * FAST_FINISH_SHARE:
            return _my_jobs_page(request, {
                "job": job.pk, "fast": True,
                "message": _("Only %(w)s h worked against %(s)s h standard. Is the job really finished?")
                % {"w": row.worked, "s": row.standard},
            }, status=409)
    return _clock_action(request, lambda: fs.job_finish(actor=request.user, job=job))


@login_required
@require_POST
def my_waiting_parts(request: HttpRequest, pk: int) -> HttpResponse:
    job = found(sel.job_get, request.user, pk)

    def act() -> None:
        if request.POST.get("waiting") == "1":
            fs.order_wait_for_parts(actor=request.user, order=job.order, reason=request.POST.get("reason", ""))
        else:
            fs.order_parts_arrived(actor=request.user, order=job.order)

    return _clock_action(request, act)


# ---- parts issued to a job --------------------------------------------------------------------------------------------
@login_required
@permission_required("parts.add_stockmovement", raise_exception=True)
def job_parts(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.parts.models import Batch
    from aftersales.parts.selectors import parts_visible_to
    from aftersales.parts.services import parse_quantity

    job = found(sel.job_get, request.user, pk)
    error: dict[str, Any] = {}
    values = {k: request.POST.get(k, "") for k in ("part", "quantity", "batch", "reason", "direction")}
    if request.method == "POST":
        try:
            problems = Problems()  # an unknown part, a bad quantity and an unknown batch are said together
            part = parts_visible_to(request.user).filter(number__iexact=values["part"].strip()).first()
            if part is None:
                problems.add("part_unknown", _("Unknown part number “%(n)s”.") % {"n": values["part"]}, "part")
                problems.check(_quantity_shape, values["quantity"])
            else:
                problems.check(parse_quantity, values["quantity"], part, allow_negative=False)
            batch = None
            if values["batch"].strip() and part is not None:
                batch = Batch.objects.filter(part=part, number=values["batch"].strip()).first()
                if batch is None:
                    problems.add("batch_unknown", _("This batch is not of this part."), "batch")
            problems.raise_if_any()
            if values["direction"] == "return":
                fs.job_part_return(actor=request.user, job=job, part=part, quantity=values["quantity"], batch=batch,
                                   reason=values["reason"])
            else:
                fs.job_part_issue(actor=request.user, job=job, part=part, quantity=values["quantity"], batch=batch)
        except DomainError as exc:
            error = _error(exc, ("part", "quantity", "batch", "reason"))
        else:
            messages.success(request, _("Stock updated."))
            return redirect("workshop:job_parts", pk=job.pk)
    order = job.order
    fitted = [f for f in sel.parts_fitted(request.user, order) if f.job_id == job.pk]
    lines = [line for line in sel.part_lines(request.user, order) if line.job_id == job.pk]
    return render(request, "workshop/job_parts.html", {
        "job": job, "order": order, "fitted": fitted, "lines": lines, "error": error, "values": values,
    }, status=(422 if error.get("field") in ("part", "batch", "quantity") and error else 409) if error else 200)


@login_required
@require_POST
def keep_old_part(request: HttpRequest, pk: int) -> HttpResponse:
    line = found(sel.line_get, request.user, pk)
    try:
        fs.line_keep_old_part(actor=request.user, line=line, keep=request.POST.get("keep") == "1")
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect(_next(request, reverse("workshop:job_parts", kwargs={"pk": line.job_id})))


# ---- report -----------------------------------------------------------------------------------------------------------
@login_required
@permission_required("workshop.change_repairorder", raise_exception=True)
def report(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    today = timezone.localtime(timezone.now(), store.zone).date()
    first = parse_date(request.GET.get("since") or "") or today - dt.timedelta(days=30)
    last = parse_date(request.GET.get("until") or "") or today
    lo = dt.datetime.combine(first, dt.time.min, tzinfo=store.zone)
    hi = dt.datetime.combine(max(first, last) + dt.timedelta(days=1), dt.time.min, tzinfo=store.zone)
    return render(request, "workshop/report.html", {
        "store": store, "stores": _stores(request.user), "since": first, "until": last,
        "efficiency": sel.technician_efficiency(request.user, store, lo, hi),
        "intervals": sel.progress_update_intervals(request.user, store, lo, hi),
    })
