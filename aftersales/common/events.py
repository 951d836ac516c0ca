"""Domain events on commit: how a lower app tells the higher ones that something happened (issue 19).

The service lane (workshop, billing, ...) sits below the retention apps (engagement, loyalty, care, ...) and must not
import them (ARCHITECTURE habit 7). Instead it **publishes** a typed event; the higher apps **subscribe** a handler in
their ``AppConfig.ready()``. Handlers run only after the surrounding transaction has committed
(``transaction.on_commit``); a rolled-back change publishes nothing.

- Explicit and typed: each event is a frozen dataclass below; the registry is a dict of handlers per event class;
  docs/events.md lists every event and every handler. Not Django signals.
- Coalesced: the same event (equal fields) published twice in one transaction runs its handlers once (a delivery
  moves the order twice and settles the invoice: one tier recompute).
- Never breaks the publisher: the change is committed; a failing handler is logged, and each subscriber keeps its own
  sweep that repairs anything missed (the nightly tier sweep, the points sweep).
- ``batch=True`` handlers receive, once per transaction, the list of every event they subscribed to that the
  transaction published (in order, equal events once): one call, one read, one write for a request that moves an
  order, its job and its invoice (analytics marks its dirty store-days so). Events published inside a savepoint go
  to a batch of that savepoint (they are dropped with it if it rolls back).
- ``background=True`` handlers (work that need not finish before the response) run in a Celery worker when
  ``settings.AFTERSALES_EVENTS_INLINE`` is false (the default outside tests), through the task
  ``aftersales.common.run_event_handler``; if the broker cannot be reached they run in the process instead.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base class: an event is a small frozen record of ids (safe to send to a worker as JSON)."""


@dataclass(frozen=True)
class OrderMoved(Event):
    """A repair order changed state (workshop)."""

    order_id: int
    customer_id: int
    store_id: int
    before: str
    to: str


@dataclass(frozen=True)
class OrderDelivered(Event):
    """The car was handed back (workshop; billing's ``order_deliver`` leads to it)."""

    order_id: int
    customer_id: int
    store_id: int


@dataclass(frozen=True)
class PaidVisitChanged(Event):
    """What a customer's paid visits add up to may have changed: an order delivered or closed with a paid invoice, or
    its money changed (refund, credit note). Tiers are computed from paid visits (SPEC §10)."""

    customer_id: int


@dataclass(frozen=True)
class InvoicePaid(Event):
    """An invoice is paid in full (billing)."""

    invoice_id: int
    customer_id: int
    actor_id: int | None


@dataclass(frozen=True)
class MoneyReturned(Event):
    """A refund or a credit note was issued on an invoice (billing): exactly one of the two ids is set."""

    invoice_id: int
    refund_id: int | None
    credit_note_id: int | None
    actor_id: int | None


@dataclass(frozen=True)
class JobMoved(Event):
    """A repair job changed state (workshop)."""

    job_id: int
    order_id: int
    before: str
    to: str


@dataclass(frozen=True)
class AttachCodeIssued(Event):
    """Another store asked to know a group customer (customers ``customer_attach_request``): the one-time code is to
    be texted to the customer. It carries the code itself, so its handlers run in the process only (``IN_PROCESS``:
    never through the broker); the request keeps only the code's hash."""

    request_id: int
    customer_id: int
    store_id: int
    code: str
    minutes: int


@dataclass(frozen=True)
class TelematicsAlertOpened(Event):
    """A connected car raised an alert (telematics ``_open``): the rule's kind (``nev_alarm``, a crash / airbag kind,
    fault-code rules) and its severity. Rescue opens a draft case for a critical crash or severe alarm."""

    alert_id: int
    vehicle_id: int
    store_id: int
    kind: str
    severity: str


@dataclass(frozen=True)
class FollowUpAnswered(Event):
    """A customer's follow-up was answered (feedback ``followup_answer``): the scores count from now on."""

    followup_id: int
    order_id: int | None
    store_id: int


@dataclass(frozen=True)
class CaseMoved(Event):
    """A feedback case changed state (feedback ``case_transition``: acknowledged, resolved, closed, reopened...)."""

    case_id: int
    store_id: int
    before: str
    to: str


#: events that carry a secret: their handlers may not be ``background`` (the fields would travel through the broker)
IN_PROCESS: frozenset[type[Event]] = frozenset({AttachCodeIssued})

Handler = Callable[[Any], None]


@dataclass(frozen=True)
class _Registration:
    handler: Handler
    name: str  # "module:function", how a worker finds it again
    background: bool
    batch: bool = False  # called once per transaction with the list of its events


_registry: dict[type[Event], list[_Registration]] = {}
EVENTS: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (OrderMoved, OrderDelivered, PaidVisitChanged, InvoicePaid, MoneyReturned, JobMoved, AttachCodeIssued,
                TelematicsAlertOpened, FollowUpAnswered, CaseMoved)
}


