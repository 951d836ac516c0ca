"""The owner rates a visit inside the app, sees each case's SLA clock as promised to them, and finds the invoice's
pay page; another owner's survey, case and invoice are 404s."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.billing.models import OnlinePayment
from aftersales.feedback.models import FeedbackCase, FollowUp
from aftersales.workshop.models import RepairOrder

from .conftest import sign_in

pytestmark = pytest.mark.django_db

SCORES = {"overall": "9", "attitude": "10", "quality": "9", "waiting": "8", "price": "9", "recommend": "10"}


def _delivered(owners, customer, car, number):
    from aftersales.feedback.services import followup_create_for_order

    order = RepairOrder.objects.create(
        store=owners.store, number=number, customer=customer, vehicle=car, status="delivered", opened_at=timezone.now(),
        delivered_at=timezone.now(),
    )
    followup_create_for_order(order=order)
    return order


def test_rate_a_visit_in_the_app_once_with_bad_input_named(client, owners):
    order = _delivered(owners, owners.zhang, owners.car, "RO1")
    li_order = _delivered(owners, owners.li, owners.li_car, "RO2")
    sign_in(client, owners.zhang)
    page = client.get(f"/app/orders/{order.pk}/rate/")
    assert page.status_code == 200 and 'data-testid="q-attitude"' in page.content.decode()
    bad = client.post(f"/app/orders/{order.pk}/rate/", {"attitude": "11", "suggestions": ""})
    text = bad.content.decode()
    assert bad.status_code == 422
    for name in ("attitude", "quality", "waiting", "price", "recommend"):
        assert f'data-testid="error-{name}"' in text, name
    assert FollowUp.objects.get(order=order).status == "open"
    done = client.post(f"/app/orders/{order.pk}/rate/", {**SCORES, "suggestions": "休息区可以更安静"})
    assert done.status_code == 302
    followup = FollowUp.objects.get(order=order)
    assert followup.status == "answered" and followup.score_attitude == 10
    assert FeedbackCase.objects.filter(followup=followup, kind="suggestion").count() == 1
    again = client.post(f"/app/orders/{order.pk}/rate/", SCORES)
    assert again.status_code == 409 and FeedbackCase.objects.filter(followup=followup).count() == 1
    assert client.get(f"/app/orders/{li_order.pk}/rate/").status_code == 404
    assert client.post(f"/app/orders/{li_order.pk}/rate/", SCORES).status_code == 404
    assert FollowUp.objects.get(order=li_order).status == "open"


def test_my_case_shows_its_sla_clocks_as_promised(client, owners, clock):
    sign_in(client, owners.zhang)
    client.post("/app/feedback/", {"store": owners.store.code, "kind": "complaint", "text": "洗车不干净"})
    case = FeedbackCase.objects.get(customer=owners.zhang)
    timers = list(case.timers.all())
    assert timers
    page = client.get("/app/feedback/").content.decode()
    assert 'data-testid="case-clocks"' in page
    for timer in timers:
        assert f'data-testid="clock-{timer.kind}" data-state="running"' in page
    first = min(timers, key=lambda t: t.due_at)
    clock(timezone.localtime(first.due_at + dt.timedelta(minutes=5), owners.store.zone).strftime("%Y-%m-%d %H:%M"))
    page = client.get("/app/feedback/").content.decode()
    assert f'data-testid="clock-{first.kind}" data-state="late"' in page
    # Li sees none of Zhang's case
    client.post("/app/logout/")
    sign_in(client, owners.li)
    assert "洗车不干净" not in client.get("/app/feedback/").content.decode()


def test_pay_page_is_mine_only(client, owners, world):
    from aftersales.billing.services import invoice_issue
    from aftersales.billing.tests.helpers import ready_order

    order = ready_order(world)
    invoice = invoice_issue(actor=world.manager, order=order)
    owner = invoice.customer
    owner.mobile = "+8613900139000"
    owner.save(update_fields=["mobile"])
    sign_in(client, owner)
    page = client.get(f"/app/orders/{order.pk}/").content.decode()
    assert 'data-testid="pay-link"' in page
    pay = client.get(f"/app/orders/{order.pk}/pay/")
    assert pay.status_code == 200 and 'data-testid="pay-none"' in pay.content.decode()  # no merchant account yet
    bad = client.post(f"/app/orders/{order.pk}/pay/", {"channel": "wechat_h5"})
    assert bad.status_code == 422 and 'data-field="channel"' in bad.content.decode()
    assert not OnlinePayment.objects.exists()
    client.post("/app/logout/")
    sign_in(client, owners.zhang)
    assert client.get(f"/app/orders/{order.pk}/pay/").status_code == 404
    assert client.post(f"/app/orders/{order.pk}/pay/", {"channel": "wechat_h5"}).status_code == 404


def test_my_car_shows_the_parts_fitted_with_batch_and_warranty(client, owners, world):
    from aftersales.parts.models import Batch
    from aftersales.parts.services import stock_issue, stock_receive
    from aftersales.parts.tests.helpers_purchasing import make_job, make_part

    clerk = world.staff["parts_clerk"]
    pads = make_part(world.group, "BP-9", name_zh="刹车片", tracking="batch", warranty_months=12)
    stock_receive(actor=clerk, store=world.a, part=pads, quantity=10, unit_cost="100", batch_number="LOT-7",
                  origin="Wuhan", production_date=dt.date(2024, 3, 1))
    mine = make_job(world.a, customer=owners.zhang, vehicle=owners.car)
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=2, job=mine, batch=Batch.objects.get(number="LOT-7"))
    earlier = make_job(world.a, customer=owners.li, vehicle=owners.car)  # fitted for another (earlier) owner
    stock_issue(actor=clerk, store=world.a, part=pads, quantity=1, job=earlier, batch=Batch.objects.get(number="LOT-7"))
    sign_in(client, owners.zhang)
    page = client.get(f"/app/cars/{owners.car.pk}/").content.decode()
    assert page.count('data-testid="fitted-part"') == 1
    assert "刹车片" in page and "LOT-7" in page and "Wuhan" in page and "2024-03-01" in page and "2025-03-01" in page
    client.post("/app/logout/")
    sign_in(client, owners.li)
    assert client.get(f"/app/cars/{owners.car.pk}/").status_code == 404
