"""Double taps and concurrent clicks: proposing jobs, sending the report and passing final QC happen once.

Each thread has its own database connection. SQLite serialises writers; PostgreSQL serialises on the inspection's
or the order's row (SELECT ... FOR UPDATE), and a unique constraint allows one passed check per kind and round.
"""

from __future__ import annotations

import pytest

from aftersales.appointments.tests.test_race import race
from aftersales.common.errors import Conflict
from aftersales.inspections import services
from aftersales.inspections.models import InspectionItem, QcCheck
from aftersales.messaging.models import Message
from aftersales.staff.models import User
from aftersales.workshop.models import RepairJob

from .conftest import finish_work

pytestmark = pytest.mark.django_db(transaction=True)
N = 4


def _user(pk):
    return User.objects.get(pk=pk)


def _inspection(shop):
    inspection = services.inspection_start(actor=shop.advisor, order=shop.order)
    for item in InspectionItem.objects.filter(inspection=inspection):
        rating = {"Front brake pad thickness": "red", "Wiper blades and washers": "yellow"}.get(item.name_en, "green")
        services.inspection_item_record(actor=shop.technician, item=item, rating=rating)
    return services.inspection_complete(actor=shop.technician, inspection=inspection)


def test_proposing_jobs_twice_at_once_adds_them_once(shop):
    inspection = _inspection(shop)

    def work(i, prepared):
        if prepared is None:
            return _user(shop.advisor.pk)
        return services.inspection_propose_jobs(actor=prepared, inspection=inspection)

    results = race(work, N)
    winners = [r for r in results if isinstance(r, list)]
    others = [r for r in results if not isinstance(r, list)]
    assert len(winners) == 1 and all(isinstance(r, Conflict) and r.code == "nothing_to_propose" for r in others), results
    assert RepairJob.objects.filter(order=shop.order).count() == 2


def test_sending_the_report_at_once_sends_one_message(shop):
    inspection = _inspection(shop)

    def work(i, prepared):
        if prepared is None:
            return _user(shop.advisor.pk)
        return services.inspection_report_send(actor=prepared, inspection=inspection).pk

    results = race(work, N)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1 and Message.objects.filter(kind="inspection.report").count() == 1


def test_final_qc_passes_once(shop):
    finish_work(shop, shop.order)
    for actor, kind in ((shop.technician, "self"), (shop.foreman, "peer")):
        checklist = services.qc_checklist(shop.store.pk, kind)
        services.qc_sign(actor=actor, order=shop.order, kind=kind,
                         results=[{"item_id": i.pk, "result": "pass"} for i in checklist.items.all()])
    final = services.qc_checklist(shop.store.pk, "final")
    results_in = [{"item_id": i.pk, "result": "na" if i.optional else "pass"} for i in final.items.all()]

    def work(i, prepared):
        if prepared is None:
            return _user(shop.qc.pk)
        return services.qc_sign(actor=prepared, order=shop.order, kind="final", results=results_in)

    results = race(work, N)
    passed = [r for r in results if isinstance(r, QcCheck)]
    assert len(passed) == 1 and all(isinstance(r, Conflict) for r in results if r not in passed), results
    assert QcCheck.objects.filter(kind="final", result="pass").count() == 1
    assert set(RepairJob.objects.filter(order=shop.order).values_list("status", flat=True)) == {"passed_qc"}
