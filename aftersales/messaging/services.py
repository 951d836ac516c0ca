"""The one way the product talks to customers (SPEC §13): queue a message in the business transaction.

``message_enqueue`` is called inside the transaction of the change that causes the message; the message row
commits or rolls back with it, and the dispatcher is nudged only after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.errors import ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.transitions import move

from .choices import MESSAGE_TRANSITIONS, Channel, MessageStatus, Purpose
from .kinds import KINDS, MessageKind
from .models import ChannelSettings, Message, MessageEvent, MessageTemplate
from .rendering import render, validate_text

log = logging.getLogger(__name__)
OPT_OUT_SALT = "aftersales.messaging.opt-out"
LANGUAGES = ("zh-hans", "en")


def channel_settings(store: Any) -> ChannelSettings:
    settings_row, _created = ChannelSettings.objects.get_or_create(store=store)
    return settings_row


# ---- quiet hours -----------------------------------------------------------------------------------------
def in_quiet_hours(local: dt.datetime, start: dt.time, end: dt.time) -> bool:
    t = local.time()
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end  # the window crosses midnight (21:00–08:00)


def after_quiet_hours(when: dt.datetime, store: Any) -> dt.datetime:
    """``when`` if it is outside the store's quiet hours, else the end of those quiet hours (aware, UTC)."""
    cfg = channel_settings(store)
    local = timezone.localtime(when, store.zone)
    if not in_quiet_hours(local, cfg.quiet_start, cfg.quiet_end):
        return when
    end = local.replace(hour=cfg.quiet_end.hour, minute=cfg.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end.astimezone(dt.UTC)


# ---- templates -------------------------------------------------------------------------------------------
def _kind(code: str) -> MessageKind:
    if code not in KINDS:
        raise ValidationFailed("unknown_kind", _("Unknown message kind “%(k)s”.") % {"k": code}, "kind")
    return KINDS[code]


def template_for(*, store: Any, kind: MessageKind, channel: str, language: str) -> tuple[str, str, str]:
    """(subject, body, provider template code): the store's template, else the group's, else the built-in text."""
    rows = list(
        MessageTemplate.objects.filter(group_id=store.group_id, kind=kind.code, channel=channel, language=language, is_active=True)
        .filter(store__isnull=True) | MessageTemplate.objects.filter(
            store=store, kind=kind.code, channel=channel, language=language, is_active=True
        )
    )
    rows.sort(key=lambda t: t.store_id is None)  # store override first
    if rows:
        return rows[0].subject, rows[0].body, rows[0].provider_template_code
    return str(kind.label), kind.default_text.get(language) or kind.default_text["zh-hans"], ""


def template_save(
    *,
    actor: Any,
    kind: str,
    channel: str,
    language: str,
    body: str,
    subject: str = "",
    provider_template_code: str = "",
    store: Any = None,
    is_active: bool = True,
) -> MessageTemplate:
    """Create or update a template; unknown variables are refused here, not at send time."""
    require(actor, "messaging.change_messagetemplate")
    message_kind = _kind(kind)
    if channel not in Channel.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": channel}, "channel")
    if language not in LANGUAGES:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": language}, "language")
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("body_required", _("The text is required."), "body")
    if len(body) > 2000:
        raise ValidationFailed("body_too_long", _("The text is at most 2,000 characters."), "body")
    validate_text(body, message_kind, "body")
    validate_text(subject or "", message_kind, "subject")
    if store is not None:
        require_store(actor, store.pk)
    with transaction.atomic():
        lookup = {"group_id": actor.dealer_group_id, "kind": kind, "channel": channel, "language": language}
        if store is None:
            template = MessageTemplate.objects.filter(store__isnull=True, **lookup).select_for_update().first()
        else:
            template = MessageTemplate.objects.filter(store=store, **lookup).select_for_update().first()
        before = {} if template is None else {"body": template.body, "subject": template.subject, "is_active": template.is_active}
        if template is None:
            template = MessageTemplate(store=store, **lookup)
        template.body = body
        template.subject = (subject or "").strip()
        template.provider_template_code = (provider_template_code or "").strip()
        template.is_active = is_active
        template.updated_by = actor
        template.save()
        audit.record(
            actor=actor, obj=template, action="message_template.saved", store_id=getattr(store, "pk", None),
            changes=audit.diff(before, {"body": template.body, "subject": template.subject, "is_active": template.is_active}),
        )
    return template


def template_preview(*, kind: str, channel: str, language: str, body: str, subject: str = "") -> tuple[str, str]:
    """The text as a customer would see it, with the kind's sample values (and validation errors, if any)."""
    message_kind = _kind(kind)
    validate_text(body, message_kind, "body")
    validate_text(subject, message_kind, "subject")
    return render(
        body=body, subject=subject, kind=message_kind, channel=channel, language=language,
        variables=message_kind.variables, opt_out_link="https://example.invalid/m/o/…",
    )


# ---- consent -----------------------------------------------------------------------------------------------
def marketing_allowed(customer: Any, channel: str) -> bool:
    """Marketing needs the customer's current consent on that channel (the latest record wins)."""
    from aftersales.customers.models import Consent

    latest = (
        Consent.objects.filter(customer=customer, purpose="marketing", channel=channel)
        .order_by("-at", "-id").values_list("granted", flat=True).first()
    )
    return bool(latest)


def opt_out_token(message_id: int) -> str:
    return signing.dumps(message_id, salt=OPT_OUT_SALT, compress=True)


def opt_out_link(message_id: int) -> str:
    from django.conf import settings

    return f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/m/o/{opt_out_token(message_id)}/"


def message_from_opt_out_token(token: str) -> Message | None:
    try:
        message_id = signing.loads(token, salt=OPT_OUT_SALT)
    except signing.BadSignature:
        return None
    return Message.objects.select_related("customer").filter(pk=message_id).first()


def opt_out(*, message: Message, via: str) -> bool:
    """The customer opts out of marketing on the message's channel (link or reply keyword). Idempotent."""
    from aftersales.customers.services import consent_opt_out

    if message.customer is None:
        return False
    return consent_opt_out(customer=message.customer, channel=message.channel, note=f"{via} #{message.pk}")


# ---- the outbox ----------------------------------------------------------------------------------------------
def _recipient(channel: str, customer: Any, store: Any, staff_user: Any) -> str:
    if channel in (Channel.SMS, Channel.PHONE):
        return customer.mobile if customer else getattr(staff_user, "phone", "")
    if channel == Channel.EMAIL:
        return customer.email if customer else getattr(staff_user, "email", "")
    if channel == Channel.WECHAT:
        return customer.wechat_openid if customer else ""
    if channel == Channel.APP:
        return f"customer:{customer.pk}" if customer else f"user:{staff_user.pk}"
    if channel == Channel.WEBHOOK:
        return channel_settings(store).webhook_url
    return ""


def message_enqueue(
    *,
    kind: str,
    store: Any,
    variables: dict[str, Any],
    dedup_key: str,
    customer: Any = None,
    staff_user: Any = None,
    channel: str | None = None,
    language: str | None = None,
    not_before: dt.datetime | None = None,
) -> Message:
    """Queue a message in the current transaction. The same ``dedup_key`` creates it once, whatever happens.

    The channel defaults to the customer's preferred one (falling back to SMS when it has no address);
    marketing without consent is recorded as suppressed, never sent; marketing waits out quiet hours.
    """
    existing = Message.objects.filter(dedup_key=dedup_key).first()
    if existing is not None:
        return existing
    message_kind = _kind(kind)
    if customer is None and staff_user is None and channel != Channel.WEBHOOK:
        raise ValidationFailed("recipient_required", _("A message needs a customer or a staff member."), "customer")
    channel = channel or (customer.preferred_channel if customer else Channel.APP)
    if channel not in Channel.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": channel}, "channel")
    recipient = _recipient(channel, customer, store, staff_user)
    if not recipient and customer is not None and channel != Channel.SMS:
        channel = Channel.SMS  # the preferred channel has no address (no e-mail, no WeChat): every customer has a mobile
        recipient = _recipient(channel, customer, store, staff_user)
    language = language or getattr(customer, "language", "") or getattr(staff_user, "language", "") or "zh-hans"
    if language not in LANGUAGES:
        language = "zh-hans"
    subject, body, provider_code = template_for(store=store, kind=message_kind, channel=channel, language=language)
    now = timezone.now()
    status = MessageStatus.PENDING
    last_error = ""
    if not recipient:
        status, last_error = MessageStatus.FAILED, _("No address for this channel.")
    elif message_kind.purpose == Purpose.MARKETING and (customer is None or not marketing_allowed(customer, channel)):
        status, last_error = MessageStatus.SUPPRESSED, _("No marketing consent on this channel.")
    due = not_before or now
    if message_kind.purpose == Purpose.MARKETING:
        due = after_quiet_hours(due, store)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                group_id=store.group_id, store=store, customer=customer, staff_user=staff_user, kind=kind, channel=channel,
                purpose=message_kind.purpose, language=language, recipient=recipient, variables=variables,
                dedup_key=dedup_key, status=status, not_before=due, next_attempt_at=due, last_error=last_error,
                provider_template_code=provider_code, body="-", created_at=now,
            )
            message.subject, message.body = render(
                body=body, subject=subject, kind=message_kind, channel=channel, language=language,
                variables=variables, opt_out_link=opt_out_link(message.pk),
            )
            message.save(update_fields=["subject", "body"])
    except IntegrityError:
        existing = Message.objects.filter(dedup_key=dedup_key).first()
        if existing is None:
            raise
        return existing
    if status == MessageStatus.PENDING:
        countdown = max(0.0, (due - now).total_seconds())
        transaction.on_commit(lambda: nudge_dispatcher(countdown))
    return message


