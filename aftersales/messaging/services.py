"""The one way the product talks to customers (SPEC §13): queue a message in the business transaction.

``message_enqueue`` is called inside the transaction of the change that causes the message; the message row
commits or rolls back with it, and the dispatcher is nudged only after commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from aftersales.common import audit
from aftersales.common.bulk import update_rows
from aftersales.common.db import service_atomic
from aftersales.common.errors import DomainError, Forbidden, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.scoping import spans_group
from aftersales.common.transitions import move

from .choices import MESSAGE_TRANSITIONS, Channel, MessageStatus, Purpose
from .kinds import KINDS, MessageKind, default_subject, sample_values
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
    return _after_quiet(when, store, channel_settings(store))


def _after_quiet(when: dt.datetime, store: Any, cfg: ChannelSettings) -> dt.datetime:
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
    with override(language):
        label = str(default_subject(kind))
    return label, kind.default_text.get(language) or kind.default_text["zh-hans"], ""


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
    elif not spans_group(actor):
        raise Forbidden("group_admin_only", _("Only a group admin changes the group's default text."), "store")
    with service_atomic():
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
        variables=sample_values(message_kind, language), opt_out_link="https://example.invalid/m/o/…",
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
def recipient_language(*, customer: Any = None, staff_user: Any = None) -> str:
    """The language a message to this person is written in: the customer's, else the staff member's setting."""
    language = getattr(customer, "language", "") if customer is not None else getattr(staff_user, "language", "")
    return language if language in LANGUAGES else "zh-hans"


def in_language_of(*, customer: Any = None, staff_user: Any = None) -> Any:
    """``with in_language_of(customer=c):`` builds a message's variables in its recipient's language, whatever the
    language of the request, task or command that causes the message."""
    return override(recipient_language(customer=customer, staff_user=staff_user))


def localized_name(name: str, language: str) -> str:
    """One language of a bilingual name written "广州天河店 / Guangzhou Tianhe": the Chinese part for zh-hans, the
    other for English; a name without a " / " stays as it is."""
    from aftersales.common.text import localized_name as split_name

    return split_name(name, language)


def customer_variables(*, customer: Any, store: Any) -> dict[str, str]:
    """The variables every customer message has, in the customer's own language (张先生 / Mr 张, the store's name in
    that language only)."""
    language = recipient_language(customer=customer)
    with in_language_of(customer=customer):
        greeting = customer.greeting
    return {
        "customer_name": customer.name,
        "greeting": greeting,
        "store_name": localized_name(store.name, language),
        "store_phone": store.phone,
    }


def _recipient(channel: str, customer: Any, store: Any, staff_user: Any, webhook_url: Any = None) -> str:
    """The address on ``channel``; ``webhook_url(store)`` gives the store's webhook (its channel settings)."""
    if channel in (Channel.SMS, Channel.PHONE):
        return customer.mobile if customer else getattr(staff_user, "phone", "")
    if channel == Channel.EMAIL:
        return customer.email if customer else getattr(staff_user, "email", "")
    if channel == Channel.WECHAT:
        return customer.wechat_openid if customer else ""
    if channel == Channel.APP:
        return f"customer:{customer.pk}" if customer else f"user:{staff_user.pk}"
    if channel == Channel.WEBHOOK:
        return webhook_url(store) if webhook_url is not None else channel_settings(store).webhook_url
    return ""


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to queue: the arguments of :func:`message_enqueue`, for :func:`message_enqueue_many`."""

    kind: str
    store: Any
    variables: dict[str, Any]
    dedup_key: str
    customer: Any = None
    staff_user: Any = None
    channel: str | None = None
    language: str | None = None
    not_before: dt.datetime | None = None
    #: an e-mail address outside the customers and staff (a parts supplier): sent on the e-mail channel, in
    #: ``language`` (the store's, Chinese, by default)
    address: str = ""


#: messages written per INSERT batch (and per dedup query) by ``message_enqueue_many``
ENQUEUE_CHUNK = 1000
#: stands in for the opt-out link while a text is rendered before its message has an id
_LINK_MARK = "\ue000opt-out\ue000"


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
    address: str = "",
) -> Message:
    """Queue a message in the current transaction. The same ``dedup_key`` creates it once, whatever happens.

    The channel defaults to the customer's preferred one (falling back to SMS when it has no address);
    marketing without consent is recorded as suppressed, never sent; marketing waits out quiet hours.
    The one-item case of :func:`message_enqueue_many`.
    """
    item = OutgoingMessage(
        kind=kind, store=store, variables=variables, dedup_key=dedup_key, customer=customer, staff_user=staff_user,
        channel=channel, language=language, not_before=not_before, address=address,
    )
    (message,) = message_enqueue_many(items=[item])
    if isinstance(message, DomainError):  # not reached: without skip_invalid the error is raised
        raise message
    return message


class _Prepared:
    """What ``message_enqueue_many`` works out for one item before writing it."""

    __slots__ = ("channel", "error", "item", "kind", "language", "recipient")

    def __init__(self, item: OutgoingMessage) -> None:
        self.item = item
        self.error: DomainError | None = None
        self.kind: MessageKind | None = None
        self.channel = ""
        self.recipient = ""
        self.language = ""


def _prepare(item: OutgoingMessage, webhook_url: Any) -> _Prepared:
    """Kind, channel (with the fallback to SMS), recipient and language of one message; refusals as ``error``."""
    p = _Prepared(item)
    customer, staff_user, store = item.customer, item.staff_user, item.store
    try:
        p.kind = _kind(item.kind)
        if item.address:
            if customer is not None or staff_user is not None or item.channel not in (None, Channel.EMAIL):
                raise ValidationFailed("recipient_ambiguous", _("A message to an address goes by e-mail to that "
                                                                "address alone."), "address")
            p.channel, p.recipient = Channel.EMAIL, item.address.strip()
            p.language = item.language if item.language in LANGUAGES else "zh-hans"
            return p
        if customer is None and staff_user is None and item.channel != Channel.WEBHOOK:
            raise ValidationFailed("recipient_required", _("A message needs a customer or a staff member."), "customer")
        channel = item.channel or (customer.preferred_channel if customer else Channel.APP)
        if channel not in Channel.values:
            raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": channel}, "channel")
    except DomainError as exc:
        p.error = exc
        return p
    recipient = _recipient(channel, customer, store, staff_user, webhook_url)
    if not recipient and customer is not None and channel != Channel.SMS:
        channel = Channel.SMS  # the preferred channel has no address (no e-mail, no WeChat): every customer has a mobile
        recipient = _recipient(channel, customer, store, staff_user, webhook_url)
    language = item.language or recipient_language(customer=customer, staff_user=staff_user)
    p.channel, p.recipient, p.language = channel, recipient, language if language in LANGUAGES else "zh-hans"
    return p


def _settings_of(stores: dict[int, Any]) -> dict[int, ChannelSettings]:
    """The channel settings of these stores (created with the defaults where a store has none yet)."""
    found = {row.store_id: row for row in ChannelSettings.objects.filter(store_id__in=list(stores))}
    missing = [pk for pk in stores if pk not in found]
    if missing:
        ChannelSettings.objects.bulk_create([ChannelSettings(store_id=pk) for pk in missing], ignore_conflicts=True)
        found.update({row.store_id: row for row in ChannelSettings.objects.filter(store_id__in=missing)})
    return found


def _templates_of(combos: set[tuple[Any, str, str, str]]) -> dict[tuple[int, str, str, str], tuple[str, str, str]]:
    """:func:`template_for` for every (store, kind, channel, language) at once: one query."""
    from django.db.models import Q

    stores = {store.pk: store for store, _k, _c, _l in combos}
    rows = list(
        MessageTemplate.objects.filter(
            Q(store__isnull=True, group_id__in={s.group_id for s in stores.values()}) | Q(store_id__in=list(stores)),
            kind__in={k for _s, k, _c, _l in combos}, channel__in={c for _s, _k, c, _l in combos},
            language__in={la for _s, _k, _c, la in combos}, is_active=True,
        )
    )
    by_store = {(t.store_id, t.kind, t.channel, t.language): t for t in rows if t.store_id is not None}
    by_group = {(t.group_id, t.kind, t.channel, t.language): t for t in rows if t.store_id is None}
    out: dict[tuple[int, str, str, str], tuple[str, str, str]] = {}
    for store, kind, channel, language in combos:
        found = by_store.get((store.pk, kind, channel, language)) or by_group.get((store.group_id, kind, channel, language))
        if found is not None:
            out[(store.pk, kind, channel, language)] = (found.subject, found.body, found.provider_template_code)
        else:
            message_kind = KINDS[kind]
            with override(language):  # the subject in the recipient's language, not the request's
                label = str(default_subject(message_kind))
            out[(store.pk, kind, channel, language)] = (
                label, message_kind.default_text.get(language) or message_kind.default_text["zh-hans"], "",
            )
    return out


def _marketing_consents(pairs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """:func:`marketing_allowed` for every (customer id, channel) at once: the pairs whose latest record grants."""
    from aftersales.customers.models import Consent

    if not pairs:
        return set()
    latest: dict[tuple[int, str], bool] = {}
    rows = (
        Consent.objects.filter(customer_id__in={c for c, _ch in pairs}, channel__in={ch for _c, ch in pairs}, purpose="marketing")
        .order_by("-at", "-id").values_list("customer_id", "channel", "granted")
    )
    for customer_id, channel, granted in rows:
        latest.setdefault((customer_id, channel), granted)
    return {pair for pair in pairs if latest.get(pair)}


def message_enqueue_many(*, items: Sequence[OutgoingMessage], skip_invalid: bool = False) -> list[Message | DomainError]:
    """Queue many messages in the current transaction, each exactly as :func:`message_enqueue` would, with a few
    queries per batch whatever its size: one dedup query, the templates, consents and channel settings of the
    whole batch, one ``bulk_create`` (and one UPDATE of the marketing texts that carry their opt-out link, which
    names the message's id).

    Returns one entry per item, in order: its message (the existing one when its dedup key is already queued, in the
    table or earlier in ``items``). An item that ``message_enqueue`` would refuse raises that error and nothing of the
    call is written; with ``skip_invalid`` its entry is the error instead and the other items are queued.
    """
    out: list[Message | DomainError] = []
    with service_atomic():
        for start in range(0, len(items), ENQUEUE_CHUNK):
            out += _enqueue_chunk(items[start:start + ENQUEUE_CHUNK], skip_invalid)
    return out


def _enqueue_chunk(items: Sequence[OutgoingMessage], skip_invalid: bool) -> list[Message | DomainError]:
    if not items:
        return []
    # No dedup query first (issue 19): the rows are written with INSERT … ON CONFLICT DO NOTHING and a key already
    # queued is read back afterwards; an item that would be refused looks its key up before refusing (see ``_taken``).
    existing: dict[str, Message] = {}
    todo = list(items)
    stores = {i.store.pk: i.store for i in todo if i.store is not None}
    cfg: dict[int, ChannelSettings] = {}

    def settings_for(store: Any) -> ChannelSettings:
        if not cfg:
            cfg.update(_settings_of(stores))
        if store.pk not in cfg:
            cfg.update(_settings_of({store.pk: store}))
        return cfg[store.pk]

    prepared = {id(i): _prepare(i, lambda store: settings_for(store).webhook_url) for i in todo}
    ok = [p for p in prepared.values() if p.error is None]
    templates = _templates_of({(p.item.store, p.item.kind, p.channel, p.language) for p in ok})
    consents = _marketing_consents({
        (p.item.customer.pk, p.channel) for p in ok
        if p.kind is not None and p.kind.purpose == Purpose.MARKETING and p.recipient and p.item.customer is not None
    })
    now = timezone.now()
    results: list[Message | DomainError | str] = []  # a str: the message of that dedup key, written below
    rows: dict[str, Message] = {}
    needs_link: list[Message] = []
    for item in items:
        if item.dedup_key in existing:
            results.append(existing[item.dedup_key])
            continue
        if item.dedup_key in rows:
            results.append(item.dedup_key)  # an earlier item of this batch queues it
            continue
        p = prepared[id(item)]
        try:
            if p.error is not None:
                raise p.error
            message = _new_message(p, templates, consents, settings_for, now)
        except DomainError as exc:
            if _taken(item.dedup_key, existing):  # already queued: that message, as the dedup key promises
                results.append(existing[item.dedup_key])
                continue
            if not skip_invalid:
                raise
            results.append(exc)
            continue
        rows[item.dedup_key] = message
        results.append(item.dedup_key)
        if _LINK_MARK in message.body or _LINK_MARK in message.subject:
            needs_link.append(message)
    if rows:
        _insert_messages(rows, needs_link, existing)
    countdowns: set[float] = set()
    final: list[Message | DomainError] = []
    for entry in results:
        if isinstance(entry, str):
            if entry in existing:  # another transaction queued it first
                final.append(existing[entry])
                continue
            message = rows[entry]
            if message.status == MessageStatus.PENDING:
                countdowns.add(round(max(0.0, (message.not_before - now).total_seconds()), 3))
            final.append(message)
        else:
            final.append(entry)
    for countdown in sorted(countdowns):
        transaction.on_commit(functools.partial(_nudge, countdown))
    return final


def _new_message(p: _Prepared, templates: dict[tuple[int, str, str, str], tuple[str, str, str]],
                 consents: set[tuple[int, str]], settings_for: Any, now: dt.datetime) -> Message:
    """The message row of one item (not saved), rendered; its opt-out link still a mark where the text has one."""
    item, kind, channel, language, recipient = p.item, p.kind, p.channel, p.language, p.recipient
    assert kind is not None
    subject, body, provider_code = templates[(item.store.pk, item.kind, channel, language)]
    status = MessageStatus.PENDING
    last_error = ""
    if not recipient:
        status, last_error = MessageStatus.FAILED, _("No address for this channel.")
    elif kind.purpose == Purpose.MARKETING and (item.customer is None or (item.customer.pk, channel) not in consents):
        status, last_error = MessageStatus.SUPPRESSED, _("No marketing consent on this channel.")
    due = item.not_before or now
    if kind.purpose == Purpose.MARKETING:
        due = _after_quiet(due, item.store, settings_for(item.store))
    with override(language):  # lazy texts among the variables come out in the recipient's language
        variables = {name: str(value) if isinstance(value, Promise) else value for name, value in item.variables.items()}
        text_subject, text_body = render(
            body=body, subject=subject, kind=kind, channel=channel, language=language, variables=variables,
            opt_out_link=_LINK_MARK,
        )
    return Message(
        group_id=item.store.group_id, store=item.store, customer=item.customer, staff_user=item.staff_user, kind=item.kind,
        channel=channel, purpose=kind.purpose, language=language, recipient=recipient, variables=variables,
        dedup_key=item.dedup_key, status=status, not_before=due, next_attempt_at=due, last_error=last_error,
        provider_template_code=provider_code, subject=text_subject, body=text_body, created_at=now,
    )


def _taken(key: str, existing: dict[str, Message]) -> bool:
    """True when a message with this dedup key is in the table (added to ``existing``)."""
    if key not in existing:
        found = Message.objects.filter(dedup_key=key).first()
        if found is None:
            return False
        existing[key] = found
    return True


def _insert_new(messages: list[Message]) -> set[str]:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id, dedup_key`` (SQLite: ``INSERT OR IGNORE … RETURNING``): one
    statement, no savepoint; the rows written get their ``pk``. Returns the dedup keys written."""
    from django.db import connections, router
    from django.db.models.constants import OnConflict
    from django.db.models.sql import InsertQuery

    db = router.db_for_write(Message)
    opts = Message._meta
    key_field = opts.get_field("dedup_key")
    fields = [f for f in opts.concrete_fields if f is not opts.pk]
    connection = connections[db]
    per = max(1, connection.ops.bulk_batch_size(fields, messages))
    written: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(messages), per):
            query = InsertQuery(Message, on_conflict=OnConflict.IGNORE)
            batch: list[Any] = messages[start:start + per]
            query.insert_values(fields, batch)
            compiler = query.get_compiler(using=db)
            compiler.returning_fields = [opts.pk, key_field]
            for sql, params in compiler.as_sql():
                cursor.execute(sql, params)
                written.update({key: pk for pk, key in cursor.fetchall()})
    for message in messages:
        if message.dedup_key in written:
            message.pk = written[message.dedup_key]
            message._state.adding, message._state.db = False, db
    return set(written)


