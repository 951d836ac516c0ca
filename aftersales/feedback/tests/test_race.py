"""Concurrency: several answers to one follow-up at once (a double-tapped survey, an agent and the customer) record
exactly one answer and one recovery case; concurrent creation and sweeps never duplicate a follow-up or an alert."""

from __future__ import annotations

import datetime as dt

import pytest

from aftersales.appointments.tests.test_race import race
from aftersales.common.errors import Conflict
from aftersales.feedback import services
from aftersales.feedback.models import FeedbackCase, FollowUp, SlaTimer
from aftersales.messaging.models import Message
from aftersales.workshop.models import RepairOrder

from .conftest import answer_all, deliver

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_answer_wins(loop):
    followup = services.followup_create_for_order(order=deliver(loop.world, loop.vehicle))

    def work(i: int, prepared):
        if prepared is None:
            return FollowUp.objects.get(pk=followup.pk)
        return services.followup_answer(followup=prepared, scores=answer_all(5 + i % 3), suggestions=f"建议{i}")

    results = race(work, 4)
    winners = [r for r in results if isinstance(r, FollowUp)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 3, results
    assert all(exc.code == "already_answered" for exc in losers)
    assert FeedbackCase.objects.filter(kind="recovery").count() == 1
    assert FeedbackCase.objects.filter(kind="suggestion").count() == 1


def test_concurrent_creation_and_sweeps_do_not_duplicate(loop):
    order = deliver(loop.world, loop.vehicle)

    def create(i: int, prepared):
        if prepared is None:
            return RepairOrder.objects.get(pk=order.pk)
        return services.followup_create_for_order(order=prepared).pk

    ids = race(create, 4)
    assert len(set(ids)) == 1 and FollowUp.objects.count() == 1, ids

    case = services.case_create(actor=loop.world.advisor, store=loop.store, kind="complaint", channel="phone", text="态度很差")
    SlaTimer.objects.filter(case=case).update(due_at=case.created_at - dt.timedelta(minutes=1), warn_at=case.created_at - dt.timedelta(minutes=2))

    def sweep(i: int, prepared):
        if prepared is None:
            return True
        return services.sla_sweep()

    race(sweep, 3)
    assert SlaTimer.objects.filter(case=case, breached_at__isnull=False).count() == 3
    alerts = Message.objects.filter(staff_user=loop.world.manager, dedup_key__contains=":breach:")
    assert alerts.count() == 3  # one per timer, never twice
