"""The dispatcher: claim due messages, send them, record every attempt; retry with backoff; recover after a crash.

Many dispatchers may run at once (Celery workers on several machines): claiming uses ``SELECT … FOR UPDATE SKIP
LOCKED`` on PostgreSQL (SQLite serialises writers, so a plain claim is already exclusive). A message is sent by the
one dispatcher that claimed it. If that process dies between the provider accepting and us recording, the message
stays ``sending``; ``recover_stale`` then asks the provider (reconciliation), resends only where that is safe
(idempotent receivers, or the provider says it never got it), and otherwise marks the outcome unknown for a person
to check. So a message is never sent twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from .adapters.base import Adapter, CannotTell, PermanentError, SendResult, TemporaryError
from .adapters.registry import adapter_class
from .attachments import MAKERS, attachments_for
from .choices import AttemptOutcome, MessageStatus, Purpose
from .models import ChannelSettings, DeliveryAttempt, Message, MessageEvent
from .services import after_quiet_hours, in_quiet_hours

log = logging.getLogger(__name__)


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at an hour."""
    seconds = settings.MESSAGING_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.MESSAGING_RETRY_MAX_SECONDS))


def claim(limit: int) -> list[Message]:
    """Take up to ``limit`` due messages for this dispatcher (status sending, attempts + 1)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        # one UPDATE for the batch (bulk_update's CASE per row and field was most of the claim's time)
        Message.objects.filter(id__in=ids, status=MessageStatus.PENDING).update(
            status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        messages = list(Message.objects.filter(id__in=ids, status=MessageStatus.SENDING, claimed_at=now).select_related("store"))
        MessageEvent.objects.bulk_create(
            MessageEvent(message=m, from_state=MessageStatus.PENDING, to_state=MessageStatus.SENDING, at=now) for m in messages
        )
    return messages


@dataclass
class Outcome:
    message: Message
    outcome: str
    result: SendResult | None = None
    error: str = ""
    duration_ms: int = 0
    retry_at: dt.datetime | None = None


def _settings_by_store(messages: Iterable[Message]) -> dict[int, ChannelSettings]:
    store_ids = {m.store_id for m in messages if m.store_id}
    found = {s.store_id: s for s in ChannelSettings.objects.filter(store_id__in=store_ids).select_related("store")}
    for store_id in store_ids - set(found):
        found[store_id], _created = ChannelSettings.objects.get_or_create(store_id=store_id)
    return found


def _marketing_consents(messages: list[Message]) -> dict[tuple[int, str], bool]:
    from aftersales.customers.models import Consent

    customer_ids = {m.customer_id for m in messages if m.purpose == Purpose.MARKETING and m.customer_id}
    latest: dict[tuple[int, str], bool] = {}
    rows = Consent.objects.filter(customer_id__in=customer_ids, purpose="marketing").order_by("at", "id")
    for customer_id, channel, granted in rows.values_list("customer_id", "channel", "granted"):
        latest[(customer_id, channel)] = granted
    return latest


def _customer_quiet(messages: list[Message]) -> dict[int, tuple[Any, Any]]:
    """The customers' own quiet hours (owner app), for the marketing messages of the batch: one query."""
    from aftersales.customers.models import Customer

    ids = {m.customer_id for m in messages if m.purpose == Purpose.MARKETING and m.customer_id}
    if not ids:
        return {}
    rows = Customer.objects.filter(pk__in=ids, quiet_start__isnull=False, quiet_end__isnull=False)
    return {pk: (start, end) for pk, start, end in rows.values_list("pk", "quiet_start", "quiet_end")}


def _after_window(now: dt.datetime, zone: Any, end: Any) -> dt.datetime:
    local = timezone.localtime(now, zone)
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += dt.timedelta(days=1)
    return until.astimezone(dt.UTC)


def _send_one(adapter: Adapter, message: Message) -> Outcome:
    started = time.monotonic()
    try:
        result = adapter.send(message)
        outcome = Outcome(message, AttemptOutcome.SENT, result=result)
    except PermanentError as exc:
        outcome = Outcome(message, AttemptOutcome.FAILED, error=str(exc)[:500])
    except TemporaryError as exc:
        outcome = Outcome(message, AttemptOutcome.RETRY, error=str(exc)[:500])
    except Exception as exc:  # an adapter bug must not take the batch down: retry, visibly
        log.exception("adapter %s failed on message %s", adapter.provider, message.pk)
        outcome = Outcome(message, AttemptOutcome.RETRY, error=f"{type(exc).__name__}: {exc}"[:500])
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    if outcome.outcome == AttemptOutcome.RETRY and message.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
        outcome.outcome = AttemptOutcome.GAVE_UP
    return outcome


