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
