"""Every message kind, rendered for a sample recipient in Chinese and in English, with the links our services really
put in it: every URL in the text opens a 200 page in the recipient's language (no raw 404 from a reminder)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from aftersales.appointments.services import appointment_book, customer_link
from aftersales.care.services import booking_link
from aftersales.common.tests.factories import CustomerFactory, VehicleFactory
from aftersales.estimates.services import approval_url, estimate_add_job, estimate_send, labour_rate_set, status_url
from aftersales.feedback.services import followup_create_for_order, survey_link
from aftersales.inspections.report import report_link
from aftersales.inspections.services import (
    inspection_complete,
    inspection_item_record,
    inspection_start,
    install_default_checklists,
)
from aftersales.messaging.kinds import KINDS
from aftersales.messaging.services import customer_variables, message_enqueue
from aftersales.reception.services import handover_request_signature, handover_start, handover_update, signing_url
from aftersales.workshop.models import RepairOrder
from aftersales.workshop.services import repair_order_check_in

from .conftest import sign_in

pytestmark = pytest.mark.django_db

#: kinds whose recipient is a member of staff (their links open staff screens)
STAFF_KINDS = {"staff.task", "care.call", "workshop.progress_silent", "people.certificate_expiring", "analytics.review",
               "parts.purchase_order"}  # the last: to a supplier's address; checked here as a staff message
URL = re.compile(r"(https?://[^\s，。、）)]+|(?<![\w/])/[a-z][^\s，。、）)]*)")


def _links(owners, customer, car, n):
    store, advisor = owners.store, owners.world.advisor
    appointment = appointment_book(actor=advisor, store=store, service_type=owners.maintenance, customer=customer, vehicle=car,
                                   start=dt.datetime.combine(owners.monday, dt.time(9 + n, 0), tzinfo=store.zone))
    order = repair_order_check_in(actor=advisor, store=store, customer=customer, vehicle=car, mileage=42000)
    inspection = inspection_start(actor=advisor, order=order)
    for item in inspection.items.all():  # the technician gives every item a colour; the report exists once complete
        inspection_item_record(actor=owners.world.technician, item=item, rating="green", value=None, override_note="ok")
    inspection = inspection_complete(actor=owners.world.technician, inspection=inspection)
    estimate_add_job(actor=advisor, order=order, title="更换机油", hours="0.5")
    estimate = estimate_send(actor=advisor, order=order)
    done = RepairOrder.objects.create(store=store, number=f"RO-D{n}", customer=customer, vehicle=car, status="delivered",
                                      opened_at=timezone.now() - dt.timedelta(days=2), delivered_at=timezone.now() - dt.timedelta(days=1))
    handover = handover_start(actor=advisor, store=store, vehicle=car)
    handover = handover_update(actor=advisor, handover=handover, data={"mileage": 42000, "energy_level": 60})
    handover = handover_request_signature(actor=advisor, handover=handover)
    from aftersales.rescue.services import case_create, owner_link

    rescue = case_create(actor=advisor, store=store, incident="battery", lat="22.59", lng="114.08", vehicle=car)
    from aftersales.assessments.services import assessment_open, owner_url

    assessment = assessment_open(actor=owners.world.manager, store=store, vehicle=car)
    from aftersales.portal.models import ShopOrder
    from aftersales.portal.shop import order_link

    shop_order = ShopOrder.objects.create(store=store, customer=customer, number=f"A-LINK-{n}", fulfilment="pickup", total=0)
    return {
        "/app/shop/orders/": order_link(shop_order),
        "/da/": owner_url(assessment),
        "/app/rescue/": owner_link(rescue),
        "/a/": customer_link(appointment), "/r/": status_url(order), "/e/": approval_url(estimate),
        "/s/": survey_link(followup_create_for_order(order=done)), "/b/": booking_link(store, car),
        "/c/": booking_link(store, car), "/h/": signing_url(handover), "/inspections/r/": report_link(inspection),
        "/workshop/board/": f"/workshop/board/?store={store.pk}#order-{order.pk}",
        "/people/me/": "/people/me/",
    }


def _real_link(sample: str, links: dict[str, str]) -> str:
    for marker in sorted(links, key=len, reverse=True):
        if marker in sample:
            return links[marker]
    raise AssertionError(f"no real link for the sample {sample!r}: teach this test which service makes it")


def _follow(client: Client, url: str):
    path = url.replace("http://testserver", "")
    return client.get(path, follow=True)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_link_of_every_message_opens_a_page_in_the_recipients_language(owners, settings, language):
    settings.AFTERSALES_PUBLIC_URL = "http://testserver"
    install_default_checklists(store=owners.store)
    labour_rate_set(actor=owners.world.manager, store=owners.store, job_type="repair", rate="300.00")
    customer = CustomerFactory(group=owners.world.group, home_store=owners.store, name="王芳", title="ms", language=language)
    car = VehicleFactory(group=owners.world.group, owner=customer, plate="粤B55555")
    links = _links(owners, customer, car, 0)
    staff = owners.world.advisor
    staff.language = language
    staff.save(update_fields=["language"])
    owner_client, staff_client = Client(), Client()
    sign_in(owner_client, customer)
    staff_client.force_login(staff)
    want = 'lang="en"' if language == "en" else 'lang="zh-hans"'
    followed = []
    for code, kind in KINDS.items():
        variables = {**kind.variables, **customer_variables(customer=customer, store=owners.store)}
        if "link" in kind.variables:
            variables["link"] = _real_link(kind.variables["link"], links)
        if code == "analytics.review":  # the manager's signed links to the review files
            from aftersales.analytics.mailing import review_link

            day = timezone.localdate()
            for fmt in ("xlsx", "pdf"):
                variables[f"{fmt}_link"] = review_link(user_id=owners.world.manager.pk, store_id=owners.store.pk,
                                                       name="monthly", day=day, fmt=fmt)
        recipient = {"staff_user": staff, "channel": "app"} if code in STAFF_KINDS else {"customer": customer, "channel": "sms"}
        message = message_enqueue(kind=code, store=owners.store, variables=variables, dedup_key=f"links:{code}:{language}",
                                  language=language, **recipient)
        client = staff_client if code in STAFF_KINDS else owner_client
        for url in URL.findall(message.body):
            response = _follow(client, url)
            assert response.status_code == 200, (code, url, response.status_code)
            if code == "analytics.review":  # a file (Excel or PDF), made in the manager's language by its own tests
                assert response["Content-Type"].startswith(("application/pdf", "application/vnd.openxml")), url
                followed.append((code, url))
                continue
            assert want in response.content.decode()[:400], (code, url, "not in the recipient's language")
            followed.append((code, url))
    assert {c for c, _u in followed} >= {c for c, k in KINDS.items() if "link" in k.variables}
