"""Messaging API under /api/messaging/: the outbox (list, detail, re-run), templates (list, save, preview) and
the SMS provider's reply callback."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import Forbidden
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store

from . import selectors, services

router = Router(tags=["messaging"])


class MessageOut(Schema):
    id: int
    store_id: int | None
    customer_id: int | None
    kind: str
    kind_label: str
    channel: str
    purpose: str
    language: str
    recipient: str
    subject: str
    body: str
    status: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    not_before: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None


class AttemptOut(Schema):
    number: int
    at: dt.datetime
    outcome: str
    provider: str
    provider_message_id: str
    error: str
    duration_ms: int


class MessageEventOut(Schema):
    from_state: str
    to_state: str
    actor_id: int | None
    reason: str
    at: dt.datetime


class MessageDetailOut(MessageOut):
    provider: str
    provider_message_id: str
    delivery_status: str
    delivery_attempts: list[AttemptOut]
    events: list[MessageEventOut]

    @staticmethod
    def resolve_delivery_attempts(obj: Any) -> list[Any]:
        return list(obj.delivery_attempts.all())

    @staticmethod
    def resolve_events(obj: Any) -> list[Any]:
        return list(obj.events.all())


class TemplateOut(Schema):
    id: int
    store_id: int | None
    kind: str
    channel: str
    language: str
    subject: str
    body: str
    provider_template_code: str
    is_active: bool
    updated_at: dt.datetime
    updated_by_id: int | None


class TemplateIn(Schema):
    kind: str
    channel: str
    language: str
    body: str
    subject: str = ""
    provider_template_code: str = ""
    store_id: int | None = None  # none: the group's default
    is_active: bool = True


class PreviewIn(Schema):
    kind: str
    channel: str
    language: str
    body: str
    subject: str = ""


class PreviewOut(Schema):
    subject: str
    body: str


class InboundIn(Schema):
    mobile: str
    text: str


class InboundOut(Schema):
    opted_out: bool


@router.get("/messages", response={200: list[MessageOut], **ERRORS})
@paginate(PageNumberPagination, page_size=25)
def list_messages(
    request: Any, status: str = "", channel: str = "", kind: str = "", customer_id: int | None = None,
    store_id: int | None = None,
) -> Any:
    user = request_user(request)
    require(user, "messaging.view_message")
    return selectors.message_list(user, status=status, channel=channel, kind=kind, customer_id=customer_id, store_id=store_id)


@router.get("/messages/{message_id}", response={200: MessageDetailOut, **ERRORS})
def get_message(request: Any, message_id: int) -> Any:
    user = request_user(request)
    require(user, "messaging.view_message")
    return selectors.message_get(user, message_id)


@router.post("/messages/{message_id}/retry", response={200: MessageDetailOut, **ERRORS})
def retry_message(request: Any, message_id: int) -> Any:
    user = request_user(request)
    require(user, "messaging.change_message")
    message = selectors.message_get(user, message_id)
    services.message_retry(actor=user, message=message)
    return selectors.message_get(user, message_id)


@router.get("/templates", response={200: list[TemplateOut], **ERRORS})
@paginate(PageNumberPagination, page_size=50)
def list_templates(request: Any, kind: str = "", channel: str = "", language: str = "", store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "messaging.change_messagetemplate")
    qs = selectors.templates_visible_to(user)
    filters = {k: v for k, v in {"kind": kind, "channel": channel, "language": language, "store_id": store_id}.items() if v}
    return qs.filter(**filters).order_by("kind", "channel", "language", "store_id", "id")


@router.put("/templates", response={200: TemplateOut, **ERRORS})
def save_template(request: Any, payload: TemplateIn) -> Any:
    """Create or update the template for (kind, channel, language) of a store (``store_id``) or of the group."""
    user = request_user(request)
    require(user, "messaging.change_messagetemplate")
    data = payload.dict()
    store_id = data.pop("store_id")
    store = default_store(user, store_id) if store_id is not None else None
    return services.template_save(actor=user, store=store, **data)


@router.post("/templates/preview", response={200: PreviewOut, **ERRORS})
def preview_template(request: Any, payload: PreviewIn) -> Any:
    user = request_user(request)
    require(user, "messaging.change_messagetemplate")
    subject, body = services.template_preview(**payload.dict())
    return {"subject": subject, "body": body}


INBOUND_HEADER = "X-Inbound-Secret"


def _inbound_secret_ok(request: HttpRequest) -> bool:
    """The SMS provider's callback proves itself with the shared secret MESSAGING_INBOUND_SECRET, sent in the
    ``X-Inbound-Secret`` header or the ``secret`` query parameter (for providers that only let you set a URL).
    No secret configured: every call is refused."""
    expected = settings.MESSAGING_INBOUND_SECRET or ""
    given = request.headers.get(INBOUND_HEADER) or request.GET.get("secret") or ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@router.post("/sms/inbound", auth=None, response={200: InboundOut, **ERRORS})
def sms_inbound(request: HttpRequest, payload: InboundIn) -> Any:
    """An SMS reply from a customer: TD / T / N / 退订 / STOP / UNSUBSCRIBE opt them out of marketing SMS."""
    if not _inbound_secret_ok(request):
        raise Forbidden("bad_secret", _("Wrong or missing inbound secret."), None)
    return {"opted_out": services.sms_reply_received(mobile=payload.mobile, text=payload.text)}
