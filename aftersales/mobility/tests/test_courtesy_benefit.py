"""Tier A's free courtesy car and courtesy-car vouchers redeem on the booking: the rent is not charged, the voucher is
used exactly once (also when two bookings race for it), it comes back when the booking is cancelled, and the return
charges that still apply (fuel / charge, late return, new damage) still go on the invoice."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.mobility import services
from aftersales.mobility.models import CourtesyBooking

from .conftest import signed


def _voucher(fleet, code="CC0001", *, customer=None, service_codes=("COURTESY",), template_code="courtesy-car", days=30):
    from aftersales.loyalty.models import Voucher, VoucherTemplate

    w = fleet.world
    template, _ = VoucherTemplate.objects.get_or_create(
        group=w.a.group, code=template_code,
        defaults={"name_zh": "代步车券", "name_en": "Courtesy car voucher", "kind": "free_item", "service_codes": list(service_codes)})
    today = timezone.localdate()
    return Voucher.objects.create(template=template, customer=customer or fleet.order.customer, store=w.a, code=code,
                                  valid_from=today - dt.timedelta(days=1), valid_until=today + dt.timedelta(days=days))


def _book(f, **kw):
    args = {"actor": f.world.advisor, "order": f.order, "car": f.car, "starts_at": f.start, "ends_at": f.end, **kw}
    return services.courtesy_book(**args)


def _out(f, booking):
    return services.courtesy_hand_out(
        actor=f.world.advisor, booking=booking, licence_number="440101199001011234",
        licence_expires=(f.end + dt.timedelta(days=400)).date().isoformat(), deposit="2000", mileage=20010, energy=80,
        signature=signed(), signer_name="张伟", at=f.start)


def _rent(fleet, rate="200"):
    from aftersales.mobility.models import CourtesyCar

    CourtesyCar.objects.filter(pk__in=[fleet.car.pk, fleet.car2.pk]).update(day_rate=Decimal(rate))
    fleet.car.refresh_from_db()
    fleet.car2.refresh_from_db()


@pytest.mark.django_db
def test_voucher_makes_the_rent_free_and_the_other_charges_still_go_on_the_invoice(fleet):
    from aftersales.loyalty.models import Voucher
    from aftersales.workshop.models import RepairLine

    _rent(fleet)
    voucher = _voucher(fleet)
    booking = _book(fleet, voucher="cc0001")
    assert (booking.benefit, booking.voucher_id) == ("voucher", voucher.pk)
    voucher.refresh_from_db()
    assert voucher.status == "redeemed" and voucher.redeem_key == f"courtesy:{booking.pk}" and voucher.invoice_id is None
    assert [e.to_state for e in voucher.events.all()] == ["redeemed"]

    booking = _out(fleet, booking)
    services.courtesy_mark_add(actor=fleet.world.advisor, booking=booking, phase="in", x=80, y=40, kind="dent")
    late = fleet.end + dt.timedelta(hours=1, minutes=30)
    booking = services.courtesy_return(actor=fleet.world.advisor, booking=booking, mileage=20200, energy=70,
                                       damage_charge="300", signature=signed(), at=late)
    assert booking.rent_charge == 0
    assert (booking.fuel_charge, booking.late_charge, booking.damage_charge) == (Decimal("50.00"), Decimal("100.00"), Decimal("300.00"))
    lines = list(RepairLine.objects.filter(job_id=booking.charge_job_id))
    assert sum(line.amount for line in lines) == Decimal("450.00")
    assert not any(line.code == "COURTESY" for line in lines)  # no rent line
    assert Voucher.objects.get(pk=voucher.pk).status == "redeemed"  # used once, stays used after the return


@pytest.mark.django_db
def test_without_a_benefit_the_rent_goes_on_the_invoice(fleet):
    from aftersales.workshop.models import RepairLine

    _rent(fleet)
    booking = _out(fleet, _book(fleet))
    assert (booking.benefit, booking.day_rate) == ("", Decimal("200.00"))
    booking = services.courtesy_return(actor=fleet.world.advisor, booking=booking, mileage=20100, energy=80,
                                       signature=signed(), at=fleet.start + dt.timedelta(days=1, hours=3))
    assert booking.rent_charge == Decimal("400.00")  # two days started
    line = RepairLine.objects.get(job_id=booking.charge_job_id)
    assert (line.code, line.amount) == ("COURTESY", Decimal("400.00"))


@pytest.mark.django_db
def test_tier_a_is_free_and_keeps_the_voucher(fleet):
    from aftersales.engagement.models import CustomerTier

    _rent(fleet)
    voucher = _voucher(fleet)
    today = timezone.localdate()
    CustomerTier.objects.create(customer=fleet.order.customer, store=fleet.world.a, tier="A", reason="d_lapsed",
                                computed_on=today, since=today)
    booking = _book(fleet, voucher=voucher.code)
    assert (booking.benefit, booking.voucher_id) == ("tier_a", None)
    voucher.refresh_from_db()
    assert voucher.status == "issued"
    booking = services.courtesy_return(actor=fleet.world.advisor, booking=_out(fleet, booking), mileage=20100, energy=80,
                                       signature=signed(), at=fleet.end)
    assert booking.rent_charge == 0 and booking.charge_route == ""


@pytest.mark.django_db
def test_a_voucher_is_used_once_and_comes_back_when_the_booking_is_cancelled(fleet):
    voucher = _voucher(fleet)
    first = _book(fleet, voucher=voucher.code)
    with pytest.raises(ValidationFailed) as caught:  # the same voucher on a second booking: refused, nothing written
        _book(fleet, car=fleet.car2, voucher=voucher.code)
    assert caught.value.code == "voucher_used"
    assert CourtesyBooking.objects.count() == 1

    services.courtesy_cancel(actor=fleet.world.advisor, booking=first, reason="客户自驾")
    voucher.refresh_from_db()
    assert (voucher.status, voucher.redeem_key, voucher.redeemed_at) == ("issued", None, None)
    assert [e.to_state for e in voucher.events.all()] == ["redeemed", "issued"]
    again = _book(fleet, car=fleet.car2, voucher=voucher.code)
    assert again.voucher_id == voucher.pk
    voucher.refresh_from_db()
    assert voucher.redeem_key == f"courtesy:{again.pk}"


@pytest.mark.django_db
def test_bad_vouchers_are_refused_with_the_other_bad_fields(fleet):
    pickup_only = _voucher(fleet, "PK0001", service_codes=("PICKUP",), template_code="pickup-free")
    someone_else = _voucher(fleet, "CC0002", customer=fleet.order_b.customer)
    for code, expected in (("NOPE", "voucher_unknown"), (pickup_only.code, "voucher_not_covered"),
                           (someone_else.code, "voucher_unknown")):
        with pytest.raises(ValidationFailed) as caught:
            _book(fleet, voucher=code, notes="x" * 400)
        errors = {e["field"]: e["code"] for e in caught.value.extra["errors"]}
        assert errors == {"voucher": expected, "notes": "too_long"}
    assert CourtesyBooking.objects.count() == 0
    someone_else.refresh_from_db()
    assert someone_else.status == "issued"


@pytest.mark.django_db(transaction=True)
def test_two_bookings_racing_for_one_voucher_one_gets_it(fleet):
    from aftersales.loyalty.models import Voucher

    voucher = _voucher(fleet)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(car) -> None:
        try:
            barrier.wait(timeout=10)
            services.courtesy_book(actor=fleet.world.advisor, order=fleet.order, car=car, starts_at=fleet.start,
                                   ends_at=fleet.end, voucher=voucher.code)
            results.append("booked")
        except (Conflict, ValidationFailed) as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(car,)) for car in (fleet.car, fleet.car2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["booked", "voucher_used"]
    assert CourtesyBooking.objects.filter(voucher=voucher).count() == 1
    voucher = Voucher.objects.get(pk=voucher.pk)
    assert voucher.status == "redeemed" and voucher.events.count() == 1


@pytest.mark.django_db
def test_book_page_offers_the_voucher_and_the_contract_shows_it(fleet, client):
    from aftersales.mobility.views import _input_value

    _rent(fleet)
    voucher = _voucher(fleet)
    client.force_login(fleet.world.advisor)
    query = {"order": fleet.order.number, "starts_at": _input_value(fleet.start, fleet.world.a),
             "ends_at": _input_value(fleet.end, fleet.world.a), "store": fleet.world.a.pk}
    page = client.get(reverse("mobility:book"), query)
    assert page.status_code == 200 and voucher.code in page.content.decode()
    bad = client.post(reverse("mobility:book"), {**query, "car": fleet.car.pk, "voucher": "NOPE"})
    assert bad.status_code == 422 and 'data-field="voucher"' in bad.content.decode()
    assert CourtesyBooking.objects.count() == 0
    done = client.post(reverse("mobility:book"), {**query, "car": fleet.car.pk, "voucher": voucher.code})
    booking = CourtesyBooking.objects.get()
    assert done.status_code == 302 and booking.voucher_id == voucher.pk
    contract = client.get(reverse("mobility:booking", args=[booking.pk])).content.decode()
    assert voucher.code in contract and 'data-testid="booking-benefit"' in contract
    client.post(reverse("mobility:cancel", args=[booking.pk]), {"reason": "不需要了"})
    assert 'data-testid="voucher-returned"' in client.get(reverse("mobility:booking", args=[booking.pk])).content.decode()
    # another store's advisor sees neither the booking nor its voucher
    client.force_login(fleet.world.advisor_b)
    assert client.get(reverse("mobility:booking", args=[booking.pk])).status_code == 404
