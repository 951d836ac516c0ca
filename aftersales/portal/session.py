"""The owner's own session: a customer id under its own key, never Django's staff login (``_auth_user_id``).

Signing in as an owner logs any staff user out of that browser first, and a request that carries a staff login is
never served as an owner (``owner_required`` refuses it), so the two kinds of session never mix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_KEY = "portal_customer_id"
EPOCH_KEY = "portal_epoch"  # the account's epoch at sign-in: deleting the account moves it, ending every session
SESSION_AGE = 30 * 24 * 3600  # owners stay signed in on their phone for a month


def sign_in(request: HttpRequest, customer: Any) -> None:
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        logout(request)  # a staff login in this browser ends: one kind of session at a time
    from .models import OwnerAccount

    request.session.cycle_key()
    request.session[SESSION_KEY] = customer.pk
    request.session[EPOCH_KEY] = OwnerAccount.objects.filter(customer=customer).values_list("epoch", flat=True).first() or 0
    request.session.set_expiry(SESSION_AGE)


def sign_out(request: HttpRequest) -> None:
    request.session.flush()


def current_customer(request: HttpRequest) -> Any:
    """The signed-in owner, or None (also None for a browser signed in as staff)."""
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        return None
    pk = request.session.get(SESSION_KEY)
    if not pk:
        return None
    from django.db.models import OuterRef, Subquery

    from aftersales.customers.models import Customer

    from .models import OwnerAccount

    epoch = Subquery(OwnerAccount.objects.filter(customer=OuterRef("pk")).values("epoch")[:1])
    customer = (Customer.objects.filter(pk=pk, anonymised_at__isnull=True).annotate(portal_epoch=epoch)
                .select_related("home_store").first())
    if customer is None or (customer.portal_epoch or 0) != request.session.get(EPOCH_KEY, 0):
        return None  # the account was deleted since this session signed in
    return customer


def safe_next(request: HttpRequest, value: str | None) -> str:
    if value and value.startswith("/") and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return value
    return reverse("portal:home")


def owner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            return render(request, "portal/staff_refused.html", status=403)
        customer = current_customer(request)
        if customer is None:
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = reverse("portal:login")
                return response
            return redirect(f"{reverse('portal:login')}?{urlencode({'next': request.get_full_path()})}")
        request.customer = customer  # type: ignore[attr-defined]
        if not request.COOKIES.get("django_language") and not request.GET.get("lang"):
            translation.activate(customer.language or "zh-hans")
            request.LANGUAGE_CODE = translation.get_language()
        return view(request, *args, **kwargs)

    return wrapper
