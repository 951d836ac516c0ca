"""The accessories shop: the owner's pages at /app/shop/ and the store's order queue at /shop/orders/ (thin views
over :mod:`aftersales.portal.shop`)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from aftersales.common.errors import DomainError

from . import selectors, services, shop
from .session import owner_required
from .views import _render, _use_language


def _field_errors(exc: DomainError) -> dict[str, str]:
    errors = {str(e.get("field") or "general"): str(e.get("message")) for e in exc.extra.get("errors") or []}
    return errors or {str(exc.field or "general"): str(exc.message)}


def _store(request: HttpRequest, customer: Any) -> tuple[Any, list[Any]]:
    stores = list(selectors.stores_for(customer))
    store = selectors.store_pick(customer, request.GET.get("store") or request.POST.get("store"), stores)
    if store is None:
        raise Http404
    return store, stores


@owner_required
def shop_home(request: HttpRequest) -> HttpResponse:
    """What the store sells in the app; "add to cart" (POST) keeps the owner on the list."""
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    store, stores = _store(request, customer)
    errors: dict[str, str] = {}
    status = 200
    added = ""
    if request.method == "POST":
        try:
            shop.cart_add(request.session, store, request.POST.get("part"), request.POST.get("quantity", "1"))
        except DomainError as exc:
            errors, status = _field_errors(exc), exc.status
            errors = {f"{request.POST.get('part')}": next(iter(errors.values()))}
        else:
            return redirect(f"{reverse('portal:shop')}?store={store.code}&added={request.POST.get('part', '')}")
    added = request.GET.get("added", "")
    cart = shop.cart_get(request.session)
    count = sum(cart["items"].values()) if cart["store"] == store.pk else 0
    return _render(request, "portal/shop.html", {
        "store": store, "stores": stores, "items": shop.catalogue(store), "errors": errors, "added": added,
        "cart_count": count,
    }, status=status)


@owner_required
def shop_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """An item's photo (only of a part offered in the app by the owner's dealer group)."""
    from aftersales.parts.models import Part

    customer = request.customer  # type: ignore[attr-defined]
    part = Part.objects.filter(pk=pk, group_id=customer.group_id, sold_online=True).first()
    if part is None or not part.online_photo:
        raise Http404
    try:
        handle = part.online_photo.open("rb")
    except OSError as exc:
        raise Http404 from exc
    response = FileResponse(handle)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@owner_required
def shop_cart(request: HttpRequest) -> HttpResponse:
    """The cart: change quantities, remove, choose pickup or fitting at a visit, place the order."""
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    cart = shop.cart_get(request.session)
    stores = list(selectors.stores_for(customer))
    store = next((s for s in stores if s.pk == cart["store"]), None)
    errors: dict[str, str] = {}
    status = 200
    form = {"fulfilment": request.POST.get("fulfilment", ""), "target": request.POST.get("target", "")}
    if request.method == "POST" and store is not None:
        items = {k[4:]: v for k, v in request.POST.items() if k.startswith("qty_")}
        if request.POST.get("action") == "update":
            cleaned: dict[str, int] = {}
            for key, value in items.items():
                try:
                    cleaned[key] = max(0, min(int(value), shop.MAX_QTY))
                except ValueError:
                    cleaned[key] = int(cart["items"].get(key) or 0)
            remove = request.POST.get("remove", "")
            if remove:
                cleaned.pop(remove, None)
            shop.cart_save(request.session, store.pk, cleaned)
            return redirect("portal:shop_cart")
        try:
            order = shop.shop_order_place(customer=customer, store=store, items=items or cart["items"],
                                          fulfilment=form["fulfilment"], target=form["target"])
        except DomainError as exc:
            errors, status = _field_errors(exc), exc.status
            if exc.status == 404:
                raise Http404 from exc
        else:
            shop.cart_save(request.session, None, {})
            if order.invoice_id:
                return redirect("portal:shop_order_pay", order.pk)
            return redirect("portal:shop_order", order.pk)
    lines, total = shop.cart_lines(store, cart["items"]) if store is not None else ([], 0)
    return _render(request, "portal/shop_cart.html", {
        "store": store, "lines": lines, "total": total, "errors": errors, "form": form,
        "targets": shop.fit_targets(customer, store) if store is not None else [],
        "fulfilments": shop.Fulfilment.choices, "max_qty": shop.MAX_QTY,
    }, status=status)


@owner_required
def shop_orders(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    return _render(request, "portal/shop_orders.html", {"orders": list(shop.orders_of(customer)[:50])})


@owner_required
def shop_order(request: HttpRequest, pk: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    order = shop.order_get(customer, pk)
    error = ""
    if request.method == "POST" and request.POST.get("action") == "cancel":
        try:
            shop.shop_order_cancel_by_owner(customer=customer, order=order)
        except DomainError as exc:
            error = str(exc.message)
        else:
            return redirect("portal:shop_order", order.pk)
    return _render(request, "portal/shop_order.html", {
        "order": order, "paid": shop.is_paid(order), "error": error,
        "can_pay": order.invoice is not None and order.invoice.status == "issued" and order.status in ("placed", "picking", "ready"),
        "unpaid_minutes": shop.unpaid_minutes(),
    }, status=409 if error else 200)


@owner_required
def shop_order_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Pay the order's sale invoice: vouchers and points first, then online (the same flow as a visit's invoice)."""
    from aftersales.billing.models import Invoice
    from aftersales.billing.online import allow_payment_redirects, pay_flow

    from .views import _errors

    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    order = shop.order_get(customer, pk)
    if order.invoice_id is None or order.status in (shop.Status.CANCELLED, shop.Status.EXPIRED):
        raise Http404
    invoice = Invoice.objects.select_related("store", "customer").get(pk=order.invoice_id, customer=customer)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    loyalty_errors: dict[str, str] = {}
    status = 200
    if action in ("points", "voucher"):
        try:
            services.owner_pay_loyalty(customer=customer, invoice=invoice, action=action, data=request.POST)
        except DomainError as exc:
            loyalty_errors, status = _errors(exc), exc.status
            if exc.status == 404:
                raise Http404 from exc
        else:
            return redirect(f"{request.path}?applied={action}")
        request.method = "GET"
    result = pay_flow(request, invoice, request.path)
    if isinstance(result, HttpResponse):
        return result
    customer.refresh_from_db(fields=["points_balance"])
    result.update(
        loyalty=selectors.pay_loyalty(customer, result["invoice"]), loyalty_errors=loyalty_errors,
        applied=request.GET.get("applied", ""), pay_key=uuid.uuid4().hex, shop_order=order,
    )
    return allow_payment_redirects(_render(request, "portal/pay.html", result,
                                           status=status if loyalty_errors else result["status"]))


