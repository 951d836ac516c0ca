"""Courtesy cars: booking without overlap, the contract out and in, charges to the invoice, the lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.mobility import services
from aftersales.mobility.models import CourtesyBooking, CourtesyCar, WaitlistEntry

from .conftest import signed

pytestmark = pytest.mark.django_db


def _book(f, **kw):
    args = {"actor": f.world.advisor, "order": f.order, "car": f.car, "starts_at": f.start, "ends_at": f.end, **kw}
    return services.courtesy_book(**args)


def _out(f, booking, **kw):
    args = {"actor": f.world.advisor, "booking": booking, "licence_number": "440101199001011234",
            "licence_expires": (f.end + dt.timedelta(days=400)).date().isoformat(), "deposit": "2000", "mileage": 20010,
            "energy": 80, "signature": signed(), "signer_name": "张伟", "at": f.start, **kw}
    return services.courtesy_hand_out(**args)


def test_car_add_names_every_bad_field_and_writes_nothing(world):
    with pytest.raises(ValidationFailed) as caught:
        services.courtesy_car_add(actor=world.manager, store=world.a, plate="", vin="123", model_name="",
                                  energy="steam", insurance_expires="someday", mileage="-5", fuel_rate="abc", late_rate="-1")
    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert fields == {"plate", "vin", "model_name", "energy", "insurance_expires", "mileage", "fuel_rate", "late_rate"}
    assert CourtesyCar.objects.count() == 0


def test_advisor_cannot_add_cars_and_other_store_is_refused(world):
    with pytest.raises(Forbidden):
        services.courtesy_car_add(actor=world.advisor, store=world.a, plate="粤A11111", vin="", model_name="x",
                                  insurance_expires="2030-01-01")
    with pytest.raises(Forbidden):
        services.courtesy_car_add(actor=world.manager, store=world.b, plate="粤A11111", vin="", model_name="x",
                                  insurance_expires="2030-01-01")


def test_overlapping_booking_refused_and_adjacent_allowed(fleet):
    first = _book(fleet)
    with pytest.raises(Conflict) as caught:
        _book(fleet, starts_at=fleet.start + dt.timedelta(hours=5), ends_at=fleet.end + dt.timedelta(hours=5))
    assert caught.value.code == "overlap" and caught.value.field == "car"
    assert CourtesyBooking.objects.count() == 1
    # back to back is fine; the other car is free for the same time
    _book(fleet, starts_at=fleet.end, ends_at=fleet.end + dt.timedelta(hours=3))
    _book(fleet, car=fleet.car2)
    # a cancelled booking frees its time
    services.courtesy_cancel(actor=fleet.world.advisor, booking=first, reason="客户自驾")
    _book(fleet, starts_at=fleet.start + dt.timedelta(hours=1), ends_at=fleet.start + dt.timedelta(hours=2))


def test_booking_names_every_bad_field(fleet):
    with pytest.raises(ValidationFailed) as caught:
        _book(fleet, starts_at=fleet.start - dt.timedelta(days=3), ends_at="tomorrow-ish", notes="x" * 400)
    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert fields == {"starts_at", "ends_at", "notes"}
    with pytest.raises(ValidationFailed) as caught:
        _book(fleet, ends_at=fleet.start - dt.timedelta(hours=1))
    assert caught.value.field == "ends_at"
    assert CourtesyBooking.objects.count() == 0


def test_booking_refuses_other_store_car_do_not_lend_and_lapsed_insurance(fleet):
    with pytest.raises(ValidationFailed) as caught:
        _book(fleet, car=fleet.car_b)
    assert caught.value.code == "other_store"
    with pytest.raises(Forbidden):
        _book(fleet, order=fleet.order_b, car=fleet.car_b)
    CourtesyCar.objects.filter(pk=fleet.car.pk).update(insurance_expires=fleet.start.date())
    fleet.car.refresh_from_db()
    with pytest.raises(ValidationFailed) as caught:
        _book(fleet)
    assert caught.value.code == "insurance_expired"
    services.do_not_lend_add(actor=fleet.world.manager, store=fleet.world.a, customer=fleet.order.customer, reason="损坏未赔")
    with pytest.raises(ValidationFailed) as caught:
        _book(fleet, car=fleet.car2)
    assert caught.value.code == "do_not_lend"
    assert CourtesyBooking.objects.count() == 0


def test_waitlist_then_book_from_it(fleet):
    entry = services.waitlist_add(actor=fleet.world.advisor, order=fleet.order, wanted_from=fleet.start, wanted_until=fleet.end)
    booking = _book(fleet, waitlist=entry)
    entry.refresh_from_db()
    assert entry.status == "booked" and entry.booking_id == booking.pk
    with pytest.raises(ValidationFailed):
        services.waitlist_add(actor=fleet.world.advisor, order=fleet.order, wanted_from="", wanted_until="")
    assert WaitlistEntry.objects.count() == 1


def test_hand_out_checks_every_field(fleet):
    booking = _book(fleet)
    with pytest.raises(ValidationFailed) as caught:
        _out(fleet, booking, licence_number="", licence_expires="", deposit="-1", mileage=19000, energy=120, signature="")
    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert fields == {"licence_number", "licence_expires", "deposit", "mileage", "energy", "signature"}
    with pytest.raises(ValidationFailed) as caught:
        _out(fleet, booking, licence_expires=fleet.start.date().isoformat())
    assert caught.value.code == "licence_expired"
    booking.refresh_from_db()
    assert booking.status == "booked" and not booking.out_signature


def test_return_with_new_damage_fuel_and_late_charges_goes_on_the_order(fleet):
    from aftersales.workshop.models import RepairJob, RepairLine

    booking = _book(fleet)
    services.courtesy_mark_add(actor=fleet.world.advisor, booking=booking, phase="out", x=10, y=20, kind="scratch")
    booking = _out(fleet, booking)
    assert booking.status == "out" and booking.out_mileage == 20010
    with pytest.raises(Conflict):  # damage at hand-out is closed once the car is out
        services.courtesy_mark_add(actor=fleet.world.advisor, booking=booking, phase="out", x=10, y=20)
    with pytest.raises(ValidationFailed) as caught:
        services.courtesy_return(actor=fleet.world.advisor, booking=booking, mileage=20000, energy=60, signature=signed(),
                                 damage_charge="800", at=fleet.end)
    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert fields == {"mileage", "damage_charge"}  # fewer km than out; damage charged but not marked
    services.courtesy_mark_add(actor=fleet.world.advisor, booking=booking, phase="in", x=80, y=40, kind="dent", note="右后门")
    late = fleet.end + dt.timedelta(hours=2, minutes=30)
    booking = services.courtesy_return(actor=fleet.world.advisor, booking=booking, mileage=20180, energy=60,
                                       damage_charge="800", signature=signed(), at=late)
    assert booking.status == "returned"
    assert booking.fuel_charge == Decimal("100.00")  # 20% short at 5 CNY per %
    assert booking.late_charge == Decimal("150.00")  # 3 hours started at 50
    assert booking.damage_charge == Decimal("800.00")
    assert booking.charge_route == "order"
    job = RepairJob.objects.get(pk=booking.charge_job_id)
    assert job.status == "authorized" and job.order_id == fleet.order.pk
    assert sum(line.amount for line in RepairLine.objects.filter(job=job)) == Decimal("1050.00")
    assert CourtesyCar.objects.get(pk=fleet.car.pk).mileage == 20180


def test_return_after_the_order_is_invoiced_keeps_charges_separate(fleet):
    from aftersales.workshop.models import RepairOrder

    booking = _out(fleet, _book(fleet))
    RepairOrder.objects.filter(pk=fleet.order.pk).update(status="ready")
    booking = services.courtesy_return(actor=fleet.world.advisor, booking=booking, mileage=20100, energy=70,
                                       signature=signed(), at=fleet.start + dt.timedelta(hours=5))
    assert booking.charge_route == "separate" and booking.fuel_charge == Decimal("50.00") and booking.charge_job_id is None
    # not lost: a numbered supplementary charge of the order, outstanding until collected (or waived by a manager)
    charge = booking.supplement
    assert (charge.amount, charge.status, charge.order_id) == (Decimal("50.00"), "open", fleet.order.pk)
    with pytest.raises(ValidationFailed) as caught:
        services.supplement_settle(actor=fleet.world.advisor, charge=charge, method="waive")
    assert {e["field"] for e in caught.value.extra["errors"]} == {"reference", "method"}
    charge = services.supplement_settle(actor=fleet.world.advisor, charge=charge, method="wechat_pay", reference="WX123")
    assert (charge.status, charge.method, charge.settled_by_id) == ("paid", "wechat_pay", fleet.world.advisor.pk)
    with pytest.raises(Conflict):
        services.supplement_settle(actor=fleet.world.advisor, charge=charge, method="cash")
    # back early: the rest of the booked time is free again
    assert booking.ends_at == fleet.start + dt.timedelta(hours=5)
    _book(fleet, starts_at=fleet.start + dt.timedelta(hours=6), ends_at=fleet.end)


def test_fleet_stats(fleet):
    from aftersales.mobility.selectors import fleet_stats

    booking = _out(fleet, _book(fleet))
    services.courtesy_mark_add(actor=fleet.world.advisor, booking=booking, phase="in", x=50, y=50)
    services.courtesy_return(actor=fleet.world.advisor, booking=booking, mileage=20100, energy=80, signature=signed(),
                             at=fleet.start + dt.timedelta(hours=1))
    stats = fleet_stats(fleet.world.advisor, store_id=fleet.world.a.pk, now=fleet.start + dt.timedelta(hours=2))
    assert stats["damage_incidents"] == 1
    row = next(r for r in stats["cars"] if r.car.pk == fleet.car.pk)
    assert row.damage_incidents == 1 and row.days_out == pytest.approx(0.0, abs=0.1)
    assert {r.car.pk for r in stats["cars"]} == {fleet.car.pk, fleet.car2.pk}  # store B's car is not listed