def send_batch(messages: list[Message]) -> list[Outcome]:
    """Check consent and quiet hours again, then send (network sends in parallel threads)."""
    now = timezone.now()
    configs = _settings_by_store(messages)
    consents = _marketing_consents(messages)
    quiet = _customer_quiet(messages)
    outcomes: list[Outcome] = []
    remote: list[tuple[Adapter, Message]] = []
    for message in messages:
        cfg = configs.get(message.store_id)
        if message.purpose == Purpose.MARKETING:
            if not consents.get((message.customer_id, message.channel), False):
                outcomes.append(Outcome(message, AttemptOutcome.SUPPRESSED, error="consent withdrawn"))
                continue
            if cfg and in_quiet_hours(timezone.localtime(now, message.store.zone), cfg.quiet_start, cfg.quiet_end):
                outcomes.append(Outcome(message, AttemptOutcome.DEFERRED, retry_at=after_quiet_hours(now, message.store)))
                continue
            own = quiet.get(message.customer_id)
            if own and in_quiet_hours(timezone.localtime(now, message.store.zone), own[0], own[1]):
                outcomes.append(Outcome(message, AttemptOutcome.DEFERRED, retry_at=_after_window(now, message.store.zone, own[1])))
                continue
        try:
            adapter = adapter_class(message.channel, cfg)(cfg)
        except (PermanentError, ImportError, KeyError) as exc:
            outcomes.append(Outcome(message, AttemptOutcome.FAILED, error=f"no adapter: {exc}"[:500]))
            continue
        if message.kind in MAKERS:  # its documents are made here, with the database, before a sender thread takes it
            try:
                message.attachments = attachments_for(message)
            except Exception as exc:  # the document cannot be made (its record gone): never sent without it
                outcomes.append(Outcome(message, AttemptOutcome.FAILED, error=f"attachment: {exc}"[:500]))
                continue
        if adapter.local:
            outcomes.append(_send_one(adapter, message))
        else:
            remote.append((adapter, message))
    if remote:
        threads = max(1, min(settings.MESSAGING_SEND_THREADS, len(remote)))
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send") as pool:
            outcomes.extend(pool.map(lambda pair: _send_one(*pair), remote))
    return outcomes


_STATUS_FOR = {
    AttemptOutcome.SENT: MessageStatus.SENT,
    AttemptOutcome.RECONCILED: MessageStatus.SENT,
    AttemptOutcome.RETRY: MessageStatus.PENDING,
    AttemptOutcome.DEFERRED: MessageStatus.PENDING,
    AttemptOutcome.FAILED: MessageStatus.FAILED,
    AttemptOutcome.GAVE_UP: MessageStatus.FAILED,
    AttemptOutcome.SUPPRESSED: MessageStatus.SUPPRESSED,
    AttemptOutcome.UNKNOWN: MessageStatus.UNKNOWN,
}


