"""Batch handlers of domain events (common/events.py ``subscribe(batch=True)``): once per transaction with the list
of the events it published, equal events once, a rolled-back savepoint's events dropped, the worker's side too."""

from __future__ import annotations

import pytest
from django.db import transaction

from aftersales.common import events

pytestmark = pytest.mark.django_db

seen: list[list[events.Event]] = []


def record(batch: list[events.Event]) -> None:
    seen.append(list(batch))


@pytest.fixture
def batch_handler():
    kept = {t: list(regs) for t, regs in events._registry.items()}
    seen.clear()
    for event_type in (events.OrderMoved, events.JobMoved):
        events.subscribe(event_type, record, batch=True)
    yield
    events._registry.clear()
    events._registry.update(kept)
    seen.clear()


def _moved(to: str) -> events.OrderMoved:
    return events.OrderMoved(order_id=1, customer_id=2, store_id=3, before="checked_in", to=to)


def test_one_call_per_transaction_with_its_events_in_order_equal_ones_once(batch_handler, django_capture_on_commit_callbacks):
    job = events.JobMoved(job_id=9, order_id=1, before="authorized", to="dispatched")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(_moved("estimate_sent"))
        events.publish(job)
        events.publish(_moved("estimate_sent"))  # the same event again: once
        events.publish(_moved("authorized"))
        assert seen == []  # nothing before the commit
    assert seen == [[_moved("estimate_sent"), job, _moved("authorized")]]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(job)
    assert seen[1:] == [[job]]  # the next transaction: its own batch


def test_a_rolled_back_savepoint_drops_its_events_and_outside_a_transaction_it_runs_at_once(batch_handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(_moved("estimate_sent"))
        try:
            with transaction.atomic():
                events.publish(_moved("authorized"))
                raise RuntimeError("refused")
        except RuntimeError:
            pass
    assert seen == [[_moved("estimate_sent")]]


def test_the_worker_runs_a_batch_by_name_and_a_failing_handler_does_not_raise(batch_handler, django_capture_on_commit_callbacks):
    job = events.JobMoved(job_id=9, order_id=1, before="authorized", to="dispatched")
    events.run_named_batch(f"{record.__module__}:{record.__qualname__}",
                           [("OrderMoved", {"order_id": 1, "customer_id": 2, "store_id": 3, "before": "a", "to": "b"}),
                            ("JobMoved", {"job_id": 9, "order_id": 1, "before": "authorized", "to": "dispatched"})])
    assert seen == [[events.OrderMoved(order_id=1, customer_id=2, store_id=3, before="a", to="b"), job]]

    def broken(batch: list[events.Event]) -> None:
        raise ValueError("handler bug")

    events.subscribe(events.OrderMoved, broken, batch=True)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(_moved("closed"))  # the failure is logged, not raised; the other handler still ran
    assert seen[-1] == [_moved("closed")]
