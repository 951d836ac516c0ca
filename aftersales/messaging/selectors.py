"""Reads for messaging, always scoped to the acting user's stores (ARCHITECTURE habit 3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from aftersales.common.scoping import get_or_404, restrict_to_stores, spans_group, visible_store_ids

from .choices import Channel, MessageStatus
from .kinds import KINDS, MessageKind
from .models import ChannelSettings, DeliveryAttempt, Message, MessageEvent, MessageTemplate, Notification, PhoneTask
from .services import LANGUAGES

CUSTOMER_MESSAGES_ON_360 = 20
#: the statuses an operator watches: work waiting or stuck in the outbox
OUTBOX_HEALTH = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.FAILED, MessageStatus.UNKNOWN)


# ---- messages --------------------------------------------------------------------------------------------
def messages_visible_to(user: Any) -> QuerySet[Message]:
    if getattr(user, "is_superuser", False):
        return Message.objects.all()
    return restrict_to_stores(Message.objects.all(), user)


def message_list(
    user: Any, *, status: str = "", channel: str = "", kind: str = "", customer_id: int | None = None,
    store_id: int | None = None,
) -> QuerySet[Message]:
    qs = messages_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if kind:
        qs = qs.filter(kind=kind)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if store_id:
        qs = qs.filter(store_id=store_id)
    return qs.select_related("store", "customer").order_by("-created_at", "-id")


def message_get(user: Any, message_id: int) -> Message:
    """One message with its delivery attempts and event timeline (404 outside the user's stores)."""
    qs = messages_visible_to(user).select_related("store", "customer").prefetch_related(
        Prefetch("delivery_attempts", queryset=DeliveryAttempt.objects.order_by("at", "id")),
        Prefetch("events", queryset=MessageEvent.objects.select_related("actor").order_by("at", "id")),
    )
    return get_or_404(qs, pk=message_id)


def messages_for_customer(user: Any, customer: Any, limit: int = CUSTOMER_MESSAGES_ON_360) -> list[Message]:
    """The customer's newest messages sent from the user's stores: one query."""
    qs = Message.objects.filter(customer=customer)
    if not user.is_superuser:
        if spans_group(user):
            qs = qs.filter(group_id=user.dealer_group_id)
        else:
            qs = qs.filter(store_id__in=visible_store_ids(user))
    return list(
        qs.only("id", "kind", "channel", "status", "subject", "body", "created_at", "sent_at", "customer_id", "store_id")
        .order_by("-created_at", "-id")[:limit]
    )


def outbox_health(user: Any) -> dict[str, int]:
    """Messages per watched status at the user's stores (one query)."""
    counts = messages_visible_to(user).aggregate(
        **{status: Count("id", filter=Q(status=status)) for status in OUTBOX_HEALTH}
    )
    return {status: counts.get(status) or 0 for status in OUTBOX_HEALTH}


# ---- templates ---------------------------------------------------------------------------------------------
def templates_visible_to(user: Any) -> QuerySet[MessageTemplate]:
    """The group's defaults and the overrides of the user's stores."""
    qs = MessageTemplate.objects.all()
    if not user.is_superuser:
        qs = qs.filter(group_id=user.dealer_group_id)
    return qs.filter(Q(store__isnull=True) | Q(store_id__in=visible_store_ids(user))).select_related("store", "updated_by")


@dataclass
class TemplateRow:
    kind: MessageKind
    channel: str
    channel_label: str
    language: str
    source: str  # "store" | "group" | "builtin"
    template: MessageTemplate | None
    text: str


def template_overview(
    user: Any, store: Any, *, kind: str = "", channel: str = "", language: str = ""
) -> list[TemplateRow]:
    """Per kind, channel and language: which text applies at ``store`` (its override, the group's, or built-in)."""
    rows = list(
        MessageTemplate.objects.filter(group_id=store.group_id, is_active=True)
        .filter(Q(store__isnull=True) | Q(store=store))
        .select_related("updated_by")
    )
    by_key: dict[tuple[str, str, str], MessageTemplate] = {}
    for t in sorted(rows, key=lambda t: t.store_id is not None):  # store overrides last, so they win
        by_key[(t.kind, t.channel, t.language)] = t
    out: list[TemplateRow] = []
    for code, message_kind in KINDS.items():
        if kind and code != kind:
            continue
        for ch_value, ch_label in Channel.choices:
            if channel and ch_value != channel:
                continue
            for lang in LANGUAGES:
                if language and lang != language:
                    continue
                found = by_key.get((code, ch_value, lang))
                if found is None:
                    out.append(TemplateRow(message_kind, ch_value, str(ch_label), lang, "builtin", None,
                                           message_kind.default_text.get(lang, "")))
                else:
                    out.append(TemplateRow(message_kind, ch_value, str(ch_label), lang,
                                           "store" if found.store_id else "group", found, found.body))
    return out


def template_for_editing(user: Any, *, kind: str, channel: str, language: str, store: Any | None) -> MessageTemplate | None:
    """The template row the editor changes: the store's override (``store``) or the group's default (None)."""
    qs = templates_visible_to(user).filter(kind=kind, channel=channel, language=language)
    qs = qs.filter(store__isnull=True) if store is None else qs.filter(store=store)
    return qs.first()


def template_get(user: Any, template_id: int) -> MessageTemplate:
    return get_or_404(templates_visible_to(user), pk=template_id)


# ---- phone tasks, notifications, channel settings ----------------------------------------------------------
def phone_tasks_open(user: Any, *, store_id: int | None = None) -> QuerySet[PhoneTask]:
    qs = restrict_to_stores(PhoneTask.objects.filter(done_at__isnull=True), user)
    if store_id:
        qs = qs.filter(store_id=store_id)
    return qs.select_related("store", "customer", "message").order_by("due_at", "id")


def phone_task_get(user: Any, task_id: int) -> PhoneTask:
    return get_or_404(restrict_to_stores(PhoneTask.objects.select_related("store", "customer", "message"), user), pk=task_id)


def notifications_for(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(staff_user_id=user.pk).order_by("-created_at", "-id")


def unread_notification_count(user: Any) -> int:
    """The bell in the header: one indexed count."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(staff_user_id=user.pk, read_at__isnull=True).count()


def channel_settings_for(user: Any, store_id: int) -> ChannelSettings | None:
    """The store's settings row (None if never saved); 404 if the store is not the user's."""
    from aftersales.stores.models import Store

    store = get_or_404(Store.objects.filter(pk__in=visible_store_ids(user)), pk=store_id)
    return ChannelSettings.objects.filter(store=store).select_related("store").first()
