"""Loyalty screens: the store's loyalty page (ledger search, issue voucher, redeem gift, adjust points), the
referrals page, and the points-and-vouchers section of the customer 360 page (loaded with htmx). Thin views:
selectors read, services write, domain errors land inline on the field."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError
from aftersales.common.scoping import visible_store_ids
from aftersales.common.views import found, store_from_request

from . import selectors, services
from .forms import AdjustForm, GiftForm, IssueVoucherForm, LedgerFilterForm, ReferralForm, SettingsForm


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name", "id"))


def _need(user: Any, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


# ---- the store's loyalty page --------------------------------------------------------------------------------------
@login_required
@permission_required("loyalty.view_pointsentry", raise_exception=True)
def store_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    store = store_from_request(request)
    templates = list(selectors.templates_for(user, store.pk))
    gifts = list(selectors.gifts_for(user, store.pk))
    action = request.POST.get("action", "") if request.method == "POST" else ""
    issue_form = IssueVoucherForm(request.POST if action == "issue" else None, templates=templates, with_customer=True)
    adjust_form = AdjustForm(request.POST if action == "adjust" else None, with_customer=True)
    gift_form = GiftForm(request.POST if action == "gift" else None, gifts=gifts)
    rules = services.loyalty_settings(store)
    settings_form = SettingsForm(request.POST if action == "settings" else None,
                                 initial={name: getattr(rules, name) for name in services.SETTINGS_FIELDS})
    if action == "settings":
        if _save_settings(request, store, settings_form):
            return redirect(f"{request.path}?store={store.pk}")
    elif action:
        done = _store_action(request, store, action, issue_form, adjust_form, gift_form, templates, gifts)
        if done:
            return redirect(f"{request.path}?store={store.pk}")
    filters = LedgerFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    entries = selectors.ledger_search(
        user, store_id=store.pk, q=criteria.get("q") or "", kind=criteria.get("kind") or "",
        date_from=criteria.get("date_from"), date_to=criteria.get("date_to"),
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "loyalty/store.html", {
        "store": store, "stores": _stores(user), "summary": selectors.store_summary(user, store), "filters": filters,
        "page": page, "templates": templates, "gifts": gifts, "issue_form": issue_form, "adjust_form": adjust_form,
        "gift_form": gift_form, "settings_form": settings_form, "action": action,
    })


def _save_settings(request: HttpRequest, store: Any, form: Any) -> bool:
    _need(request.user, "loyalty.change_loyaltysettings")
    if not form.is_valid():
        return False
    try:
        services.loyalty_settings_update(actor=request.user, store=store,
                                         **{name: form.cleaned_data[name] for name in services.SETTINGS_FIELDS})
    except DomainError as exc:
        form.add_domain_error(exc)
        return False
    messages.success(request, _("Saved."))
    return True


def _store_action(request: HttpRequest, store: Any, action: str, issue_form: Any, adjust_form: Any, gift_form: Any,
                  templates: list[Any], gifts: list[Any]) -> bool:
    user = request.user
    perm = {"issue": "loyalty.add_voucher", "adjust": "loyalty.adjust_points", "gift": "loyalty.add_giftredemption"}.get(action)
    if perm is None:
        raise PermissionDenied
    _need(user, perm)
    form = {"issue": issue_form, "adjust": adjust_form, "gift": gift_form}[action]
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        customer = selectors.customer_by_reference(user, data["customer"])
        if action == "issue":
            template = next(t for t in templates if str(t.pk) == data["template"])
            voucher = services.voucher_issue(actor=user, customer=customer, store=store, template=template, reason=data["reason"])
            messages.success(request, _("Voucher %(code)s issued to %(name)s.") % {"code": voucher.code, "name": customer.name})
        elif action == "adjust":
            entry = services.points_adjust(actor=user, customer=customer, store=store, points=data["points"],
                                           reason=data["reason"], idempotency_key=f"web:{form.key()}")
            messages.success(request, _("%(name)s now has %(n)s points.") % {"name": customer.name, "n": entry.balance_after})
        else:
            gift = next(g for g in gifts if str(g.pk) == data["gift"])
            redemption = services.gift_redeem(actor=user, customer=customer, gift=gift, idempotency_key=f"web:{form.key()}")
            messages.success(request, _("%(gift)s given to %(name)s for %(n)s points.") % {
                "gift": gift.name, "name": customer.name, "n": -redemption.entry.points})
    except DomainError as exc:
        form.add_domain_error(exc)
        return False
    return True


# ---- referrals ---------------------------------------------------------------------------------------------------
@login_required
@permission_required("loyalty.view_referral", raise_exception=True)
def referrals(request: HttpRequest) -> HttpResponse:
    user = request.user
    store = store_from_request(request)
    form = ReferralForm(request.POST or None)
    if request.method == "POST":
        _need(user, "loyalty.add_referral")
        if form.is_valid():
            try:
                referrer = selectors.customer_by_reference(user, form.cleaned_data["referrer"], "referrer")
                referred = selectors.customer_by_reference(user, form.cleaned_data["referred"], "referred")
                services.referral_create(actor=user, referrer=referrer, referred=referred, store=store)
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Referral recorded: %(a)s referred %(b)s.") % {"a": referrer.name, "b": referred.name})
                return redirect(f"{request.path}?store={store.pk}")
    rows = selectors.referrals_visible_to(user).filter(store=store).order_by("-created_at", "-id")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "loyalty/referrals.html", {
        "store": store, "stores": _stores(user), "page": page, "form": form,
        "report": selectors.referral_report(user, store.pk),
    })


# ---- the customer 360 section ------------------------------------------------------------------------------------
def _section(request: HttpRequest, pk: int, *, issue_form: Any = None, adjust_form: Any = None, status: int = 200,
             notice: str = "") -> HttpResponse:
    user = request.user
    view = found(selectors.customer_loyalty, user, pk)
    context = {
        "v": view, "customer": view.customer, "notice": notice,
        "issue_form": issue_form or IssueVoucherForm(templates=view.templates),
        "adjust_form": adjust_form or AdjustForm(),
    }
    return render(request, "loyalty/_customer_section.html", context, status=status)


@login_required
@permission_required("loyalty.view_pointsentry", raise_exception=True)
def customer_section(request: HttpRequest, pk: int) -> HttpResponse:
    return _section(request, pk)


def _after_write(request: HttpRequest, pk: int, notice: str) -> HttpResponse:
    if request.htmx:
        return _section(request, pk, notice=notice)
    messages.success(request, notice)
    return redirect("web:customer_detail", pk)


@login_required
@require_POST
@permission_required("loyalty.add_voucher", raise_exception=True)
def customer_issue(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    customer = found(selectors.customer_for_loyalty, user, pk)
    templates = list(selectors.templates_for(user))
    form = IssueVoucherForm(request.POST, templates=templates)
    if form.is_valid():
        template = next(t for t in templates if str(t.pk) == form.cleaned_data["template"])
        try:
            store = store_from_request(request) if request.POST.get("store") else _store_for(user, template)
            voucher = services.voucher_issue(actor=user, customer=customer, store=store, template=template,
                                             reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            notice = _("Voucher %(code)s issued to %(name)s.") % {"code": voucher.code, "name": customer.name}
            return _after_write(request, pk, notice)
    return _section(request, pk, issue_form=form, status=200 if request.htmx else 422)


def _store_for(user: Any, template: Any) -> Any:
    from aftersales.common.scoping import default_store

    return default_store(user, template.store_id)


@login_required
@require_POST
@permission_required("loyalty.adjust_points", raise_exception=True)
def customer_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    customer = found(selectors.customer_for_loyalty, user, pk)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            store = store_from_request(request)
            entry = services.points_adjust(actor=user, customer=customer, store=store, points=form.cleaned_data["points"],
                                           reason=form.cleaned_data["reason"], idempotency_key=f"web:{form.key()}")
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            notice = _("%(name)s now has %(n)s points.") % {"name": customer.name, "n": entry.balance_after}
            return _after_write(request, pk, notice)
    return _section(request, pk, adjust_form=form, status=200 if request.htmx else 422)
