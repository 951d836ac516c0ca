"""The manager's cockpit pages: the dashboard (htmx period and store selector) and the drill-down of one figure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from aftersales.common.errors import Forbidden, NotFound
from aftersales.common.scoping import spans_group

from . import selectors
from .periods import KIND_LABELS, KINDS
from .reviews import REVIEWS


def _params(request: HttpRequest) -> dict[str, Any]:
    raw_store = request.GET.get("store", "")
    try:
        store_id = int(raw_store) if raw_store and raw_store != "group" else None
    except ValueError as exc:
        raise Http404 from exc
    kind = request.GET.get("period", "month")
    if kind not in KINDS:
        kind = "month"
    try:
        day = dt.date.fromisoformat(request.GET["date"]) if request.GET.get("date") else None
    except ValueError:
        day = None
    return {"store_id": store_id, "kind": kind, "day": day}


def _call(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from exc


def _chart(row: dict[str, Any]) -> dict[str, Any]:
    kpi = row["kpi"]
    return {
        "labels": [label for label, _v in row["trend"]],
        "values": [float(v) if v is not None else None for _l, v in row["trend"]],
        "target": float(row["target"]) if row["target"] is not None else None,
        "unit": kpi.unit,
        "name": str(kpi.label),
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    data = _call(selectors.dashboard, user=request.user, **params)
    stores = selectors.dashboard_stores(request.user)
    for row in data["headline"]:
        row["chart"] = _chart(row)
    context = {
        "d": data, "stores": stores, "can_group": spans_group(request.user) and len(stores) > 1,
        "store_param": params["store_id"] or ("group" if data["is_group"] else ""),
        "kinds": [(k, KIND_LABELS[k]) for k in KINDS], "kind": data["period"].kind,
        "prev_date": data["period"].previous().param, "next_date": data["period"].shift(1).param,
        "hundred": Decimal(100),
        "review_links": [(name, label) for name, (_k, _c, label) in REVIEWS.items()],
    }
    template = "analytics/_dashboard.html" if request.htmx else "analytics/dashboard.html"
    return render(request, template, context)


@login_required
def drill(request: HttpRequest, code: str) -> HttpResponse:
    params = _params(request)
    data = _call(selectors.drill, user=request.user, code=code, **params)
    return render(request, "analytics/drill.html", {
        "r": data, "store_param": params["store_id"] or "", "kind": data["scope"].period.kind,
        "date": data["scope"].period.param,
    })


@login_required
def gross_profit(request: HttpRequest) -> HttpResponse:
    """The monthly import of new-car and other gross profit: upload → preview with row errors → confirm."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from aftersales.common.errors import DomainError
    from aftersales.common.scoping import visible_store_ids

    from . import importers, services
    from .models import GrossProfitMonth

    if not request.user.has_perm("analytics.add_grossprofitmonth"):
        raise PermissionDenied
    context: dict[str, Any] = {"rows": [], "errors": [], "csv": "", "source": ""}
    status = 200
    if request.method == "POST":
        if request.POST.get("confirm"):
            source = request.POST.get("source", "")[:120]
            rows, errors = importers.parse(request.POST.get("csv", "").encode(), "confirm.csv")
        else:
            upload = request.FILES.get("file")
            if upload is None:
                rows, errors = [], [{"line": 0, "field": "file", "message": _("Choose an Excel (.xlsx) or CSV file.")}]
                source = ""
            elif upload.size > 2 * 1024 * 1024:
                rows, errors = [], [{"line": 0, "field": "file", "message": _("The file is larger than 2 MB.")}]
                source = upload.name
            else:
                source = upload.name
                rows, errors = importers.parse(upload, upload.name)
        errors += services.gross_profit_check(actor=request.user, rows=rows) if rows else []
        errors.sort(key=lambda e: (e["line"], e["field"]))
        if request.POST.get("confirm") and not errors:
            try:
                n = services.gross_profit_import(actor=request.user, rows=rows, source=source)
            except DomainError as exc:
                errors = [{"line": 0, "field": exc.field or "file", "message": exc.message}]
            else:
                messages.success(request, _("%(n)s months of gross profit imported.") % {"n": n})
                return redirect("analytics:gross_profit")
        labels = {"store": _("Store"), "month": _("Month"), "new_car": _("New-car gross profit"), "other": _("Other gross profit"),
                  "file": _("File")}
        for e in errors:
            e["label"] = labels.get(e["field"], e["field"])
        bad_lines = {e["line"] for e in errors}
        context.update(rows=[(r, r.line in bad_lines) for r in rows], errors=errors, csv=importers.to_csv(rows), source=source)
        status = 422 if errors else 200
    context["months"] = (GrossProfitMonth.objects.filter(store_id__in=visible_store_ids(request.user))
                         .select_related("store", "imported_by").order_by("-month", "store__code")[:48])
    return render(request, "analytics/gross_profit.html", context, status=status)