def _insert_messages(rows: dict[str, Message], needs_link: list[Message], existing: dict[str, Message]) -> None:
    """Write the rows in one statement that skips a dedup key queued meanwhile by another transaction (taken from the
    table instead), then put each marketing text's opt-out link, which needs the message id."""
    written = _insert_new(list(rows.values()))
    missing = [key for key in rows if key not in written]
    if missing:
        taken = {m.dedup_key: m for m in Message.objects.filter(dedup_key__in=missing)}
        if len(taken) != len(missing):  # skipped for another reason than its key (SQLite's OR IGNORE skips any)
            raise IntegrityError("message rows not written: " + ", ".join(k for k in missing if k not in taken))
        existing.update(taken)
    linked = [m for m in needs_link if m.dedup_key in written]
    for message in linked:
        link = opt_out_link(message.pk)
        message.subject, message.body = message.subject.replace(_LINK_MARK, link), message.body.replace(_LINK_MARK, link)
    update_rows(Message, ["subject", "body"], [(m.pk, m.subject, m.body) for m in linked])


def _nudge(countdown: float) -> None:
    nudge_dispatcher(countdown)  # looked up when called (tests replace it)


def nudge_dispatcher(countdown: float = 0.0) -> None:
    """Ask a worker to dispatch soon. Best effort: if the broker is down the periodic sweep still finds the message."""
    from .tasks import dispatch

    try:
        dispatch.apply_async(countdown=countdown)
    except Exception:  # the business change is committed; a lost nudge only delays the message
        log.warning("could not reach the task broker; the next dispatch sweep will send the message", exc_info=True)


