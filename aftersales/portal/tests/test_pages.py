"""Slices 2–4: home, booking (also from reminder links), following a car; another owner's object is always a 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from aftersales.appointments.models import Appointment
from aftersales.appointments.tests.conftest import local
from aftersales.messaging.models import Message
from aftersales.portal.models import InboxRead
from aftersales.workshop.models import RepairJob, RepairOrder

from .conftest import sign_in

pytestmark = pytest.mark.django_db


def _order(owners, customer, car, status="in_progress", number="RO1"):
    return RepairOrder.objects.create(
        store=owners.store, number=number, customer=customer, vehicle=car, status=status, opened_at=timezone.now(),
        promised_at=timezone.now() + dt.timedelta(hours=3),
    )


def _book(client, owners, when="10:00", car=None):
    return client.post("/app/book/", {
        "store": owners.store.code, "vehicle": (car or owners.car).pk, "service_type": owners.maintenance.pk,
        "start": local(owners.monday, when).isoformat(), "fault_description": "<b>异响</b>",
    })


def test_home_shows_the_open_order_step_points_and_unread(client, owners):
    _order(owners, owners.zhang, owners.car, status="ready")
    sign_in(client, owners.zhang)
    page = client.get("/app/").content.decode()
    assert 'data-testid="step-current">待付款' in page
    assert "粤B99999" not in page


def test_book_a_real_free_slot_and_the_same_slot_again_is_refused(client, owners):
    sign_in(client, owners.zhang)
    form = client.get(f"/app/book/?day={owners.monday.isoformat()}").content.decode()
    assert local(owners.monday, "10:00").isoformat() in form  # a free slot offered by the engine
    response = _book(client, owners)
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.customer == owners.zhang and appointment.channel == "portal"
    page = client.get(response["Location"]).content.decode()
    assert "&lt;b&gt;异响&lt;/b&gt;" in page  # what the owner typed is escaped
    other = client.post("/app/logout/")
    assert other.status_code == 302
    sign_in(client, owners.li)
    again = _book(client, owners, car=owners.li_car)
    assert again.status_code == 409  # one bay, one technician: the slot is taken
    assert Appointment.objects.count() == 1


def test_bad_booking_names_the_field_and_writes_nothing(client, owners):
    sign_in(client, owners.zhang)
    response = client.post("/app/book/", {"store": owners.store.code, "vehicle": owners.li_car.pk,
                                          "service_type": owners.maintenance.pk, "start": local(owners.monday, "10:00").isoformat()})
    assert response.status_code == 422
    assert "不属于" in response.content.decode() or "vehicle" in response.content.decode()
    assert Appointment.objects.count() == 0


def test_reschedule_and_cancel_my_booking(client, owners):
    sign_in(client, owners.zhang)
    pk = int(_book(client, owners)["Location"].rstrip("/").split("/")[-1])
    moved = client.post(f"/app/appointments/{pk}/", {"action": "reschedule", "start": local(owners.monday, "14:00").isoformat()})
    assert moved.status_code == 302
    assert Appointment.objects.get(pk=pk).start == local(owners.monday, "14:00")
    client.post(f"/app/appointments/{pk}/", {"action": "cancel"})
    assert Appointment.objects.get(pk=pk).status == "cancelled"


def test_a_reminder_link_asks_for_the_code_then_lands_on_the_filled_form(client, owners):
    link = f"/book/{owners.store.code}/?v={owners.car.pk}"
    first = client.get(link)
    assert first.status_code == 302 and first["Location"].startswith("/app/login/?next=")
    client.post("/app/login/", {"mobile": owners.zhang.mobile, "action": "send"})
    from .conftest import last_code

    nxt = client.get(first["Location"]).content.decode()
    assert 'name="next" value="/app/book/?store=a&amp;v=' in nxt
    done = client.post("/app/login/", {"mobile": owners.zhang.mobile, "code": last_code(owners.zhang.mobile), "action": "verify",
                                       "next": f"/app/book/?store={owners.store.code}&v={owners.car.pk}"})
    assert done.status_code == 302
    form = client.get(done["Location"]).content.decode()
    assert f'<option value="{owners.car.pk}" selected>' in form


def test_follow_my_car(client, owners):
    order = _order(owners, owners.zhang, owners.car)
    RepairJob.objects.create(order=order, title="更换机油", status="in_progress", technician=owners.techs[0], bay=owners.bays[0])
    sign_in(client, owners.zhang)
    page = client.get(f"/app/orders/{order.pk}/").content.decode()
    assert "更换机油" in page and 'hx-trigger="every 20s"' in page
    live = client.get(f"/app/orders/{order.pk}/", HTTP_HX_REQUEST="true")
    assert live.status_code == 200 and "<html" not in live.content.decode()
    pdf = client.get(f"/app/orders/{order.pk}/documents/repair_list.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"/app/orders/{order.pk}/documents/invoice.pdf").status_code == 404  # not ready yet


def test_inbox_read_and_unread(client, owners):
    from aftersales.messaging.services import message_enqueue

    message_enqueue(kind="customer.welcome", store=owners.store, customer=owners.zhang, channel="app",
                    variables={"customer_name": "张伟", "greeting": "张先生", "store_name": "A", "store_phone": "1"}, dedup_key="w1")
    sign_in(client, owners.zhang)
    message = Message.objects.get(kind="customer.welcome")
    assert 'data-testid="unread">1<' in client.get("/app/inbox/").content.decode()
    assert client.get(f"/app/inbox/{message.pk}/").status_code == 200
    assert InboxRead.objects.filter(customer=owners.zhang, message=message).exists()
    assert 'data-testid="unread"' not in client.get("/app/inbox/").content.decode()


def test_another_owners_objects_are_404_everywhere(client, owners):
    from aftersales.messaging.services import message_enqueue

    li_order = _order(owners, owners.li, owners.li_car, status="delivered", number="RO2")
    li_appt_pk = None
    sign_in(client, owners.li)
    li_appt_pk = int(_book(client, owners, car=owners.li_car)["Location"].rstrip("/").split("/")[-1])
    client.post("/app/logout/")
    li_message = message_enqueue(kind="customer.welcome", store=owners.store, customer=owners.li, channel="app",
                                 variables={"customer_name": "李娜", "greeting": "李女士", "store_name": "A", "store_phone": "1"}, dedup_key="w2")
    sign_in(client, owners.zhang)
    for url in [
        f"/app/cars/{owners.li_car.pk}/", f"/app/orders/{li_order.pk}/", f"/app/orders/{li_order.pk}/photos/1/",
        f"/app/orders/{li_order.pk}/documents/repair_list.pdf", f"/app/orders/{li_order.pk}/documents/invoice.pdf",
        f"/app/appointments/{li_appt_pk}/", f"/app/inbox/{li_message.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/app/appointments/{li_appt_pk}/", {"action": "cancel"}).status_code == 404
    assert Appointment.objects.get(pk=li_appt_pk).status == "booked"
    form = client.get(f"/app/book/?v={owners.li_car.pk}").content.decode()
    assert "粤B99999" not in form  # Li's car is not offered to Zhang even when named in the link


def test_a_sold_car_leaves_the_sellers_app(client, owners):
    order = _order(owners, owners.zhang, owners.car, status="delivered")
    owners.car.owner = owners.li
    owners.car.save()
    sign_in(client, owners.zhang)
    assert client.get(f"/app/cars/{owners.car.pk}/").status_code == 404
    assert client.get(f"/app/orders/{order.pk}/").status_code == 404


def test_a_signed_link_still_opens_alone_and_offers_to_sign_in(client, owners):
    from aftersales.appointments.services import customer_link

    sign_in(client, owners.zhang)
    pk = int(_book(client, owners)["Location"].rstrip("/").split("/")[-1])
    client.post("/app/logout/")
    link = customer_link(Appointment.objects.get(pk=pk)).split("/a/", 1)[1]
    page = client.get(f"/a/{link}")  # no sign-in needed
    assert page.status_code == 200
    assert 'data-testid="signin-offer-link"' in page.content.decode()
    assert "用手机号登录，查看全部" in page.content.decode()


def test_complain_and_see_the_case_status_only_mine(client, owners):
    from aftersales.feedback.models import FeedbackCase

    sign_in(client, owners.li)
    client.post("/app/feedback/", {"store": owners.store.code, "kind": "complaint", "text": "李的投诉"})
    client.post("/app/logout/")
    sign_in(client, owners.zhang)
    empty = client.post("/app/feedback/", {"store": owners.store.code, "kind": "complaint", "text": "  "})
    assert empty.status_code == 422 and FeedbackCase.objects.filter(customer=owners.zhang).count() == 0
    sent = client.post("/app/feedback/", {"store": owners.store.code, "kind": "complaint", "text": "洗车不干净", "plate": "粤B12345"})
    assert sent.status_code == 302
    case = FeedbackCase.objects.get(customer=owners.zhang)
    assert (case.channel, case.vehicle_id) == ("portal", owners.car.pk)
    page = client.get("/app/feedback/").content.decode()
    assert "洗车不干净" in page and "李的投诉" not in page


def test_points_page_has_my_referral_code(client, owners):
    from aftersales.portal.selectors import referral_code

    sign_in(client, owners.zhang)
    page = client.get("/app/points/").content.decode()
    assert referral_code(owners.zhang) in page
    assert referral_code(owners.li) not in page and referral_code(owners.zhang) != referral_code(owners.li)


def test_the_referral_code_is_what_the_desk_accepts(owners):
    from aftersales.loyalty.selectors import customer_by_reference
    from aftersales.portal.selectors import referral_code

    assert customer_by_reference(owners.world.advisor, referral_code(owners.zhang)) == owners.zhang


def test_home_queries_do_not_grow_with_cars_and_orders(client, owners):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aftersales.common.tests.factories import VehicleFactory

    sign_in(client, owners.zhang)
    client.get("/app/")  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert client.get("/app/").status_code == 200
    for i in range(3):
        car = VehicleFactory(group=owners.world.group, owner=owners.zhang)
        _order(owners, owners.zhang, car, number=f"RO-Q{i}")
    with CaptureQueriesContext(connection) as four:
        page = client.get("/app/")
    assert page.content.decode().count('data-testid="car"') == 4
    assert len(four) == len(one), [q["sql"] for q in four.captured_queries]


def test_my_inbox_lists_only_my_messages(client, owners):
    from aftersales.messaging.services import message_enqueue

    for customer, key in ((owners.zhang, "z"), (owners.li, "l")):
        with translation.override("zh-hans"):  # the greeting these Chinese customers get
            greeting = str(customer.greeting)
        message_enqueue(kind="customer.welcome", store=owners.store, customer=customer, channel="app", dedup_key=f"in-{key}",
                        variables={"customer_name": customer.name, "greeting": greeting, "store_name": "A", "store_phone": "1"})
    sign_in(client, owners.zhang)
    page = client.get("/app/inbox/").content.decode()
    assert "张先生" in page and "李女士" not in page


def test_a_delivered_order_offers_the_survey_inside_the_app(client, owners):
    from aftersales.feedback.services import followup_create_for_order

    order = _order(owners, owners.zhang, owners.car, status="delivered")
    RepairOrder.objects.filter(pk=order.pk).update(delivered_at=timezone.now())
    order.refresh_from_db()
    followup_create_for_order(order=order)
    sign_in(client, owners.zhang)
    page = client.get(f"/app/orders/{order.pk}/").content.decode()
    link = page.split('data-testid="rate-link"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert link == f"/app/orders/{order.pk}/rate/"
    assert client.get(link).status_code == 200


def test_following_the_car_links_the_completed_inspection_report(client, owners):
    from aftersales.inspections.services import (
        inspection_complete,
        inspection_item_record,
        inspection_start,
        install_default_checklists,
    )
    from aftersales.workshop.services import repair_order_check_in

    install_default_checklists(store=owners.store)
    order = repair_order_check_in(actor=owners.world.advisor, store=owners.store, customer=owners.zhang, vehicle=owners.car, mileage=1000)
    inspection = inspection_start(actor=owners.world.advisor, order=order)
    sign_in(client, owners.zhang)
    assert 'data-testid="inspection-report"' not in client.get(f"/app/orders/{order.pk}/").content.decode()
    for item in inspection.items.all():
        inspection_item_record(actor=owners.world.technician, item=item, rating="green", value=None, override_note="ok")
    inspection_complete(actor=owners.world.technician, inspection=inspection)
    page = client.get(f"/app/orders/{order.pk}/").content.decode()
    link = page.split('data-testid="inspection-report"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert link.startswith("/inspections/r/") and client.get(link).status_code == 200


def test_booking_reads_the_owners_words_and_suggests_a_service(client, owners):
    """Issue 21: the owner's own description gives a first hint of the system and the service to book (a suggestion
    in their language, escaped), and picking it keeps what they typed."""
    sign_in(client, owners.zhang)
    hint = client.get("/app/book/", {"part": "diagnosis", "store": owners.store.code, "service_type": owners.maintenance.pk,
                                     "fault_description": "后保险杠被刮了一道<script>"}, HTTP_HX_REQUEST="true")
    html = hint.content.decode()
    assert hint.status_code == 200
    assert "车身钣喷" in html and "钣金" in html  # the system, and the store's bodywork service
    assert 'data-testid="diagnosis-pick"' in html and "<script>" not in html
    nothing = client.get("/app/book/", {"part": "diagnosis", "store": owners.store.code, "fault_description": "你好"},
                         HTTP_HX_REQUEST="true")
    assert 'data-testid="diagnosis"' not in nothing.content.decode()
    picked = client.get("/app/book/", {"store": owners.store.code, "service_type": owners.body.pk,
                                       "fault_description": "后保险杠被刮了一道"}).content.decode()
    assert "后保险杠被刮了一道" in picked and 'data-testid="diagnosis-pick"' not in picked  # already chosen


def _jpeg(name="fault.jpg"):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def test_booking_carries_photos_of_the_fault_to_the_advisor(client, owners):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from aftersales.estimates.models import FaultPhoto

    sign_in(client, owners.zhang)
    body = {"store": owners.store.code, "vehicle": owners.car.pk, "service_type": owners.maintenance.pk,
            "start": local(owners.monday, "10:00").isoformat(), "fault_description": "刹车异响"}
    # a file that is not a photo: nothing is booked, the photos field is named
    bad = client.post("/app/book/", {**body, "photos": [_jpeg(), SimpleUploadedFile("x.jpg", b"not an image")]})
    assert bad.status_code == 422 and 'data-testid="photos-error"' in bad.content.decode()
    assert Appointment.objects.count() == 0 and FaultPhoto.objects.count() == 0
    # seven photos are more than six
    assert client.post("/app/book/", {**body, "photos": [_jpeg(f"{i}.jpg") for i in range(7)]}).status_code == 422
    assert Appointment.objects.count() == 0 and FaultPhoto.objects.count() == 0
    done = client.post("/app/book/", {**body, "photos": [_jpeg("a.jpg"), _jpeg("b.jpg")]})
    assert done.status_code == 302
    appointment = Appointment.objects.get()
    assert list(FaultPhoto.objects.values_list("appointment_id", flat=True)) == [appointment.pk, appointment.pk]
    page = client.get(done["Location"]).content.decode()
    assert 'data-testid="photo-count">已发送 2 张照片' in page
    # the advisor sees them with the booking's words (the estimates selector the diagnosis panel reads)
    from aftersales.estimates.selectors import fault_photos

    assert len(fault_photos(owners.world.manager, appointment=appointment)) == 2
