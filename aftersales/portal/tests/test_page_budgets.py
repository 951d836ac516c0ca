"""Every owner page runs the same number of queries whatever the owner has (issue 17: "queries constant in the number
of cars and orders"): each page is read once with one of everything, then again with three of everything, and the two
counts must be equal. The server time of the same pages on the 1M-customer data set is in bench/bench_owner_pages.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales.common.tests.factories import VehicleFactory
from aftersales.feedback.models import FeedbackCase
from aftersales.messaging.services import message_enqueue
from aftersales.workshop.models import RepairJob, RepairLine, RepairOrder

from .conftest import sign_in

pytestmark = pytest.mark.django_db


def _grow(owners, n: int) -> None:
    """The n-th round: one more car, one more delivered order on the first car (two jobs, two lines each), one more
    open order, an in-app message and a complaint."""
    customer, store = owners.zhang, owners.store
    car = VehicleFactory(group=owners.world.group, owner=customer)
    now = timezone.now()
    for target, status, number in ((owners.car, "delivered", f"RO-D{n}"), (car, "in_progress", f"RO-O{n}")):
        order = RepairOrder.objects.create(store=store, number=number, customer=customer, vehicle=target, status=status,
                                           opened_at=now - dt.timedelta(days=n), promised_at=now + dt.timedelta(hours=3),
                                           delivered_at=now if status == "delivered" else None)
        for seq in (1, 2):
            job = RepairJob.objects.create(order=order, seq=seq, title=f"保养 {n}-{seq}", status="done",
                                           technician=owners.techs[0])
            for kind, amount in (("labour", Decimal("120.00")), ("fee", Decimal("10.00"))):
                RepairLine.objects.create(order=order, job=job, kind=kind, description=f"{kind} {n}", quantity=1,
                                          unit_price=amount, amount=amount)
    message_enqueue(kind="customer.welcome", store=store, customer=customer, channel="app", dedup_key=f"grow-{n}",
                    variables={"customer_name": "张伟", "greeting": "张先生", "store_name": "A", "store_phone": "1"})
    FeedbackCase.objects.create(store=store, customer=customer, vehicle=car, kind="complaint", channel="portal",
                                text=f"投诉 {n}", created_at=timezone.now())


def _pages(owners) -> dict[str, str]:
    first_order = RepairOrder.objects.filter(customer=owners.zhang, status="delivered").order_by("pk").first()
    return {
        "home": "/app/", "car": f"/app/cars/{owners.car.pk}/", "order": f"/app/orders/{first_order.pk}/",
        "inbox": "/app/inbox/", "points": "/app/points/",
        "book": "/app/book/", "feedback": "/app/feedback/", "privacy": "/app/privacy/", "shop": "/app/shop/",
        "shop orders": "/app/shop/orders/", "pickup": "/app/pickup/", "rescue": "/app/rescue/",
    }


def _count(client, url: str, **headers) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries), [q["sql"] for q in queries.captured_queries]


def test_no_owner_page_grows_with_cars_orders_messages_and_cases(client, owners):
    _grow(owners, 1)
    sign_in(client, owners.zhang)
    client.get("/app/")  # the session's first read
    pages = _pages(owners)
    one = {name: _count(client, url) for name, url in pages.items()}
    one["order (htmx poll)"] = _count(client, pages["order"], HTTP_HX_REQUEST="true")
    for n in (2, 3, 4):
        _grow(owners, n)
    four = {name: _count(client, url) for name, url in pages.items()}
    four["order (htmx poll)"] = _count(client, pages["order"], HTTP_HX_REQUEST="true")
    grown = {name: (one[name][0], four[name][0]) for name in one if four[name][0] != one[name][0]}
    assert not grown, {name: (counts, four[name][1]) for name, counts in grown.items()}
    # and each page's count stays a small, fixed number (the budget bench/README.md reports)
    assert max(count for count, _ in four.values()) <= 40, {name: count for name, (count, _) in four.items()}
