"""The rating terminal: paired once, it shows only the rating page (no staff page, no API), takes one rating per
order and resets; the phone link does the same; a second rating of an order is refused, even at the same time."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.common.errors import Conflict
from aftersales.feedback.models import DeliveryRating
from aftersales.people import kiosk
from aftersales.people.models import RatingTerminal
from aftersales.workshop.models import RepairOrder
from aftersales.workshop.tests.conftest import authorized_order

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/", "/people/", "/people/me/", "/people/terminals/", "/workshop/board/", "/orders/", "/billing/cashier/",
               "/cockpit/", "/admin/"]
STAFF_API = ["/api/workshop/board", "/api/people/certifications", "/api/people/me/certifications", "/api/staff/me"]


def ready_order(floor, store=None):
    order = authorized_order(floor, store=store, advisor=floor.world.advisor_b if store is not None else None)
    RepairOrder.objects.filter(pk=order.pk).update(status="ready")  # the lane's states are tested in workshop
    return RepairOrder.objects.get(pk=order.pk)


def paired(floor, name="交车台 1"):
    terminal, key = kiosk.terminal_create(actor=floor.world.manager, store=floor.store, name=name)
    tablet = Client()
    tablet.force_login(floor.world.manager)  # someone was signed in on the tablet: pairing signs them out
    assert tablet.get(f"/kiosk/pair/{key}/").status_code == 200
    response = tablet.post(f"/kiosk/pair/{key}/")
    assert response.status_code == 302 and response["Location"] == "/kiosk/"
    return terminal, tablet


def test_the_paired_tablet_reaches_no_staff_page_and_no_api(floor):
    _terminal, tablet = paired(floor)
    assert tablet.get("/kiosk/").status_code == 200
    for url in STAFF_PAGES:
        response = tablet.get(url)
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert "login" in response["Location"], url
    for url in STAFF_API:
        assert tablet.get(url).status_code == 401, url
    html = tablet.get("/kiosk/").content.decode()
    assert "<nav" not in html and 'href="/workshop/' not in html and 'href="/people/' not in html


def test_an_unpaired_or_revoked_tablet_shows_nothing(floor):
    assert Client().get("/kiosk/").status_code == 403
    assert Client().get("/kiosk/pair/kiosk_forged/").status_code == 404
    terminal, tablet = paired(floor)
    kiosk.terminal_revoke(actor=floor.world.manager, terminal=terminal)
    assert tablet.get("/kiosk/").status_code == 403


def test_one_rating_per_order_then_the_terminal_resets(floor):
    order = ready_order(floor)
    terminal, tablet = paired(floor)
    assert 'data-testid="kiosk-waiting"' in tablet.get("/kiosk/").content.decode()
    advisor = Client()
    advisor.force_login(floor.advisor)
    assert advisor.post(f"/people/orders/{order.pk}/rating/", {"terminal": terminal.pk}).status_code == 302
    html = tablet.get("/kiosk/").content.decode()
    assert order.vehicle.plate in html and 'data-testid="kiosk-form"' in html
    # both scores missing: both named, nothing written
    bad = tablet.post("/kiosk/rate/", {"order": order.pk, "comment": "x"})
    assert bad.status_code == 422 and bad.content.decode().count('class="errorlist"') == 2
    assert not DeliveryRating.objects.exists()
    ok = tablet.post("/kiosk/rate/", {"order": order.pk, "visit_score": "5", "advisor_score": "4",
                                      "comment": "<script>alert(1)</script>服务很好"})
    assert ok.status_code == 200 and 'data-testid="kiosk-thanks"' in ok.content.decode()
    rating = DeliveryRating.objects.get()
    assert (rating.visit_score, rating.advisor_score, rating.channel, rating.advisor_id) == (5, 4, "kiosk", floor.advisor.pk)
    assert 'data-testid="kiosk-waiting"' in tablet.get("/kiosk/").content.decode()  # reset
    # the same order again: refused (by the tablet, the phone, or the advisor sending it back)
    assert tablet.post("/kiosk/rate/", {"order": order.pk, "visit_score": "1", "advisor_score": "1"}).status_code == 409
    assert advisor.post(f"/people/orders/{order.pk}/rating/", {"terminal": terminal.pk}).status_code == 409
    phone = Client().post(f"/rate/{kiosk.rating_token(order)}/", {"visit_score": "1", "advisor_score": "1"})
    assert phone.status_code == 200 and DeliveryRating.objects.count() == 1
    # the advisor's page shows the rating, the comment escaped
    html = advisor.get(f"/people/orders/{order.pk}/rating/").content.decode()
    assert 'data-testid="rating-given"' in html and "<script>alert(1)" not in html


def test_the_phone_link_rates_once_and_a_forged_link_is_404(floor):
    order = ready_order(floor)
    link = f"/rate/{kiosk.rating_token(order)}/"
    customer = Client()
    page = customer.get(link)
    assert page.status_code == 200 and 'data-testid="phone-form"' in page.content.decode()
    assert customer.post(link, {"visit_score": "9", "advisor_score": "3"}).status_code == 422
    assert customer.post(link, {"visit_score": "4", "advisor_score": "3"}).status_code == 200
    assert DeliveryRating.objects.get().channel == "phone"
    assert Client().get(f"/rate/{kiosk.rating_token(order)}x/").status_code == 404
    for url in STAFF_API:
        assert customer.get(url).status_code == 401


def test_an_order_not_yet_ready_cannot_be_rated(floor):
    order = authorized_order(floor)
    with pytest.raises(Conflict):
        kiosk.phone_rate(token=kiosk.rating_token(order), visit_score=5, advisor_score=5)


def test_the_terminal_rates_only_the_order_it_shows(floor):
    order, other = ready_order(floor), ready_order(floor)
    terminal, tablet = paired(floor)
    kiosk.terminal_show_order(actor=floor.advisor, terminal=terminal, order=order)
    assert tablet.post("/kiosk/rate/", {"order": other.pk, "visit_score": "5", "advisor_score": "5"}).status_code == 409
    assert tablet.post("/kiosk/rate/", {"skip": "1"}).status_code == 302
    assert RatingTerminal.objects.get(pk=terminal.pk).current_order_id is None
    assert not DeliveryRating.objects.exists()


def test_another_stores_order_or_terminal_is_404(floor):
    order_b = ready_order(floor, store=floor.world.b)
    terminal, _tablet = paired(floor)
    advisor = Client()
    advisor.force_login(floor.advisor)
    assert advisor.get(f"/people/orders/{order_b.pk}/rating/").status_code == 404
    manager_b = Client()
    manager_b.force_login(floor.world.manager_b)
    assert manager_b.post("/people/terminals/", {"revoke": terminal.pk}).status_code == 404
    assert RatingTerminal.objects.get(pk=terminal.pk).revoked_at is None
    tech = Client()
    tech.force_login(floor.tech)
    assert tech.get("/people/terminals/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_ratings_at_once_record_one(floor):
    """Threads with their own connections rate the same order at the same moment (the tablet and the phone, a double
    tap): exactly one rating is written and the others are refused with 409, never a database error."""
    from aftersales.appointments.tests.test_race import race

    order = ready_order(floor)
    token = kiosk.rating_token(order)

    def work(i: int, prepared):
        if prepared is None:
            return token
        return kiosk.phone_rate(token=prepared, visit_score=1 + i % 5, advisor_score=5)

    results = race(work, 4)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, Conflict) and e.code == "already_rated" for e in errors), errors
    assert len(errors) == 3
    assert DeliveryRating.objects.filter(order=order).count() == 1
