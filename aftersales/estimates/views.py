"""Screens: the repair order's page (``/orders/<id>/``, with the estimate editor) and the order list, the labour
guide, the customer signing on the advisor's tablet, a phone approval recorded by the advisor, the technician's
additional-work page; and the customer's pages without login (signed links): the estimate to approve and the
order's status page. Thin views: selectors read, services write, domain errors land inline on the field."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError
from aftersales.common.names import guide_name
from aftersales.common.views import found
from aftersales.workshop.choices import EDITABLE_STATES

from . import selectors, services
from .choices import EstimateKind, EstimateStatus, PartChoice
from .forms import AddJobForm, AddOperationForm, LabourOperationForm, LabourRateForm, decisions_from_post
from .models import Estimate, JobOption, LabourOperation

# The few moves the order page offers itself; the workshop floor, QC and billing add theirs in their sections.
PAGE_MOVES = {
    "inspecting": ("checked_in",),
    "cancelled": ("checked_in", "inspecting", "estimate_sent", "authorized"),
    "in_progress": ("authorized",),
    "ready": ("estimate_sent",),  # everything declined: the car goes back without work
}


def _language(request: HttpRequest, customer: Any) -> str:
    asked = request.POST.get("lang") or request.GET.get("lang")
    if asked in ("en", "zh-hans"):
        return asked
    return "en" if getattr(customer, "language", "") == "en" else "zh-hans"


# ---- the order list and page -------------------------------------------------------------------------------------
@login_required
@permission_required("workshop.view_repairorder", raise_exception=True)
def order_list(request: HttpRequest) -> HttpResponse:
    from aftersales.workshop.choices import OrderStatus

    status = request.GET.get("status", "")
    if status and status not in OrderStatus.values:
        status = ""
    q = request.GET.get("q", "")
    open_only = request.GET.get("all") != "1"
    rows = selectors.order_list(request.user, status=status, q=q, open_only=open_only)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "orders/list.html", {
        "page": page, "status": status, "q": q, "open_only": open_only, "statuses": OrderStatus.choices,
    })


def _errors_of(exc: DomainError, form: str) -> dict[str, Any]:
    general = form != "job" or exc.field not in AddJobForm.base_fields
    return {"form": form, "field": exc.field, "message": str(exc.message), "general": general}


def _order_context(request: HttpRequest, order: Any, **extra: Any) -> dict[str, Any]:
    from aftersales.appointments.models import CannedJob

    user = request.user
    jobs = selectors.order_jobs(order)
    open_estimate = selectors.open_estimate(order)
    sent = open_estimate if open_estimate and open_estimate.status == EstimateStatus.SENT else None
    proposed = [j for j in jobs if j.status == "proposed"]
    figures = selectors.estimate_figures(order, proposed)
    in_sent = set(sent.jobs.values_list("pk", flat=True)) if sent else set()
    unsent = [j for j in proposed if j.pk not in in_sent]
    can_edit = user.has_perm("workshop.change_repairorder")
    moves = [to for to, sources in PAGE_MOVES.items() if order.status in sources] if can_edit else []
    if "ready" in moves and any(j.status not in ("proposed", "declined") for j in jobs):
        moves.remove("ready")
    if "in_progress" in moves and not any(j.status == "authorized" for j in jobs):
        moves.remove("in_progress")
    from aftersales.workshop.choices import OrderStatus

    ctx = {
        "order": order, "jobs": jobs, "figures": figures, "proposed": proposed, "estimate": open_estimate, "sent": sent,
        "unsent": unsent,
        "approval_url": services.approval_url(sent) if sent else "", "status_url": services.status_url(order),
        "authorizations": selectors.authorizations_for(order), "timeline": selectors.staff_timeline(order),
        "operations": list(selectors.operations_for(user)) if can_edit else [],
        "canned_jobs": list(CannedJob.objects.filter(store=order.store, is_active=True).order_by("name")) if can_edit else [],
        "part_choices": PartChoice.choices, "declined": selectors.declined_recommendations(user=user, vehicle=order.vehicle),
        "authorized_total": selectors.authorized_total(order), "can_edit": can_edit, "moves": [(m, OrderStatus(m).label) for m in moves],
        "add_job_form": AddJobForm(), "can_propose_additional": user.has_perm("estimates.propose_additional_work")
        and order.status in services.ADDITIONAL_STATES,
        "error": None, "editing": None, "revisions": selectors.estimate_revisions(order),
        "unpriced_ids": {r.job.pk for r in figures.unpriced}, "editable_states": EDITABLE_STATES,
    }
    ctx.update(extra)
    return ctx


@login_required
@permission_required("workshop.view_repairorder", raise_exception=True)
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = found(selectors.order_get, request.user, pk)
    return render(request, "orders/detail.html", _order_context(request, order))


@login_required
@permission_required("workshop.view_repairorder", raise_exception=True)
def order_diagnosis(request: HttpRequest, pk: int) -> HttpResponse:
    """The preliminary diagnosis of the customer's written request (loaded after the page, by htmx): the likely
    system, a confidence and the labour guide's operations for it, each one click from the estimate."""
    from .diagnosis import diagnose

    order = found(selectors.order_get, request.user, pk)
    result = diagnose(order.complaint, group_id=order.store.group_id) if order.complaint else None
    can_add = request.user.has_perm("workshop.change_repairorder") and order.status in EDITABLE_STATES
    photos = selectors.fault_photos(request.user, order=order)
    return render(request, "orders/_diagnosis.html", {"order": order, "diagnosis": result, "can_add": can_add,
                                                      "photos": photos})