@login_required
def targets(request: HttpRequest) -> HttpResponse:
    """A store's targets (defaults: SPEC §18)."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from aftersales.common.errors import DomainError
    from aftersales.common.views import store_from_request

    from . import services
    from .forms import TargetsForm
    from .models import KpiSettings

    if not request.user.has_perm("analytics.change_kpisettings"):
        raise PermissionDenied
    store = store_from_request(request)
    instance = KpiSettings.objects.filter(store=store).first() or KpiSettings(store=store)
    form = TargetsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            services.kpi_settings_update(actor=request.user, store=store, values=form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("Targets saved."))
            return redirect(f"{request.path}?store={store.pk}")
    return render(request, "analytics/targets.html", {"form": form, "store": store, "stores": selectors.dashboard_stores(request.user)},
                  status=422 if form.errors else 200)


@login_required
def forecast(request: HttpRequest) -> HttpResponse:
    """The store's demand forecast for the coming weeks beside its capacity, with the back-tested errors."""
    params = _params(request)
    try:
        weeks = int(request.GET.get("weeks", "4"))
    except ValueError:
        weeks = 4
    data = _call(selectors.demand_forecast, user=request.user, store_id=params["store_id"], weeks=weeks)
    return render(request, "analytics/forecast.html", {
        "f": data, "stores": selectors.dashboard_stores(request.user), "week_choices": selectors.FORECAST_WEEKS,
    })