def record(outcomes: list[Outcome]) -> None:
    """Write every outcome in one transaction: the message's new state, its attempt row and its event."""
    now = timezone.now()
    attempts: list[DeliveryAttempt] = []
    events: list[MessageEvent] = []
    # Rows that get the same new values are written with one UPDATE each (usually one group per batch: sent by
    # one provider); only the provider's message id differs per row. bulk_update over every field was the
    # dispatcher's most expensive step.
    groups: dict[tuple[tuple[str, object], ...], list[int]] = {}
    with_provider_id: list[Message] = []
    for o in outcomes:
        m = o.message
        new_status = _STATUS_FOR[o.outcome]
        values: dict[str, object] = {"status": new_status, "claimed_at": None}
        if o.outcome in (AttemptOutcome.SENT, AttemptOutcome.RECONCILED) and o.result:
            m.provider = o.result.provider
            m.provider_message_id = o.result.provider_message_id[:100]
            m.sent_at = now
            m.last_error = ""
            values.update(provider=m.provider, sent_at=now, last_error="")
            with_provider_id.append(m)
        elif o.outcome == AttemptOutcome.RETRY:
            m.next_attempt_at = now + backoff(m.attempts)
            m.last_error = o.error
            values.update(next_attempt_at=m.next_attempt_at, last_error=o.error, attempts=m.attempts)
        elif o.outcome == AttemptOutcome.DEFERRED:
            m.next_attempt_at = o.retry_at or now
            m.attempts = max(m.attempts - 1, 0)  # waiting out quiet hours is not an attempt
            values.update(next_attempt_at=m.next_attempt_at, attempts=m.attempts)
        else:
            m.last_error = o.error
            values.update(last_error=o.error, attempts=m.attempts)
        groups.setdefault(tuple(sorted(values.items())), []).append(m.pk)
        if o.outcome != AttemptOutcome.DEFERRED:
            attempts.append(
                DeliveryAttempt(
                    message=m, number=m.attempts, at=now, outcome=o.outcome,
                    provider=o.result.provider if o.result else "", error=o.error,
                    provider_message_id=(o.result.provider_message_id if o.result else "")[:100], duration_ms=o.duration_ms,
                )
            )
        events.append(MessageEvent(message=m, from_state=m.status, to_state=new_status, reason=o.outcome, at=now))
        m.status = new_status
        m.claimed_at = None
    with transaction.atomic():
        for values_key, pks in groups.items():
            Message.objects.filter(pk__in=pks).update(**dict(values_key))
        if with_provider_id:
            Message.objects.bulk_update(with_provider_id, ["provider_message_id"])
        DeliveryAttempt.objects.bulk_create(attempts)
        MessageEvent.objects.bulk_create(events)


def dispatch_due(*, batch_size: int | None = None, time_budget: float = 50.0) -> dict[str, int]:
    """Send due messages in batches until none are due or the time budget is spent."""
    batch_size = batch_size or settings.MESSAGING_BATCH_SIZE
    totals: dict[str, int] = {}
    deadline = time.monotonic() + time_budget
    while time.monotonic() < deadline:
        messages = claim(batch_size)
        if not messages:
            break
        outcomes = send_batch(messages)
        record(outcomes)
        for o in outcomes:
            totals[o.outcome] = totals.get(o.outcome, 0) + 1
        if not transaction.get_connection().in_atomic_block:  # never close a caller's transaction under it
            close_old_connections()
        if len(messages) < batch_size:
            break
    return totals


def recover_stale(*, older_than: dt.timedelta | None = None) -> dict[str, int]:
    """Messages left ``sending`` by a dispatcher that died: find out what happened, never send twice."""
    older_than = older_than or dt.timedelta(seconds=settings.MESSAGING_STALE_AFTER_SECONDS)
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        stale = list(
            Message.objects.select_for_update(skip_locked=True, of=("self",))  # not the (outer-joined) store
            .filter(status=MessageStatus.SENDING, claimed_at__lt=cutoff)
            .select_related("store")[:500]
        )
        if not stale:
            return {}
        configs = _settings_by_store(stale)
        outcomes: list[Outcome] = []
        for message in stale:
            cfg = configs.get(message.store_id)
            try:
                adapter = adapter_class(message.channel, cfg)(cfg)
                found = adapter.reconcile(message)
            except CannotTell:
                if adapter.idempotent:
                    outcomes.append(Outcome(message, AttemptOutcome.RETRY, error="recovered after a crash; resend is safe"))
                else:
                    outcomes.append(Outcome(message, AttemptOutcome.UNKNOWN, error="crashed while sending; check with the provider"))
                continue
            except Exception as exc:  # provider unreachable during reconciliation: leave it for the next sweep
                log.warning("reconciling message %s failed: %s", message.pk, exc)
                continue
            if found is not None:
                outcomes.append(Outcome(message, AttemptOutcome.RECONCILED, result=found))
            else:
                outcomes.append(Outcome(message, AttemptOutcome.RETRY, error="provider never got it; resending"))
        for o in outcomes:
            if o.outcome == AttemptOutcome.RETRY:
                o.message.attempts = max(o.message.attempts - 1, 0)  # the crashed attempt never reached the provider
        record(outcomes)
    for o in outcomes:
        if o.outcome == AttemptOutcome.RETRY:
            o.message.next_attempt_at = timezone.now()
    Message.objects.filter(pk__in=[o.message.pk for o in outcomes if o.outcome == AttemptOutcome.RETRY]).update(
        next_attempt_at=timezone.now()
    )
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    return counts
