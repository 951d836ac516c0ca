"""The REST API under /api/ (django-ninja). OpenAPI at /api/openapi.json, docs at /api/docs.

Authentication: ``Authorization: Bearer <token>`` for integrations, or the browser session (with CSRF).
Errors are ``{code, message, field}`` with a 4xx status.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from aftersales.common.errors import DomainError, number_too_large


class TokenAuth(HttpBearer):
    openapi_description = "Staff API token: `Authorization: Bearer as_…` (created by a store manager)."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from aftersales.common import throttle
        from aftersales.staff.services import token_authenticate

        # Guessing keys counts like guessing passwords: the same window and per-address limit (issue 13, item 3).
        ip = throttle.client_ip(request)
        throttle.check("api-token", ip, limit=throttle.LOGIN_FAILURES_PER_ADDRESS, window=throttle.LOGIN_WINDOW)
        user = token_authenticate(token)
        if user is None:
            throttle.record("api-token", ip, window=throttle.LOGIN_WINDOW)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The browser's Django session (CSRF-checked for writes)."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> Any:
        # CSRF protects a signed-in session; a request without one (e.g. an integration with a bad or revoked
        # token) is simply unauthenticated (401), not a CSRF failure (403).
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


api = NinjaAPI(
    title="Aftersales API",
    version="1",
    description="Customers, vehicles, mileage, stores and staff of the Aftersales platform.",
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None = None, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "field": field, **extra}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, str(exc.message), exc.field, **exc.extra)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "payload", "query", "path")]
    field = ".".join(loc) or None
    message = _("Invalid value for %(field)s: %(msg)s") % {"field": field or _("request"), "msg": first.get("msg", "")}
    return _error(request, 422, "invalid", message, field, errors=[
        {"field": ".".join(str(p) for p in e.get("loc", []) if p not in ("body", "payload", "query", "path")),
         "message": e.get("msg", "")} for e in exc.errors
    ])


def _number_fields(value: Any, path: str) -> list[tuple[Decimal, str]]:
    """(magnitude, field) of every number-like value in a request part (path, query or JSON body)."""
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _number_fields(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [hit for n, v in enumerate(value) for hit in _number_fields(v, f"{path}[{n}]")]
    if isinstance(value, bool) or value is None:
        return []
    try:
        number = abs(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return []
    return [(number if number.is_finite() else Decimal("Infinity"), path)]


def _out_of_range_field(request: HttpRequest) -> str | None:
    """The field holding the largest number of the request: the one the database could not store."""
    import contextlib
    import json

    found = _number_fields(dict(getattr(request.resolver_match, "kwargs", {}) or {}), "")
    found += _number_fields({k: request.GET.get(k) for k in request.GET}, "")
    if request.content_type == "application/json" and request.body:
        with contextlib.suppress(ValueError):
            found += _number_fields(json.loads(request.body), "")
    return max(found)[1] if found else None


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def on_number_out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A number too large for its column (an id, a page, a count): 422 naming it, never a 500 (issue 13, item 6).
    The services refuse wild amounts and quantities themselves; this is the net under every other number."""
    if isinstance(exc, DataError) and "range" not in str(exc) and "overflow" not in str(exc):
        raise exc
    return on_domain_error(request, number_too_large(_out_of_range_field(request)))


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", _("Sign in or send a valid API token."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found, or not visible to you."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "error", str(exc))


from aftersales.analytics.api import router as analytics_router  # noqa: E402
from aftersales.appointments.api import router as appointments_router  # noqa: E402
from aftersales.assessments.api import router as assessments_router  # noqa: E402
from aftersales.billing.api import router as billing_router  # noqa: E402
from aftersales.care.api import router as care_router  # noqa: E402
from aftersales.customers.api import router as customers_router  # noqa: E402
from aftersales.engagement.api import router as engagement_router  # noqa: E402
from aftersales.estimates.api import router as estimates_router  # noqa: E402
from aftersales.feedback.api import router as feedback_router  # noqa: E402
from aftersales.inspections.api import router as inspections_router  # noqa: E402
from aftersales.loyalty.api import router as loyalty_router  # noqa: E402
from aftersales.messaging.api import router as messaging_router  # noqa: E402
from aftersales.mobility.api import router as mobility_router  # noqa: E402
from aftersales.parts.api import router as parts_router  # noqa: E402
from aftersales.people.api import router as people_router  # noqa: E402
from aftersales.portal.api import router as portal_router  # noqa: E402
from aftersales.reception.api import router as reception_router  # noqa: E402
from aftersales.rescue.api import router as rescue_router  # noqa: E402
from aftersales.staff.api import router as staff_router  # noqa: E402
from aftersales.stores.api import router as stores_router  # noqa: E402
from aftersales.telematics.api import router as telematics_router  # noqa: E402
from aftersales.vehicles.api import router as vehicles_router  # noqa: E402
from aftersales.workshop.api import router as workshop_router  # noqa: E402

api.add_router("/stores", stores_router)
api.add_router("/staff/rescue", rescue_router)  # before /staff: its paths are more specific
api.add_router("/staff/assessments", assessments_router)  # before /staff too
api.add_router("/staff", staff_router)
api.add_router("/customers", customers_router)
api.add_router("/vehicles", vehicles_router)
api.add_router("/messaging", messaging_router)
api.add_router("/parts", parts_router)
api.add_router("/appointments", appointments_router)
api.add_router("/billing", billing_router)
api.add_router("/reception", reception_router)
api.add_router("/engagement", engagement_router)
api.add_router("/loyalty", loyalty_router)
api.add_router("/feedback", feedback_router)
api.add_router("/care", care_router)
api.add_router("/inspections", inspections_router)
api.add_router("/workshop", workshop_router)
api.add_router("/people", people_router)
api.add_router("/estimates", estimates_router)
api.add_router("/portal", portal_router)
api.add_router("/telematics", telematics_router)
api.add_router("/mobility", mobility_router)
api.add_router("/analytics", analytics_router)
