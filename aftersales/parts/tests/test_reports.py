"""Traceability (batch recall, fitted parts) and valuation (stock value, turnover, slow movers); their screens."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.common.errors import NotFound, ValidationFailed
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
from aftersales.parts.models import Batch, StockMovement
from aftersales.parts.reports import fitted_parts, recall_lookup, slow_movers, stock_value, turnover
from aftersales.parts.services import stock_issue, stock_receive, stock_return

from .helpers_purchasing import make_job, make_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(world):
    return world.staff["parts_clerk"]


@pytest.fixture
def clerk_b(world):
    return make_staff("parts_clerk", world.b)


@pytest.fixture
def pads(world, clerk, clerk_b):
    part = make_part(world.group, "BP-9", name_zh="刹车片", tracking="batch", warranty_months=12)
    for store, actor in ((world.a, clerk), (world.b, clerk_b)):
        stock_receive(actor=actor, store=store, part=part, quantity=10, unit_cost="100", batch_number="LOT-BAD",
                      origin="Wuhan", production_date=dt.date(2024, 3, 1))
        stock_receive(actor=actor, store=store, part=part, quantity=10, unit_cost="100", batch_number="LOT-OK")
    return part


def test_recall_finds_every_vehicle_that_got_the_batch_and_only_those(world, clerk, clerk_b, pads):
    bad = Batch.objects.get(number="LOT-BAD")
    ok = Batch.objects.get(number="LOT-OK")
    got1 = make_job(world.a)
    got2 = make_job(world.a)
    returned = make_job(world.a)
    other_batch = make_job(world.a)
    at_b = make_job(world.b)
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=2, job=got1, batch=bad)
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=1, job=got2, batch=bad)
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=2, job=returned, batch=bad)
    stock_return(actor=clerk, store=world.a, part=pads, quantity=2, job=returned, batch=bad)
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=4, job=other_batch, batch=ok)
    stock_issue(actor=clerk_b, store=world.b, part=pads, quantity=4, job=at_b, batch=bad)

    hits = recall_lookup(clerk, pads, " LOT-BAD ")
    assert {h.vehicle for h in hits} == {got1.order.vehicle, got2.order.vehicle}
    hit = next(h for h in hits if h.job == got1)
    assert hit.quantity == 2 and hit.customer == got1.order.customer and hit.order == got1.order
    assert hit.vehicle.vin and hit.store == world.a
    # the group admin sees both stores
    assert {h.vehicle for h in recall_lookup(world.admin, pads, "LOT-BAD")} == {
        got1.order.vehicle, got2.order.vehicle, at_b.order.vehicle
    }
    with pytest.raises(ValidationFailed) as exc:
        recall_lookup(clerk, pads, "LOT-NONE")
    assert exc.value.field == "batch_number"


def test_fitted_parts_with_warranty(world, clerk, pads):
    plain = make_part(world.group, "OIL-1", warranty_months=6, warranty_km=5000)
    stock_receive(actor=clerk, store=world.a, part=plain, quantity=5, unit_cost="50")
    customer = CustomerFactory(home_store=world.a)
    car = VehicleFactory(owner=customer)
    job = make_job(world.a, customer=customer, vehicle=car)
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=2, job=job, batch=Batch.objects.get(number="LOT-BAD"))
    stock_issue(actor=clerk, store=world.a, part=plain, quantity=1, job=job)
    make_job(world.a)  # another car
    rows = {r.part.number: r for r in fitted_parts(car)}
    assert set(rows) == {"BP-9", "OIL-1"}
    assert rows["BP-9"].batch.number == "LOT-BAD" and rows["BP-9"].origin == "Wuhan"
    assert rows["BP-9"].production_date == dt.date(2024, 3, 1) and rows["BP-9"].warranty_until == dt.date(2025, 3, 1)
    today = timezone.localdate()
    assert rows["OIL-1"].warranty_until >= today + dt.timedelta(days=180)
    assert rows["OIL-1"].warranty_until_km == 42000 + 5000 and rows["OIL-1"].under_warranty


def test_stock_value_turnover_and_slow_movers(world, clerk, clerk_b):
    fast = make_part(world.group, "FAST-1")
    slow = make_part(world.group, "SLOW-1")
    stock_receive(actor=clerk, store=world.a, part=fast, quantity=10, unit_cost="10.00")
    stock_receive(actor=clerk, store=world.a, part=slow, quantity=4, unit_cost="25.00")
    stock_receive(actor=clerk_b, store=world.b, part=slow, quantity=1, unit_cost="25.00")
    value = stock_value(clerk)
    assert value.total == Decimal("200.00") and [r.store for r in value.rows] == [world.a]
    assert stock_value(world.admin).total == Decimal("225.00")
    with pytest.raises(NotFound):
        stock_value(clerk, world.b)

    job = make_job(world.a)
    stock_issue(actor=clerk, store=world.a, part=fast, quantity=6, job=job)
    # an old issue of the slow part, 200 days ago
    old = stock_issue(actor=clerk, store=world.a, part=slow, quantity=1, job=job)
    StockMovement.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=200))

    t = turnover(clerk, world.a, days=365)
    # issued 6 × 10 (+ the old one, 25, inside 365 days) = 85; opening 0, closing 4 × 10 + 3 × 25 = 115
    assert t.issued_cost == Decimal("85.00") and t.closing_value == Decimal("115.00") and t.opening_value == 0
    assert t.average_value == Decimal("57.50") and t.turns == Decimal("1.48") and t.days_of_stock == 247

    movers = list(slow_movers(clerk, world.a, days=180))
    assert [m.part.number for m in movers] == ["SLOW-1"]
    assert movers[0].value == Decimal("75") and movers[0].last_issue_at is not None
    assert [m.part.number for m in slow_movers(clerk, world.a, days=365)] == []
    with pytest.raises(NotFound):
        list(slow_movers(clerk, world.b))


# ---- screens -----------------------------------------------------------------------------------------------------
def test_recall_screen(client, world, clerk, pads):
    job = make_job(world.a)
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=1, job=job, batch=Batch.objects.get(number="LOT-BAD"))
    url = reverse("purchasing:recall")
    assert client.get(url).status_code == 302
    client.force_login(world.advisor)
    assert client.get(url).status_code == 403
    client.force_login(clerk)
    assert client.get(url).status_code == 200
    page = client.get(url, {"part": "bp-9", "batch_number": "LOT-BAD"})
    assert job.order.vehicle.vin in page.text and job.order.vehicle.plate in page.text and "****" in page.text
    page = client.get(url, {"part": "bp-9", "batch_number": "LOT-NONE"})
    assert 'data-field="batch_number"' in page.text
    page = client.get(url, {"part": "NOPE", "batch_number": "LOT-BAD"})
    assert 'data-field="part"' in page.text


def test_valuation_screen(client, world, clerk):
    part = make_part(world.group, "SLOW-2")
    stock_receive(actor=clerk, store=world.a, part=part, quantity=3, unit_cost="20.00")
    url = reverse("purchasing:valuation")
    client.force_login(world.advisor)
    assert client.get(url).status_code == 403
    client.force_login(clerk)
    page = client.get(url)
    assert page.status_code == 200 and "SLOW-2" in page.text and "60.00" in page.text
    assert client.get(url, {"store": world.b.pk}).status_code == 404
    assert client.get(url, {"days": "abc"}).status_code == 200
