"""The rating terminal's pages (no staff session, no staff navigation) and the customer's phone rating page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, NotFound

from . import kiosk
from .models import RatingTerminal, hash_key

COOKIE = "aftersales_kiosk"
COOKIE_AGE = 5 * 365 * 24 * 3600
LANGUAGES = ("zh-hans", "en")


def _language(request: HttpRequest, order: Any = None) -> str:
    wanted = request.GET.get("lang") or request.POST.get("lang") or ""
    if wanted in LANGUAGES:
        return wanted
    customer_language = getattr(getattr(order, "customer", None), "language", "")
    return customer_language if customer_language in LANGUAGES else "zh-hans"


def _kiosk_render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    language = _language(request, context.get("order"))
    with translation.override(language):
        response = render(request, template, {**context, "lang": language}, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Frame-Options"] = "DENY"
    return response


@never_cache
def pair(request: HttpRequest, key: str) -> HttpResponse:
    """The pairing link: confirm on the tablet; the browser is signed out of any staff session and keeps the key."""
    terminal = RatingTerminal.objects.filter(key_hash=hash_key(key), revoked_at__isnull=True).select_related("store").first()
    if terminal is None:
        raise Http404
    if request.method == "POST":
        logout(request)
        response = redirect("kiosk:page")
        response.set_cookie(COOKIE, key, max_age=COOKIE_AGE, httponly=True, samesite="Lax",
                            secure=bool(getattr(settings, "SESSION_COOKIE_SECURE", False)))
        return response
    return _kiosk_render(request, "people/kiosk_pair.html", {"terminal": terminal})


def _terminal(request: HttpRequest) -> RatingTerminal | None:
    return kiosk.terminal_for_key(request.COOKIES.get(COOKIE))


@never_cache
def page(request: HttpRequest) -> HttpResponse:
    """The kiosk: waiting (refreshes itself) or the rating form for the order the advisor sent."""
    terminal = _terminal(request)
    if terminal is None:
        return _kiosk_render(request, "people/kiosk_unpaired.html", {}, status=403)
    order = terminal.current_order
    return _kiosk_render(request, "people/kiosk.html", {"terminal": terminal, "order": order, "errors": {}})


@never_cache
@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    terminal = _terminal(request)
    if terminal is None:
        return _kiosk_render(request, "people/kiosk_unpaired.html", {}, status=403)
    if request.POST.get("skip") == "1":
        kiosk.kiosk_skip(terminal=terminal)
        return redirect("kiosk:page")
    order = terminal.current_order
    try:
        kiosk.kiosk_rate(
            terminal=terminal, order_id=request.POST.get("order", ""), visit_score=request.POST.get("visit_score"),
            advisor_score=request.POST.get("advisor_score"), comment=request.POST.get("comment", ""),
        )
    except DomainError as exc:
        if exc.code in ("not_on_terminal", "already_rated"):
            return _kiosk_render(request, "people/kiosk_thanks.html", {"order": order, "message": str(exc.message)},
                                 status=409)
        errors = {e["field"]: e["message"] for e in exc.extra.get("errors", [{"field": exc.field, "message": str(exc.message)}])}
        return _kiosk_render(request, "people/kiosk.html", {
            "terminal": terminal, "order": order, "errors": errors, "posted": request.POST,
        }, status=422)
    return _kiosk_render(request, "people/kiosk_thanks.html", {"order": order, "message": ""})


@never_cache
def phone(request: HttpRequest, token: str) -> HttpResponse:
    """The same rating on the customer's phone (the QR code on the delivery screen)."""
    try:
        order = kiosk.order_from_rating_token(token)
    except NotFound as exc:
        raise Http404 from exc
    from aftersales.feedback.ratings import rating_for

    done = rating_for(order)
    if request.method == "POST" and done is None:
        try:
            kiosk.phone_rate(token=token, visit_score=request.POST.get("visit_score"),
                             advisor_score=request.POST.get("advisor_score"), comment=request.POST.get("comment", ""))
        except DomainError as exc:
            if exc.code != "already_rated":
                errors = {e["field"]: e["message"]
                          for e in exc.extra.get("errors", [{"field": exc.field, "message": str(exc.message)}])}
                return _kiosk_render(request, "people/phone_rating.html", {
                    "order": order, "errors": errors, "posted": request.POST, "token": token,
                }, status=422 if exc.status == 422 else exc.status)
        return _kiosk_render(request, "people/kiosk_thanks.html", {"order": order, "message": "", "phone": True})
    if done is not None:
        return _kiosk_render(request, "people/kiosk_thanks.html", {"order": order, "message": "", "phone": True})
    return _kiosk_render(request, "people/phone_rating.html", {"order": order, "errors": {}, "token": token})