def message_expedite(*, message: Message) -> Message:
    """The priority path (sign-in codes): the message goes to the head of the dispatcher's queue, and a worker is
    asked to dispatch as soon as the transaction commits. A lost nudge still leaves it first in the next sweep."""
    head = timezone.now() - dt.timedelta(days=1)
    Message.objects.filter(pk=message.pk, status=MessageStatus.PENDING).update(next_attempt_at=head, not_before=head)
    transaction.on_commit(lambda: _nudge(0.0))
    return message


def message_move(*, message: Message, to: str, actor: Any = None, reason: str = "") -> Message:
    """The one function that moves a message between states (with its event row)."""
    move(
        message, to=to, actor=actor, transitions=MESSAGE_TRANSITIONS, event_model=MessageEvent, event_fk="message",
        reason=reason, labels=MessageStatus,
    )
    return message


def message_retry(*, actor: Any, message: Message) -> Message:
    """An operator re-runs a failed (or unknown-outcome) message now."""
    require(actor, "messaging.change_message")
    if message.store_id:
        require_store(actor, message.store_id)
    with service_atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        message_move(message=locked, to=MessageStatus.PENDING, actor=actor, reason=coded(gettext_noop("Re-run by an operator")))
        locked.next_attempt_at = timezone.now()
        locked.last_error = ""
        locked.save(update_fields=["next_attempt_at", "last_error"])
        audit.record(actor=actor, obj=locked, action="message.retried", store_id=locked.store_id, customer_id=locked.customer_id)
        transaction.on_commit(nudge_dispatcher)
    return locked