@login_required
def fault_photo(request: HttpRequest, photo_id: int) -> FileResponse:
    """A photo the customer sent with the description of the fault (staff who see repair orders or bookings)."""
    if not (request.user.has_perm("workshop.view_repairorder") or request.user.has_perm("appointments.view_appointment")):
        raise PermissionDenied
    row = found(selectors.fault_photo_get, request.user, photo_id)
    return FileResponse(row.image.open("rb"), content_type=row.content_type)


def _after(request: HttpRequest, order: Any, form: str, call: Any, success: str) -> HttpResponse:
    """Run a service; on a refusal show the order page again with the message on the form's field (422)."""
    try:
        call()
    except DomainError as exc:
        return render(request, "orders/detail.html", _order_context(request, order, error=_errors_of(exc, form)), status=422)
    messages.success(request, success)
    return redirect("estimates:order_detail", order.pk)


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def add_operation(request: HttpRequest, pk: int) -> HttpResponse:
    order = found(selectors.order_get, request.user, pk)
    form = AddOperationForm(request.POST)
    if not form.is_valid():
        exc = DomainError("invalid", _("Choose an operation of the labour guide."), "operation")
        return render(request, "orders/detail.html", _order_context(request, order, error=_errors_of(exc, "operation")), status=422)
    operation = found(selectors.operation_get, request.user, form.cleaned_data["operation"])
    return _after(request, order, "operation", lambda: services.estimate_add_operation(
        actor=request.user, order=order, operation=operation, part_choice=form.cleaned_data["part_choice"],
    ), _("Added to the estimate (draft, not sent)."))


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def add_canned(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.appointments.models import CannedJob

    order = found(selectors.order_get, request.user, pk)
    raw = request.POST.get("canned_job", "")
    canned = CannedJob.objects.filter(store=order.store, pk=int(raw)).first() if raw.isdigit() else None
    if canned is None:
        exc = DomainError("invalid", _("Choose a standard job."), "canned_job")
        return render(request, "orders/detail.html", _order_context(request, order, error=_errors_of(exc, "canned")), status=422)
    return _after(request, order, "canned", lambda: services.estimate_add_canned_job(
        actor=request.user, order=order, canned_job=canned,
    ), _("Added to the estimate (draft, not sent)."))


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def add_job(request: HttpRequest, pk: int) -> HttpResponse:
    order = found(selectors.order_get, request.user, pk)
    form = AddJobForm(request.POST)
    if not form.is_valid():
        field, errs = next(iter(form.errors.items()))
        exc = DomainError("invalid", errs[0], field)
        return render(request, "orders/detail.html", _order_context(request, order, error=_errors_of(exc, "job"), add_job_form=form), status=422)
    d = form.cleaned_data
    lines: list[dict[str, Any]] = []
    if d["fee_description"] or d["fee_amount"]:
        lines.append({"kind": "fee", "description": d["fee_description"] or _("Fee"), "quantity": 1, "unit_price": d["fee_amount"] or "0"})

    try:
        services.estimate_add_job(
            actor=request.user, order=order, title=d["title"], job_type=d["job_type"], hours=d["hours"] or None,
            lines=lines, cause=d["cause"], discount=d["discount"] or 0,
        )
    except DomainError as exc:
        return render(request, "orders/detail.html", _order_context(request, order, error=_errors_of(exc, "job"), add_job_form=form), status=422)
    messages.success(request, _("Added to the estimate (draft, not sent)."))
    return redirect("estimates:order_detail", order.pk)


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def group_options(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.workshop.models import RepairJob

    order = found(selectors.order_get, request.user, pk)
    ids = [int(v) for v in request.POST.getlist("jobs") if v.isdigit()]
    jobs = list(RepairJob.objects.filter(order=order, pk__in=ids).order_by("seq"))
    return _after(request, order, "options", lambda: services.estimate_group_options(
        actor=request.user, order=order, title=request.POST.get("title", ""), jobs=jobs,
    ), _("The jobs are now options: the customer approves one of them."))


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def send(request: HttpRequest, pk: int) -> HttpResponse:
    order = found(selectors.order_get, request.user, pk)
    return _after(request, order, "send", lambda: services.estimate_send(
        actor=request.user, order=order, note=request.POST.get("note", ""),
    ), _("Estimate sent to the customer with a signed link."))


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    order = found(selectors.order_get, request.user, pk)
    return _after(request, order, "send", lambda: services.estimate_withdraw(
        actor=request.user, order=order, reason=request.POST.get("reason", ""),
    ), _("Estimate taken back to draft: the link sent no longer works."))


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def order_move(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.workshop.services import repair_order_move

    order = found(selectors.order_get, request.user, pk)
    to = request.POST.get("to", "")
    if to not in PAGE_MOVES:
        raise Http404
    return _after(request, order, "move", lambda: repair_order_move(
        actor=request.user, order=order, to=to, reason=request.POST.get("reason", ""),
    ), _("Order updated."))


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def repropose(request: HttpRequest, pk: int) -> HttpResponse:
    order = found(selectors.order_get, request.user, pk)
    raw = request.POST.get("job", "")
    job = found(selectors.job_get, request.user, int(raw)) if raw.isdigit() else None
    if job is None:
        raise Http404
    return _after(request, order, "declined", lambda: services.declined_repropose(
        actor=request.user, job=job, order=order,
    ), _("The declined recommendation is on the estimate again."))


# ---- correcting a proposed job (htmx on the order page) ---------------------------------------------------------------
LINE_FIELDS = ("kind", "description", "code", "quantity", "unit_price", "discount", "part")
BLANK_LINE_ROWS = 2


def _edit_rows(job: Any, post: Any = None) -> list[dict[str, Any]]:
    """The rows of the edit form: the job's lines (or what was posted) and two empty rows for new lines."""
    if post is None:
        rows = [
            {"kind": ln.kind, "description": ln.description, "code": ln.code, "quantity": f"{ln.quantity.normalize():f}",
             "unit_price": f"{ln.unit_price:.2f}", "discount": f"{ln.discount:.2f}" if ln.discount else "",
             "part": ln.part_id or "", "errors": {}}
            for ln in job.lines.all().order_by("id")
        ]
        rows += [{"kind": "labour" if not rows else "part", "description": "", "code": "", "quantity": "1",
                  "unit_price": "", "discount": "", "part": "", "errors": {}} for _ in range(BLANK_LINE_ROWS)]
        return rows
    count = min(int(post.get("rows", "0")) if str(post.get("rows", "0")).isdigit() else 0, 60)
    return [
        {**{f: post.get(f"line-{i}-{f}", "") for f in LINE_FIELDS}, "delete": bool(post.get(f"line-{i}-delete")), "errors": {}}
        for i in range(count)
    ]


def _edit_context(order: Any, job: Any, rows: list[dict[str, Any]], title: str, cause: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    from aftersales.workshop.choices import LineKind

    general = [e for e in errors or [] if not str(e.get("field") or "").startswith("job.lines[")]
    return {
        "order": order, "job": job, "rows": rows, "title": title, "cause": cause, "line_kinds": LineKind.choices,
        "edit_errors": general, "has_errors": bool(errors),
    }


@login_required
@permission_required("workshop.change_repairorder", raise_exception=True)
def job_edit(request: HttpRequest, pk: int, job_id: int) -> HttpResponse:
    """GET: the edit form in place of the job (htmx) or on the order page; POST: save every line at once, or show
    every bad field at once next to its cell (422), nothing saved."""
    from aftersales.parts.models import Part

    order = found(selectors.order_get, request.user, pk)
    job = next((j for j in selectors.order_jobs(order) if j.pk == job_id), None)
    if job is None:
        raise Http404
    if request.method != "POST":
        ctx = _edit_context(order, job, _edit_rows(job), job.title, job.cause)
        if request.headers.get("HX-Request"):
            return render(request, "orders/_job_edit.html", ctx)
        return render(request, "orders/detail.html", _order_context(request, order, editing=ctx))
    rows = _edit_rows(job, request.POST)
    kept: list[int] = []
    lines: list[dict[str, Any]] = []
    part_errors: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if row["delete"] or (not row["description"].strip() and not row["unit_price"].strip()):
            continue
        line: dict[str, Any] = {f: row[f] for f in ("kind", "description", "code", "quantity", "unit_price", "discount")}
        line["discount"] = line["discount"] or "0"
        if str(row["part"]).isdigit():
            part = Part.objects.filter(group_id=order.store.group_id, pk=int(row["part"])).first()
            if part is None:
                part_errors.append({"field": f"job.lines[{len(kept) + 1}].description", "message": _("No such part in the catalogue.")})
            else:
                line.update(part=part, is_aftermarket=not part.is_oem, unit_cost=part.cost_price)
        kept.append(i)
        lines.append(line)
    title, cause = request.POST.get("title", ""), request.POST.get("cause", "")
    try:
        if part_errors:
            raise DomainError("part_not_found", part_errors[0]["message"], part_errors[0]["field"], errors=part_errors)
        services.estimate_job_edit(actor=request.user, order=order, job=job, title=title, cause=cause, lines=lines)
    except DomainError as exc:
        errors = exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]
        for err in errors:
            field = str(err.get("field") or "")
            if field.startswith("job.lines["):
                n = int(field[len("job.lines["):field.index("]")])
                rows[kept[n - 1]]["errors"][field.rsplit(".", 1)[-1]] = err["message"]
        ctx = _edit_context(order, job, rows, title, cause, errors)
        if request.headers.get("HX-Request"):
            return render(request, "orders/_job_edit.html", ctx)  # htmx swaps a 2xx only: the errors in place
        return render(request, "orders/detail.html", _order_context(request, order, editing=ctx), status=422)
    messages.success(request, _("Job corrected (the estimate is a draft until you send it)."))
    target = reverse("estimates:order_detail", args=[order.pk]) + "#jobs"
    if request.headers.get("HX-Request"):
        response = HttpResponse("")
        response["HX-Refresh"] = "true"  # the page again: jobs, estimate and header totals all changed
        return response
    return redirect(target)


@login_required
@require_POST
@permission_required("workshop.change_repairorder", raise_exception=True)
def job_delete(request: HttpRequest, pk: int, job_id: int) -> HttpResponse:
    from aftersales.workshop.models import RepairJob

    order = found(selectors.order_get, request.user, pk)
    job = RepairJob.objects.filter(order=order, pk=job_id).first()
    if job is None:
        raise Http404
    return _after(request, order, "jobs", lambda: services.estimate_job_delete(
        actor=request.user, order=order, job=job,
    ), _("Job deleted from the estimate."))


# ---- files -------------------------------------------------------------------------------------------------------
@login_required
@permission_required("workshop.view_repairorder", raise_exception=True)
def photo(request: HttpRequest, pk: int, photo_id: int) -> FileResponse:
    order = found(selectors.order_get, request.user, pk)
    row = found(selectors.photo_get, request.user, order, photo_id)
    return FileResponse(row.image.open("rb"), content_type=row.content_type)


@login_required
@permission_required("workshop.view_repairorder", raise_exception=True)
def signature(request: HttpRequest, pk: int, auth_id: int) -> FileResponse:
    order = found(selectors.order_get, request.user, pk)
    auth = found(selectors.authorization_get, request.user, order, auth_id)
    if not auth.signature:
        raise Http404
    return FileResponse(auth.signature.open("rb"), content_type="image/png")


# ---- the customer's decision: one page for the link and the tablet, one for the phone ---------------------------------
def _decision_context(estimate: Estimate, post: Any = None, error: DomainError | None = None) -> dict[str, Any]:
    order = estimate.order
    jobs = selectors.estimate_jobs(estimate)
    figures = selectors.estimate_figures(order, jobs)
    errors: dict[str, str] = {}
    if error is not None:
        errors[str(error.field or "")] = str(error.message)
    post = post or {}
    for row in figures.jobs:
        jid = row.job.pk
        row.choice = post.get(f"job_{jid}", "")  # type: ignore[attr-defined]
        row.reason = post.get(f"reason_{jid}", "")  # type: ignore[attr-defined]
        row.consent = post.get(f"aftermarket_{jid}") == "on"  # type: ignore[attr-defined]
        row.error = errors.get(f"job_{jid}") or errors.get(f"job_{jid}.aftermarket_consent") or errors.get(f"job_{jid}.reason", "")  # type: ignore[attr-defined]
    for block in figures.groups:
        block.choice = post.get(f"group_{block.group_id}", "")  # type: ignore[attr-defined]
        block.reason = post.get(f"reason_group_{block.group_id}", "")  # type: ignore[attr-defined]
        block.error = errors.get(f"group_{block.group_id}", "")  # type: ignore[attr-defined]
    known = {f"job_{r.job.pk}" for r in figures.jobs} | {f"group_{b.group_id}" for b in figures.groups}
    general = [m for f, m in errors.items() if f.split(".")[0] not in known and f not in ("signature", "signer_name", "said", "approved_at")]
    return {
        "estimate": estimate, "order": order, "figures": figures, "errors": errors, "general_errors": general,
        "signer_name": post.get("signer_name", ""), "status_token": services.status_token(order),
        "is_additional": estimate.kind == EstimateKind.ADDITIONAL, "insurance": _insurance(order, figures.total),
    }


def _insurance(order: Any, total: Any) -> dict[str, Any] | None:
    """An insured repair: the insurer, what it pays of ``total`` and the customer's share (what they approve)."""
    if order.insurer_amount is None:
        return None
    from aftersales.common.money import insurance_split

    insurer_part, share = insurance_split(total, order.insurer_amount)
    return {"insurer": order.insurer_name, "insurer_part": insurer_part, "share": share}


def _options(estimate: Estimate) -> dict[int, JobOption]:
    return {o.job_id: o for o in JobOption.objects.filter(job__in=estimate.jobs.all())}


def approve(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's page behind the signed link (no login, phone-sized): job by job, then a signature."""
    estimate, problem = services.estimate_from_token(token)
    language = _language(request, estimate.order.customer if estimate else None)
    with translation.override(language):
        if estimate is None or problem == "revised":
            status = 410 if problem in ("expired", "revised") else 404
            return render(request, "estimates/link_problem.html", {"problem": problem, "language": language}, status=status)
        if problem == "decided":
            auth = getattr(estimate, "authorization", None)
            return render(request, "estimates/decided.html", {
                "estimate": estimate, "order": estimate.order, "auth": auth, "language": language,
                "status_url": reverse("estimates:status", args=[services.status_token(estimate.order)]),
            })
        if request.method == "POST":
            jobs = list(estimate.jobs.all())
            decisions = decisions_from_post(request.POST, jobs, _options(estimate))
            try:
                services.authorize_by_link(
                    token=token, decisions=decisions, signer_name=request.POST.get("signer_name", ""),
                    signature=request.POST.get("signature", ""), ip=request.META.get("REMOTE_ADDR"),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            except DomainError as exc:
                ctx = _decision_context(estimate, request.POST, exc)
                return render(request, "estimates/approve.html", {**ctx, "language": language, "token": token, "mode": "link"}, status=422)
            return redirect("estimates:approve", token)
        return render(request, "estimates/approve.html", {
            **_decision_context(estimate), "language": language, "token": token, "mode": "link",
        })


@login_required
@permission_required("workshop.change_repairjob", raise_exception=True)
def tablet_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """The same page on the advisor's tablet: the customer ticks and signs, the advisor is signed in."""
    order = found(selectors.order_get, request.user, pk)
    estimate = selectors.sent_estimate(order)
    if estimate is None:
        messages.error(request, _("No estimate is waiting for the customer; send it first."))
        return redirect("estimates:order_detail", order.pk)
    if request.method == "POST":
        decisions = decisions_from_post(request.POST, list(estimate.jobs.all()), _options(estimate))
        version = request.POST.get("version", "")
        try:
            services.authorize_on_tablet(
                actor=request.user, order=order, decisions=decisions, signer_name=request.POST.get("signer_name", ""),
                signature=request.POST.get("signature", ""), version=int(version) if version.isdigit() else -1,
            )
        except DomainError as exc:
            return render(request, "estimates/approve.html", {**_decision_context(estimate, request.POST, exc), "mode": "tablet"}, status=422)
        messages.success(request, _("The customer's decision is recorded."))
        return redirect("estimates:order_detail", order.pk)
    return render(request, "estimates/approve.html", {**_decision_context(estimate), "mode": "tablet"})


@login_required
@permission_required("workshop.change_repairorder", raise_exception=True)
def phone_approval(request: HttpRequest, pk: int) -> HttpResponse:
    """The advisor records a phone approval: who approved, when, what was said, and the decision per job."""
    order = found(selectors.order_get, request.user, pk)
    estimate = selectors.sent_estimate(order)
    if estimate is None:
        messages.error(request, _("No estimate is waiting for the customer; send it first."))
        return redirect("estimates:order_detail", order.pk)
    now_local = timezone.localtime(timezone.now(), order.store.zone).strftime("%Y-%m-%dT%H:%M")
    if request.method == "POST":
        decisions = decisions_from_post(request.POST, list(estimate.jobs.all()), _options(estimate))
        version = request.POST.get("version", "")
        raw_at = request.POST.get("approved_at", "")
        parsed = parse_datetime(raw_at) if raw_at else None
        try:
            if raw_at and parsed is None:
                raise DomainError("datetime_format", _("Enter the time of the call."), "approved_at")
            at_value = timezone.make_aware(parsed, order.store.zone) if parsed and timezone.is_naive(parsed) else parsed
            services.authorize_by_phone(
                actor=request.user, order=order, decisions=decisions, approver_name=request.POST.get("signer_name", ""),
                said=request.POST.get("said", ""), approved_at=at_value, version=int(version) if version.isdigit() else -1,
            )
        except DomainError as exc:
            ctx = _decision_context(estimate, request.POST, exc)
            return render(request, "estimates/phone.html", {
                **ctx, "said": request.POST.get("said", ""), "approved_at": raw_at or now_local,
            }, status=422)
        messages.success(request, _("The phone approval is recorded."))
        return redirect("estimates:order_detail", order.pk)
    return render(request, "estimates/phone.html", {**_decision_context(estimate), "said": "", "approved_at": now_local})


# ---- additional work (the technician's phone page) ---------------------------------------------------------------------
@login_required
@permission_required("estimates.propose_additional_work", raise_exception=True)
def additional_work(request: HttpRequest, pk: int) -> HttpResponse:
    order = found(selectors.order_get, request.user, pk)
    operations = list(selectors.operations_for(request.user))
    error = None
    values = {"title": "", "cause": "", "hours": "", "operation": "", "part_choice": PartChoice.OEM}
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        raw = values["operation"]
        operation = LabourOperation.objects.filter(pk=int(raw), group_id=order.store.group_id).first() if raw.isdigit() else None
        try:
            services.additional_work_propose(
                actor=request.user, order=order, title=values["title"], cause=values["cause"], operation=operation,
                hours=values["hours"] or None, part_choice=values["part_choice"] or PartChoice.OEM,
                photos=request.FILES.getlist("photos"),
            )
        except DomainError as exc:
            known = {"operation", "part_choice", "title", "hours", "job_type", "cause", "photos"}
            error = {"field": exc.field if exc.field in known else "general", "message": str(exc.message)}
            status = 422
        else:
            messages.success(request, _("Additional work proposed; the advisor asks the customer."))
            return redirect("estimates:additional_work", order.pk)
    jobs = [j for j in selectors.order_jobs(order) if j.is_additional]
    return render(request, "estimates/additional.html", {
        "order": order, "operations": operations, "error": error, "values": values, "jobs": jobs,
        "part_choices": PartChoice.choices, "open": order.status in services.ADDITIONAL_STATES,
        "max_mb": services.PHOTO_MAX_BYTES // (1024 * 1024), "max_count": services.PHOTO_MAX_COUNT,
    }, status=status)


# ---- the labour guide --------------------------------------------------------------------------------------------------
@login_required
@permission_required("estimates.view_labouroperation", raise_exception=True)
def labour_guide(request: HttpRequest) -> HttpResponse:
    from aftersales.common.views import store_from_request
    from aftersales.parts.models import Part

    store = store_from_request(request)
    rate_form = LabourRateForm(request.POST if request.POST.get("form") == "rate" else None)
    op_form = LabourOperationForm(request.POST if request.POST.get("form") == "operation" else None)
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("form") == "rate" and rate_form.is_valid():
                services.labour_rate_set(actor=request.user, store=store, **rate_form.cleaned_data)
                messages.success(request, _("Labour rate saved."))
                return redirect(f"{reverse('estimates:labour_guide')}?store={store.pk}")
            if request.POST.get("form") == "operation" and op_form.is_valid():
                d = dict(op_form.cleaned_data)
                parts = []
                for n, chunk in enumerate([c for c in d.pop("parts").replace("，", ",").split(",") if c.strip()], start=1):
                    number, _x, qty = chunk.strip().rpartition(" x") if " x" in chunk else (chunk.strip(), "", "1")
                    part = Part.objects.filter(group_id=store.group_id, number=number.strip()).first()
                    if part is None:
                        raise DomainError("part_not_found", _("No part numbered “%(n)s”.") % {"n": number.strip()}, "parts")
                    parts.append({"part": part, "quantity": qty.strip() or "1"})
                    del n
                services.labour_operation_save(actor=request.user, group=store.group, parts=parts, **d)
                messages.success(request, _("Operation saved."))
                return redirect(f"{reverse('estimates:labour_guide')}?store={store.pk}")
            status = 422
        except DomainError as exc:
            form = rate_form if request.POST.get("form") == "rate" else op_form
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            status = 422
    return render(request, "estimates/labour_guide.html", {
        "store": store, "operations": selectors.operations_for(request.user, include_inactive=True),
        "rates": selectors.rates_for(request.user, store), "rate_form": rate_form, "op_form": op_form,
        "can_manage": request.user.has_perm("estimates.change_labouroperation"),
    }, status=status)


# ---- the customer's status page (signed link, no login) ----------------------------------------------------------------
def _status_context(order: Any, token: str, language: str = "zh-hans") -> dict[str, Any]:
    from aftersales.workshop.floor_selectors import order_parts_fitted
    from aftersales.workshop.models import RepairJob

    from .models import WorkPhoto

    pending = selectors.sent_estimate(order)
    jobs = list(
        RepairJob.objects.filter(order=order).select_related("bay", "technician")
        .prefetch_related(Prefetch("photos", queryset=WorkPhoto.objects.order_by("id"))).order_by("seq", "id")
    )
    for job in jobs:
        job.order = order  # one order object for the page: its labour guide's names load once
        job.public_technician = selectors.public_staff_name(job.technician, language)  # type: ignore[attr-defined]
    fitted = order_parts_fitted(order)
    with translation.override(language):
        titles = {j.pk: guide_name(j.title, order) for j in jobs}
    for f in fitted:
        f.job_title = titles.get(f.job_id, "")  # type: ignore[attr-defined]
        f.part_name = f.part.name_en if language == "en" and f.part.name_en else f.part.name_zh  # type: ignore[attr-defined]
    from aftersales.workshop.status_links import status_links

    return {
        "order": order, "token": token, "timeline": list(reversed(selectors.status_timeline(order, language))), "jobs": jobs,
        "fitted": fitted, "documents": status_links(order, language),
        "pending": pending, "approve_url": reverse("estimates:approve", args=[services.approval_token(pending)]) if pending else "",
        "now": timezone.now(), "zone": order.store.zone,
    }


def status(request: HttpRequest, token: str) -> HttpResponse:
    order = services.order_from_status_token(token)
    language = _language(request, order.customer if order else None)
    with translation.override(language):
        if order is None:
            return render(request, "estimates/link_problem.html", {"problem": "invalid", "language": language}, status=404)
        ctx = {**_status_context(order, token, language), "language": language}
        if request.htmx:
            return render(request, "estimates/_status_live.html", ctx)
        return render(request, "estimates/status.html", ctx)


def status_photo(request: HttpRequest, token: str, photo_id: int) -> FileResponse:
    from .models import WorkPhoto

    order = services.order_from_status_token(token)
    row = WorkPhoto.objects.filter(order=order, pk=photo_id).first() if order else None
    if row is None:
        raise Http404
    return FileResponse(row.image.open("rb"), content_type=row.content_type)
