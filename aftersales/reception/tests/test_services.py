"""Reception services: the handover sheet, damage and photos, the signature on screen and by link, the order it opens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from aftersales.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.common.models import AuditEvent
from aftersales.messaging.models import Message
from aftersales.reception import services
from aftersales.reception.choices import HandoverStatus, SignedVia
from aftersales.reception.models import DamageMark, Handover, HandoverPhoto
from aftersales.vehicles.models import MileageReading
from aftersales.workshop.choices import JobStatus, OrderStatus

from .conftest import data_url, png

pytestmark = pytest.mark.django_db


def filled(desk, **extra):
    handover = services.handover_start(actor=desk.world.advisor, appointment=desk.booking)
    data = {"mileage": "12,500", "energy_level": 60, "belongings": "行车记录仪", **extra}
    return services.handover_update(actor=desk.world.advisor, handover=handover, data=data)


def test_start_from_the_booking_marks_arrival_once(desk):
    handover = services.handover_start(actor=desk.world.advisor, appointment=desk.booking)
    desk.booking.refresh_from_db()
    assert desk.booking.status == "arrived"
    assert (handover.customer, handover.vehicle, handover.store) == (desk.customer, desk.vehicle, desk.store)
    assert handover.customer_words == "刹车时有异响" and handover.status == HandoverStatus.DRAFT
    again = services.handover_start(actor=desk.world.advisor, appointment=desk.booking)
    assert again.pk == handover.pk and Handover.objects.count() == 1


def test_start_is_scoped_and_needs_the_role(desk):
    with pytest.raises(Forbidden):
        services.handover_start(actor=desk.world.advisor_b, appointment=desk.booking)
    with pytest.raises(Forbidden):
        services.handover_start(actor=desk.world.technician, store=desk.store, vehicle=desk.vehicle)
    assert not Handover.objects.exists()
    walk_in = services.handover_start(actor=desk.world.advisor, store=desk.store, vehicle=desk.vehicle)
    assert walk_in.appointment is None and walk_in.advisor == desk.world.advisor


@pytest.mark.parametrize(("data", "field"), [
    ({"mileage": "-5"}, "mileage"),
    ({"mileage": "12.5"}, "mileage"),
    ({"mileage": "abc"}, "mileage"),
    ({"energy_level": 120}, "energy_level"),
    ({"exterior": "shiny"}, "exterior"),
    ({"conditions": ["cold_start", "moonlight"]}, "conditions"),
    ({"extra_requests": ["wash", "pizza"]}, "extra_requests"),
    ({"promised_at": "2026-12-01 18:00"}, "promised_at"),
    ({"promised_at": "tomorrow"}, "promised_at"),
    ({"belongings": "x" * 301}, "belongings"),
])
def test_bad_input_names_the_field_and_changes_nothing(desk, data, field):
    handover = services.handover_start(actor=desk.world.advisor, appointment=desk.booking)
    with pytest.raises(ValidationFailed) as exc:
        services.handover_update(actor=desk.world.advisor, handover=handover, data={"belongings": "伞", **data})
    assert exc.value.field == field
    handover.refresh_from_db()
    assert handover.belongings == "" and handover.mileage is None


def test_mileage_below_the_last_reading_is_refused(desk):
    desk.vehicle.current_mileage = 20000
    desk.vehicle.save()
    handover = services.handover_start(actor=desk.world.advisor, appointment=desk.booking)
    with pytest.raises(ValidationFailed) as exc:
        services.handover_update(actor=desk.world.advisor, handover=handover, data={"mileage": 19999})
    assert (exc.value.code, exc.value.field) == ("km_backwards", "mileage")


def test_sheet_fields_are_saved_and_audited(desk):
    handover = filled(desk, conditions=["braking", "cold_start", "braking"], extra_requests=["wash"], since="days")
    assert (handover.mileage, handover.energy_level, handover.conditions) == (12500, 60, ["braking", "cold_start"])
    assert AuditEvent.objects.filter(action="handover.updated", object_id=str(handover.pk)).exists()


def test_damage_marks_stay_on_the_outline(desk):
    handover = filled(desk)
    mark = services.damage_mark_add(actor=desk.world.advisor, handover=handover, x="12.345", y=50, kind="dent", note="左前门")
    assert (str(mark.x), str(mark.y), mark.kind) == ("12.35", "50.00", "dent")
    for x, y, field in [(101, 5, "x"), (5, -1, "y"), ("nan", 5, "x"), ("", 5, "x")]:
        with pytest.raises(ValidationFailed) as exc:
            services.damage_mark_add(actor=desk.world.advisor, handover=handover, x=x, y=y)
        assert exc.value.field == field
    with pytest.raises(ValidationFailed) as exc:
        services.damage_mark_add(actor=desk.world.advisor, handover=handover, x=1, y=1, kind="crater")
    assert exc.value.field == "kind"
    services.damage_mark_remove(actor=desk.world.advisor, mark=mark)
    assert not DamageMark.objects.exists()


def test_photos_are_images_within_the_cap(desk, settings):
    handover = filled(desk)
    photo = services.photo_add(actor=desk.world.advisor, handover=handover, content=png(fmt="JPEG"), caption="左前门划痕")
    assert photo.image.name.endswith(".jpg") and (photo.width, photo.height) == (300, 120)
    bad = [
        (b"%PDF-1.4 not a photo", "not_an_image"),
        (b"", "file_empty"),
        (png(fmt="GIF"), "not_an_image"),
        (png()[:60], "not_an_image"),
    ]
    for content, code in bad:
        with pytest.raises(ValidationFailed) as exc:
            services.photo_add(actor=desk.world.advisor, handover=handover, content=content)
        assert (exc.value.code, exc.value.field) == (code, "photo")
    settings.AFTERSALES_MAX_PHOTO_BYTES = 1000
    with pytest.raises(ValidationFailed) as exc:
        services.photo_add(actor=desk.world.advisor, handover=handover, content=png(600, 600, fmt="JPEG"))
    assert exc.value.code == "file_too_large" and "MB" in str(exc.value.message)
    assert HandoverPhoto.objects.count() == 1


def test_signature_on_screen(desk):
    handover = services.handover_start(actor=desk.world.advisor, appointment=desk.booking)
    with pytest.raises(ValidationFailed) as exc:
        services.handover_sign(actor=desk.world.advisor, handover=handover, signature=data_url(png()))
    assert exc.value.field == "mileage"
    handover = filled(desk)
    for signature, code in [(data_url(png(ink=False)), "signature_empty"), ("data:image/png;base64,@@@", "signature_format"),
                            ("hello", "signature_format"), (data_url(png(fmt="JPEG")), "not_an_image")]:
        with pytest.raises(ValidationFailed) as exc:
            services.handover_sign(actor=desk.world.advisor, handover=handover, signature=signature)
        assert (exc.value.code, exc.value.field) == (code, "signature")
    signed = services.handover_sign(actor=desk.world.advisor, handover=handover, signature=data_url(png()), signer_name="张伟")
    assert signed.status == HandoverStatus.SIGNED and signed.signed_via == SignedVia.SCREEN and signed.signature.name
    with pytest.raises(Conflict):
        services.handover_update(actor=desk.world.advisor, handover=signed, data={"belongings": "x"})
    with pytest.raises(Conflict):
        services.handover_sign(actor=desk.world.advisor, handover=signed, signature=data_url(png()))


def test_signature_by_link(desk):
    handover = filled(desk)
    services.handover_request_signature(actor=desk.world.advisor, handover=handover)
    message = Message.objects.get(kind="reception.handover_sign")
    token = services.signing_token(handover)
    assert f"/h/{token}/" in message.body and message.customer_id == desk.customer.pk
    assert services.handover_from_token(token).pk == handover.pk
    with pytest.raises(NotFound):
        services.handover_from_token(token[:-2] + "xx")
    with pytest.raises(Conflict) as exc:
        services.handover_from_token(token, max_age=-1)
    assert exc.value.code == "link_expired"
    # a change voids the link: the customer must see the new sheet
    services.damage_mark_add(actor=desk.world.advisor, handover=handover, x=10, y=10)
    with pytest.raises(Conflict) as exc:
        services.handover_from_token(token)
    assert exc.value.code == "link_replaced"
    services.handover_request_signature(actor=desk.world.advisor, handover=handover)
    fresh = services.signing_token(handover)
    assert fresh != token and Message.objects.filter(kind="reception.handover_sign").count() == 2
    with pytest.raises(Conflict) as exc:
        services.handover_sign(handover=handover, signature=data_url(png()), via=SignedVia.LINK, token=token)
    assert exc.value.code == "link_replaced"
    with pytest.raises(ValidationFailed):  # a valid link of another sheet signs nothing here
        other = services.handover_start(actor=desk.world.advisor, store=desk.store, vehicle=desk.vehicle)
        services.handover_update(actor=desk.world.advisor, handover=other, data={"mileage": 12600, "energy_level": 5})
        services.handover_request_signature(actor=desk.world.advisor, handover=other)
        services.handover_sign(handover=handover, signature=data_url(png()), via=SignedVia.LINK, token=services.signing_token(other))
    signed = services.handover_sign(handover=handover, signature=data_url(png()), via=SignedVia.LINK, token=fresh)
    assert signed.status == HandoverStatus.SIGNED and signed.signed_via == SignedVia.LINK
    with pytest.raises(Conflict):
        services.handover_sign(handover=handover, signature=data_url(png()), via=SignedVia.LINK, token=fresh)


def test_open_order_from_the_sheet(desk):
    handover = services.handover_start(actor=desk.world.advisor, appointment=desk.booking)
    with pytest.raises(ValidationFailed) as exc:
        services.handover_open_order(actor=desk.world.advisor, handover=handover)
    assert exc.value.field == "mileage"
    promised = timezone.now() + dt.timedelta(hours=5)
    handover = filled(desk, since="days", frequency="often", conditions=["braking"], restatement="制动异响检查",
                      extra_requests=["wash", "keep_old_parts"], promised_at=promised)
    order = services.handover_open_order(actor=desk.world.advisor, handover=handover)
    assert order.status == OrderStatus.CHECKED_IN and order.appointment_id == desk.booking.pk
    assert order.mileage_in == 12500 and order.promised_at == promised
    assert "刹车时有异响" in order.complaint and "制动异响检查" in order.complaint
    titles = list(order.jobs.order_by("seq").values_list("title", "status"))
    assert len(titles) == 2 and all(status == JobStatus.PROPOSED for _t, status in titles)  # the booking's service + wash
    assert MileageReading.objects.filter(vehicle=desk.vehicle, km=12500).exists()
    handover.refresh_from_db()
    assert handover.order_id == order.pk
    with pytest.raises(Conflict):
        services.handover_open_order(actor=desk.world.advisor, handover=handover)
    # "give the old parts back" reaches the order and every part line of its jobs (issue 14)
    from aftersales.workshop.services import repair_job_add

    assert order.keep_old_parts
    job = repair_job_add(actor=desk.world.advisor, order=order, title="更换刹车片", lines=[
        {"kind": "labour", "description": "工时", "quantity": "1", "unit_price": "200"},
        {"kind": "part", "description": "刹车片", "quantity": "1", "unit_price": "300"},
    ])
    assert dict(job.lines.values_list("kind", "keep_old_part")) == {"labour": False, "part": True}


def test_open_order_needs_a_request_for_a_walk_in(desk):
    handover = services.handover_start(actor=desk.world.advisor, store=desk.store, vehicle=desk.vehicle)
    handover = services.handover_update(actor=desk.world.advisor, handover=handover, data={"mileage": 100, "energy_level": 50})
    with pytest.raises(ValidationFailed) as exc:
        services.handover_open_order(actor=desk.world.advisor, handover=handover)
    assert exc.value.field == "customer_words"
    from aftersales.workshop.models import RepairOrder

    assert not RepairOrder.objects.exists()


def test_photos_are_stored_without_gps_and_upright(desk):
    from aftersales.common.tests.test_uploads import has_metadata, phone_photo

    handover = filled(desk)
    photo = services.photo_add(actor=desk.world.advisor, handover=handover, content=phone_photo(size=(60, 20)))
    photo.image.open("rb")
    stored = photo.image.read()
    photo.image.close()
    assert not has_metadata(stored)
    assert (photo.width, photo.height) == (20, 60) and photo.size == len(stored)