# ---- staff work on the outbox's other channels ------------------------------------------------------------------
def phone_task_complete(*, actor: Any, task: Any, outcome: str) -> Any:
    """A call-centre agent marks a phone-call task done with what came of the call."""
    from .models import PhoneTask

    require(actor, "messaging.change_phonetask")
    require_store(actor, task.store_id)
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationFailed("outcome_required", _("Write down the outcome of the call."), "outcome")
    if len(outcome) > 300:
        raise ValidationFailed("outcome_too_long", _("The outcome is at most 300 characters."), "outcome")
    with service_atomic():
        locked = PhoneTask.objects.select_for_update().get(pk=task.pk)
        if locked.done_at is not None:
            raise ValidationFailed("already_done", _("This call has already been marked done."), "outcome")
        now = timezone.now()
        locked.done_at, locked.outcome, locked.assigned_to = now, outcome, actor
        locked.save(update_fields=["done_at", "outcome", "assigned_to"])
        message = Message.objects.select_for_update().get(pk=locked.message_id)
        if message.status == MessageStatus.SENT:
            message_move(message=message, to=MessageStatus.DELIVERED, actor=actor, reason=coded(gettext_noop("Call made: %(o)s"), o=outcome[:200]))
            message.delivered_at = now
            message.delivery_status = "called"
            message.save(update_fields=["delivered_at", "delivery_status"])
        audit.record(
            actor=actor, obj=locked, action="phone_task.done", store_id=locked.store_id, customer_id=locked.customer_id,
            changes={"outcome": [None, outcome]},
        )
    return locked


