"""Two decisions on the same link at the same moment (a double tap, two phones): exactly one is recorded."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from aftersales.common.errors import DomainError
from aftersales.estimates import services
from aftersales.estimates.models import Authorization
from aftersales.workshop.models import RepairJobEvent

from .conftest import signature_data_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_decisions_on_one_link_record_once(world, shop):
    (job,) = services.estimate_add_operation(actor=world.advisor, order=shop.order, operation=shop.brakes)
    estimate = services.estimate_send(actor=world.advisor, order=shop.order)
    token = services.approval_token(estimate)
    signature = signature_data_url()
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def decide(approve: bool) -> None:
        try:
            barrier.wait()
            services.authorize_by_link(token=token, decisions={job.pk: {"approve": approve}}, signer_name="张伟", signature=signature)
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(n % 2 == 0,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_decided", "already_decided", "ok"], outcomes
    assert Authorization.objects.count() == 1
    assert RepairJobEvent.objects.filter(job=job).exclude(to_state="proposed").count() == 1
