from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    """Activates the signed-in user's chosen language (zh-Hans by default, English one click away)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        lang = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if lang:
            translation.activate(lang)
            request.LANGUAGE_CODE = lang  # type: ignore[attr-defined]
        response = self.get_response(request)
        if lang:
            response.headers.setdefault("Content-Language", lang)
        return response


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every page and API answer the app makes (issue 13, item 8): they carry
    customers' names, phones, cars and invoices, which no browser, proxy or shared computer should keep. Static
    files (served by WhiteNoise before this middleware) keep their long cache; a view that sets its own
    Cache-Control keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store, private"
        return response


#: Scripts and style sheets from our own static files only: no inline script, no inline <style>, no inline style
#: attributes (no 'unsafe-inline' anywhere: templates use CSS classes, and positions computed on the server come as
#: data attributes that page.js applies), no eval (htmx runs with allowEval off), no other origin. Images may be
#: data:/blob: URLs (signature pads, photo previews, ECharts' export). Override with AFTERSALES_CSP (docs/security.md
#: "Content-Security-Policy").
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy header on every response (issue 13, item 8); a view that sets its own keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.conf import settings

        self.get_response = get_response
        self.policy = getattr(settings, "AFTERSALES_CSP", "") or DEFAULT_CSP

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