#: the fields of ChannelSettings a manager edits; secrets are write-only (blank keeps the stored value)
CHANNEL_FIELDS = (
    "quiet_start", "quiet_end", "sms_provider", "sms_access_key_id", "sms_sign_name", "sms_sdk_app_id", "sms_region",
    "wechat_app_id", "email_from", "webhook_url",
)
CHANNEL_SECRETS = ("sms_access_key_secret", "wechat_app_secret", "webhook_secret")


def channel_settings_update(*, actor: Any, store: Any, data: dict[str, Any], clear_secrets: tuple[str, ...] = ()) -> ChannelSettings:
    """Save a store's channel settings. A secret left blank keeps its stored value; ``clear_secrets`` removes them."""
    from .choices import SmsProvider

    require(actor, "messaging.change_channelsettings")
    require_store(actor, store.pk)
    if "sms_provider" in data and data["sms_provider"] not in SmsProvider.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": data["sms_provider"]}, "sms_provider")
    with service_atomic():
        row, _created = ChannelSettings.objects.select_for_update().get_or_create(store=store)
        changes: dict[str, list[Any]] = {}
        for name in CHANNEL_FIELDS:
            if name in data and data[name] is not None and getattr(row, name) != data[name]:
                changes[name] = [str(getattr(row, name)), str(data[name])]
                setattr(row, name, data[name])
        for name in CHANNEL_SECRETS:
            if name in clear_secrets:
                if getattr(row, name):
                    changes[name] = ["***", ""]
                setattr(row, name, "")
            elif data.get(name):
                changes[name] = ["***" if getattr(row, name) else "", "***"]  # never write a secret to the audit trail
                setattr(row, name, data[name])
        provider = row.sms_provider
        if provider != SmsProvider.CONSOLE and not (row.sms_access_key_id and row.sms_access_key_secret and row.sms_sign_name):
            raise ValidationFailed(
                "sms_keys_required", _("Aliyun and Tencent need the access key, its secret and the sign name."), "sms_access_key_id"
            )
        if provider == SmsProvider.TENCENT and not row.sms_sdk_app_id:
            raise ValidationFailed("sms_app_id_required", _("Tencent Cloud SMS needs the SDK app id."), "sms_sdk_app_id")
        if row.webhook_url and not row.webhook_secret:
            raise ValidationFailed("webhook_secret_required", _("A webhook needs a signing secret."), "webhook_secret")
        row.full_clean(exclude=["store"])
        row.save()
        audit.record(actor=actor, obj=row, action="channel_settings.saved", store_id=store.pk, changes=changes)
    return row