def nudge_dispatcher(countdown: float = 0.0) -> None:
    """Ask a worker to dispatch soon. Best effort: if the broker is down the periodic sweep still finds the message."""
    from .tasks import dispatch

    try:
        dispatch.apply_async(countdown=countdown)
    except Exception:  # the business change is committed; a lost nudge only delays the message
        log.warning("could not reach the task broker; the next dispatch sweep will send the message", exc_info=True)


def message_move(*, message: Message, to: str, actor: Any = None, reason: str = "") -> Message:
    """The one function that moves a message between states (with its event row)."""
    return move(
        message, to=to, actor=actor, transitions=MESSAGE_TRANSITIONS, event_model=MessageEvent, event_fk="message",
        reason=reason, labels=MessageStatus,
    )


def message_retry(*, actor: Any, message: Message) -> Message:
    """An operator re-runs a failed (or unknown-outcome) message now."""
    require(actor, "messaging.change_message")
    if message.store_id:
        require_store(actor, message.store_id)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        message_move(message=locked, to=MessageStatus.PENDING, actor=actor, reason=_("Re-run by an operator"))
        locked.next_attempt_at = timezone.now()
        locked.last_error = ""
        locked.save(update_fields=["next_attempt_at", "last_error"])
        audit.record(actor=actor, obj=locked, action="message.retried", store_id=locked.store_id, customer_id=locked.customer_id)
        transaction.on_commit(nudge_dispatcher)
    return locked