# ---- the store's side ----------------------------------------------------------------------------------------------
def _staff(request: HttpRequest, perm: str) -> None:
    if not request.user.is_authenticated:
        raise _LoginNeeded
    if not request.user.has_perm(perm):
        raise PermissionDenied


class _LoginNeeded(Exception):
    pass


def staff_orders(request: HttpRequest) -> HttpResponse:
    """The stores' app orders (the stores the user works at), newest first, filtered by status."""
    try:
        _staff(request, "portal.view_shoporder")
    except _LoginNeeded:
        return redirect_to_login(request.get_full_path())
    status = request.GET.get("status", "")
    page = Paginator(shop.staff_orders(request.user, status), 30).get_page(request.GET.get("page"))
    return render(request, "portal/staff_shop_orders.html", {
        "page": page, "status": status, "statuses": shop.Status.choices,
    })


def staff_order(request: HttpRequest, pk: int) -> HttpResponse:
    """One app order: its items, payment, and the next steps (pick, ready, handed over, cancel with refund)."""
    try:
        _staff(request, "portal.view_shoporder")
    except _LoginNeeded:
        return redirect_to_login(request.get_full_path())
    order = shop.staff_order_get(request.user, pk)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not (request.user.has_perm("portal.change_shoporder") or request.user.has_perm("billing.add_refund")):
            raise PermissionDenied
        try:
            shop.shop_order_move(actor=request.user, order=order, to=request.POST.get("to", ""),
                                 reason=request.POST.get("reason", ""))
        except DomainError as exc:
            errors, status = _field_errors(exc), exc.status
        else:
            return redirect("portal_shop:order", order.pk)
        order = shop.staff_order_get(request.user, pk)
    return render(request, "portal/staff_shop_order.html", {
        "order": order, "paid": shop.is_paid(order), "errors": errors, "next": [(s, shop.Status(s).label) for s in shop.Status.values if s in shop.TRANSITIONS[order.status]],
        "reason": request.POST.get("reason", ""), "may_cancel": shop.may_cancel(request.user, order),
        "may_move": request.user.has_perm("portal.change_shoporder"),
    }, status=status)