def notification_mark_read(*, actor: Any, notification_ids: list[int] | None = None) -> int:
    """Mark the actor's own notifications read (all unread ones when no ids are given). Returns how many."""
    from .models import Notification

    qs = Notification.objects.filter(staff_user_id=actor.pk, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())


#: SMS reply keywords that mean "stop sending me marketing" (compared trimmed and case-insensitively)
OPT_OUT_KEYWORDS = frozenset({"TD", "T", "N", "退订", "STOP", "UNSUBSCRIBE"})


def is_opt_out_keyword(text: str) -> bool:
    return (text or "").strip().upper() in OPT_OUT_KEYWORDS


def sms_reply_received(*, mobile: str, text: str) -> bool:
    """A customer replied to an SMS. An opt-out keyword withdraws marketing consent on SMS in every dealer group
    that knows the number (the opt-out names the latest marketing SMS sent to it). True if anyone was opted out."""
    from aftersales.common.validators import normalize_mobile
    from aftersales.customers.models import Customer
    from aftersales.customers.services import consent_opt_out

    if not is_opt_out_keyword(text):
        return False
    e164 = normalize_mobile(mobile, "mobile")
    found = False
    for customer in Customer.objects.filter(mobile=e164, anonymised_at__isnull=True):
        latest = (
            Message.objects.filter(group_id=customer.group_id, channel=Channel.SMS, purpose=Purpose.MARKETING, recipient=e164)
            .order_by("-created_at", "-id").values_list("pk", flat=True).first()
        )
        note = f"reply #{latest}" if latest else "reply"
        consent_opt_out(customer=customer, channel=Channel.SMS, note=note)
        found = True
    return found


def on_attach_code_issued(event: Any) -> None:
    """Handler of ``events.AttachCodeIssued`` (subscribed in apps.py, in the process: the event carries the code):
    text the customer the code another store asked for. A failure is logged by the events module; the advisor
    sends a new code."""
    from aftersales.customers.models import Customer
    from aftersales.stores.models import Store

    customer = Customer.objects.filter(pk=event.customer_id).first()
    store = Store.objects.filter(pk=event.store_id).first()
    if customer is None or store is None:
        return
    message = message_enqueue(
        kind="customer.attach_code", store=store, customer=customer, channel="sms",
        variables={**customer_variables(customer=customer, store=store), "otp": event.code, "minutes": str(event.minutes)},
        dedup_key=f"attach-code:{event.request_id}",
    )
    message_expedite(message=message)