@login_required
def review_subscription(request: HttpRequest) -> HttpResponse:
    """The manager's own choice of reviews mailed to them, per store (or the whole group)."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from aftersales.common.errors import DomainError

    from . import mailing
    from .models import ReviewSubscription

    stores = _call(selectors.dashboard_stores, user=request.user)
    errors: list[str] = []
    if request.method == "POST":
        raw = request.POST.get("store", "")
        store = next((s for s in stores if str(s.pk) == raw), None)
        if raw not in ("", "group") and store is None:
            raise Http404
        try:
            mailing.subscription_save(actor=request.user, store=store, monthly=bool(request.POST.get("monthly")),
                                      quarterly=bool(request.POST.get("quarterly")), yearly=bool(request.POST.get("yearly")))
        except DomainError as exc:
            errors.append(str(exc.message))
        else:
            messages.success(request, _("Your review mailing is saved."))
            return redirect("analytics:review_subscription")
    subs = {s.store_id: s for s in ReviewSubscription.objects.filter(user=request.user)}
    rows = []
    if spans_group(request.user) and len(stores) > 1:
        rows.append({"value": "group", "name": _("Whole group"), "sub": subs.get(None)})
    rows += [{"value": str(s.pk), "name": s.name, "sub": subs.get(s.pk)} for s in stores]
    return render(request, "analytics/review_subscription.html", {
        "rows": rows, "errors": errors, "has_email": bool(request.user.email), "link_days": mailing.LINK_DAYS,
    }, status=422 if errors else 200)


@login_required
def scorecard_list(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    if "period" not in request.GET:
        params["kind"] = "quarter"
    data = _call(selectors.scorecard_list, user=request.user, **params)
    return render(request, "analytics/scorecards.html", {
        "r": data, "stores": selectors.dashboard_stores(request.user), "kinds": [(k, KIND_LABELS[k]) for k in KINDS],
        "kind": data["scope"].period.kind, "store_param": params["store_id"] or "",
        "can_group": spans_group(request.user),
    })


@login_required
def my_scorecard(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    if "period" not in request.GET:
        params["kind"] = "quarter"
    data = _call(selectors.my_scorecard, user=request.user, kind=params["kind"], day=params["day"])
    return render(request, "analytics/my_scorecard.html", {"r": data, "kinds": [(k, KIND_LABELS[k]) for k in KINDS],
                                                           "kind": data["scope"].period.kind})


@login_required
def review_download(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    params = _params(request)
    return _review_file(request.user, params["store_id"], name, params["day"], fmt)


def review_link(request: HttpRequest, token: str) -> HttpResponse:
    """A review mailed to a manager: the signed link works without signing in, served as that manager (their scope
    now), for a limited time."""
    from aftersales.common.errors import DomainError
    from aftersales.staff.models import User

    from .mailing import read_token

    try:
        data = read_token(token)
    except DomainError as exc:
        return render(request, "analytics/review_link_error.html", {"message": exc.message}, status=410 if exc.code == "link_expired" else 404)
    user = User.objects.filter(pk=data["user_id"], is_active=True).first()
    if user is None:
        raise Http404
    return _review_file(user, data["store_id"], data["name"], data["day"], data["fmt"])


def _review_file(user: Any, store_id: int | None, name: str, day: dt.date | None, fmt: str) -> HttpResponse:
    from django.utils.translation import get_language

    from .reviews import review_pdf, review_xlsx

    data = _call(selectors.review, user=user, store_id=store_id, name=name, day=day)
    label = data["periods"]["current"].label
    if fmt == "xlsx":
        body, ctype = review_xlsx(data), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "pdf":
        body, ctype = review_pdf(data, get_language() or "zh-hans"), "application/pdf"
    else:
        raise Http404
    response = HttpResponse(body, content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="review-{name}-{label}.{fmt}"'
    return response


@login_required
def min_levels(request: HttpRequest) -> HttpResponse:
    """The parts desk's suggested minimum levels (from the parts demand forecast) beside the current ones, with accept
    per row and for the selected rows (``parts.change_stockitem``)."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from aftersales.common.errors import DomainError
    from aftersales.common.views import store_from_request

    from . import parts_demand

    if not request.user.has_perm("parts.view_purchaserequisition"):
        raise PermissionDenied
    store = store_from_request(request)
    changed_only = request.GET.get("all", "") != "1"
    if request.method == "POST":
        if not request.user.has_perm("parts.change_stockitem"):
            raise PermissionDenied
        action = request.POST.get("accept", "")
        raw = request.POST.getlist("ids") if action == "selected" else [action]
        ids = [int(i) for i in raw if str(i).isdigit() and len(str(i)) < 12]
        try:
            done = parts_demand.suggestions_accept(actor=request.user, ids=ids)
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        except Forbidden as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Minimum levels set for %(n)s part(s).") % {"n": len(done)})
        suffix = "&all=1" if not changed_only else ""
        return redirect(f"{request.path}?store={store.pk}{suffix}")
    rows = _call(parts_demand.suggestions_for, user=request.user, store=store, changed_only=changed_only)
    from aftersales.common.scoping import visible_store_ids
    from aftersales.stores.models import Store

    first = rows[0].computed_on if rows else None
    return render(request, "analytics/min_levels.html", {
        "store": store, "stores": list(Store.objects.filter(pk__in=visible_store_ids(request.user)).order_by("code")), "rows": rows, "changed_only": changed_only,
        "computed_on": first, "z": parts_demand.safety_z(), "review_days": parts_demand.REVIEW_DAYS,
        "default_lead": parts_demand.default_lead_time(), "can_accept": request.user.has_perm("parts.change_stockitem"),
    })