def subscribe(event_type: type[Event], handler: Handler, *, background: bool = False, batch: bool = False) -> None:
    """Register ``handler(event)`` for ``event_type`` (call from an AppConfig.ready(); idempotent). With
    ``batch=True``: ``handler(events)`` once per transaction with the list of its events of every type it subscribed
    to with ``batch=True``."""
    if event_type not in EVENTS.values():
        raise TypeError(f"{event_type!r} is not a registered event type (add it to common/events.py)")
    if background and event_type in IN_PROCESS:
        raise TypeError(f"{event_type.__name__} carries a secret: its handlers run in the process (background=False)")
    name = f"{handler.__module__}:{handler.__qualname__}"
    handlers = _registry.setdefault(event_type, [])
    if any(r.name == name for r in handlers):
        return
    handlers.append(_Registration(handler=handler, name=name, background=background, batch=batch))


def handlers_for(event_type: type[Event]) -> list[tuple[str, bool]]:
    """(name, background) of each handler: for docs and tests."""
    return [(r.name, r.background) for r in _registry.get(event_type, [])]


def publish(event: Event) -> None:
    """Run the event's handlers once the current transaction commits (at once when there is none)."""
    registrations = _registry.get(type(event))
    if not registrations:
        return
    connection = transaction.get_connection()
    for registration in registrations:
        if registration.batch:
            _add_to_batch(connection, registration, event)
    singles = [r for r in registrations if not r.batch]
    if not singles:
        return
    if connection.in_atomic_block and any(
        getattr(hook, "domain_event", None) == event and not getattr(hook, "done", False)
        for _sids, hook, *_rest in connection.run_on_commit
    ):
        return  # already published in this transaction (and not yet run)

    def run() -> None:
        run.done = True  # type: ignore[attr-defined]
        _dispatch(event, singles)

    run.domain_event = event  # type: ignore[attr-defined]
    transaction.on_commit(run)


def _add_to_batch(connection: Any, registration: _Registration, event: Event) -> None:
    """Add ``event`` to the handler's pending batch of this transaction (of this savepoint), or start one."""
    if connection.in_atomic_block:
        sids = set(connection.savepoint_ids)
        for hook_sids, hook, *_rest in connection.run_on_commit:
            if getattr(hook, "batch_of", None) == registration.name and not hook.done and hook_sids == sids:
                if event not in hook.events:
                    hook.events.append(event)
                return

    def run() -> None:
        run.done = True  # type: ignore[attr-defined]
        _dispatch_batch(registration, run.events)  # type: ignore[attr-defined]

    run.batch_of = registration.name  # type: ignore[attr-defined]
    run.events = [event]  # type: ignore[attr-defined]
    run.done = False  # type: ignore[attr-defined]
    transaction.on_commit(run)


def _inline() -> bool:
    return bool(getattr(settings, "AFTERSALES_EVENTS_INLINE", False))


def _dispatch(event: Event, registrations: list[_Registration]) -> None:
    for registration in registrations:
        if registration.background and not _inline():
            try:
                from .tasks import run_event_handler

                run_event_handler.delay(registration.name, type(event).__name__, dataclasses.asdict(event))
                continue
            except Exception:  # broker down: do it here rather than not at all
                log.warning("could not queue %s for %s; running it in-process", registration.name, event, exc_info=True)
        run_handler(registration, event)


def _dispatch_batch(registration: _Registration, batch: list[Event]) -> None:
    if registration.background and not _inline():
        try:
            from .tasks import run_event_batch

            run_event_batch.delay(registration.name, [(type(e).__name__, dataclasses.asdict(e)) for e in batch])
            return
        except Exception:  # broker down: do it here rather than not at all
            log.warning("could not queue %s for %d events; running it in-process", registration.name, len(batch),
                        exc_info=True)
    run_handler(registration, batch)


def run_handler(registration: _Registration, event: Event | list[Event]) -> None:
    try:
        registration.handler(event)
    except Exception:  # the publisher's change is committed; the subscriber's sweep repairs a miss
        log.exception("event handler %s failed for %s", registration.name, event)


def run_named(name: str, event_name: str, fields: dict[str, Any]) -> None:
    """The worker's side of a background handler."""
    event_type = EVENTS[event_name]
    event = event_type(**fields)
    for registration in _registry.get(event_type, []):
        if registration.name == name:
            run_handler(registration, event)
            return
    log.error("no handler %s for %s", name, event_name)


def run_named_batch(name: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    """The worker's side of a batch handler: ``items`` are (event name, fields) pairs."""
    batch = [EVENTS[event_name](**fields) for event_name, fields in items]
    for registrations in _registry.values():
        for registration in registrations:
            if registration.name == name and registration.batch:
                run_handler(registration, batch)
                return
    log.error("no batch handler %s", name)
